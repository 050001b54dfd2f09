"""BiGAN (Donahue et al., 2016; ALI, Dumoulin et al., 2016): encoder and generator against a critic of pairs.

The critic D(x, z) tells real pairs (x, E(x)) from generated pairs (G(z), z), z ~ p(z) = N(0, I);
encoder and generator train together to fool it:

    critic     lowers  critic loss of D(x, E(x)) (real) against D(G(z), z) (fake)
    generator  lowers  generator loss of D(G(z), z) + generator loss of −D(x, E(x))

The encoder's term is the generator loss on negated scores: it pushes D(x, E(x)) down as G
pushes D(G(z), z) up, so with the paper's linear loss the pair plays −margin and with the
non-saturating loss it is the usual label swap. At the optimum E inverts G (the paper's §3 sets
the HBAE against it). Sets: each element is paired with its set's pooled code, and a generated
set is K draws G(z'|z) of one prior code.
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import torch
from einops import rearrange, repeat
from torch import nn

from hbaezoo.components.adversarial import LinearLoss
from hbaezoo.models.base import Batch, Encodes, Model, Phase, as_set, build, generate_from
from hbaezoo.registry import MODELS


@MODELS.register("bigan")
class BiGAN(Encodes, Model):
    """BiGAN: encoder E(x) and generator G(z) trained together against a joint critic D(x, z)."""

    display_name = "BiGAN"
    averaged_parts = ("generator",)

    def __init__(
        self,
        *,
        image_shape,
        num_classes: int = 0,
        encoder=gin.REQUIRED,
        pooler=gin.REQUIRED,
        head=gin.REQUIRED,
        generator=gin.REQUIRED,
        discriminator=gin.REQUIRED,
        adversarial=None,
        prior=None,
        z_dim: int = 64,
        noise_dim: int = 0,
    ) -> None:
        super().__init__(image_shape=image_shape, num_classes=num_classes)
        self.init_encoder(encoder=encoder, pooler=pooler, head=head, z_dim=z_dim, prior=prior)
        self.noise_dim = noise_dim
        self.generator = build(generator, image_shape=self.image_shape, z_dim=z_dim, noise_dim=noise_dim)
        self.discriminator = build(discriminator, image_shape=self.image_shape, cond_dim=z_dim)
        # The paper's linear (Wasserstein-form) loss unless the recipe picks another.
        self.adversarial = build(adversarial) if adversarial is not None else LinearLoss()

    # -- training --------------------------------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        # Encoder and generator are one player (Donahue et al.); the critic the other.
        return {"critic": list(self.discriminator.parameters()),
                "generator": [*self.encoder_parameters(), *self.generator.parameters()]}

    def phases(self) -> list[Phase]:
        return [Phase("critic", self.critic_loss, lowers=("critic_objective",)),
                Phase("generator", self.generator_loss, raises=("fake_score",), lowers=("real_score",))]

    def scores(self, batch: Batch, *, players: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """D(xⁱ, E(x)) of every real element [B * K] and D(G(z'|z), z) of as many generated ones [B * K],
        z ~ N(0, I). `players=False` computes the pairs without gradient to encoder and generator."""
        x = as_set(batch["x"])
        k = x.shape[1]
        with torch.set_grad_enabled(players and torch.is_grad_enabled()):
            codes = self.encode(x).sample()
            prior_codes = torch.randn_like(codes)  # p(z) of the game, whatever prior `sample` draws from
            fakes = self.generate(prior_codes, k)
        real = self.discriminator(rearrange(x, "b k c h w -> (b k) c h w"), repeat(codes, "b z -> (b k) z", k=k))
        fake = self.discriminator(fakes, repeat(prior_codes, "b z -> (b k) z", k=k))
        return real, fake

    def critic_loss(self, batch: Batch):
        """Critic side: raise D(x, E(x)), lower D(G(z), z)."""
        real, fake = self.scores(batch, players=False)
        adv = self.adversarial.critic(real, fake)
        return adv, {"adv": adv.detach(), "d_real": real.mean().detach(), "d_fake": fake.mean().detach(),
                     "margin": (real.mean() - fake.mean()).detach()}

    def player_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The encoder-and-generator phase's terms from the critic's scores of real [N] and generated [M] pairs."""
        return {"adv": self.adversarial.generator(fake), "encoder_adv": self.adversarial.generator(-real)}

    def generator_loss(self, batch: Batch):
        """Encoder and generator side: G raises D(G(z), z), E lowers D(x, E(x))."""
        terms = self.player_terms(*self.scores(batch))
        return sum(terms.values()), {name: value.detach() for name, value in terms.items()}

    def measures(self, batch: Batch) -> dict[str, Callable[[], torch.Tensor]]:
        """critic_objective: the critic loss of the real pairs against the generated ones, which the critic
        phase lowers; real_score: mean D(x, E(x)), which the encoder lowers; fake_score: mean D(G(z), z),
        which the generator raises; margin: their difference. Each draws noise in the phases' order."""

        def critic_objective():
            real, fake = self.scores(batch)
            return self.adversarial.critic(real, fake)

        def margin():
            real, fake = self.scores(batch)
            return real.mean() - fake.mean()

        return {"critic_objective": critic_objective, "margin": margin,
                "real_score": lambda: self.scores(batch)[0].mean(),
                "fake_score": lambda: self.scores(batch)[1].mean()}

    # -- capabilities ----------------------------------------------------------------------------
    def generate(self, z: torch.Tensor, k: int = 1, noise_scale: float = 1.0,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """k images per code: z [B, Z] -> [B * k, C, H, W] (the k of one code together); z' [B * k, N]
        drawn from N(0, I) unless given."""
        return generate_from(self.generator, z, k, self.noise_dim, noise_scale, noise)

    def draw(self, posterior, k):
        """One code per posterior, k images from it (identical unless the generator has noise z')."""
        return self.generate(posterior.sample(), k)

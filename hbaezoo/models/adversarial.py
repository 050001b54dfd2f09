"""Conditional adversarial training: the one critic/generator game behind GAN, cGAN and HBAE.

All three play the game of Eq. 7 with a condition z: for HBAE z is learned by an
encoder (paper: "a cGAN with a VAE encoder where all modules are learned jointly"),
for a cGAN it is the one-hot label, for a GAN it is empty. Subclasses say only where
z comes from and what extra terms the critic phase carries.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from einops import rearrange, repeat
from torch import nn

from hbaezoo.components.adversarial import LinearLoss
from hbaezoo.models.base import Batch, Model, Phase, as_set, build, generate_from


class ConditionalAdversarial(Model):
    """Generator G(z'|z) against critic D(x|z); sets share one z across their elements."""

    averaged_parts = ("generator",)
    #: The weight of the adversarial term in the generator's loss (1 for a GAN; the HBAE makes it a setting).
    adversarial_weight = 1.0

    def __init__(
        self,
        *,
        image_shape,
        num_classes: int = 0,
        cond_dim: int,
        noise_dim: int,
        generator,
        discriminator,
        adversarial=None,
        penalty=None,
        critic_cond_dim: int | None = None,
    ) -> None:
        super().__init__(image_shape=image_shape, num_classes=num_classes)
        self.noise_dim = noise_dim
        self.generator = build(generator, image_shape=self.image_shape, z_dim=cond_dim, noise_dim=noise_dim)
        # The critic may read more than G is given (critic_condition): cond_dim unless said otherwise.
        critic_cond_dim = cond_dim if critic_cond_dim is None else critic_cond_dim
        self.discriminator = build(discriminator, image_shape=self.image_shape, cond_dim=critic_cond_dim)
        # The paper's linear (Wasserstein-form) loss unless the recipe picks another.
        self.adversarial = build(adversarial) if adversarial is not None else LinearLoss()
        self.penalty = build(penalty) if penalty is not None else None

    # -- what subclasses define ------------------------------------------------------------------
    def condition(self, batch: Batch, terms: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The condition z [B, Z] of each (set) example, and (if `terms`) extra critic-phase losses."""
        raise NotImplementedError

    def critic_group_parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def critic_code(self, z: torch.Tensor) -> torch.Tensor:
        """The condition the critic scores with in the critic phase, z [B, Z]."""
        return z

    def critic_condition(self, batch: Batch, z: torch.Tensor) -> torch.Tensor:
        """What the critic reads beside each (set) example's images, z [B, Z] -> [B, cond_dim]; z itself here."""
        return z

    def fakes(self, z: torch.Tensor, k: int) -> torch.Tensor:
        """The critic phase's fakes G(z'|z), k per code [B * k, C, H, W]."""
        return self.generate(z, k)

    def fake_terms(self, z: torch.Tensor, fakes: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """Extra critic-phase losses on the phase's own fakes [B * k, C, H, W] of codes z [B, Z]; none by default."""
        return {}

    def generator_terms(self, batch: Batch, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra generator-phase losses given the (fixed) codes z [B, Z]; none by default."""
        return {}

    @property
    def has_generator_terms(self) -> bool:
        """Whether generator_terms adds anything; then a generator step need not narrow the margin alone."""
        return False

    # -- training --------------------------------------------------------------------------------
    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"critic": self.critic_group_parameters(), "generator": list(self.generator.parameters())}

    def phases(self) -> list[Phase]:
        generator_aim = "generator_objective" if self.has_generator_terms else "margin"
        return [Phase("critic", self.critic_loss, lowers=("critic_objective",)),
                Phase("generator", self.generator_loss, lowers=(generator_aim,))]

    def measures(self, batch: Batch) -> dict[str, Callable[[], torch.Tensor]]:
        """critic_objective: the adversarial critic loss of D(x|z) and D(G(z'|z)|z) plus the critic
        phase's extra terms, which the critic phase lowers (Eq. 7's value for E and D; with the paper's
        linear loss and no extra terms, −margin); margin: mean_i D(xⁱ|z) − mean D(G(z'|z)|z), the gap
        the generator phase closes; generator_objective: the generator loss plus its extra terms, which
        the generator phase lowers when it has such terms. Each draws noise in its phase's order.
        """

        def scores(terms: bool):
            x = as_set(batch["x"])
            z, extra = self.condition(batch, terms=terms)
            z_per_element = repeat(self.critic_condition(batch, z), "b z -> (b k) z", k=x.shape[1])
            real = self.score(rearrange(x, "b k c h w -> (b k) c h w"), z_per_element, x.shape[1])
            fakes = self.generate(z, x.shape[1])
            fake = self.score(fakes, z_per_element, x.shape[1])
            if terms:
                extra = {**extra, **self.fake_terms(z, fakes, x.shape[1])}
            return real, fake, sum(extra.values(), torch.zeros(()))

        def critic_objective():
            real, fake, extra = scores(terms=True)
            return self.adversarial.critic(real, fake) + extra

        def margin():
            real, fake, _ = scores(terms=False)
            return real.mean() - fake.mean()

        def generator_objective():
            z, _ = self.condition(batch, terms=False)
            x = as_set(batch["x"])
            cond = repeat(self.critic_condition(batch, z), "b z -> (b k) z", k=x.shape[1])
            fake = self.score(self.generate(z, x.shape[1]), cond, x.shape[1])
            return self.generator_adversarial(fake) + sum(self.generator_terms(batch, z).values(), torch.zeros(()))

        return {"critic_objective": critic_objective, "margin": margin, "generator_objective": generator_objective}

    def score(self, images: torch.Tensor, codes: torch.Tensor, k: int) -> torch.Tensor:
        """D(x|z) over sets of k: images [B·k, C, H, W], codes [B·k, Z] -> [B·k]; a critic that
        reads sets jointly (`reads_sets`) is told k, others score element by element."""
        if getattr(self.discriminator, "reads_sets", False):
            return self.discriminator(images, codes, set_size=k)
        return self.discriminator(images, codes)

    def generator_adversarial(self, fake: torch.Tensor) -> torch.Tensor:
        """The generator's adversarial loss on critic scores of its fakes [N], at `adversarial_weight`."""
        return self.adversarial_weight * self.adversarial.generator(fake)

    def generate(self, z: torch.Tensor, k: int = 1, noise_scale: float = 1.0,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """k images per code: z [B, Z] -> [B * k, C, H, W] (element-major within each code); z' [B * k, N]
        drawn from N(0, I) unless given."""
        return generate_from(self.generator, z, k, self.noise_dim, noise_scale, noise)

    def critic_loss(self, batch: Batch):
        """Eq. 7/8, critic side: −mean_i D(xⁱ|z) + D(G(z'|z)|z) (+ the subclass's terms)."""
        x = as_set(batch["x"])
        k = x.shape[1]
        z, extra = self.condition(batch, terms=True)
        z_critic = repeat(self.critic_condition(batch, self.critic_code(z)), "b z -> (b k) z", k=k)
        real = self.score(x.flatten(0, 1), z_critic, k)
        fakes = self.fakes(z, k)
        fake = self.score(fakes, z_critic, k)
        adv = self.adversarial.critic(real, fake)
        logs = {"adv": adv.detach(), "d_real": real.mean().detach(), "d_fake": fake.mean().detach(),
                "margin": (real.mean() - fake.mean()).detach()}
        loss = adv
        if self.penalty is not None:
            z_flat = repeat(self.critic_condition(batch, z.detach()), "b z -> (b k) z", k=k)
            pen = self.penalty(lambda images: self.discriminator(images, z_flat), x.flatten(0, 1))
            loss = loss + pen
            logs["penalty"] = pen.detach()
        for name, value in {**extra, **self.fake_terms(z, fakes, k)}.items():
            loss = loss + value
            logs[name] = value.detach()
        return loss, logs

    def generator_loss(self, batch: Batch):
        """Generator side: raise D(G(z'|z)|z), with z fixed."""
        x = as_set(batch["x"])
        k = x.shape[1]
        with torch.no_grad():
            z, _ = self.condition(batch, terms=False)
        fake = self.score(self.generate(z, k), repeat(self.critic_condition(batch, z), "b z -> (b k) z", k=k), k)
        adv = self.adversarial.generator(fake)
        # Logged unweighted, so `adv` curves of runs with different adversarial_weight compare; the loss is weighted.
        loss, logs = self.adversarial_weight * adv, {"adv": adv.detach()}
        for name, value in self.generator_terms(batch, z).items():
            loss = loss + value
            logs[name] = value.detach()
        return loss, logs

"""HBAE (Eq. 7) and Set-HBAE (Eq. 8): a projection cGAN whose condition is a learned code.

The critic phase trains encoder and discriminator jointly against the generator,
    −mean_i D(xⁱ|z) + D(G(z'|z)|z) + β·MMD(q(z) ‖ N(0, I)) + λ·mean_i ‖xⁱ − G(0|z)‖₁,
with z = E(x) the (set) code; the generator phase raises D(G(z'|z)|z) with z fixed.
A single image is a set of one, so Set-HBAE is the same model fed sets.
"""

from __future__ import annotations

import gin
import torch
from einops import rearrange, repeat

from hbaezoo.models.adversarial import ConditionalAdversarial
from hbaezoo.models.base import Batch, Encodes, as_set, build
from hbaezoo.registry import MODELS


@MODELS.register("hbae")
class HBAE(Encodes, ConditionalAdversarial):
    """Hierarchical Bayes Autoencoder: encoder E, conditional generator G(z'|z), critic D(x|z)."""

    display_name = "HBAE"

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
        divergence=gin.REQUIRED,
        regulariser=None,
        adversarial=None,
        penalty=None,
        z_dim: int = 64,
        noise_dim: int = 64,
        beta: float = 1.0,
    ) -> None:
        super().__init__(
            image_shape=image_shape, num_classes=num_classes, cond_dim=z_dim, noise_dim=noise_dim,
            generator=generator, discriminator=discriminator, adversarial=adversarial, penalty=penalty,
        )
        self.init_encoder(encoder=encoder, pooler=pooler, head=head, z_dim=z_dim)
        self.divergence = build(divergence)
        self.regulariser = build(regulariser) if regulariser is not None else None
        self.beta = beta

    def critic_group_parameters(self):
        # Encoder and discriminator are trained jointly against the generator (paper §4.2).
        return [*self.encoder_parameters(), *self.discriminator.parameters()]

    def condition(self, batch: Batch, terms: bool):
        x = as_set(batch["x"])
        posterior = self.encode(x)
        z = posterior.sample()
        if not terms:
            return z, {}
        out = {"divergence": self.beta * self.divergence(posterior)}
        if self.regulariser is not None:
            # R acts on the encoder only: the generator is not in the critic's group.
            mean_image = rearrange(self.decode_mean(z), "b c h w -> b 1 c h w")
            out["regulariser"] = self.regulariser(
                x.flatten(0, 1), repeat(mean_image, "b 1 c h w -> (b k) c h w", k=x.shape[1])
            )
        return z, out

    # -- capabilities ----------------------------------------------------------------------------
    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """G(0|z): the image for the noise-free z' = 0, [B, Z] -> [B, C, H, W]."""
        return self.generator(z, z.new_zeros(z.shape[0], self.noise_dim))

    @torch.no_grad()
    def reconstruct(self, x, n):
        z = self.encode(x).sample()
        return rearrange(self.generate(z, n), "(b n) c h w -> n b c h w", n=n)

    @torch.no_grad()
    def sample(self, n, per_code):
        z = torch.randn(n, self.z_dim, device=self._device())
        return rearrange(self.generate(z, per_code), "(b n) c h w -> n b c h w", n=per_code)

    @torch.no_grad()
    def markov_chain(self, x, steps):
        chain = [x]
        for _ in range(steps):
            chain.append(self.generate(self.encode(chain[-1]).sample(), 1))
        return torch.stack(chain)

    @torch.no_grad()
    def reconstruct_set(self, x, k):
        z = self.encode(as_set(x)).sample()
        return rearrange(self.generate(z, k), "(b k) c h w -> b k c h w", k=k)

    @torch.no_grad()
    def sample_sets(self, n, k):
        z = torch.randn(n, self.z_dim, device=self._device())
        return rearrange(self.generate(z, k), "(b k) c h w -> b k c h w", k=k)

    def _device(self) -> torch.device:
        return next(self.parameters()).device


@MODELS.register("set_hbae")
class SetHBAE(HBAE):
    """Set-HBAE (Eq. 8): the HBAE fed sets [B, K, C, H, W]; one pooled code per set.

    The critic's real term averages D over the set's elements, the generator draws K
    elements from one code with different z', and the regulariser maps the code to
    every element. The set size may differ between training and sampling.
    """

    display_name = "Set-HBAE"

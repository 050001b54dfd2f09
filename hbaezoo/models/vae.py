"""VAE, Set-VAE and WAE controls: encoder, pooler and head as in HBAE, with a deterministic decoder.

VAE: −ELBO = ‖x − G(z)‖² / (2σ²) summed over pixels + β·KL, per example (a Gaussian
decoder of fixed σ, the paper's control). WAE-MMD: deterministic code, reconstruction
cost plus λ·MMD. Both are the same assembly with another divergence and head.
"""

from __future__ import annotations

import gin
import torch
from einops import rearrange, repeat

from hbaezoo.models.base import Batch, Encodes, Model, Phase, as_set, build
from hbaezoo.registry import MODELS


@MODELS.register("vae")
class VAE(Encodes, Model):
    """VAE with the HBAE's encoder and generator (noise-free): one phase, the negative ELBO."""

    display_name = "VAE"
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
        divergence=gin.REQUIRED,
        prior=None,
        z_dim: int = 64,
        beta: float = 1.0,
        decoder_std: float = 0.1,
    ) -> None:
        super().__init__(image_shape=image_shape, num_classes=num_classes)
        self.init_encoder(encoder=encoder, pooler=pooler, head=head, z_dim=z_dim, prior=prior)
        self.generator = build(generator, image_shape=self.image_shape, z_dim=z_dim, noise_dim=0)
        self.divergence = build(divergence)
        self.beta, self.decoder_std = beta, decoder_std

    def param_groups(self):
        return {"autoencoder": [*self.encoder_parameters(), *self.generator.parameters()]}

    def phases(self):
        return [Phase("autoencoder", self.loss, lowers=("reconstruction",))]

    def measures(self, batch: Batch):
        """reconstruction: mean squared error of every element against G(mean code of its set)."""

        def reconstruction():
            x = as_set(batch["x"])
            x_hat = self.decode(self.encode(x).mean)
            return (x - rearrange(x_hat, "b c h w -> b 1 c h w")).pow(2).mean()

        return {"reconstruction": reconstruction}

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, Z] -> mean image [B, C, H, W]."""
        return self.generator(z, z.new_zeros(z.shape[0], 0))

    def reconstruction_cost(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """Gaussian negative log-likelihood up to a constant, summed over pixels: [N, ...] -> [N]."""
        return (x - x_hat).pow(2).flatten(1).sum(1) / (2 * self.decoder_std**2)

    def loss(self, batch: Batch):
        x = as_set(batch["x"])
        posterior = self.encode(x)
        x_hat = self.decode(posterior.sample())
        # Every element of a set is explained by the set's one code.
        recon = self.reconstruction_cost(
            x.flatten(0, 1), repeat(x_hat, "b c h w -> (b k) c h w", k=x.shape[1])
        ).view(x.shape[0], x.shape[1]).sum(1).mean()
        div = self.beta * self.divergence(posterior)
        return recon + div, {"reconstruction": recon.detach(), "divergence": div.detach()}

    # -- capabilities ----------------------------------------------------------------------------
    def draw(self, posterior, k):
        """k draws of the code, each decoded: a deterministic decoder varies only with the code,
        so a point mass (prior samples are one) is decoded once and repeated."""
        if posterior.deterministic:
            return repeat(self.decode(posterior.mean), "b c h w -> (b k) c h w", k=k)
        z = torch.stack([posterior.sample() for _ in range(k)], dim=1)
        return self.decode(rearrange(z, "b k z -> (b k) z"))


@MODELS.register("set_vae")
class SetVAE(VAE):
    """Set-VAE: the VAE fed sets; one pooled code per set explains every element (Table 2's control)."""

    display_name = "Set-VAE"


@MODELS.register("wae")
class WAE(VAE):
    """WAE-MMD (Tolstikhin et al., 2017): deterministic code, reconstruction + λ·MMD to the prior.

    Bind `head = @heads.deterministic` and `divergence = @divergences.mmd()`; `beta` is λ
    and `decoder_std` scales the squared-error cost as in the VAE.
    """

    display_name = "WAE"

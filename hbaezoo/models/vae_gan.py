"""VAE-GAN (Larsen et al., 2016): a VAE whose decoder also fools an unconditional critic.

Three groups, three phases per step:
    discriminator  critic loss on real x against reconstructions G(z~q) and samples G(z~p)
    encoder        β·KL + reconstruction cost
    decoder        γ·reconstruction cost + generator loss on reconstructions and samples
With `feature_matching`, the reconstruction cost compares the critic's features φ(x)
and φ(x̂) instead of pixels, Larsen et al.'s "learned similarity".
"""

from __future__ import annotations

import gin
import torch
from einops import rearrange, repeat

from hbaezoo.components.adversarial import LinearLoss
from hbaezoo.models.base import Batch, Phase, as_set, build
from hbaezoo.models.vae import VAE
from hbaezoo.registry import MODELS


@MODELS.register("vae_gan")
class VAEGAN(VAE):
    """VAE + unconditional discriminator on reconstructions and prior samples (Larsen et al.)."""

    display_name = "VAE-GAN"

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
        adversarial=None,
        z_dim: int = 64,
        beta: float = 1.0,
        gamma: float = 1.0,
        decoder_std: float = 0.1,
        feature_matching: bool = True,
    ) -> None:
        super().__init__(
            image_shape=image_shape, num_classes=num_classes, encoder=encoder, pooler=pooler, head=head,
            generator=generator, divergence=divergence, z_dim=z_dim, beta=beta, decoder_std=decoder_std,
        )
        self.discriminator = build(discriminator, image_shape=self.image_shape, cond_dim=0)
        self.adversarial = build(adversarial) if adversarial is not None else LinearLoss()
        self.gamma, self.feature_matching = gamma, feature_matching

    def param_groups(self):
        return {
            "discriminator": list(self.discriminator.parameters()),
            "encoder": self.encoder_parameters(),
            "decoder": list(self.generator.parameters()),
        }

    def phases(self):
        return [Phase("discriminator", self.critic_loss, lowers=("critic_objective",)),
                Phase("encoder", self.encoder_loss, lowers=("negative_elbo",)),
                Phase("decoder", self.decoder_loss, lowers=("reconstruction",))]

    def measures(self, batch: Batch):
        """critic_objective: the adversarial critic loss of D(x) against D(x̂), D(G(z~p)); margin: mean D(x)
        − mean D(x̂, G(z~p)); reconstruction: the trained distance (critic
        features or pixels) of every element to x̂ = G(z~q); negative_elbo: that distance / 2σ² + β·KL."""

        def parts():
            x = as_set(batch["x"])
            real = rearrange(x, "b k c h w -> (b k) c h w")
            posterior = self.encode(x)
            x_hat = repeat(self.decode(posterior.sample()), "b c h w -> (b k) c h w", k=x.shape[1])
            fakes = torch.cat([x_hat, self.decode(torch.randn_like(posterior.mean))])
            real_scores, fake_scores = self._score(real), self._score(fakes)
            margin = real_scores.mean() - fake_scores.mean()
            if self.feature_matching:
                error = (self.discriminator.features(real) - self.discriminator.features(x_hat)).pow(2).sum(1).mean()
            else:
                error = (real - x_hat).pow(2).flatten(1).sum(1).mean()
            elbo = error / (2 * self.decoder_std**2) + self.beta * self.divergence(posterior)
            critic = self.adversarial.critic(real_scores, fake_scores)
            return {"critic_objective": critic, "margin": margin, "reconstruction": error, "negative_elbo": elbo}

        names = ("critic_objective", "margin", "reconstruction", "negative_elbo")
        return {name: (lambda name=name: parts()[name]) for name in names}

    def _score(self, images: torch.Tensor) -> torch.Tensor:
        return self.discriminator(images, images.new_zeros(images.shape[0], 0))

    def _forward(self, batch: Batch):
        """Flattened real elements [N, C, H, W], posterior, reconstructions and prior samples per element."""
        x = as_set(batch["x"])
        posterior = self.encode(x)
        x_hat = repeat(self.decode(posterior.sample()), "b c h w -> (b k) c h w", k=x.shape[1])
        prior = self.decode(torch.randn_like(posterior.mean))
        return x.flatten(0, 1), posterior, x_hat, prior

    def _reconstruction(self, real: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        if self.feature_matching:
            diff = self.discriminator.features(real) - self.discriminator.features(x_hat)
            return diff.pow(2).sum(1).mean() / (2 * self.decoder_std**2)
        return self.reconstruction_cost(real, x_hat).mean()

    def critic_loss(self, batch: Batch):
        with torch.no_grad():
            real, _, x_hat, prior = self._forward(batch)
        fakes = self._score(torch.cat([x_hat, prior]))
        loss = self.adversarial.critic(self._score(real), fakes)
        return loss, {"adv": loss.detach()}

    def encoder_loss(self, batch: Batch):
        real, posterior, x_hat, _ = self._forward(batch)
        recon = self._reconstruction(real, x_hat)
        div = self.beta * self.divergence(posterior)
        return recon + div, {"reconstruction": recon.detach(), "divergence": div.detach()}

    def decoder_loss(self, batch: Batch):
        real, _, x_hat, prior = self._forward(batch)
        recon = self.gamma * self._reconstruction(real, x_hat)
        adv = self.adversarial.generator(self._score(torch.cat([x_hat, prior])))
        return recon + adv, {"reconstruction": recon.detach(), "adv": adv.detach()}

"""GAN and cGAN controls: the HBAE's game with an empty condition, or with labels as z."""

from __future__ import annotations

import gin
import torch
import torch.nn.functional as F
from einops import rearrange

from hbaezoo.errors import ConfigError
from hbaezoo.models.adversarial import ConditionalAdversarial
from hbaezoo.models.base import Batch
from hbaezoo.registry import MODELS


@MODELS.register("gan")
class GAN(ConditionalAdversarial):
    """Unconditional GAN: G(z') against D(x), the same networks as the HBAE's (paper Table 1)."""

    display_name = "GAN"

    def __init__(
        self, *, image_shape, num_classes: int = 0, generator=gin.REQUIRED, discriminator=gin.REQUIRED,
        adversarial=None, penalty=None, noise_dim: int = 128,
    ) -> None:
        super().__init__(
            image_shape=image_shape, num_classes=num_classes, cond_dim=0, noise_dim=noise_dim,
            generator=generator, discriminator=discriminator, adversarial=adversarial, penalty=penalty,
        )

    def condition(self, batch: Batch, terms: bool):
        return batch["x"].new_zeros(batch["x"].shape[0], 0), {}

    @torch.no_grad()
    def sample(self, n, per_code):
        z = torch.zeros(n, 0, device=self.device)
        return rearrange(self.generate(z, per_code), "(b n) c h w -> n b c h w", n=per_code)


@MODELS.register("cgan")
class CGAN(ConditionalAdversarial):
    """Projection cGAN (Miyato & Koyama, 2018): the HBAE with one-hot labels in place of a learned z."""

    display_name = "cGAN"

    def __init__(
        self, *, image_shape, num_classes: int = 0, generator=gin.REQUIRED, discriminator=gin.REQUIRED,
        adversarial=None, penalty=None, noise_dim: int = 128,
    ) -> None:
        if num_classes < 2:
            raise ConfigError(
                f"models.cgan needs a dataset with class labels (it has {num_classes} classes). "
                f"Use a labelled dataset such as datasets.shapes (its categories are labels)."
            )
        super().__init__(
            image_shape=image_shape, num_classes=num_classes, cond_dim=num_classes, noise_dim=noise_dim,
            generator=generator, discriminator=discriminator, adversarial=adversarial, penalty=penalty,
        )

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_classes).float()

    def condition(self, batch: Batch, terms: bool):
        return self.one_hot(batch["y"]), {}

    def _random_codes(self, n: int) -> torch.Tensor:
        return self.one_hot(torch.arange(n, device=self.device) % self.num_classes)

    @torch.no_grad()
    def sample(self, n, per_code):
        """n codes cycle through the classes; `per_code` images of each."""
        return rearrange(self.generate(self._random_codes(n), per_code), "(b n) c h w -> n b c h w", n=per_code)

    @torch.no_grad()
    def sample_sets(self, n, k):
        """Sets of one class each: labels play the role of a set code."""
        return rearrange(self.generate(self._random_codes(n), k), "(b k) c h w -> b k c h w", k=k)

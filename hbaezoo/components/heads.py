"""Latent heads: pooled features [B, F] -> posterior over z [B, Z]."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.nn.blocks import sn
from hbaezoo.registry import HEADS


@HEADS.register("deterministic")
class DeterministicHead(nn.Module):
    """z = W f + b: a point-mass posterior, the paper's choice for HBAE (its footnote 1).

    `spectral = True` bounds W's largest singular value by 1, like the rest of the SN
    encoder, so an adversarial loss cannot win by scaling z up without bound.
    """

    def __init__(self, *, in_dim: int, z_dim: int, spectral: bool = False) -> None:
        super().__init__()
        self.linear = sn(nn.Linear(in_dim, z_dim), spectral)

    def forward(self, features: torch.Tensor) -> Posterior:
        """features [B, F] -> Posterior(mean [B, Z])."""
        return Posterior(self.linear(features))


@HEADS.register("gaussian")
class GaussianHead(nn.Module):
    """Diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar))), as in a VAE."""

    def __init__(self, *, in_dim: int, z_dim: int, min_logvar: float = -10.0) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, 2 * z_dim)
        self.min_logvar = min_logvar

    def forward(self, features: torch.Tensor) -> Posterior:
        """features [B, F] -> Posterior(mean [B, Z], logvar [B, Z])."""
        mean, logvar = self.linear(features).chunk(2, dim=-1)
        return Posterior(mean, logvar.clamp(min=self.min_logvar))

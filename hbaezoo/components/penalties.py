"""Gradient penalties on a discriminator."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.registry import PENALTIES


@PENALTIES.register("r1")
class R1Penalty(nn.Module):
    """(γ/2) · E‖∇ₓ D(x)‖² on real data (Mescheder et al., 2018)."""

    def __init__(self, *, gamma: float = 1.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, discriminate, x: torch.Tensor) -> torch.Tensor:
        """`discriminate(x) -> scores [B]`; x [B, C, H, W] real images."""
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminate(x).sum(), x, create_graph=True)
        return 0.5 * self.gamma * grad.pow(2).flatten(1).sum(1).mean()


@PENALTIES.register("drift")
class DriftPenalty(nn.Module):
    """ε · E[D(x)²] on real data (Karras et al., 2018): keeps a linear-loss critic's scores from drifting."""

    def __init__(self, *, epsilon: float = 1e-3) -> None:
        super().__init__()
        self.epsilon = epsilon

    def forward(self, discriminate, x: torch.Tensor) -> torch.Tensor:
        return self.epsilon * discriminate(x).pow(2).mean()


@PENALTIES.register("none")
class NoPenalty(nn.Module):
    """No gradient penalty (spectral norm alone constrains the critic)."""

    def forward(self, discriminate, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())

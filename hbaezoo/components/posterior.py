"""The posterior q(z|x) that heads produce and divergences consume."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Posterior:
    """A diagonal Gaussian over z [B, Z]; `logvar is None` means a point mass (deterministic encoder)."""

    mean: torch.Tensor
    logvar: torch.Tensor | None = None

    @property
    def deterministic(self) -> bool:
        return self.logvar is None

    def sample(self) -> torch.Tensor:
        """One reparameterised draw [B, Z] (the mean itself for a point mass)."""
        if self.logvar is None:
            return self.mean
        return self.mean + torch.randn_like(self.mean) * torch.exp(0.5 * self.logvar)

"""Set poolers: element features [B, K, F] -> set feature [B, F], invariant to element order."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.registry import POOLERS


@POOLERS.register("mean")
class MeanPooler(nn.Module):
    """DeepSets mean over the set's elements (the paper's Set-HBAE)."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        return x.mean(dim=1)


@POOLERS.register("sum")
class SumPooler(nn.Module):
    """DeepSets sum: keeps the set size in the code's scale."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        return x.sum(dim=1)


@POOLERS.register("max")
class MaxPooler(nn.Module):
    """Element-wise max over the set (PointNet-style)."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        return x.amax(dim=1)

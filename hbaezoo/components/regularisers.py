"""Reconstruction regularisers: (x, x̂) [B, C, H, W] -> weighted scalar penalty.

In HBAE the regulariser R = λ‖x − G(0|z)‖₁ keeps the encoder from collapsing to a
constant (paper §4.2). `reduction` says how an image's pixel distances combine:
'mean' (λ reads the same at any resolution) or 'sum' (the paper's norm, C·H·W times
larger); images are always averaged.
"""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.errors import ConfigError
from hbaezoo.nn.perceptual import lpips_network, prepare
from hbaezoo.registry import REGULARISERS

REDUCTIONS = ("mean", "sum")


def per_image(distance: torch.Tensor, reduction: str) -> torch.Tensor:
    """Pixel distances [B, C, H, W] -> scalar: each image's mean or sum, averaged over images."""
    if reduction == "sum":
        return distance.flatten(1).sum(1).mean()
    return distance.mean()


def _check_reduction(name: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ConfigError(f"regularisers.{name}.reduction: '{reduction}' is not one of {REDUCTIONS}.")
    return reduction


@REGULARISERS.register("l1")
class L1Reconstruction(nn.Module):
    """λ · |x − x̂| per image (the paper's choice, λ = 1; a norm is `reduction = 'sum'`)."""

    def __init__(self, *, weight: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("l1", reduction)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        return self.weight * per_image((x - x_hat).abs(), self.reduction)


@REGULARISERS.register("l2")
class L2Reconstruction(nn.Module):
    """λ · (x − x̂)² per image."""

    def __init__(self, *, weight: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        self.weight = weight
        self.reduction = _check_reduction("l2", reduction)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        return self.weight * per_image((x - x_hat).pow(2), self.reduction)


@REGULARISERS.register("lpips")
class LPIPSReconstruction(nn.Module):
    """λ · LPIPS(x, x̂) (Zhang et al., 2018), built by hbaezoo.nn.perceptual.

    `trunk` is 'imagenet' (torchvision's weights, which must already be on disk; a clear
    error otherwise), 'random' (a fixed random trunk; what the tests use) or 'auto'.
    """

    TEST_KWARGS = {"trunk": "random"}

    def __init__(self, *, weight: float = 1.0, net: str = "alex", trunk: str = "imagenet",
                 pretrained_backbone: bool | None = None) -> None:
        super().__init__()
        if pretrained_backbone is not None:  # the name before `trunk`: runs that bound it still load
            trunk = "imagenet" if pretrained_backbone else "random"
        self.weight = weight
        self.lpips, self.about = lpips_network(net, trunk, setting="regularisers.lpips.trunk")

    def train(self, mode: bool = True) -> LPIPSReconstruction:
        super().train(mode)
        self.lpips.eval()  # a fixed metric: its dropout must not switch on with the model's training mode
        return self

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        return self.weight * self.lpips(prepare(x), prepare(x_hat)).mean()

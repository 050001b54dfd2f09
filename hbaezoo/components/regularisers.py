"""Reconstruction regularisers: (x, x̂) [B, C, H, W] -> weighted scalar penalty.

In HBAE the regulariser R = λ‖x − G(0|z)‖₁ keeps the encoder from collapsing to a
constant (paper §4.2). `reduction` says how an image's pixel distances combine:
'mean' (λ reads the same at any resolution) or 'sum' (the paper's norm, C·H·W times
larger); images are always averaged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


@REGULARISERS.register("laplacian")
class LaplacianReconstruction(nn.Module):
    """λ · Σ_j mean|L_j(x) − L_j(x̂)|: L1 on each level of a Laplacian pyramid (Lap1), scales alike.

    After Bojanowski et al., 2018 ("Optimizing the latent space of generative networks"). Level j
    is the detail lost when the image is halved once more (2×2 mean, bilinear back up); the last
    level is what is left at 1/2^(levels−1) of the size. An error that spans several scales (a
    wrong edge beside a wrong colour) counts once at each, where the pixel mean counts it once
    in all. `levels = 1` is the plain L1.
    """

    def __init__(self, *, weight: float = 1.0, levels: int = 3, reduction: str = "mean") -> None:
        super().__init__()
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ConfigError(f"regularisers.laplacian.levels: {levels!r} is not a whole number ≥ 1.")
        self.weight = weight
        self.levels = levels
        self.reduction = _check_reduction("laplacian", reduction)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        side = 2 ** (self.levels - 1)
        if x.shape[-2] % side or x.shape[-1] % side:
            raise ConfigError(f"regularisers.laplacian.levels = {self.levels} halves images {self.levels - 1} "
                              f"times, to 1/{side} of their size, which {x.shape[-2]}×{x.shape[-1]} images cannot "
                              f"take: use fewer levels or a size divisible by {side}.")
        difference = x - x_hat  # the pyramid is linear: the pyramid of the difference is the difference of pyramids
        bands = []
        for _ in range(self.levels - 1):
            coarse = F.avg_pool2d(difference, 2)
            bands.append(difference - F.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False))
            difference = coarse
        bands.append(difference)
        # 'sum' scales every band's mean to the full image's C·H·W, as the plain norms do
        scale = x[0].numel() if self.reduction == "sum" else 1
        return self.weight * scale * torch.stack([band.abs().mean() for band in bands]).sum()


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

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


MIN_LPIPS_SIZE = 64


@REGULARISERS.register("lpips")
class LPIPSReconstruction(nn.Module):
    """λ · LPIPS(x, x̂) (Zhang et al., 2018) with the lpips package's linear layers.

    The backbone's ImageNet weights come from torchvision's cache; hbaezoo never
    downloads them. `pretrained_backbone=False` (what the tests use) gives a randomly
    initialised backbone with lpips' shipped linear layers.
    """

    TEST_KWARGS = {"pretrained_backbone": False}

    def __init__(self, *, weight: float = 1.0, net: str = "alex", pretrained_backbone: bool = True) -> None:
        super().__init__()
        import lpips

        if pretrained_backbone:
            _require_torchvision_weights(net)
        self.weight = weight
        self.lpips = lpips.LPIPS(net=net, pnet_rand=not pretrained_backbone, verbose=False)
        self.lpips.requires_grad_(False)

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < MIN_LPIPS_SIZE:
            # The backbones' strided pooling needs about 64 px; smaller images are upsampled.
            size = (MIN_LPIPS_SIZE, MIN_LPIPS_SIZE)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            x_hat = F.interpolate(x_hat, size=size, mode="bilinear", align_corners=False)
        if x.shape[1] == 1:
            x, x_hat = x.expand(-1, 3, -1, -1), x_hat.expand(-1, 3, -1, -1)
        return self.weight * self.lpips(x, x_hat).mean()


_TORCHVISION_WEIGHTS = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}


def _require_torchvision_weights(net: str) -> None:
    from torch.hub import get_dir

    if net not in _TORCHVISION_WEIGHTS:
        raise ConfigError(f"regularisers.lpips.net: '{net}' is not one of {sorted(_TORCHVISION_WEIGHTS)}.")
    path = f"{get_dir()}/checkpoints/{_TORCHVISION_WEIGHTS[net]}"
    import os

    if not os.path.isfile(path):
        raise ConfigError(
            f"LPIPS with net='{net}' needs torchvision's ImageNet weights at {path}, and hbaezoo "
            f"never downloads. Copy the file there (or set TORCH_HOME), or bind "
            f"`regularisers.lpips.pretrained_backbone = False` for a random backbone."
        )

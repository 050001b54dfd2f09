"""Residual blocks of the SNGAN / projection-cGAN family used by every network here.

Encoder and discriminator share `DownTrunk` (spectral-normalised residual blocks that
halve the resolution); the generator stacks `UpBlock`s whose batch norm is conditioned
on z (Miyato & Koyama, 2018; the paper's Fig. 3).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import repeat
from torch import nn

from hbaezoo.nn.spectral import spectral_norm


def sn(module: nn.Module, enabled: bool = True) -> nn.Module:
    """`module` with a spectral-normalised weight (hbaezoo.nn.spectral), or unchanged if not `enabled`."""
    return spectral_norm(module) if enabled else module


def stages_for(resolution: int) -> int:
    """Number of 2x resampling stages between `resolution` and the 4x4 base."""
    stages = math.log2(resolution / 4)
    if resolution < 8 or stages != int(stages):
        raise ValueError(
            f"image resolution {resolution} is not supported: use a power of two >= 8 "
            f"(the paper's settings are 16, 32 and 64)."
        )
    return int(stages)


def upsample_nearest2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 2x upsampling: x [B, C, H, W] -> [B, C, 2H, 2W]."""
    if torch.compiler.is_compiling():
        # Inductor lowers the backward of F.interpolate to a scatter-add that runs serially on a
        # CPU (10 % of a compiled HBAE step); the backward of this broadcast is a 2x2 sum it fuses.
        return repeat(x, "b c h w -> b c (h 2) (w 2)")
    # Eager: aten's kernel keeps channels_last, where the broadcast's reshape would not.
    return F.interpolate(x, scale_factor=2, mode="nearest")


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift are linear in the condition z [B, Z].

    With `cond_dim == 0` it is a plain affine BatchNorm (unconditional generator). With
    `normalize=False` only the conditional scale and shift remain: a layer without batch
    statistics, whose output for one example does not depend on the rest of the batch.
    """

    def __init__(self, channels: int, cond_dim: int, normalize: bool = True) -> None:
        super().__init__()
        self.cond_dim = cond_dim
        if normalize:
            self.bn = nn.BatchNorm2d(channels, affine=cond_dim == 0)
        else:
            self.bn = nn.Identity()
        if cond_dim:
            self.gain = nn.Linear(cond_dim, channels)
            self.bias = nn.Linear(cond_dim, channels)
            nn.init.zeros_(self.gain.weight)
            nn.init.zeros_(self.gain.bias)
            nn.init.zeros_(self.bias.weight)
            nn.init.zeros_(self.bias.bias)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W], z [B, Z] -> [B, C, H, W]."""
        x = self.bn(x)
        if not self.cond_dim:
            return x
        return x * (1 + self.gain(z)[:, :, None, None]) + self.bias(z)[:, :, None, None]


class UpBlock(nn.Module):
    """Pre-activation residual block with conditional BN; doubles the resolution if `up`."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, up: bool = True, normalize: bool = True) -> None:
        super().__init__()
        self.up = up
        self.bn1 = ConditionalBatchNorm(in_ch, cond_dim, normalize)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.bn2 = ConditionalBatchNorm(out_ch, cond_dim, normalize)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if (in_ch != out_ch or up) else nn.Identity()

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        return upsample_nearest2x(x) if self.up else x

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W], z [B, Z] -> [B, C', 2H, 2W] (or [B, C', H, W] without `up`)."""
        h = self._resample(F.relu(self.bn1(x, z)))
        h = self.conv2(F.relu(self.bn2(self.conv1(h), z)))
        return h + self.skip(self._resample(x))


class DownBlock(nn.Module):
    """Residual block with spectral norm; halves the resolution if `down`.

    The first block of a trunk skips the leading ReLU so raw pixels are not clipped.
    """

    def __init__(
        self, in_ch: int, out_ch: int, *, down: bool = True, first: bool = False, spectral: bool = True
    ) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = sn(nn.Conv2d(in_ch, out_ch, 3, padding=1), spectral)
        self.conv2 = sn(nn.Conv2d(out_ch, out_ch, 3, padding=1), spectral)
        self.skip = (
            sn(nn.Conv2d(in_ch, out_ch, 1), spectral) if (in_ch != out_ch or down) else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, C', H/2, W/2] (or [B, C', H, W] without `down`)."""
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        skip = x
        if self.first:
            # Downsample before the 1x1 conv on raw input, as in SNGAN's optimized block.
            skip = self.skip(F.avg_pool2d(skip, 2) if self.down else skip)
        else:
            skip = self.skip(skip)
            skip = F.avg_pool2d(skip, 2) if self.down else skip
        h = F.avg_pool2d(h, 2) if self.down else h
        return h + skip


class DownTrunk(nn.Module):
    """Image [B, C, H, W] -> features [B, width]: residual blocks down to 4x4, ReLU, sum-pool."""

    def __init__(
        self, *, image_shape: tuple[int, int, int], width: int, depth: int = 1, spectral: bool = True
    ) -> None:
        super().__init__()
        channels, height, _ = image_shape
        blocks: list[nn.Module] = []
        in_ch = channels
        for stage in range(stages_for(height)):
            blocks.append(DownBlock(in_ch, width, first=stage == 0, spectral=spectral))
            blocks += [DownBlock(width, width, down=False, spectral=spectral) for _ in range(depth - 1)]
            in_ch = width
        self.blocks = nn.Sequential(*blocks)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

"""Generators: (z [B, Z], noise z' [B, N]) -> image [B, C, H, W] in [-1, 1]."""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from hbaezoo.errors import ConfigError
from hbaezoo.nn.blocks import ConditionalBatchNorm, UpBlock, stages_for
from hbaezoo.registry import GENERATORS


@GENERATORS.register("resnet")
class ConditionalResNetGenerator(nn.Module):
    """G(z'|z): residual up-blocks with batch norm conditioned on z (paper Fig. 3).

    The input layer sees [z, z']; every batch norm sees z, so the code steers every
    scale while the noise z' supplies the variation. With `z_dim == 0` it is an
    unconditional SNGAN generator; with `noise_dim == 0` a deterministic decoder.
    `batch_norm=False` drops the batch statistics but keeps the z-conditioned scale and
    shift (used where an example's output must not depend on its batch).

    `noise_strength` s (a number) scales z' by a learned per-dimension strength that starts at s,
    as StyleGAN scales its noise inputs (Karras et al., 2019, who start at 0): at 0, G starts as
    a deterministic decoder of z and takes z' up only as far as its losses ask. None (the
    default): z' enters as drawn. Without z' (`noise_dim == 0`) there is nothing to scale.
    """

    def __init__(
        self,
        *,
        image_shape: tuple[int, int, int],
        z_dim: int,
        noise_dim: int,
        width: int = 64,
        depth: int = 1,
        batch_norm: bool = True,
        noise_strength: float | None = None,
    ) -> None:
        super().__init__()
        if z_dim + noise_dim == 0:
            raise ValueError("generators.resnet needs z_dim + noise_dim > 0 (it has no input).")
        if noise_strength is not None and not math.isfinite(noise_strength):
            raise ConfigError(f"generators.resnet.noise_strength is the starting scale of z' and must be a finite "
                              f"number (or None: z' unscaled), got {noise_strength!r}.")
        channels, height, _ = image_shape
        self.z_dim, self.noise_dim, self.width = z_dim, noise_dim, width
        self.input = nn.Linear(z_dim + noise_dim, 4 * 4 * width)
        self.noise_strength = (nn.Parameter(torch.full((noise_dim,), float(noise_strength)))
                               if noise_strength is not None and noise_dim else None)
        blocks = []
        for _ in range(stages_for(height)):
            blocks.append(UpBlock(width, width, z_dim, normalize=batch_norm))
            blocks += [UpBlock(width, width, z_dim, up=False, normalize=batch_norm) for _ in range(depth - 1)]
        self.blocks = nn.ModuleList(blocks)
        self.out_bn = ConditionalBatchNorm(width, z_dim, batch_norm)
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """z [B, Z], noise [B, N] -> image [B, C, H, W]."""
        if self.noise_strength is not None:
            noise = noise * self.noise_strength
        h = rearrange(self.input(torch.cat([z, noise], dim=1)), "b (c h w) -> b c h w", h=4, w=4)
        for block in self.blocks:
            h = block(h, z)
        return torch.tanh(self.out(torch.relu(self.out_bn(h, z))))

"""Inference modes of `hbaezoo sample`, one registered part each.

A mode maps a model (and, if it `needs_data`, a batch of test images or sets) to a
grid [rows, cols, C, H, W] in [-1, 1]; `save_grid` writes it as one PNG.
"""

from __future__ import annotations

from pathlib import Path

import torch
from einops import rearrange
from torchvision.utils import save_image

from hbaezoo.models.base import Model, as_set
from hbaezoo.registry import SAMPLERS


def save_grid(grid: torch.Tensor, path: Path) -> None:
    """Grid [rows, cols, C, H, W] in [-1, 1] -> PNG with 2-px light borders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, cols = grid.shape[:2]
    save_image(
        rearrange(grid.float().cpu(), "r c ch h w -> (r c) ch h w"),
        path, nrow=cols, padding=2, normalize=True, value_range=(-1, 1), pad_value=1.0,
    )


@SAMPLERS.register("recon")
class StochasticReconstruction:
    """Inputs (top row) and `per_input` stochastic reconstructions below, one z' each."""

    needs_data = True
    needs_sets = False

    def __init__(self, *, per_input: int = 4) -> None:
        self.per_input = per_input

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = x[:n] if x.ndim == 4 else x[:n, 0]
        return torch.cat([x.unsqueeze(0), model.reconstruct(x, self.per_input)])


@SAMPLERS.register("uncond")
class UnconditionalSamples:
    """n codes from the prior (columns), `per_code` draws of z' each (rows)."""

    needs_data = False
    needs_sets = False

    def __init__(self, *, per_code: int = 4) -> None:
        self.per_code = per_code

    def __call__(self, model: Model, x, *, n: int, steps: int) -> torch.Tensor:
        return model.sample(n, self.per_code)


@SAMPLERS.register("markov")
class MarkovChain:
    """Chains x → E → G → E → G ... from test images (columns), `steps` links (rows)."""

    needs_data = True
    needs_sets = False

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = x[:n] if x.ndim == 4 else x[:n, 0]
        return model.markov_chain(x, steps)


@SAMPLERS.register("set_recon")
class SetReconstruction:
    """Each input set (a row) followed by a new set generated from its code (the next row)."""

    needs_data = True
    needs_sets = True

    def __call__(self, model: Model, x: torch.Tensor | None, *, n: int, steps: int) -> torch.Tensor:
        x = as_set(x)[:n]
        new = model.reconstruct_set(x, x.shape[1])
        return rearrange(torch.stack([x, new], dim=1), "b two k c h w -> (b two) k c h w")


@SAMPLERS.register("set_uncond")
class SetGeneration:
    """Unconditional sets: one prior code per row, `set_size` elements with different z'."""

    needs_data = False
    needs_sets = False

    def __init__(self, *, set_size: int = 8) -> None:
        self.set_size = set_size

    def __call__(self, model: Model, x, *, n: int, steps: int) -> torch.Tensor:
        return model.sample_sets(n, self.set_size)

"""Spectral normalisation (Miyato et al., 2018) that torch.compile can train.

`W / σ(W)`, with σ estimated by one power iteration per training-mode call, exactly as
`torch.nn.utils.parametrizations.spectral_norm` does: same initial vectors from the same
seed, same arithmetic, same state_dict keys (`<name>.parametrizations.weight.original`,
`…weight.0._u`, `…weight.0._v`), so checkpoints of either load into the other.

The one difference is how the power-iteration vectors are kept. torch overwrites `_u`
and `_v` in place; under torch.compile a critic called twice before one backward (real
and fake images) then finds the vectors its saved graph read changed under it, and the
compiled backward fails. Here every iteration stores *new* tensors in the buffers, and
σ = uᵀWv is computed from those: nothing a graph saved is ever mutated, in eager or
compiled code, and the numbers are the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize


class SpectralNorm(nn.Module):
    """Parametrization weight [out, ...] -> weight / σ(weight) (σ over weight.flatten(1))."""

    def __init__(self, weight: torch.Tensor, *, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        if weight.ndim < 2:
            raise ValueError(f"spectral norm needs a weight with >= 2 dimensions, got shape {tuple(weight.shape)}.")
        if n_power_iterations < 1:
            raise ValueError(f"n_power_iterations must be >= 1, got {n_power_iterations}.")
        self.n_power_iterations, self.eps = n_power_iterations, eps
        mat = weight.flatten(1)
        # Drawn in torch's order (u then v), so a seed gives torch's initial vectors.
        u = mat.new_empty(mat.shape[0]).normal_(0, 1)
        v = mat.new_empty(mat.shape[1]).normal_(0, 1)
        self.register_buffer("_u", F.normalize(u, dim=0, eps=eps))
        self.register_buffer("_v", F.normalize(v, dim=0, eps=eps))
        self._power_iteration(mat, 15)  # start near the top singular vectors, as torch does

    @torch.no_grad()
    def _power_iteration(self, mat: torch.Tensor, n: int) -> None:
        u, v = self._u, self._v
        for _ in range(n):
            u = F.normalize(torch.mv(mat, v), dim=0, eps=self.eps)
            v = F.normalize(torch.mv(mat.H, u), dim=0, eps=self.eps)
        # New tensors, not in-place writes: a graph that saved the old ones keeps them intact.
        # `.to` keeps the buffers float32 when autocast ran the products in bf16/fp16.
        self._u, self._v = u.to(self._u.dtype), v.to(self._v.dtype)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mat = weight.flatten(1)
        if self.training:
            self._power_iteration(mat, self.n_power_iterations)
        sigma = torch.vdot(self._u, torch.mv(mat, self._v))
        return weight / sigma

    def right_inverse(self, value: torch.Tensor) -> torch.Tensor:
        return value  # assigning `module.weight = w` stores w as the unnormalised weight


def spectral_norm(module: nn.Module, name: str = "weight", *, n_power_iterations: int = 1,
                  eps: float = 1e-12) -> nn.Module:
    """Register SpectralNorm on `module.<name>` (a Linear or Conv weight); returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"{type(module).__name__} has no tensor '{name}' to spectral-normalise.")
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        # torch normalises transposed convolutions over dim 1; this class only does dim 0.
        raise ValueError(f"{type(module).__name__}: use torch.nn.utils.parametrizations.spectral_norm "
                         f"for transposed convolutions.")
    parametrize.register_parametrization(
        module, name, SpectralNorm(weight, n_power_iterations=n_power_iterations, eps=eps)
    )
    return module

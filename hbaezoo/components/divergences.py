"""Divergences between the aggregate posterior q(z) and the prior N(0, I).

The maths lives in plain functions (`mmd`, `kl_to_standard_normal`); registered parts
wrap them with their settings. Every part maps a `Posterior` to a scalar.
"""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.errors import ConfigError
from hbaezoo.registry import DIVERGENCES

# WAE's scales for the inverse multiquadric kernel (Tolstikhin et al., 2017).
WAE_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def upcast(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Half-precision tensors (what autocast's layers hand over) as float32, others as they are."""
    return tuple(t.float() if t.dtype in (torch.float16, torch.bfloat16) else t for t in tensors)


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a [N, Z], b [M, Z] -> squared Euclidean distances [N, M]."""
    return (a.unsqueeze(1) - b.unsqueeze(0)).pow(2).sum(-1)


def imq_kernel(d2: torch.Tensor, z_dim: int, scales=WAE_SCALES) -> torch.Tensor:
    """Sum over scales s of C / (C + d²) with C = 2·Z·s (WAE's inverse multiquadric)."""
    return sum(2 * z_dim * s / (2 * z_dim * s + d2) for s in scales)


def rbf_kernel(d2: torch.Tensor, z_dim: int, scales=(1.0,)) -> torch.Tensor:
    """Sum over scales s of exp(-d² / (2·Z·s))."""
    return sum(torch.exp(-d2 / (2 * z_dim * s)) for s in scales)


KERNELS = {"imq": imq_kernel, "rbf": rbf_kernel}


def mmd(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq", scales=WAE_SCALES) -> torch.Tensor:
    """Unbiased estimate of MMD² between samples x [N, Z] and y [M, Z] (N, M >= 2), in float32 at least.

    MMD² is a small difference of kernel means of order one: in bf16 (8 bits of mantissa, what a bf16-autocast
    encoder hands over) it rounds to a few steps of 1/64 and often to 0, so the samples are upcast first.
    """
    if kernel not in KERNELS:
        raise ConfigError(f"unknown MMD kernel '{kernel}'; choose one of {sorted(KERNELS)}.")
    x, y = upcast(x, y)
    k = KERNELS[kernel]
    n, m, z_dim = x.shape[0], y.shape[0], x.shape[1]
    kxx = k(_sq_dists(x, x), z_dim, scales)
    kyy = k(_sq_dists(y, y), z_dim, scales)
    kxy = k(_sq_dists(x, y), z_dim, scales)
    off_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    off_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return off_x + off_y - 2 * kxy.mean()


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per sample: [B, Z] -> [B], in float32 at least (as `mmd`)."""
    mean, logvar = upcast(mean, logvar)
    return 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)


@DIVERGENCES.register("mmd")
class MMD(nn.Module):
    """MMD² between codes drawn from q(z) and from N(0, I) (WAE-MMD; the paper's choice)."""

    def __init__(self, *, kernel: str = "imq", scales: tuple[float, ...] = WAE_SCALES) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ConfigError(f"divergences.mmd.kernel: unknown '{kernel}'; choose one of {sorted(KERNELS)}.")
        self.kernel, self.scales = kernel, tuple(scales)

    def forward(self, posterior: Posterior) -> torch.Tensor:
        z = posterior.sample()
        if z.shape[0] < 2:
            return z.new_zeros(())
        return mmd(z, torch.randn_like(z), self.kernel, self.scales)


@DIVERGENCES.register("mmd_multiscale")
class MultiScaleMMD(MMD):
    """MMD² with an RBF kernel summed over bandwidths spanning three decades."""

    def __init__(self, *, scales: tuple[float, ...] = (0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)) -> None:
        super().__init__(kernel="rbf", scales=scales)


@DIVERGENCES.register("kl")
class KL(nn.Module):
    """Analytic KL(q(z|x) || N(0, I)) summed over z and averaged over the batch (VAE)."""

    def forward(self, posterior: Posterior) -> torch.Tensor:
        if posterior.logvar is None:
            raise ConfigError(
                "divergences.kl needs a Gaussian posterior, but the head is deterministic. "
                "Bind the model's head to @heads.gaussian (e.g. `-b models.hbae.head=@heads.gaussian`)."
            )
        return kl_to_standard_normal(posterior.mean, posterior.logvar).mean()


@DIVERGENCES.register("none")
class NoDivergence(nn.Module):
    """No pull towards the prior (an ablation; unconditional sampling then has no footing)."""

    def forward(self, posterior: Posterior) -> torch.Tensor:
        return posterior.mean.new_zeros(())

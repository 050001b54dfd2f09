"""Diversity of what a model draws for one input (or one prior code): mean pairwise LPIPS and pixel MSE.

LPIPS is built by hbaezoo.nn.perceptual (the `lpips` package's v0.1 metric, AlexNet trunk),
with its one policy for missing weights. `lpips_trunk` = 'auto' (the default) uses
torchvision's ImageNet weights when already on disk and a fixed random trunk otherwise;
'imagenet' demands the weights (a clear error without them). results.json says which
(`info.lpips`). Images smaller than `lpips_size` are upsampled bilinearly to it first
(AlexNet's pooling needs the room).
"""

from __future__ import annotations

from itertools import combinations

import torch

from hbaezoo.data.base import to_float
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.fidelity import pixel_mse, random_pairs
from hbaezoo.nn.perceptual import check_trunk, lpips_network, prepare
from hbaezoo.registry import METRICS

_LPIPS: dict[tuple[str, str], tuple[torch.nn.Module, str]] = {}


def lpips_model(device: torch.device, trunk: str = "auto") -> tuple[torch.nn.Module, str]:
    """(AlexNet LPIPS on device, a sentence saying which trunk it uses), built once per device and trunk."""
    key = (str(device), trunk)
    if key not in _LPIPS:
        net, what = lpips_network("alex", trunk, setting="metrics.diversity.lpips_trunk (or diversity_prior's)")
        _LPIPS[key] = (net.to(device), what)
    return _LPIPS[key]


def _prepare(images: torch.Tensor, device: torch.device, size: int) -> torch.Tensor:
    return prepare(to_float(images.to(device)), size)


@torch.no_grad()
def lpips_distance(ctx: EvalContext, a: torch.Tensor, b: torch.Tensor, size: int = 64,
                   trunk: str = "auto") -> torch.Tensor:
    """LPIPS between uint8 image batches a and b [N, C, H, W] -> [N] (CPU)."""
    net, what = lpips_model(ctx.device, trunk)
    ctx.info["lpips"] = what
    out = []
    for s in range(0, len(a), ctx.batch_size):
        d = net(_prepare(a[s:s + ctx.batch_size], ctx.device, size), _prepare(b[s:s + ctx.batch_size], ctx.device, size))
        out.append(d.flatten().float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


@torch.no_grad()
def lpips_features(net: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The unit-normalised trunk activations LPIPS compares (lpips.LPIPS.forward's first half)."""
    import lpips

    return [lpips.normalize_tensor(f) for f in net.net.forward(net.scaling_layer(x))]


def lpips_between(net: torch.nn.Module, fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """LPIPS from precomputed features (lpips.LPIPS.forward's second half, spatial average) -> [N]."""
    return sum(net.lins[i]((a - b) ** 2).mean(dim=(2, 3)) for i, (a, b) in enumerate(zip(fa, fb))).flatten()


@torch.no_grad()
def pairwise(ctx: EvalContext, draws: torch.Tensor, lpips_size: int, trunk: str = "auto") -> dict[str, float]:
    """draws uint8 [m, k, C, H, W]: mean over the m groups and their k(k-1)/2 pairs.

    Each image passes the LPIPS trunk once; the k(k-1)/2 comparisons reuse its features.
    """
    m, k = draws.shape[:2]
    if k < 2:
        raise ValueError("diversity needs at least two draws per input (per_input >= 2)")
    net, what = lpips_model(ctx.device, trunk)
    ctx.info["lpips"] = what
    pairs = list(combinations(range(k), 2))
    lp, px = [], []
    step = max(1, ctx.batch_size // k)
    for s in range(0, m, step):
        group = draws[s:s + step]
        feats = [f.view(len(group), k, *f.shape[1:]) for f in lpips_features(net, _prepare(group.flatten(0, 1), ctx.device, lpips_size))]
        for i, j in pairs:
            lp.append(lpips_between(net, [f[:, i] for f in feats], [f[:, j] for f in feats]).float().cpu())
            px.append(pixel_mse(group[:, i], group[:, j]))
    return {"lpips": float(torch.cat(lp).mean()), "pixel_mse": float(torch.cat(px).mean())}


def _draws(ctx: EvalContext, description: str, m: int, k: int, fn) -> torch.Tensor:
    """fn(start, size) -> [k, size, C, H, W] model outputs, collected as uint8 [m, k, C, H, W]."""
    flat = ctx.batched(description, m, lambda s, b: fn(s, b).transpose(0, 1).flatten(0, 1))
    return flat.view(m, k, *flat.shape[1:])


def _reference(ctx: EvalContext, m: int, lpips_size: int, trunk: str) -> dict[str, float]:
    """The same distances between random pairs of different test images (the scale to read them on)."""
    real = ctx.real_images()
    i, j = random_pairs(len(real), ctx.generator("diversity", "pairs"))
    i, j = i[:m], j[:m]
    return {"lpips_random_pair": float(lpips_distance(ctx, real[i], real[j], lpips_size, trunk).mean()),
            "pixel_mse_random_pair": float(pixel_mse(real[i], real[j]).mean())}


@METRICS.register("diversity")
@check_kwargs(inputs=3, per_input=3)
def diversity(ctx: EvalContext, *, inputs: int = 64, per_input: int = 8, lpips_size: int = 64,
              lpips_trunk: str = "auto") -> dict[str, float]:
    """Mean pairwise LPIPS and pixel MSE among `per_input` stochastic reconstructions of one test image."""
    check_trunk(lpips_trunk, "metrics.diversity.lpips_trunk")  # before the draws, not after
    real = ctx.real_images()[:inputs]
    m = len(real)
    with ctx.seeded("diversity"):
        draws = _draws(ctx, "stochastic reconstructions", m, per_input,
                       lambda s, b: ctx.model.reconstruct(ctx.to_model(real[s:s + b]), per_input))
    return {**pairwise(ctx, draws, lpips_size, lpips_trunk), **_reference(ctx, m, lpips_size, lpips_trunk),
            "inputs": float(m), "per_input": float(per_input)}


@METRICS.register("diversity_prior")
@check_kwargs(codes=3, per_code=3)
def diversity_prior(ctx: EvalContext, *, codes: int = 64, per_code: int = 8, lpips_size: int = 64,
                    lpips_trunk: str = "auto") -> dict[str, float]:
    """Mean pairwise LPIPS and pixel MSE among `per_code` samples of one prior code (z fixed, z' drawn)."""
    check_trunk(lpips_trunk, "metrics.diversity_prior.lpips_trunk")
    with ctx.seeded("diversity_prior"):
        draws = _draws(ctx, "samples per code", codes, per_code, lambda s, b: ctx.model.sample(b, per_code))
    return {**pairwise(ctx, draws, lpips_size, lpips_trunk), **_reference(ctx, codes, lpips_size, lpips_trunk),
            "codes": float(codes), "per_code": float(per_code)}

"""Diversity of what a model draws for one input (or one prior code): mean pairwise LPIPS and pixel MSE.

LPIPS is the `lpips` package's v0.1 metric with its AlexNet trunk. The linear calibration
layers ship inside the package; the AlexNet trunk needs torchvision's ImageNet weights, used
only when already on disk (torch hub cache). Without them the trunk keeps a fixed random
init (`pnet_rand=True`): still a deep-feature distance, but not the calibrated perceptual
metric. results.json says which (`info.lpips`). Images smaller than `lpips_size` are
upsampled bilinearly to it first (AlexNet's pooling needs at least ~32 pixels).
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import torch
import torch.nn.functional as F

from hbaezoo.data.base import to_float
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.fidelity import pixel_mse, random_pairs
from hbaezoo.registry import METRICS
from hbaezoo.scopes import seeded

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"  # torchvision's AlexNet_Weights.IMAGENET1K_V1
_LPIPS: dict[str, tuple[torch.nn.Module, str]] = {}


def alexnet_weights_path() -> Path | None:
    path = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
    return path if path.is_file() else None


def lpips_model(device: torch.device) -> tuple[torch.nn.Module, str]:
    """(LPIPS module on device, a sentence saying which AlexNet trunk it uses); never downloads."""
    if str(device) not in _LPIPS:
        import warnings

        import lpips

        weights = alexnet_weights_path()
        with seeded(0), warnings.catch_warnings():  # seeded: the random trunk is the same in every run
            warnings.simplefilter("ignore")  # torchvision's `pretrained=` deprecation notice
            net = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=weights is None, verbose=False)
        what = (f"LPIPS v0.1, AlexNet trunk with ImageNet weights ({weights})" if weights else
                f"LPIPS v0.1, AlexNet trunk with a fixed random init (pnet_rand=True): torchvision's "
                f"{ALEXNET_FILE} is not in {Path(torch.hub.get_dir()) / 'checkpoints'}; linear layers from the lpips package")
        _LPIPS[str(device)] = (net.to(device).eval().requires_grad_(False), what)
    return _LPIPS[str(device)]


def _prepare(images: torch.Tensor, device: torch.device, size: int) -> torch.Tensor:
    x = to_float(images.to(device))
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if min(x.shape[-2:]) < size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


@torch.no_grad()
def lpips_distance(ctx: EvalContext, a: torch.Tensor, b: torch.Tensor, size: int = 64) -> torch.Tensor:
    """LPIPS between uint8 image batches a and b [N, C, H, W] -> [N] (CPU)."""
    net, what = lpips_model(ctx.device)
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
def pairwise(ctx: EvalContext, draws: torch.Tensor, lpips_size: int) -> dict[str, float]:
    """draws uint8 [m, k, C, H, W]: mean over the m groups and their k(k-1)/2 pairs.

    Each image passes the LPIPS trunk once; the k(k-1)/2 comparisons reuse its features.
    """
    m, k = draws.shape[:2]
    if k < 2:
        raise ValueError("diversity needs at least two draws per input (per_input >= 2)")
    net, what = lpips_model(ctx.device)
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


def _reference(ctx: EvalContext, m: int, lpips_size: int) -> dict[str, float]:
    """The same distances between random pairs of different test images (the scale to read them on)."""
    real = ctx.real_images()
    i, j = random_pairs(len(real), ctx.generator("diversity", "pairs"))
    i, j = i[:m], j[:m]
    return {"lpips_random_pair": float(lpips_distance(ctx, real[i], real[j], lpips_size).mean()),
            "pixel_mse_random_pair": float(pixel_mse(real[i], real[j]).mean())}


@METRICS.register("diversity")
@check_kwargs(inputs=3, per_input=3)
def diversity(ctx: EvalContext, *, inputs: int = 64, per_input: int = 8, lpips_size: int = 64) -> dict[str, float]:
    """Mean pairwise LPIPS and pixel MSE among `per_input` stochastic reconstructions of one test image."""
    real = ctx.real_images()[:inputs]
    m = len(real)
    with ctx.seeded("diversity"):
        draws = _draws(ctx, "stochastic reconstructions", m, per_input,
                       lambda s, b: ctx.model.reconstruct(ctx.to_model(real[s:s + b]), per_input))
    return {**pairwise(ctx, draws, lpips_size), **_reference(ctx, m, lpips_size),
            "inputs": float(m), "per_input": float(per_input)}


@METRICS.register("diversity_prior")
@check_kwargs(codes=3, per_code=3)
def diversity_prior(ctx: EvalContext, *, codes: int = 64, per_code: int = 8, lpips_size: int = 64) -> dict[str, float]:
    """Mean pairwise LPIPS and pixel MSE among `per_code` samples of one prior code (z fixed, z' drawn)."""
    with ctx.seeded("diversity_prior"):
        draws = _draws(ctx, "samples per code", codes, per_code, lambda s, b: ctx.model.sample(b, per_code))
    return {**pairwise(ctx, draws, lpips_size), **_reference(ctx, codes, lpips_size),
            "codes": float(codes), "per_code": float(per_code)}

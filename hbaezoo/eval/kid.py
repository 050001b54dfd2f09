"""Kernel Inception Distance (Bińkowski et al., 2018) of samples and reconstructions, with its real-vs-real floor.

KID is an unbiased estimate of MMD² between the two feature sets under the cubic polynomial
kernel k(x, y) = (xᵀy / D + 1)³, averaged over random subsets of m = min(N₁, N₂, 1000) rows
of each set. Unlike FID it has no bias at small n (its expectation is the population value,
0 for identical distributions; a single estimate can be slightly negative). The maths is
clean-fid's own `cleanfid.fid.kernel_distance`, called on our features; it draws its subsets
from numpy's global RNG, which is seeded per metric here and restored after.
"""

from __future__ import annotations

import numpy as np

from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.floors import train_features
from hbaezoo.registry import METRICS

#: clean-fid's defaults (`compute_kid`): 100 subsets of at most 1000 rows.
SUBSETS, MAX_SUBSET_SIZE = 100, 1000


def kid_from_features(feats1: np.ndarray, feats2: np.ndarray, *, seed: int = 0, subsets: int | None = None,
                      max_subset_size: int = MAX_SUBSET_SIZE) -> float:
    """KID between feature sets [N₁, D] and [N₂, D] by cleanfid.fid.kernel_distance, its subsets drawn from `seed`.

    subsets None: clean-fid's 100, or 1 when both sets fit one subset whole (N₁ = N₂ <= max_subset_size):
    every subset is then the full sets in another order, which gives the same value 100 times.
    """
    from cleanfid.fid import kernel_distance

    feats1, feats2 = np.asarray(feats1, dtype=np.float64), np.asarray(feats2, dtype=np.float64)
    if feats1.ndim != 2 or feats2.ndim != 2 or feats1.shape[1] != feats2.shape[1]:
        raise ValueError(f"KID needs feature sets [N, D] of one D, got shapes {feats1.shape} and {feats2.shape}")
    m = min(len(feats1), len(feats2), max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least two feature vectors per set, got {len(feats1)} and {len(feats2)}")
    if subsets is None:
        subsets = 1 if len(feats1) == len(feats2) == m else SUBSETS
    state = np.random.get_state()
    try:
        np.random.seed(seed % 2**32)
        return kernel_distance(feats1, feats2, num_subsets=subsets, max_subset_size=max_subset_size)
    finally:
        np.random.set_state(state)


def _kid(ctx: EvalContext, feats: np.ndarray, real: np.ndarray, key: str) -> float:
    return kid_from_features(feats, real, seed=ctx.generator("kid", key).initial_seed())


def kid_floor(ctx: EvalContext) -> float:
    """KID of min(n, train size) training images against the reference test images (once per context)."""
    return ctx.memo(f"floor/kid/{ctx.extractor_choice}",
                    lambda: _kid(ctx, train_features(ctx), ctx.reference_features(), "real_floor"))


@METRICS.register("kid_gen")
def kid_gen(ctx: EvalContext) -> dict[str, float]:
    """KID of n unconditional samples (fid_gen's) against the test images, and the real-vs-real floor."""
    fake, real = ctx.features("samples", ctx.samples()), ctx.reference_features()
    return {"kid": _kid(ctx, fake, real, "samples"), "real_floor": kid_floor(ctx),
            "n_samples": float(len(fake)), "n_real": float(len(real))}


@METRICS.register("kid_recon")
def kid_recon(ctx: EvalContext) -> dict[str, float]:
    """KID of one stochastic reconstruction per test image (fid_recon's) against the test images."""
    recon, real = ctx.features("recon", ctx.reconstructions()), ctx.reference_features()
    return {"kid": _kid(ctx, recon, real, "recon"), "real_floor": kid_floor(ctx),
            "n_recon": float(len(recon)), "n_real": float(len(real))}

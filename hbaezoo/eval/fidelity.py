"""Paper Table 1: FID of reconstructions and of unconditional samples, reconstruction MSE.

All against the held-out (test) split: the reference is min(n, test size) test images; each
is reconstructed once (one stochastic draw); n samples come from n prior codes. Both FIDs
carry `real_floor`: the FID of min(n, train size) training images against the same reference
(hbaezoo.eval.floors), what a perfect generator of the training data would score at this n.
"""

from __future__ import annotations

import numpy as np
import torch

from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.fid import fid_from_features
from hbaezoo.eval.floors import fid_floor
from hbaezoo.registry import METRICS


@METRICS.register("fid_recon")
def fid_recon(ctx: EvalContext) -> dict[str, float]:
    """FID of one stochastic reconstruction per test image against the test images."""
    recon = ctx.features("recon", ctx.reconstructions())
    real = ctx.reference_features()
    return {"fid": fid_from_features(recon, real), "real_floor": fid_floor(ctx), "n_recon": float(len(recon)),
            "n_real": float(len(real))}


@METRICS.register("fid_gen")
def fid_gen(ctx: EvalContext) -> dict[str, float]:
    """FID of n unconditional samples (one per prior code) against the test images."""
    fake = ctx.features("samples", ctx.samples())
    real = ctx.reference_features()
    return {"fid": fid_from_features(fake, real), "real_floor": fid_floor(ctx), "n_samples": float(len(fake)),
            "n_real": float(len(real))}


def pixel_mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image MSE of uint8 images [N, C, H, W] with pixels scaled to [0, 1]: mean over C, H, W -> [N]."""
    return (a.float() / 255 - b.float() / 255).pow(2).flatten(1).mean(1)


def feature_mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image MSE of raw features [N, D]: mean over the D dimensions -> [N]."""
    return ((a - b) ** 2).mean(axis=1)


def random_pairs(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n pairs of distinct items: a random cyclic order, each item paired with its successor."""
    order = torch.randperm(n, generator=generator)
    return order, order.roll(-1)


@METRICS.register("recon_mse")
def recon_mse(ctx: EvalContext) -> dict[str, float]:
    """Reconstruction MSE in pixels and extractor features, with the random-pair reference of each.

    Pixels scaled to [0, 1], mean over channels and pixels; features raw (Inception pool3),
    mean over dimensions; the reference is the same MSE between random pairs of test images.
    """
    real, recon = ctx.real_images(), ctx.reconstructions()
    f_real, f_recon = ctx.reference_features(), ctx.features("recon", recon)
    if len(real) < 2:
        raise ValueError("recon_mse needs at least two test images")
    i, j = random_pairs(len(real), ctx.generator("recon_mse", "pairs"))
    pixel, pixel_ref = float(pixel_mse(real, recon).mean()), float(pixel_mse(real[i], real[j]).mean())
    feat = float(feature_mse(f_real, f_recon).mean())
    feat_ref = float(feature_mse(f_real[i.numpy()], f_real[j.numpy()]).mean())
    out = {"pixel": pixel, "pixel_random_pair": pixel_ref, "feature": feat, "feature_random_pair": feat_ref}
    if feat_ref > 0:  # the fraction of the random-pair distance: comparable across extractors
        out["feature_vs_random_pair"] = feat / feat_ref
    return {**out, "n": float(len(real))}

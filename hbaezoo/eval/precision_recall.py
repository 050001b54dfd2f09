"""Improved precision and recall (Kynkäänniemi et al., 2019, arXiv:1904.06991) on extractor features.

Each set's manifold is the union of balls around its points, each ball reaching the point's
k-th nearest neighbour within the set (k = 3, the paper's choice). Precision is the fraction
of generated samples inside the real manifold (are samples realistic?), recall the fraction
of real images inside the generated manifold (is the real variety covered?). A mode-collapsed
generator has high precision and low recall; samples off the data have low precision.

Written here with torch.cdist: no installed library has it. clean-fid has none; `prdc`
(NAVER's) needs scikit-learn, SciPy and joblib; torch-fidelity's `prc` is a whole metrics
framework (its own extractors and caches) whose distance helpers are not public API.
A point is inside a ball when its distance is <= the radius, as in the paper's code.
"""

from __future__ import annotations

import numpy as np
import torch

from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.floors import train_features
from hbaezoo.registry import METRICS

#: Query rows per torch.cdist call: bounds memory at CHUNK x N distances.
CHUNK = 1024


def knn_radii(points: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each of points [N, D] to its k-th nearest neighbour among the others -> [N]."""
    if len(points) <= k:
        raise ValueError(f"k-NN radii with k = {k} need more than {k} points, got {len(points)}")
    # The point itself is the nearest (distance 0), so the k-th neighbour is the (k + 1)-th smallest.
    return torch.cat([torch.cdist(chunk, points).kthvalue(k + 1, dim=1).values for chunk in points.split(CHUNK)])


def manifold_fraction(support: torch.Tensor, radii: torch.Tensor, queries: torch.Tensor) -> float:
    """Fraction of queries [M, D] within radii [N] of at least one support point [N, D]."""
    inside = [(torch.cdist(chunk, support) <= radii[None, :]).any(dim=1) for chunk in queries.split(CHUNK)]
    return float(torch.cat(inside).double().mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """{'precision', 'recall'} of fake features [M, D] against real features [N, D] (float64)."""
    real_t, fake_t = (torch.as_tensor(np.asarray(f), dtype=torch.float64) for f in (real, fake))
    if real_t.ndim != 2 or fake_t.ndim != 2 or real_t.shape[1] != fake_t.shape[1]:
        raise ValueError(f"precision/recall need feature sets [N, D] of one D, got {tuple(real_t.shape)} "
                         f"and {tuple(fake_t.shape)}")
    return {"precision": manifold_fraction(real_t, knn_radii(real_t, k), fake_t),
            "recall": manifold_fraction(fake_t, knn_radii(fake_t, k), real_t)}


@METRICS.register("precision_recall")
@check_kwargs(k=2)
def precision_recall_gen(ctx: EvalContext, *, k: int = 3) -> dict[str, float]:
    """Improved precision and recall of n samples (fid_gen's) against the test images; real/...:
    the same for min(n, train size) training images (the ceiling at this n)."""
    fake, real = ctx.features("samples", ctx.samples()), ctx.reference_features()
    ceiling = ctx.memo(f"ceiling/precision_recall/{k}/{ctx.extractor_choice}",
                       lambda: precision_recall(real, train_features(ctx), k))
    return {**precision_recall(real, fake, k), **{f"real/{key}": value for key, value in ceiling.items()},
            "k": float(k), "n_samples": float(len(fake)), "n_real": float(len(real))}

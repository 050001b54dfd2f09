"""Real-vs-real references: what a metric gives when the "generated" images are real training images.

A perfect generator of the training distribution would score, against the held-out test
images, what min(n, train size) training images score: FID and KID have this floor (not
zero: finite samples, and train and test hold different objects), precision and recall this
ceiling (not one). Every such reference uses the same extractor and sample counts as the
metric it accompanies, and the training images' features are extracted once per context
(and cached on disk, like the test images').
"""

from __future__ import annotations

import numpy as np

from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.fid import fid_from_features


def train_features(ctx: EvalContext) -> np.ndarray:
    """Extractor features of min(n, train size) training images in a seeded order, [N, D]."""
    return ctx.memo(f"features/train/{ctx.extractor_choice}", lambda: ctx.real_features(
        "train", ctx.subset("train", ctx.n, key="real_floor"), "train images"))


def fid_floor(ctx: EvalContext) -> float:
    """FID of the training images against the reference test images (shared by fid_gen and fid_recon)."""
    return ctx.memo(f"floor/fid/{ctx.extractor_choice}",
                    lambda: fid_from_features(train_features(ctx), ctx.reference_features()))

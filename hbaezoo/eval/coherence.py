"""Set coherence: do the elements of one generated set belong to one category?

A linear probe (hbaezoo.eval.probe.fit_linear) is fitted on the feature extractor's features
(the same extractor as FID: an Inception by default, random_convnet in tests) of min(n,
size) labelled training images. Each of `sets` generated sets of `set_size` elements
(`model.sample_sets`) is classified element by element, and the metric is the percentage
of sets whose elements all get the same predicted category. To read it:

  real_sets_coherent   the same rate on real test sets (one object each, so truly coherent):
                       the ceiling this classifier allows.
  independent_chance   the rate if elements were drawn independently with the generated
                       images' predicted class frequencies: sum_c p_c^K.
  classifier_accuracy  the classifier's accuracy on the reference test images.
  majority_fraction    mean share of a set's elements that agree with its most common label.
"""

from __future__ import annotations

import torch

from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.features import extract_features
from hbaezoo.eval.semantics import real_image_classifier
from hbaezoo.registry import METRICS


def coherence_rates(pred: torch.Tensor) -> tuple[float, float]:
    """pred [m, K] labels -> (% of sets with one label, mean % agreeing with each set's majority)."""
    same = (pred == pred[:, :1]).all(1).double().mean()
    majority = torch.mode(pred, dim=1).values
    agree = (pred == majority[:, None]).double().mean()
    return 100.0 * float(same), 100.0 * float(agree)


@METRICS.register("set_coherence")
@check_kwargs(sets=4)
def set_coherence(ctx: EvalContext, *, sets: int | None = None, set_size: int | None = None,
                  train_images: int | None = None) -> dict[str, float]:
    """% of generated sets (sample_sets) whose elements all get the same predicted category."""
    num_classes = ctx.require_labels("set coherence")
    k = set_size or ctx.set_size
    m = sets or max(2, ctx.n // k)
    with ctx.seeded("set_coherence"):
        generated = ctx.batched("sampling sets", m, lambda s, b: ctx.model.sample_sets(b, k).flatten(0, 1))
    clf = real_image_classifier(ctx, train_images)
    f_gen = extract_features(ctx.extractor, generated, batch_size=ctx.batch_size, description="generated sets",
                             progress=ctx.progress)
    pred = clf.predict(f_gen).view(m, k)
    coherent, majority = coherence_rates(pred)
    p = torch.bincount(pred.flatten(), minlength=num_classes).double() / pred.numel()
    real = ctx.set_indices("test", m, k, distinct=False, key="set_coherence/real")
    real_pred = clf.predict(ctx.real_features("test", real.flatten(), "real test sets")).view(len(real), k)
    return {
        "coherent": coherent,
        "majority_fraction": majority,
        "independent_chance": 100.0 * float((p**k).sum()),
        "real_sets_coherent": coherence_rates(real_pred)[0],
        "classifier_accuracy": 100.0 * clf.accuracy(ctx.reference_features(), ctx.labels("test")[ctx.real_index()]),
        "sets": float(m),
        "set_size": float(k),
    }

"""What the semantic metrics read from the classifier's labels, and the real-data values printed beside them.

The labeller is the run's own semantic classifier (hbaezoo.eval.classifier). A generated
image "keeps the category" when the classifier gives it the true label of the real input it
came from; how often that can happen is bounded by how often the classifier is right on real
images, so every semantic metric records, measured by the same classifier:

  real/accuracy   % of the reference test images (ctx.real_images(), min(n, test size)) given
                  their true label;
  real/coherent   % of real test sets of K views (K = ctx.set_size; max(2, n // K) sets of one
                  object each, views drawn as training sets are) whose K labels all agree;

and values in % of real accuracy as `fraction_of_real` (1.0: as recognisable as real images).
"""

from __future__ import annotations

import torch
from einops import rearrange

from hbaezoo.eval.classifier import ClassifierSettings, set_probabilities, settings_from_gin, trained_classifier
from hbaezoo.eval.context import EvalContext


def percent(hits: torch.Tensor) -> float:
    """% of True in a boolean tensor (nan when empty)."""
    return 100.0 * float(hits.double().mean()) if hits.numel() else float("nan")


def coherence_rates(pred: torch.Tensor) -> tuple[float, float]:
    """pred [m, K] labels -> (% of sets with one label, mean % agreeing with each set's majority)."""
    majority = torch.mode(pred, dim=1).values
    return percent((pred == pred[:, :1]).all(1)), percent(pred == majority[:, None])


def set_summary(probs: torch.Tensor) -> dict[str, float]:
    """probs [m, K, classes] of m sets -> coherent (% of sets whose K labels all agree), mean_top_probability
    (mean of each element's largest class probability), majority_classes (distinct majority labels of the sets)."""
    pred = probs.argmax(-1)
    return {"coherent": coherence_rates(pred)[0],
            "mean_top_probability": float(probs.amax(-1).mean()),
            "majority_classes": float(torch.mode(pred, dim=1).values.unique().numel())}


def agreement(pred: torch.Tensor, labels: torch.Tensor, real_accuracy: float) -> dict[str, float]:
    """% of predicted labels equal to the true labels (broadcast), and that as a fraction of real accuracy."""
    out = {"agreement": percent(pred == labels)}
    if real_accuracy > 0:  # a classifier that labels no real image right gives no scale to read on
        out["fraction_of_real"] = out["agreement"] / real_accuracy
    return out


def real_sets(ctx: EvalContext, m: int, k: int, settings: ClassifierSettings | None = None) -> dict[str, float]:
    """set_summary of m real test sets of k views each (one object per set), memoised per (m, k, settings)."""
    settings = settings_from_gin(settings)

    def compute():
        index = ctx.set_indices("test", m, k, distinct=False, key="semantic_classifier/real_sets")
        images = rearrange(ctx.load("test", index.flatten()), "(m k) c h w -> m k c h w", k=k)
        return set_summary(set_probabilities(trained_classifier(ctx, settings), images))

    return ctx.memo(f"labelling/real_sets/{m}/{k}/{settings.key()}", compute)


def real_predictions(ctx: EvalContext, settings: ClassifierSettings | None = None) -> torch.Tensor:
    """The classifier's labels of the reference test images [N] (memoised per settings)."""
    settings = settings_from_gin(settings)
    return ctx.memo(f"labelling/real_predictions/{settings.key()}",
                    lambda: trained_classifier(ctx, settings).predict(ctx.real_images()))


def real_accuracy(ctx: EvalContext, settings: ClassifierSettings | None = None) -> float:
    """% of the reference test images the classifier labels right."""
    return percent(real_predictions(ctx, settings) == ctx.labels("test")[ctx.real_index()])


def default_sets(ctx: EvalContext, sets: int | None = None, set_size: int | None = None) -> tuple[int, int]:
    """(m, K): `sets` or max(2, n // K) sets of `set_size` or ctx.set_size elements."""
    k = set_size or ctx.set_size
    return sets or max(2, ctx.n // k), k


def real_reference(ctx: EvalContext, settings: ClassifierSettings | None = None) -> dict[str, float]:
    """The classifier's report on real test data, recorded by every semantic metric: real/accuracy, real/coherent."""
    m, k = default_sets(ctx)
    return {"real/accuracy": real_accuracy(ctx, settings), "real/coherent": real_sets(ctx, m, k, settings)["coherent"]}

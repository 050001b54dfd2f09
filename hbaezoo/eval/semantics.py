"""Do the model's outputs keep the input's category? `recon_agreement` and `chain_agreement`.

Both label model outputs with one real-image classifier: a linear probe
(hbaezoo.eval.probe.fit_linear) on the feature extractor's features (the FID extractor)
of min(n, size) labelled training images — the classifier `set_coherence` uses too. A
reconstruction keeps its input's semantics when the classifier gives it the input's label;
how often it can is bounded by the classifier's accuracy on real test images, so each
agreement is also given as a fraction of that accuracy.

  recon_agreement   one stochastic reconstruction G(z'|E(x)) per test image.
  chain_agreement   Markov chains x -> G(E(x)) -> G(E(G(E(x)))) ... (paper Fig. 5): agreement
                    and FID at step 1 and at the last step, and how many categories the
                    chain's last step still spreads over (a chain that collapses to one shape
                    puts every image in a few classes).
"""

from __future__ import annotations

import torch
from einops import rearrange

from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.fid import fid_from_features
from hbaezoo.eval.probe import LinearClassifier, fit_linear
from hbaezoo.registry import METRICS


def real_image_classifier(ctx: EvalContext, train_images: int | None = None) -> LinearClassifier:
    """The linear classifier on extractor features of min(train_images or n, size) training images."""
    num_classes = ctx.require_labels("a real-image classifier")
    count = train_images or ctx.n

    def fit():
        index = ctx.subset("train", count, key="set_coherence/train")
        return fit_linear(ctx.real_features("train", index, "train images"), ctx.labels("train")[index],
                          seed=ctx.seed, num_classes=num_classes)

    return ctx.memo(f"classifier/{count}/{ctx.extractor_choice}", fit)


def agreement(clf: LinearClassifier, feats, labels: torch.Tensor, real_pred: torch.Tensor,
              real_accuracy: float) -> dict[str, float]:
    """% of outputs labelled as their input's true label / as the classifier labelled the input."""
    pred = clf.predict(feats)
    with_label = 100.0 * float((pred == labels).double().mean())
    out = {"agreement_label": with_label, "agreement_input": 100.0 * float((pred == real_pred).double().mean())}
    if real_accuracy > 0:  # a classifier that labels no real image right gives no scale to read on
        out["fraction_of_real_accuracy"] = with_label / real_accuracy
    return out


def _reference(ctx: EvalContext, clf: LinearClassifier) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(true labels, the classifier's labels, its accuracy %) of the reference test images."""
    labels = ctx.labels("test")[ctx.real_index()]
    real_pred = clf.predict(ctx.reference_features())
    return labels, real_pred, 100.0 * float((real_pred == labels).double().mean())


@METRICS.register("recon_agreement")
@check_kwargs(train_images=8)
def recon_agreement(ctx: EvalContext, *, train_images: int | None = None) -> dict[str, float]:
    """% of stochastic reconstructions the real-image classifier labels as their input."""
    clf = real_image_classifier(ctx, train_images)
    labels, real_pred, accuracy = _reference(ctx, clf)
    out = agreement(clf, ctx.features("recon", ctx.reconstructions()), labels, real_pred, accuracy)
    return {**out, "classifier_accuracy": accuracy, "n": float(len(labels))}


def spread(pred: torch.Tensor, num_classes: int) -> tuple[float, float]:
    """(number of classes predicted, % of images in the most predicted class) of labels [N]."""
    counts = torch.bincount(pred, minlength=num_classes)
    return float((counts > 0).sum()), 100.0 * float(counts.max()) / max(1, len(pred))


@METRICS.register("chain_agreement")
@check_kwargs(steps=2, train_images=8)
def chain_agreement(ctx: EvalContext, *, steps: int = 6, train_images: int | None = None) -> dict[str, float]:
    """Markov chains from test images: classifier agreement, FID and class spread at step 1 and `steps`."""
    if steps < 1:
        raise ValueError(f"metrics.chain_agreement.steps must be >= 1, got {steps}")
    num_classes = ctx.require_labels("chain agreement")
    clf = real_image_classifier(ctx, train_images)
    labels, real_pred, accuracy = _reference(ctx, clf)
    real = ctx.real_images()
    with ctx.seeded("chain_agreement"):
        ends = ctx.batched("Markov chains", len(real), lambda s, b: rearrange(
            ctx.model.markov_chain(ctx.to_model(real[s:s + b]), steps)[[1, steps]], "t b c h w -> (b t) c h w"))
    ends = rearrange(ends, "(b t) c h w -> t b c h w", t=2)
    out = {"classifier_accuracy": accuracy, "steps": float(steps), "n": float(len(real))}
    real_classes, real_top = spread(real_pred, num_classes)
    out.update({"real/classes": real_classes, "real/top_class_percent": real_top})
    f_ref = ctx.reference_features()
    for name, images in (("step1", ends[0]), (f"step{steps}", ends[1])):
        feats = ctx.features(f"chain/{name}", images)
        out.update({f"{name}/{k}": v for k, v in agreement(clf, feats, labels, real_pred, accuracy).items()})
        classes, top = spread(clf.predict(feats), num_classes)
        out.update({f"{name}/fid": fid_from_features(feats, f_ref), f"{name}/classes": classes,
                    f"{name}/top_class_percent": top})
    return out

"""Do the model's outputs keep the input's category? `recon_agreement` and `chain_agreement`.

Both label model outputs with the run's semantic classifier (hbaezoo.eval.classifier: a small
CNN trained on the run's labelled training split) and print each value beside the same
classifier's accuracy on real test images (hbaezoo.eval.labelling): an output keeps its
input's semantics when the classifier gives it the input's true label, which it can do at
best about as often as it labels real images right.

  recon_agreement   one stochastic reconstruction G(z'|E(x)) per reference test image.
  chain_agreement   Markov chains x -> G(E(x)) -> G(E(G(E(x)))) ... (paper Fig. 5): agreement at
                    every step, FID (extractor features, as fid_recon) at step 1 and the last
                    step, and how many categories those steps spread over (a chain that
                    collapses to one shape puts every image in a few classes).
"""

from __future__ import annotations

import torch
from einops import rearrange

from hbaezoo.eval.classifier import TINY_SETTINGS, ClassifierSettings, trained_classifier
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.fid import fid_from_features
from hbaezoo.eval.labelling import agreement, real_reference
from hbaezoo.registry import METRICS


@METRICS.register("recon_agreement")
@check_kwargs(classifier=TINY_SETTINGS)
def recon_agreement(ctx: EvalContext, *, classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """% of stochastic reconstructions of test images the semantic classifier labels as their input's class."""
    ctx.require_labels("recon agreement")
    recon = ctx.reconstructions()  # first: a model that cannot reconstruct stops before any training
    real = real_reference(ctx, classifier)
    pred = trained_classifier(ctx, classifier).predict(recon)
    labels = ctx.labels("test")[ctx.real_index()]
    return {**agreement(pred, labels, real["real/accuracy"]), **real, "n": float(len(labels))}


def spread(pred: torch.Tensor, num_classes: int) -> tuple[float, float]:
    """(number of classes predicted, % of images in the most predicted class) of labels [N]."""
    counts = torch.bincount(pred, minlength=num_classes)
    return float((counts > 0).sum()), 100.0 * float(counts.max()) / max(1, len(pred))


@METRICS.register("chain_agreement")
@check_kwargs(steps=2, classifier=TINY_SETTINGS)
def chain_agreement(ctx: EvalContext, *, steps: int = 6, classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """Markov chains from test images: label kept at every step; FID and class spread at step 1 and `steps`."""
    if steps < 1:
        raise ValueError(f"metrics.chain_agreement.steps must be >= 1, got {steps}")
    num_classes = ctx.require_labels("chain agreement")
    real = ctx.real_images()
    with ctx.seeded("chain_agreement"):
        chains = ctx.batched("Markov chains", len(real), lambda s, b: rearrange(
            ctx.model.markov_chain(ctx.to_model(real[s:s + b]), steps)[1:], "t b c h w -> (b t) c h w"))
    chains = rearrange(chains, "(b t) c h w -> t b c h w", t=steps)
    net = trained_classifier(ctx, classifier)
    reference = real_reference(ctx, classifier)
    labels = ctx.labels("test")[ctx.real_index()]
    pred = torch.stack([net.predict(images) for images in chains])  # [steps, N]
    real_classes, real_top = spread(net.predict(real), num_classes)
    out = {**reference, "real/classes": real_classes, "real/top_class_percent": real_top,
           "steps": float(steps), "n": float(len(real))}
    for t in range(1, steps + 1):
        out[f"step{t}/agreement"] = agreement(pred[t - 1], labels, reference["real/accuracy"])["agreement"]
    f_ref = ctx.reference_features()
    for t in sorted({1, steps}):
        feats = ctx.features(f"chain/step{t}", chains[t - 1])
        classes, top = spread(pred[t - 1], num_classes)
        out.update({f"step{t}/{k}": v for k, v in agreement(pred[t - 1], labels, reference["real/accuracy"]).items()})
        out.update({f"step{t}/fid": fid_from_features(feats, f_ref), f"step{t}/classes": classes,
                    f"step{t}/top_class_percent": top})
    return out

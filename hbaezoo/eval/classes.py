"""Which categories does a model lose, and to what? `class_agreement`, per category.

`recon_agreement` says how often a reconstruction keeps its input's category; this says it for
each category: the run's semantic classifier (hbaezoo.eval.classifier) labels the same reference
test images and their stochastic reconstructions G(z'|E(x)) as `recon_agreement` does, and for
each category c with test images it records

  c/real        % of the real test images of c labelled c (what the classifier can do);
  c/recon       % of their reconstructions labelled c;
  c/as/d        % of their reconstructions labelled d, for the one category d ≠ c they are
                most often given instead (absent when none is mislabelled);
  c/n           how many test images of c were read.

Categories are named as the dataset names them (`class_names`), else by index.
"""

from __future__ import annotations

import torch

from hbaezoo.eval.classifier import TINY_SETTINGS, ClassifierSettings, trained_classifier
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.labelling import percent, real_predictions
from hbaezoo.registry import METRICS


@METRICS.register("class_agreement")
@check_kwargs(classifier=TINY_SETTINGS)
def class_agreement(ctx: EvalContext, *, classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """Per category: real test images and their stochastic reconstructions labelled as that category, and the
    category the reconstructions are most often mistaken for."""
    num_classes = ctx.require_labels("class agreement")
    recon = ctx.reconstructions()  # first: a model that cannot reconstruct stops before any training
    net = trained_classifier(ctx, classifier)
    labels = ctx.labels("test")[ctx.real_index()]
    real, drawn = real_predictions(ctx, classifier), net.predict(recon)
    names = list(ctx.data.get("class_names") or []) or [str(c) for c in range(num_classes)]
    out: dict[str, float] = {}
    for c, name in enumerate(names):
        mine = labels == c
        if not mine.any():
            continue
        out[f"{name}/real"] = percent(real[mine] == c)
        out[f"{name}/recon"] = percent(drawn[mine] == c)
        wrong = drawn[mine][drawn[mine] != c]
        if len(wrong):
            instead = int(torch.bincount(wrong, minlength=num_classes).argmax())
            out[f"{name}/as/{names[instead]}"] = percent(drawn[mine] == instead)
        out[f"{name}/n"] = float(mine.sum())
    return out

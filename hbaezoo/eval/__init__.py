"""Evaluation: registered metrics and feature extractors, `hbaezoo eval` and `hbaezoo report`.

Importing this package registers the parts (`hbaezoo list metrics`, `hbaezoo list extractors`).
A metric is a function `metric(ctx: EvalContext, **params) -> dict[str, float]`; params are
gin-configurable (`metrics.probe.seeds = 5`), and so is the semantic classifier the category
metrics share (`semantic_classifier.epochs = 8`). See docs/evaluation.md.
"""

from hbaezoo.eval import (  # noqa: F401  (importing them registers the extractors, metrics and settings)
    classifier,
    coherence,
    diversity,
    extractors,
    fewshot,
    fidelity,
    semantics,
)
from hbaezoo.eval import kid, precision_recall, prior_gap, set_diversity  # noqa: F401  (registers)
from hbaezoo.eval.classifier import ClassifierSettings, SemanticClassifier, train_classifier
from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.fid import fid_from_features
from hbaezoo.eval.probe import fit_linear, linear_probe

__all__ = ["ClassifierSettings", "EvalContext", "SemanticClassifier", "fid_from_features", "fit_linear",
           "linear_probe", "train_classifier"]

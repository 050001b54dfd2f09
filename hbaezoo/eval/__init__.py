"""Evaluation: registered metrics and feature extractors, `hbaezoo eval` and `hbaezoo report`.

A metric is a function `metric(ctx: EvalContext, **params) -> dict[str, float]`; params are
gin-configurable (`metrics.probe.seeds = 5`), and so is the semantic classifier the category
metrics share (`semantic_classifier.epochs = 8`). See docs/evaluation.md.

Importing this package imports nothing: `hbaezoo report` and `hbaezoo sample` use parts of it
without the metrics. The metrics and extractors register when their registries are first asked
(hbaezoo/eval/parts.py); the names below import their module on first use.
"""

_EXPORTS = {
    "ClassifierSettings": "classifier", "SemanticClassifier": "classifier", "train_classifier": "classifier",
    "EvalContext": "context", "fid_from_features": "fid", "fit_linear": "probe", "linear_probe": "probe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"hbaezoo.eval.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hbaezoo.eval' has no attribute {name!r}")

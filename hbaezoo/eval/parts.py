"""The core metrics and feature extractors: importing the modules registers them (and `semantic_classifier`)."""

from hbaezoo.eval import (  # noqa: F401  (importing them registers the extractors, metrics and settings)
    classes,
    classifier,
    coherence,
    diversity,
    extractors,
    fewshot,
    fidelity,
    kid,
    precision_recall,
    prior_gap,
    semantics,
    set_diversity,
)

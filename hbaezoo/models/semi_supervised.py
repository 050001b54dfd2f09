"""Semi-supervised learning from a few observed labels (paper §3), as a mixin for models with codes.

A model given a registered classifier (`classifiers.linear`, ...) adds γ·cross-entropy of
classifier(z) on the examples whose label the batch carries (the rest read -1: see
`Trainer.labelled_fraction`, hbaezoo/data/labelled.py) to the phase that trains its encoder;
unlabelled examples train as before. Without a classifier nothing changes.
"""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.components.classifiers import cross_entropy_on_labelled
from hbaezoo.errors import ConfigError
from hbaezoo.models.base import Batch, build


class ObservedLabels:
    """Mixin: an optional classifier on the codes and its supervised term."""

    def init_classifier(self, classifier, weight: float) -> None:
        """Build `classifier` (a registered classifier, or None for an unsupervised model) for this data's classes."""
        self.classifier = None
        self.supervised_weight = float(weight)
        if classifier is None:
            return
        name = type(self).__name__
        if self.num_classes < 2:
            raise ConfigError(f"{name}.classifier needs a dataset with class labels (this one has {self.num_classes} "
                              f"classes). Use a labelled dataset such as datasets.shapes, or remove the classifier.")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise ConfigError(f"{name}.supervised_weight weights the classifier's cross-entropy and must be > 0, "
                              f"got {weight!r}; to train without labels remove the classifier instead.")
        self.classifier = build(classifier, z_dim=self.z_dim, num_classes=self.num_classes)

    def classifier_parameters(self) -> list[nn.Parameter]:
        return list(self.classifier.parameters()) if self.classifier is not None else []

    def supervised_term(self, batch: Batch, z: torch.Tensor) -> torch.Tensor:
        """γ · mean cross-entropy of classifier(z) [B, C] on the (set) codes z [B, Z] whose label batch["y"] [B] is known."""
        if "y" not in batch:
            raise ConfigError(f"{type(self).__name__} has a classifier but its batches carry no labels ('y').")
        return self.supervised_weight * cross_entropy_on_labelled(self.classifier(z), batch["y"])

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C, H, W] or sets [B, K, C, H, W] -> class logits [B, classes] of their codes."""
        if self.classifier is None:
            raise self._lacks("classify", f"this {self.display_name} was trained without a classifier "
                                          f"(bind `classifier = @classifiers.linear` and a labelled fraction).")
        return self.classifier(self.encode(x).mean)

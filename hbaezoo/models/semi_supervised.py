"""Semi-supervised learning from a few observed labels (paper §3), as a mixin for models with codes.

Two ways for the labels a batch carries (the rest read -1: see `Trainer.labelled_fraction`,
hbaezoo/data/labelled.py) to reach the model; unlabelled examples train as before either way:

  head    a registered classifier (`classifiers.linear`, ...) on the codes adds γ·cross-entropy of
          classifier(z) on the labelled examples to the phase that trains the encoder;
  critic  (`critic_labels`) the projection critic reads [z, one-hot y] instead of z, so a labelled
          example gets a cGAN's class term h_y(x)ᵀe_y beside h_z(x)ᵀz, and fakes drawn from a labelled
          example's code must look like its class; an unlabelled one reads a zero one-hot.

Without either nothing changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hbaezoo.components.classifiers import cross_entropy_on_labelled
from hbaezoo.data.labelled import UNLABELLED
from hbaezoo.errors import ConfigError
from hbaezoo.models.base import Batch, build


class ObservedLabels:
    """Mixin: an optional classifier on the codes and its supervised term, and optional labels in the critic."""

    @staticmethod
    def critic_label_dims(critic_labels: bool, num_classes: int) -> int:
        """How many entries the labels add to the critic's condition (the one-hot's length, or none)."""
        return int(num_classes) if critic_labels else 0

    def init_classifier(self, classifier, weight: float, critic_labels: bool = False) -> None:
        """Build `classifier` (a registered classifier, or None for an unsupervised model) for this data's classes."""
        self.classifier = None
        self.supervised_weight = float(weight)
        self.critic_labels = bool(critic_labels)
        name = type(self).__name__
        if critic_labels and self.num_classes < 2:
            raise ConfigError(f"{name}.critic_labels needs a dataset with class labels (this one has {self.num_classes} "
                              f"classes). Use a labelled dataset such as datasets.shapes, or set critic_labels = False.")
        if classifier is None:
            return
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

    def critic_condition(self, batch: Batch, z: torch.Tensor) -> torch.Tensor:
        """z [B, Z] -> [z, one-hot of the label, or zeros where it is unknown] [B, Z + C] with critic labels; else z."""
        if not self.critic_labels:
            return z
        if "y" not in batch:
            raise ConfigError(f"{type(self).__name__} has critic_labels but its batches carry no labels ('y').")
        y = batch["y"].to(z.device)
        known = (y != UNLABELLED).to(z.dtype)
        one_hot = F.one_hot(torch.where(y != UNLABELLED, y, 0).long(), self.num_classes).to(z.dtype)
        return torch.cat([z, one_hot * known[:, None]], dim=1)

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, C, H, W] or sets [B, K, C, H, W] -> class logits [B, classes] of their codes."""
        if self.classifier is None:
            raise self._lacks("classify", f"this {self.display_name} was trained without a classifier "
                                          f"(bind `classifier = @classifiers.linear` and a labelled fraction).")
        return self.classifier(self.encode(x).mean)

"""Classifiers on codes: z [B, Z] -> class logits [B, C], the supervised part of a semi-supervised model.

Paper §3: "a semi-supervised learning version of HBAE where a small portion of input data have
observed labels, which are jointly trained with unlabelled data". The classifier reads the code,
and its cross-entropy on the examples that carry a label (`cross_entropy_on_labelled`) trains it
and the encoder together; examples without one (label -1) add nothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hbaezoo.data.labelled import UNLABELLED
from hbaezoo.registry import CLASSIFIERS


def cross_entropy_on_labelled(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits [B, C] over the rows whose label [B] is known (not -1); 0 if none is."""
    known = labels != UNLABELLED
    if not bool(known.any()):
        return logits.sum() * 0.0  # keeps the graph: a batch without labels trains nothing, and says so with 0
    return F.cross_entropy(logits[known], labels[known].long())


@CLASSIFIERS.register("linear")
class LinearClassifier(nn.Module):
    """Softmax regression on the code, logits = W z + b: the few-shot probe's form, trained with the model."""

    def __init__(self, *, z_dim: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(z_dim, num_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, Z] -> logits [B, C]."""
        return self.linear(z)


@CLASSIFIERS.register("mlp")
class MLPClassifier(nn.Module):
    """A one-hidden-layer classifier on the code: asks less of the code's geometry than a linear one."""

    def __init__(self, *, z_dim: int, num_classes: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, Z] -> logits [B, C]."""
        return self.net(z)

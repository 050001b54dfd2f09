"""Adversarial losses from critic scores: real [N], fake [M] -> scalar.

Sign convention: the critic *raises* scores of real data and *lowers* those of fakes;
the generator raises scores of its fakes. `hbaezoo.testing.check_adversarial` and
tests/components/test_losses.py check every loss's direction on a toy problem and inside
the models' real phases.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hbaezoo.registry import ADVERSARIAL_LOSSES


@ADVERSARIAL_LOSSES.register("linear")
class LinearLoss:
    """The paper's Eq. 7 (Wasserstein form): critic −D(x) + D(x̃), generator −D(x̃)."""

    def critic(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@ADVERSARIAL_LOSSES.register("hinge")
class HingeLoss:
    """Hinge (Lim & Ye; SNGAN): critic relu(1 − D(x)) + relu(1 + D(x̃)), generator −D(x̃)."""

    def critic(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@ADVERSARIAL_LOSSES.register("non_saturating")
class NonSaturatingLoss:
    """Goodfellow's non-saturating loss on logits: critic softplus(−D(x)) + softplus(D(x̃))."""

    def critic(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()

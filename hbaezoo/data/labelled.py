"""Which training labels a semi-supervised run may see (paper §3: "a small portion of input data have
observed labels"): a fraction of the groups (objects, identities; an image is its own group where a
dataset has no sets), drawn from the seed alone, keep their label; the rest read as -1, "unlabelled".

Labelling whole groups keeps a set's elements agreeing: a set is labelled or it is not.
"""

from __future__ import annotations

import torch

from hbaezoo.errors import ConfigError

#: The label a batch carries for an example whose label is hidden.
UNLABELLED = -1


def labelled_mask(group_ids: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """bool [N]: which images keep their label, round(fraction × groups) whole groups (at least one when
    fraction > 0), the same groups for the same (group ids, fraction, seed)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ConfigError(f"Trainer.labelled_fraction is the share of training groups whose labels the model sees and "
                          f"must be a number in [0, 1], got {fraction!r}.")
    groups = group_ids.unique()
    count = min(len(groups), max(1 if fraction > 0 else 0, round(fraction * len(groups))))
    order = torch.randperm(len(groups), generator=torch.Generator().manual_seed(int(seed) * 7919 + 104729))
    return torch.isin(group_ids, groups[order[:count]])


def hide(labels: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """labels [...] with UNLABELLED where `known` [...] is False."""
    return torch.where(known, labels, torch.full_like(labels, UNLABELLED))

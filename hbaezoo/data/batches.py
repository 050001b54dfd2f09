"""Deterministic batches: which images form step t's batch is a pure function of (seed, t).

That makes resume exact (no loader state to save: the step is the data position),
and lets data-parallel ranks take disjoint rows of the same global batch.
Sets draw B groups and K members per group; groups smaller than K are either drawn
with replacement ('replace') or never drawn ('skip'), and the plan says how many.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Sampler, default_collate

from hbaezoo.data.base import ImageDataset, to_float
from hbaezoo.data.labelled import hide
from hbaezoo.errors import DataError

SMALL_GROUP_POLICIES = ("replace", "skip")


def _generator(*keys: int) -> torch.Generator:
    seed = 0
    for key in keys:  # a simple, stable mix of the keys
        seed = (seed * 1_000_003 + int(key) + 7919) % (2**62)
    return torch.Generator().manual_seed(seed)


class BatchPlan:
    """Dataset indices of every step's batch: [B] for images, [B, K] for sets."""

    def __init__(
        self,
        group_ids: torch.Tensor,
        *,
        batch_size: int,
        set_size: int | None = None,
        seed: int = 0,
        small_groups: str = "replace",
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1, got {batch_size}.")
        if set_size is not None and set_size < 1:
            raise DataError(f"set_size must be at least 1 (or None for single images), got {set_size}.")
        if small_groups not in SMALL_GROUP_POLICIES:
            raise DataError(f"small_groups must be one of {SMALL_GROUP_POLICIES}, got '{small_groups}'.")
        if batch_size % world_size:
            raise DataError(
                f"batch_size {batch_size} does not split evenly over {world_size} processes; "
                f"use a multiple of {world_size}."
            )
        if len(group_ids) == 0:
            raise DataError("the dataset is empty: there is nothing to train on.")
        self.batch_size, self.set_size, self.seed = batch_size, set_size, seed
        self.rank, self.world_size = rank, world_size
        self.small_groups = small_groups
        self._perms: dict[int, torch.Tensor] = {}
        if set_size is None:
            self.units = len(group_ids)
            self.members = None
            self.stats = {}
            return
        order = torch.argsort(group_ids, stable=True)
        _, counts = torch.unique_consecutive(group_ids[order], return_counts=True)
        members = list(torch.split(order, counts.tolist()))
        small = [m for m in members if len(m) < set_size]
        if small_groups == "skip":
            members = [m for m in members if len(m) >= set_size]
        if not members:
            largest = int(counts.max())
            raise DataError(
                f"set_size {set_size} is larger than every group (the largest has {largest} images) and "
                f"small_groups='skip'; lower the set size or use small_groups='replace'."
            )
        self.members = members
        self.units = len(members)
        self.stats = {
            "groups": len(counts),
            "groups_smaller_than_set_size": len(small),
            "small_groups_policy": small_groups,
            "groups_used": len(members),
        }

    def _epoch_perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 4:
                self._perms.clear()
            self._perms[epoch] = torch.randperm(self.units, generator=_generator(self.seed, epoch))
        return self._perms[epoch]

    def _units(self, step: int) -> torch.Tensor:
        start = step * self.batch_size
        picked = []
        while len(picked) < self.batch_size:
            epoch, offset = divmod(start + len(picked), self.units)
            perm = self._epoch_perm(epoch)
            picked.extend(perm[offset : offset + self.batch_size - len(picked)].tolist())
        return torch.tensor(picked)

    def indices(self, step: int) -> torch.Tensor:
        """This rank's dataset indices for `step`: [B / world] or [B / world, K]."""
        units = self._units(step)
        if self.members is None:
            chosen = units
        else:
            g = _generator(self.seed, step, 1)
            rows = []
            for unit in units.tolist():
                group = self.members[unit]
                if len(group) >= self.set_size:
                    rows.append(group[torch.randperm(len(group), generator=g)[: self.set_size]])
                else:
                    rows.append(group[torch.randint(len(group), (self.set_size,), generator=g)])
            chosen = torch.stack(rows)
        return chosen[self.rank :: self.world_size]

    def steps_per_epoch(self) -> float:
        return self.units / self.batch_size


class _PlanSampler(Sampler):
    """Flat index lists for a DataLoader's batch_sampler, from `start` to `stop` steps."""

    def __init__(self, plan: BatchPlan, start: int, stop: int) -> None:
        self.plan, self.start, self.stop = plan, start, stop

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.plan.indices(step).flatten().tolist()

    def __len__(self) -> int:
        return self.stop - self.start


def batches(
    dataset: ImageDataset, plan: BatchPlan, *, start: int, stop: int, num_workers: int = 0,
    pin_memory: bool = False, known: torch.Tensor | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Yield {"x": [B, C, H, W] or [B, K, C, H, W], "y": [B]} for steps start..stop-1.

    `known` (bool [N] over the dataset, hbaezoo/data/labelled.py) hides the other labels: they read -1.
    """
    if dataset.images is not None:
        for step in range(start, stop):
            idx = plan.indices(step)
            labels = dataset.labels[idx] if known is None else hide(dataset.labels[idx], known[idx])
            yield {"x": to_float(dataset.images[idx]), "y": labels if labels.ndim == 1 else labels[:, 0]}
        return
    loader = DataLoader(
        dataset, batch_sampler=_PlanSampler(plan, start, stop), num_workers=num_workers,
        pin_memory=pin_memory, collate_fn=default_collate, persistent_workers=False,
    )
    for step, (images, labels) in zip(range(start, stop), loader):
        if known is not None:  # the plan is a pure function of the step: the loader's rows are its indices
            labels = hide(labels, known[plan.indices(step).flatten()])
        if plan.set_size is not None:
            images = images.view(-1, plan.set_size, *images.shape[1:])
            labels = labels.view(-1, plan.set_size)[:, 0]
        yield {"x": images, "y": labels}

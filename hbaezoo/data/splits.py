"""Deterministic train/test splits of folder datasets, decided by names (same on every machine).

Two rules:
    by_hash       a whole group (identity, object) is held out when the hash of its name falls
                  in the last `test_fraction`: stable as folders are added, sizes vary
                  (CelebA, VGGFace2, ShapeNet)
    within_units  in every unit (a class, or the whole folder), the `test_fraction` of its items
                  (files, or set folders) whose names hash lowest are held out, at least one and
                  never all: a class never goes wholly to one split (your own image folders)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch

SPLITS = ("train", "test")


def hash_fraction(key: str) -> float:
    """A stable pseudo-random number in [0, 1) for a name (same on every machine and Python)."""
    return int(hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:12], 16) / 16**12


def by_hash(key: str, test_fraction: float) -> bool:
    """Whether the group named `key` is in the test split."""
    return hash_fraction(key) >= 1 - test_fraction


def held_out_count(n: int, test_fraction: float) -> int:
    """How many of a unit's n items are held out: round(n * test_fraction), kept within [1, n - 1]
    (0 when n < 2: a single item stays in train)."""
    return 0 if n < 2 else min(n - 1, max(1, round(n * test_fraction)))


def within_units(keys: Sequence[str], units: torch.Tensor, test_fraction: float) -> torch.Tensor:
    """BoolTensor [M]: which items are held out.

    keys: a name per item (its path relative to the root); units: LongTensor [M] >= 0, the unit
    (class) of each item. Items are ranked within their unit by the hash of their name.
    """
    if len(keys) == 0:
        return torch.zeros(0, dtype=torch.bool)
    hashes = np.array([hash_fraction(k) for k in keys])
    unit = units.numpy()
    order = np.lexsort((hashes, unit))  # by unit, then by hash within it
    counts = np.bincount(unit)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(len(keys)) - starts[unit[order]]
    n_test = np.array([held_out_count(int(n), test_fraction) for n in counts])
    test = np.zeros(len(keys), dtype=bool)
    test[order] = rank < n_test[unit[order]]
    return torch.from_numpy(test)

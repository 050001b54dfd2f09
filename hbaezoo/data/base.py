"""The dataset contract every registered dataset meets.

A dataset is a map-style `torch.utils.data.Dataset` of (image, label) pairs, images
float [C, H, W] in [-1, 1], with
    image_shape  (C, H, W)
    num_classes  0 when unlabelled
    group_ids    LongTensor [N]: which set (object, identity) each image belongs to
    skipped      files that could not be read, with why (listed in the run dir)
In-memory datasets also expose `images` (uint8 [N, C, H, W]) so batches are gathered
by indexing, without worker processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import Dataset


class ImageDataset(Dataset):
    image_shape: tuple[int, int, int]
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    group_ids: torch.Tensor
    skipped: list[tuple[str, str]]
    images: torch.Tensor | None = None

    def describe(self) -> dict:
        """What the run directory records about the data (enough to rebuild a model without it)."""
        return {
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "size": len(self),
            "groups": int(self.group_ids.unique().numel()) if len(self) else 0,
        }


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/hbaezoo (default ~/.cache/hbaezoo): rendered data, file checks, features."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hbaezoo"


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [..., C, H, W] in [0, 255] -> float in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [..., C, H, W] in [-1, 1] -> uint8 in [0, 255]."""
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


class TensorImageDataset(ImageDataset):
    """Images held in memory as one uint8 tensor, with labels and group ids."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, group_ids: torch.Tensor,
                 class_names: tuple[str, ...] = ()) -> None:
        self.images = images
        self.labels = labels.long()
        self.group_ids = group_ids.long()
        self.image_shape = tuple(images.shape[1:])
        self.class_names = tuple(class_names)
        self.num_classes = len(class_names)
        self.skipped = []

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int):
        return to_float(self.images[index]), int(self.labels[index])

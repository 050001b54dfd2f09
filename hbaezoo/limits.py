"""Sane bounds checked before anything large is allocated.

A typo such as `batch_size = 10**12` or `z_dim = 10**8` must give an error in a second, not
a MemoryError after minutes of swapping (or the kernel's OOM killer, which leaves no message).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import torch

from hbaezoo.errors import ConfigError

GiB = 1 << 30


def physical_memory() -> int:
    """Bytes of RAM on this machine (64 GiB where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 64 * GiB


def check_batch(batch_size: int, set_size: int | None, image_shape: tuple[int, ...]) -> None:
    """One batch of float images must fit in an eighth of RAM (activations take many times more)."""
    images = batch_size * (set_size or 1)
    size = images * math.prod(image_shape) * 4
    if size > physical_memory() // 8:
        raise ConfigError(
            f"Trainer.batch_size = {batch_size}{f' x set_size {set_size}' if set_size else ''} gives {images} images "
            f"of shape {tuple(image_shape)} per step: {size / GiB:.1f} GiB for the input alone, more than this "
            f"machine ({physical_memory() / GiB:.0f} GiB of RAM) can train on. Use a batch of tens to hundreds."
        )


def check_image_shape(image_shape: tuple[int, ...], where: str) -> None:
    """One image of the model's size must fit 64 times in RAM: the networks that make or read it hold
    tens of feature maps at full resolution (a data.json edited to 16384 x 16384 is refused here)."""
    size = math.prod(image_shape) * 4
    if 64 * size > physical_memory():
        raise ConfigError(
            f"{where}: images of shape {tuple(image_shape)} are {size / GiB:.2f} GiB each as floats; running a model "
            f"on them needs tens of times that, more than this machine's {physical_memory() / GiB:.0f} GiB of RAM. "
            f"If the run really was trained at this size, load it on a machine with more memory.")


def check_model_size(build: Callable[[], torch.nn.Module], what: str = "model") -> None:
    """Build the model on the meta device (no memory used) and refuse it when its weights, gradients
    and Adam moments would not fit in RAM; names the largest parts."""
    try:
        with torch.device("meta"):
            model = build()
    except Exception:  # a part that needs real data to build: the real build reports its own errors
        return
    sizes = {name: sum(t.numel() * t.element_size() for t in [*child.parameters(), *child.buffers()])
             for name, child in model.named_children()}
    total = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    if 4 * total > physical_memory():  # weights + gradients + two Adam moments
        largest = ", ".join(f"{n} {b / GiB:.1f} GiB" for n, b in sorted(sizes.items(), key=lambda kv: -kv[1])[:3])
        raise ConfigError(
            f"the {what} would hold {total / GiB:.1f} GiB of weights (about {4 * total / GiB:.0f} GiB with gradients "
            f"and optimizer state), more than this machine's {physical_memory() / GiB:.0f} GiB of RAM; largest "
            f"parts: {largest}. Check the sizes in your recipe and bindings (z_dim, width, resolution)."
        )

"""Scopes that change global torch state for a block and put it back: seeded RNG, thread count.

    with seeded(0, device):      # draws here are reproducible and leave the caller's RNG alone
        noise = torch.randn(8, 64, device=device)
    with num_threads(1):         # tiny tensors: extra threads only spin on a busy machine
        features = extractor(x)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Seed torch's RNG (CPU, and `device`'s if it is CUDA) for the block; restore the outer state after."""
    devices = [device] if device is not None and torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run the block with `n` intra-op CPU threads; the previous count comes back after."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

"""Batched feature extraction with a progress bar, and an on-disk cache for reference (real) data.

Every image reaches an extractor as 8-bit data: real images are stored that way, and model
outputs are quantised exactly as a saved PNG would be (`to_uint8`) before any metric, so
real and generated images take the same path. Features are returned as float64 numpy
arrays [N, D] (what clean-fid's Fréchet distance expects).

The cache holds features of real images only, keyed by the sha1 of the exact uint8 images
(which pins dataset, split, resolution and selection), the extractor's identity (name,
weights, resize mode): $XDG_CACHE_HOME/hbaezoo/features/<identity>/<sha1>.npy, with a JSON
note beside it saying what the images were.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from hbaezoo.data.base import to_float
from hbaezoo.eval.extractors import FeatureExtractor
from hbaezoo.files import write_cache


def progress_bar(enabled: bool):
    """A transient rich progress bar on stderr; plain lines when output goes to a file; disabled: a no-op."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from hbaezoo import progress
    from hbaezoo.console import err_console

    if enabled and not progress.live():
        return progress.PlainProgress("eval ")
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=err_console, transient=True,
                    disable=not enabled)


@torch.no_grad()
def extract_features(extractor: FeatureExtractor, images: torch.Tensor, *, batch_size: int = 64,
                     device: torch.device | str | None = None, description: str = "features",
                     progress: bool = True) -> np.ndarray:
    """uint8 images [N, C, H, W] -> float64 features [N, D], batch by batch on the extractor's device."""
    if images.dtype != torch.uint8:
        raise TypeError(f"extract_features takes uint8 images (quantise with hbaezoo.data.base.to_uint8), got {images.dtype}")
    if device is None:
        device = next(iter(extractor.parameters()), torch.zeros(0)).device
    out = np.empty((len(images), extractor.dim), dtype=np.float64)
    with progress_bar(progress) as bar:
        task = bar.add_task(f"{description} ({extractor.name})", total=len(images))
        for start in range(0, len(images), batch_size):
            chunk = to_float(images[start:start + batch_size].to(device))
            out[start:start + len(chunk)] = extractor(chunk).double().cpu().numpy()
            bar.advance(task, len(chunk))
    return out


def images_digest(images: torch.Tensor) -> str:
    """sha1 of the exact uint8 images and their shape: the data part of a cache key."""
    h = hashlib.sha1(str(tuple(images.shape)).encode())
    h.update(images.contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def cached_features(extractor: FeatureExtractor, images: torch.Tensor, *, cache_dir: Path | None,
                    note: dict | None = None, **kwargs) -> tuple[np.ndarray, bool]:
    """Features of real images, from the cache when present: (features, came_from_cache)."""
    if cache_dir is None:
        return extract_features(extractor, images, **kwargs), False
    path = Path(cache_dir) / extractor.identity() / f"{images_digest(images)}.npy"
    if path.is_file():
        try:
            feats = np.load(path)
            if feats.shape == (len(images), extractor.dim):
                return feats, True
        except (OSError, ValueError):
            pass  # a damaged cache file is recomputed
    feats = extract_features(extractor, images, **kwargs)
    if write_cache(path, lambda tmp: np.save(tmp, feats), f"{extractor.identity()} features"):
        write_cache(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(
            {"extractor": extractor.describe(), "images": list(images.shape), **(note or {})}, indent=2)),
            "the features' description")
    return feats, False

"""Images as a user hands them over (PIL, uint8 or float tensors, NumPy) -> what a model takes, and back.

A model takes float images [B, C, H, W] (or sets [B, K, C, H, W]) in [-1, 1] at the size it was
trained on; `as_model_images` converts and checks, `to_pil` turns model output back into pictures.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange

from hbaezoo.errors import DataError

RANGE_SLACK = 1e-3  # float images a hair outside [-1, 1] (rounding) are still images in [-1, 1]


def _from_pil(image, channels: int) -> torch.Tensor:
    """One PIL image -> uint8 [C, H, W] with the model's channel count (RGB for 3, L for 1)."""
    import numpy as np

    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels)
    if mode is None:
        raise DataError(f"PIL images can feed models of 1, 3 or 4 channels; this run's images have {channels}. "
                        f"Pass a tensor [B, {channels}, H, W] instead.")
    array = np.asarray(image.convert(mode))
    return rearrange(torch.from_numpy(array.copy()).reshape(*array.shape[:2], channels), "h w c -> c h w")


def _is_pil(value) -> bool:
    return type(value).__module__.startswith("PIL.")


def _as_tensor(images, channels: int, what: str) -> torch.Tensor:
    if _is_pil(images):
        return _from_pil(images, channels).unsqueeze(0)
    if isinstance(images, Sequence) and not isinstance(images, (str, bytes)) and images and all(map(_is_pil, images)):
        pictures = [_from_pil(im, channels) for im in images]
        sizes = sorted({tuple(p.shape[1:]) for p in pictures})
        if len(sizes) > 1:
            raise DataError(f"{what}: the PIL images have different sizes {sizes}; resize them to one size first.")
        return torch.stack(pictures)
    if type(images).__module__ == "numpy":
        return torch.from_numpy(images.copy())
    if isinstance(images, torch.Tensor):
        return images
    raise DataError(f"{what}: expected a PIL image, a list of PIL images, or a tensor [B, C, H, W] (uint8 in "
                    f"[0, 255] or float in [-1, 1]); got {type(images).__name__}.")


def as_model_images(images, image_shape: tuple[int, int, int], *, device: torch.device | str = "cpu",
                    sets: bool = False, what: str = "images") -> torch.Tensor:
    """PIL image(s), or a tensor [B, C, H, W] / [C, H, W] (sets: [B, K, C, H, W] / [K, C, H, W]),
    uint8 in [0, 255] or float in [-1, 1] -> float [B, (K,) C, H, W] in [-1, 1] on `device`.

    DataError, naming what was given and what the run expects, for a wrong size, channel count or range.
    """
    x = _as_tensor(images, image_shape[0], what)
    ndim = 5 if sets else 4
    if x.ndim == ndim - 1:  # one image (or one set) without its batch dimension
        x = x.unsqueeze(0)
    layout = "[B, K, C, H, W] (a batch of sets)" if sets else "[B, C, H, W] (a batch of images)"
    if x.ndim != ndim:
        raise DataError(f"{what}: expected a tensor {layout}, got {x.ndim} dimensions {tuple(x.shape)}.")
    if tuple(x.shape[-3:]) != tuple(image_shape):
        c, h, w = image_shape
        raise DataError(
            f"{what}: the images are {'×'.join(map(str, x.shape[-3:]))} (C×H×W) but this run's model was trained "
            f"on {c}×{h}×{w} images (data.json, image_shape). Resize them first, e.g. "
            f"torchvision.transforms.functional.resize(x, [{h}, {w}], antialias=True), or pass PIL images of "
            f"{w}×{h} pixels."
        )
    if x.dtype == torch.uint8:
        return (x.to(device).float() / 127.5 - 1.0)
    if not x.is_floating_point():
        raise DataError(f"{what}: expected uint8 or float images, got dtype {x.dtype}.")
    low, high = float(x.min()), float(x.max())
    if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK or low != low:
        raise DataError(f"{what}: float images must lie in [-1, 1] (the model's range), but these span "
                        f"[{low:.3g}, {high:.3g}]. Pass uint8 images in [0, 255], or map [0, 1] floats with x * 2 - 1.")
    return x.to(device=device, dtype=torch.float32)


def to_pil(images: torch.Tensor) -> list:
    """Model output [..., C, H, W] in [-1, 1] -> a flat list of PIL images (row-major over the leading dimensions)."""
    from PIL import Image

    flat = images.detach().float().cpu().reshape(-1, *images.shape[-3:])
    pixels = ((flat.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    pixels = rearrange(pixels, "b c h w -> b h w c").numpy()
    return [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p) for p in pixels]

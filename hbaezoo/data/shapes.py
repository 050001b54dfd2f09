"""The embedded multi-view shapes dataset: procedural 3D solids, rendered once and cached.

A stand-in for the paper's ShapeNet renders that needs no download: objects of 13+
categories, each seen from `views` viewpoints. Images are single examples, the views
of one object form a set (its group), and the category is the label. Objects, not
images, are split between train and test.
"""

from __future__ import annotations

import hashlib

import torch
from safetensors.torch import load_file, save_file

from hbaezoo.data.base import TensorImageDataset, cache_dir
from hbaezoo.data.shapes_render import CATEGORIES, render_objects
from hbaezoo.errors import DataError
from hbaezoo.files import write_cache
from hbaezoo.registry import DATASETS

RENDER_VERSION = 1  # bump when the renderer's output changes, to invalidate caches


def rendered(objects_per_category: int, views: int, resolution: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Render (or load from cache) images uint8 [O, V, 3, R, R] and labels [O]."""
    key = f"v{RENDER_VERSION}-o{objects_per_category}-v{views}-r{resolution}-s{seed}"
    path = cache_dir() / "shapes" / f"{key}-{hashlib.sha1(key.encode()).hexdigest()[:8]}.safetensors"
    if path.is_file():
        try:
            data = load_file(path)
            return data["images"], data["labels"]
        except Exception:  # a truncated cache file is re-rendered, not trusted
            path.unlink(missing_ok=True)
    images, labels = _render_with_progress(objects_per_category, views, resolution, seed)
    write_cache(path, lambda tmp: save_file({"images": images.contiguous(), "labels": labels.contiguous()}, tmp),
                "the rendered shapes")
    return images, labels


def _render_with_progress(objects_per_category, views, resolution, seed):
    from rich.progress import Progress

    from hbaezoo.console import err_console

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"rendering shapes ({resolution}px, first use only)", total=None)
        return render_objects(
            objects_per_category, views=views, resolution=resolution, seed=seed,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )


def check_render_size(objects_per_category, views: int, resolution: int) -> None:
    """The rendered images must fit in a quarter of RAM: refuse a typo before rendering starts."""
    from hbaezoo.data.shapes_render import CATEGORIES
    from hbaezoo.limits import GiB, physical_memory

    if not all(type(v) is int and v >= 1 for v in (objects_per_category, views, resolution)):
        return  # the renderer says which one is wrong
    size = objects_per_category * len(CATEGORIES) * views * 3 * resolution**2
    if size > physical_memory() // 4:
        raise DataError(
            f"datasets.shapes: {objects_per_category} objects x {len(CATEGORIES)} categories x {views} views at "
            f"{resolution} px is {size / GiB:.1f} GiB of images, more than this machine's RAM "
            f"({physical_memory() / GiB:.0f} GiB) can hold. Lower resolution, views or objects_per_category."
        )


@DATASETS.register("shapes")
class Shapes(TensorImageDataset):
    """Procedural multi-view 3D shapes (embedded; no download). Groups are objects, labels categories."""

    TEST_KWARGS = {"objects_per_category": 2, "views": 4, "resolution": 16}

    def __init__(
        self,
        *,
        split: str = "train",
        resolution: int = 32,
        objects_per_category: int = 40,
        views: int = 12,
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        if split not in ("train", "test"):
            raise DataError(f"datasets.shapes: split must be 'train' or 'test', got '{split}'.")
        if not 0 < test_fraction < 1:
            raise DataError(f"datasets.shapes.test_fraction must lie in (0, 1), got {test_fraction}.")
        n_test = max(1, round(objects_per_category * test_fraction))
        if n_test >= objects_per_category:
            raise DataError(
                f"datasets.shapes: {objects_per_category} objects per category leave none for training "
                f"after holding out {n_test}; use at least 2 objects per category."
            )
        check_render_size(objects_per_category, views, resolution)
        images, labels = rendered(objects_per_category, views, resolution, seed)
        within = torch.arange(len(labels)) % objects_per_category
        keep = within >= objects_per_category - n_test if split == "test" else within < objects_per_category - n_test
        objects = keep.nonzero().squeeze(1)
        images, labels = images[objects], labels[objects]
        super().__init__(
            images=images.flatten(0, 1),
            labels=labels.repeat_interleave(views),
            group_ids=objects.repeat_interleave(views),
            class_names=CATEGORIES,
        )
        self.views = views

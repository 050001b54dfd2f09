"""Your own images: `datasets.image_folder`, torchvision's ImageFolder convention.

    root/<class>/**/*.png        labels from the class folders' names (sorted, as torchvision's
                                 `find_classes` numbers them); files anywhere below a class folder
    root/*.png                   a flat folder: no labels (num_classes 0)

Sets (`sets`, one binding) come from one folder level:
    'none'       every image on its own (sets of one)
    'class'      each class folder is one set
    'subfolder'  root/<class>/<set>/** or, without classes, root/<set>/**: each set folder a set

The held-out split is made within each class (set folder by set folder where there are
sets), from a hash of the file or folder names: the same on every machine, and every class
with two or more images (or sets) is in both splits. data.json records the split it made.
Each image is resized to `resolution` x `resolution`: `crop = 'center'` keeps the centre
square of the shorter side (all of a square image), `crop = 'none'` resizes the whole image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hbaezoo.data.folder_listing import Listing, list_folders, scan_dir, subdirs
from hbaezoo.data.image_folders import (
    FolderDataset,
    check_choice,
    layout_error,
    no_images_error,
    on_white,
    write_example_image,
)
from hbaezoo.data.splits import SPLITS, held_out_count, within_units
from hbaezoo.errors import DataError
from hbaezoo.registry import DATASETS

SETS = ("none", "class", "subfolder")
CROPS = ("center", "none")
_SHOWN = 8  # names listed in a description or an error before "..."


def _names(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > _SHOWN else "")


@DATASETS.register("image_folder")
class ImageFolder(FolderDataset):
    """Your own images (torchvision ImageFolder layout): classes from folder names, sets from a folder level."""

    NAME = "image_folder"
    LAYOUT = """
<root>/                         e.g. /data/mydata
  cats/                         one folder per class (its name is the label) ...
    0001.png                    .jpg .jpeg .png .bmp .webp .tif .ppm .pgm
    ...
  dogs/
    ...
or <root>/*.png without labels; with sets = 'subfolder', one more level:
  <root>/<class>/<set>/*.png   or, without classes,   <root>/<set>/*.png
"""

    def __init__(
        self,
        *,
        root: str | None = None,
        split: str = "train",
        resolution: int = 64,
        crop: str = "center",
        sets: str = "none",
        test_fraction: float = 0.1,
        verify: bool = False,
    ) -> None:
        """root: the folder (required). resolution: side of the square images, in pixels.
        crop: 'center' (centre square of the shorter side, then resized) or 'none' (the whole
        image resized, its aspect ratio not kept). sets: 'none', 'class' or 'subfolder' (above).
        test_fraction: the share of each class's images (or set folders) held out for the test
        split, at least one of each class that has two. verify: decode every image at
        construction instead of checking headers."""
        check_choice(self.NAME, "split", split, SPLITS)
        check_choice(self.NAME, "sets", sets, SETS)
        check_choice(self.NAME, "crop", crop, CROPS)
        if not 0 < test_fraction < 1:
            raise DataError(f"datasets.image_folder.test_fraction must lie in (0, 1), got {test_fraction}.")
        self.crop, self.sets = crop, sets
        root = self._root(root)
        listing, classes, kind = self._list(root, sets)
        # The class of every listed folder (a class folder, or a set folder inside one); 0 without classes.
        index = {c: i for i, c in enumerate(classes)}
        folder_class = torch.tensor([index[f.split("/")[0]] if classes else 0 for f in listing.folders])
        file_class = folder_class[listing.folder]
        if sets == "subfolder":  # whole set folders are held out, within each class
            test = within_units(listing.folders, folder_class, test_fraction)[listing.folder]
            per_unit = torch.bincount(folder_class)
        else:
            test = within_units([os.fsdecode(r) for r in listing.rel], file_class, test_fraction)
            per_unit = torch.bincount(file_class)
        self.split_rule = self._rule(listing, classes, kind, test, per_unit, test_fraction)
        if not test.any():
            raise self._empty_test(root, classes, sets)
        groups = {"none": torch.arange(len(listing)), "class": file_class, "subfolder": listing.folder}[sets]
        mask = test if split == "test" else ~test
        labels = file_class if classes else torch.zeros(len(listing), dtype=torch.long)
        self._setup(root, listing.rel[mask.numpy()], labels[mask], groups[mask], resolution=resolution, verify=verify,
                    class_names=classes)

    # -- finding the layout --
    def _root(self, root) -> Path:
        if root is None:
            raise layout_error(self.NAME, self.LAYOUT, "no folder was given (datasets.image_folder.root is not set)",
                               yours=True)
        path = Path(root).expanduser()
        if not path.is_dir():
            what = "is a file, not a folder" if path.exists() else "does not exist"
            raise layout_error(self.NAME, self.LAYOUT, f"root {path} {what}", yours=True)
        return path

    def _list(self, root: Path, sets: str) -> tuple[Listing, list[str], str]:
        """The listing (one listed folder per class, or per set), the class names, and the layout's name."""
        flat, flat_others = scan_dir(root)
        top = subdirs(root)
        below = list_folders(root, top, recursive=True)
        if flat and len(below):
            raise self._error(f"{root} holds {len(flat)} images directly and more in the folders "
                              f"{_names(below.folders)}; put all of them in class folders, or all directly in one "
                              f"folder (no labels)")
        if not flat and not len(below):
            raise no_images_error(self.NAME, self.LAYOUT, root, flat_others + below.others, yours=True)
        if flat:
            if sets != "none":
                raise self._error(f"sets = {sets!r} takes sets from folders, but {root} holds its {len(flat)} images "
                                  f"directly, with no folders; use sets = 'none', or put the images in one folder per "
                                  f"{'class' if sets == 'class' else 'set'}")
            return list_folders(root, [""]), [], "flat"
        if sets != "subfolder":
            return below, below.folders, "classes"
        # 'subfolder': a top folder holding images itself is a set; one whose images all lie in folders, a class.
        direct = {f: bool(scan_dir(root / f)[0]) for f in below.folders}
        set_tops = [f for f in below.folders if direct[f]]
        class_tops = [f for f in below.folders if not direct[f]]
        if set_tops and class_tops:
            raise self._error(
                f"sets = 'subfolder' reads either <root>/<set>/* or <root>/<class>/<set>/*, but {root / set_tops[0]} "
                f"holds images directly (a set) while {root / class_tops[0]} holds them only in folders (a class of "
                f"sets); give every top folder the same depth")
        if set_tops:
            return below, [], "sets"
        inner = list_folders(root, [f"{c}/{s}" for c in class_tops for s in subdirs(root / c)], recursive=True)
        return inner, sorted({f.split("/")[0] for f in inner.folders}), "classes and sets"

    # -- what the split was, and what to say when it cannot be made --
    def _rule(self, listing: Listing, classes: list[str], kind: str, test: torch.Tensor, per_unit: torch.Tensor,
              test_fraction: float) -> dict:
        item = "set folder" if self.sets == "subfolder" else "image"
        unit = "class" if classes else "folder"
        rule = {
            "rule": f"within each {unit}, {test_fraction:.0%} of its {item}s (rounded; at least one, never all) "
                    f"are held out, chosen by a hash of their names",
            "layout": kind, "sets": self.sets, "crop": self.crop, "test_fraction": test_fraction,
            "train_images": int((~test).sum()), "test_images": int(test.sum()),
        }
        if self.sets == "subfolder":
            held = torch.zeros(len(listing.folders), dtype=torch.bool).index_fill_(
                0, listing.folder[test].unique(), True)
            rule.update(train_sets=int((~held).sum()), test_sets=int(held.sum()))
        names = classes or ["(the folder)"]
        single = [c for c, n in zip(names, per_unit.tolist()) if held_out_count(n, test_fraction) == 0]
        if single:
            rule["train_only"] = f"{len(single)} {unit}(s) with a single {item}, kept in train: {_names(single)}"
        if listing.empty:
            rule["ignored_empty_folders"] = _names(listing.empty)
        return rule

    def _empty_test(self, root: Path, classes: list[str], sets: str) -> DataError:
        item = "set folder" if sets == "subfolder" else "image"
        where = "every class holds" if classes else "the folder holds"
        more = " or use sets = 'class'" if sets == "subfolder" and classes else ""
        return DataError(
            f"datasets.image_folder: the test split of {root} would be empty: {where} a single {item}. The held-out "
            f"split takes {item}s from each class that has at least two (sampling and evaluation read it); "
            f"add {item}s{more}."
        )

    def _error(self, problem: str) -> DataError:
        return layout_error(self.NAME, self.LAYOUT, problem, yours=True)

    # -- decoding --
    def crop_box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """'none': the whole image; 'center': the centre square of the shorter side."""
        return (0, 0, width, height) if self.crop == "none" else super().crop_box(width, height)

    def to_rgb(self, image: Image.Image) -> Image.Image:
        """Transparent pixels on white."""
        return on_white(image)

    @classmethod
    def make_example(cls, root: Path, classes: int = 2, per_group: int = 4, sets_per_class: int = 0,
                     size: int = 24, seed: int = 0) -> Path:
        """A tiny folder of noise PNGs: `classes` class folders (none: a flat folder) of per_group images,
        or of `sets_per_class` set folders of per_group images each."""
        rng = np.random.default_rng(seed)
        root = Path(root)
        folders = [f"class{c}" for c in range(classes)] or [""]
        if sets_per_class:
            folders = [f"{c}/set{s}".lstrip("/") for c in folders for s in range(sets_per_class)]
        for folder in folders:
            for k in range(per_group):
                write_example_image(root / folder / f"{k:03d}.png", rng, size)
        root.mkdir(parents=True, exist_ok=True)
        return root


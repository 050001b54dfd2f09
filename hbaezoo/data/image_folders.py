"""Image folders on disk: finding the root, decoding that survives bad files.

Files are listed by data/folder_listing.py and checked by data/file_checks.py.

Shared by the folder datasets (CelebA, VGGFace2, ShapeNet renders, your own images: datasets.image_folder).
A `FolderDataset` holds relative paths as one numpy bytes array, not a Python list: 3.3M
str objects cost ~250 MB and are copied page by page into every DataLoader worker as
their reference counts change.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hbaezoo.data.base import ImageDataset, to_float
from hbaezoo.data.file_checks import MAX_PIXELS, check_files
from hbaezoo.data.folder_listing import image_extensions
from hbaezoo.errors import DataError

DATA_ENV = "HBAEZOO_DATA"
MAX_TRIES = 32  # replacement candidates tried before a decode failure becomes an error


# -- where the data is, and what to say when it is not there ------------------------------------
def layout_error(name: str, layout: str, problem: str, *, yours: bool = False) -> DataError:
    """A DataError that says what is wrong, the layout expected, and how to point at the folder.

    yours: the data is the user's own images (no public data set to fetch, no $HBAEZOO_DATA default)."""
    tree = "\n".join("    " + line for line in layout.strip("\n").splitlines())
    if yours:
        return DataError(
            f"datasets.{name}: {problem}.\nLay your images out as\n{tree}\nthen point at the folder with\n"
            f"    -b \"datasets.{name}.root = '/path/to/images'\""
        )
    return DataError(
        f"datasets.{name}: {problem}.\n"
        f"hbaezoo never downloads data sets: get {name} yourself and lay it out as\n{tree}\n"
        f"then point at the folder with\n"
        f"    -b \"datasets.{name}.root = '/data/{name}'\"\n"
        f"or set {DATA_ENV}=/data so that /data/{name} is used by default."
    )


def resolve_root(name: str, root: str | os.PathLike | None, layout: str) -> Path:
    """The dataset folder: `root`, else $HBAEZOO_DATA/<name>; a DataError when it is not a folder."""
    if root is None:
        base = os.environ.get(DATA_ENV)
        if not base:
            raise layout_error(name, layout, f"no folder was given (root=None) and ${DATA_ENV} is not set")
        path, origin = Path(base).expanduser() / name, f" (${DATA_ENV}/{name})"
    else:
        path, origin = Path(root).expanduser(), ""
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "does not exist"
        raise layout_error(name, layout, f"looked in {path}{origin}, which {what}")
    return path


def no_images_error(name: str, layout: str, where: str | Path, others: Counter, *, yours: bool = False) -> DataError:
    """The folder exists but holds no images: say what it holds instead."""
    exts = "/".join(image_extensions())
    if not others:
        return layout_error(name, layout, f"found no {exts} images in {where}, and no other files either", yours=yours)
    kinds = ", ".join(f"{n} {ext or '(no extension)'}" for ext, n in others.most_common(6))
    unpack = " (unpack the archives first)" if any(e in others for e in (".zip", ".tar", ".tgz", ".gz")) else ""
    return layout_error(
        name, layout,
        f"found no {exts} images in {where}, only {sum(others.values())} files of other types: {kinds}{unpack}",
        yours=yours,
    )


def check_choice(name: str, param: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise DataError(f"datasets.{name}.{param} must be one of {', '.join(map(repr, choices))}; got {value!r}.")


def on_white(image: Image.Image) -> Image.Image:
    """RGB, transparent pixels composited on white (converting RGBA to RGB would keep whatever
    colour the transparent pixels hold, often black)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image.convert("RGB")


# -- the dataset ---------------------------------------------------------------------------------
def write_example_image(path: Path, rng: np.random.Generator, size: int, alpha: bool = False) -> None:
    """Random noise, RGB (JPEG) or RGBA with a transparent border (PNG)."""
    pixels = rng.integers(0, 256, (size, size, 4 if alpha else 3), dtype=np.uint8)
    if alpha:
        pixels[..., 3] = 0
        pixels[size // 4 : -size // 4, size // 4 : -size // 4, 3] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


class _ExampleKwargs:
    """Class attribute TEST_KWARGS, computed on access: a tiny example folder, made once.

    `getattr(cls, "TEST_KWARGS", {})` works on the class and on gin's subclass of it.
    """

    def __init__(self, **extra) -> None:
        self.extra = extra

    def __get__(self, obj, owner) -> dict:
        root = Path(tempfile.gettempdir()) / "hbaezoo-test-data" / f"{owner.NAME}-v{owner.EXAMPLE_VERSION}"
        if not root.is_dir():
            # Written aside and renamed, so parallel test processes never see half a folder.
            tmp = root.with_name(f"{root.name}.tmp{os.getpid()}")
            owner.make_example(tmp)
            try:
                tmp.rename(root)
            except OSError:  # another process got there first
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return {"root": str(root), **self.extra}


class FolderDataset(ImageDataset):
    """Images in a folder, decoded on access (through DataLoader workers): float [3, R, R] in [-1, 1].

    Subclasses list their files and call `_setup`; they may override `crop_box` and `to_rgb`.
    """

    NAME = "folder"
    LAYOUT = ""
    EXAMPLE_VERSION = 2  # bump when an example layout changes: stale copies stay in the temp folder
    crop_fraction = 1.0
    split_rule: str | dict | None = None  # how the train/test split was made, as data.json records it
    TEST_KWARGS = _ExampleKwargs(resolution=16)

    def _setup(self, root: Path, rel: np.ndarray, labels: torch.Tensor, group_ids: torch.Tensor, *,
               resolution: int, verify: bool, class_names: Sequence[str] = (), skipped=()) -> None:
        """Drop files that fail the cheap check (into `skipped`) and keep the rest.

        rel: bytes [N] paths relative to root; labels, group_ids: LongTensor [N].
        """
        if resolution < 1:
            raise DataError(f"datasets.{self.NAME}.resolution must be a positive number of pixels, got {resolution}.")
        bad = check_files(self.NAME, root, rel, verify=verify)
        self.skipped = list(skipped) + [(str(root / os.fsdecode(rel[i])), why) for i, why in sorted(bad.items())]
        keep = torch.ones(len(rel), dtype=torch.bool)
        if bad:
            keep[torch.tensor(sorted(bad))] = False
        self.root, self.resolution = str(root), resolution
        self.paths = rel[keep.numpy()]
        self.labels, self.group_ids = labels[keep].long(), group_ids[keep].long()
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        self.image_shape = (3, resolution, resolution)
        # Decode failures: a counter shared with DataLoader workers, the paths per process.
        self._failures = torch.zeros(1, dtype=torch.int64).share_memory_()
        self.failed_paths: set[str] = set()
        self._by_group: tuple[torch.Tensor, torch.Tensor] | None = None
        if len(self.paths) == 0:
            raise DataError(
                f"datasets.{self.NAME}: all {len(rel)} images of this split in {root} failed the check "
                f"(first: {self.skipped[-1][0]}: {self.skipped[-1][1]})."
            )

    # -- what subclasses may change --
    def crop_box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the square kept from a width x height image: the centre
        `crop_fraction` of the shorter side."""
        side = self.crop_fraction * min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return left, top, left + side, top + side

    def to_rgb(self, image: Image.Image) -> Image.Image:
        return image.convert("RGB")

    # -- decoding --
    def path(self, index: int) -> str:
        return os.path.join(self.root, os.fsdecode(self.paths[index]))

    def load(self, path: str) -> torch.Tensor:
        """Decode, crop and resize one file: uint8 [3, R, R]. Raises on unreadable data."""
        r = self.resolution
        with Image.open(path) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:  # replaced since the check: never decode it in full
                raise ValueError(f"{width} x {height} pixels is above the limit of {MAX_PIXELS}")
            left, top, right, bottom = self.crop_box(width, height)
            # JPEGs decode at 1/2, 1/4 or 1/8 scale when the crop stays >= 2R pixels:
            # several times faster on large images, and the resize below still antialiases.
            scale = min(1.0, 2 * r / max(1.0, right - left))
            if scale < 1 and im.format == "JPEG":
                im.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
                sx, sy = im.width / width, im.height / height
                left, top, right, bottom = left * sx, top * sy, right * sx, bottom * sy
            # Crop before resizing (as CenterCrop then Resize would): a resize with `box` lets
            # pixels outside the crop bleed into its border.
            box = tuple(round(v) for v in (left, top, right, bottom))
            out = self.to_rgb(im).crop(box).resize((r, r), Image.Resampling.BICUBIC)
        return torch.from_numpy(np.array(out, dtype=np.uint8)).permute(2, 0, 1).contiguous()

    @property
    def decode_failures(self) -> int:
        """How many decodes failed at __getitem__ so far, in this process and its workers (a bad
        file counts once per process that met it; `failed_paths` lists this process's)."""
        return int(self._failures[0])

    def _candidates(self, index: int) -> Iterator[int]:
        """index, then the rest of its group after it (cyclic), then the following images."""
        if self._by_group is None:
            order = torch.argsort(self.group_ids, stable=True)
            self._by_group = order, self.group_ids[order]
        order, sorted_groups = self._by_group
        g = self.group_ids[index]
        members = order[torch.searchsorted(sorted_groups, g):torch.searchsorted(sorted_groups, g, right=True)].tolist()
        k = members.index(index)
        yield from members[k:] + members[:k]
        n = len(self)
        yield from ((index + step) % n for step in range(1, n))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        index = int(index)
        tried = []
        for candidate in self._candidates(index):
            path = self.path(candidate)
            if path in self.failed_paths:
                continue
            try:
                image = self.load(path)
            except Exception as exc:  # truncated or damaged data: use another image, loudly
                self.failed_paths.add(path)
                self._failures += 1
                tried.append(path)
                warnings.warn(
                    f"datasets.{self.NAME}: cannot decode {path} ({type(exc).__name__}: {exc}); using "
                    f"another image of its group instead. Build with verify=True to find all such files up front.",
                    stacklevel=2,
                )
                if len(tried) >= MAX_TRIES:
                    break
                continue
            if tried and self.group_ids[candidate] != self.group_ids[index]:
                warnings.warn(f"datasets.{self.NAME}: no readable image left in the group of {self.path(index)}; "
                              f"used {path} from another group.", stacklevel=2)
            return to_float(image), int(self.labels[candidate])
        last = tried[-1] if tried else "-"
        raise DataError(
            f"datasets.{self.NAME}: {len(tried)} images in a row could not be decoded (last: {last}); "
            f"is {self.root} still mounted? Build with verify=True to list every damaged file."
        )

    def describe(self) -> dict:
        out = {**super().describe(), "root": self.root, "skipped": len(self.skipped)}
        return {**out, "split": self.split_rule} if self.split_rule is not None else out

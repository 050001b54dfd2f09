"""Real image datasets read from a folder the user provides (hbaezoo never downloads).

    datasets.celeba    CelebA aligned faces; sets are identities (identity_CelebA.txt)
    datasets.vggface2  VGGFace2, one folder per identity; sets are identities, labels too
    datasets.shapenet  ShapeNet renders, <category>/<object>/*.png; sets are objects

`root` defaults to $HBAEZOO_DATA/<name>. Each image comes out as float [3, R, R] in [-1, 1].
Splits are deterministic and disjoint by group (identity, object) wherever groups span
several images. Each is a layout over the shared scanner (data/folder_listing.py), checks
(data/file_checks.py) and robust decoding (data/image_folders.py); your own images are
datasets.image_folder (data/image_folder.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from hbaezoo.data.folder_listing import list_folders, paths_array, scan_dir, subdirs
from hbaezoo.data.image_folders import (
    FolderDataset,
    check_choice,
    layout_error,
    no_images_error,
    on_white,
    resolve_root,
    write_example_image,
)
from hbaezoo.data.splits import SPLITS, by_hash
from hbaezoo.errors import DataError
from hbaezoo.registry import DATASETS


def _check_common(name: str, split: str, test_fraction: float) -> None:
    check_choice(name, "split", split, SPLITS)
    if not 0 < test_fraction < 1:
        raise DataError(f"datasets.{name}.test_fraction must lie in (0, 1), got {test_fraction}.")


def _empty_split(name: str, split: str, root: Path, how: str) -> DataError:
    return DataError(
        f"datasets.{name}: the '{split}' split of {root} is empty ({how}). With few groups, raise or lower "
        f"test_fraction; for a folder of your own images, datasets.image_folder splits within every class "
        f"instead (see README, \"Your own images\")."
    )


def _example_names(groups: int, pattern: str, test_fraction: float) -> list[str]:
    """pattern.format(i) for rising i, picked so that the last name falls in the test split and the
    others in train: an example folder then has both splits under the default test_fraction."""
    names, i = [], 0
    while len(names) < groups:
        i += 1
        name = pattern.format(i)
        if by_hash(name, test_fraction) == (len(names) == groups - 1):
            names.append(name)
    return names


# -- CelebA --------------------------------------------------------------------------------------
def _read_table(path: Path | None) -> dict[str, int] | None:
    """'<file name> <int>' per line (spaces or commas); headers and count lines are skipped."""
    if path is None:
        return None
    table = {}
    for line in path.read_text().splitlines():
        fields = line.replace(",", " ").split()
        if len(fields) == 2 and fields[1].lstrip("-").isdigit():
            table[fields[0]] = int(fields[1])
    return table


def _find(root: Path, *names: str) -> Path | None:
    """The first of `names` present in root or in the Anno/ and Eval/ folders of the official archive."""
    for folder in (root, root / "Anno", root / "Eval"):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


@DATASETS.register("celeba")
class CelebA(FolderDataset):
    """CelebA aligned faces (your copy): 140 px centre crop, resized; groups are identities when known."""

    NAME = "celeba"
    LAYOUT = """
<root>/                         e.g. /data/celeba
  img_align_celeba/
    000001.jpg                  the aligned 178x218 images (202,599 of them)
    ...
  list_eval_partition.txt       optional: the official split (0 train, 1 valid, 2 test)
  identity_CelebA.txt           optional: who is in each image (groups for sets)
"""
    IMAGE_DIRS = ("img_align_celeba", "img_align_celeba/img_align_celeba", "Img/img_align_celeba")

    def __init__(
        self,
        *,
        root: str | None = None,
        split: str = "train",
        resolution: int = 64,
        crop: int = 140,
        groups: str = "auto",
        valid_split: str = "test",
        test_fraction: float = 0.1,
        verify: bool = False,
    ) -> None:
        """groups: 'identity' (needs identity_CelebA.txt), 'image' (sets of one), or 'auto' (identity
        when the file is there). valid_split: where the official validation images go ('train',
        'test' or 'none'). Without list_eval_partition.txt the last `test_fraction` of the files by
        name are the test split (of the identities by hash, when groups are identities).
        verify: decode every image at construction instead of checking headers."""
        _check_common(self.NAME, split, test_fraction)
        check_choice(self.NAME, "groups", groups, ("auto", "identity", "image"))
        check_choice(self.NAME, "valid_split", valid_split, ("train", "test", "none"))
        if crop < 1:
            raise DataError(f"datasets.celeba.crop must be a positive number of pixels, got {crop}.")
        self.crop = crop
        root = resolve_root(self.NAME, root, self.LAYOUT)
        candidates = [root / d for d in self.IMAGE_DIRS if (root / d).is_dir()]
        if not candidates:
            found = ", ".join(subdirs(root)[:8]) or "no folders"
            raise layout_error(self.NAME, self.LAYOUT, f"{root} has no img_align_celeba/ folder (found: {found})")
        # The first candidate with images: Kaggle's copy nests img_align_celeba/ in itself.
        scans = [(d, *scan_dir(d)) for d in candidates]
        images_dir, names, others = next((s for s in scans if s[1]), scans[0])
        if not names:
            raise no_images_error(self.NAME, self.LAYOUT, images_dir, others)

        identity = _read_table(_find(root, "identity_CelebA.txt"))
        if groups == "identity" and identity is None:
            raise DataError(
                f"datasets.celeba.groups = 'identity' needs identity_CelebA.txt in {root} (or its Anno/ folder); "
                f"add it, or use groups = 'image' for sets of single images."
            )
        if identity is not None and groups != "image":
            # Images missing from the identity file become groups of their own, numbered past the rest.
            start = max(identity.values(), default=0) + 1
            group = [identity.get(n, start + i) for i, n in enumerate(names)]
        else:
            identity, group = None, list(range(len(names)))

        partition = _read_table(_find(root, "list_eval_partition.txt", "list_eval_partition.csv"))
        skipped = []
        if partition is not None:
            wanted = {0} if split == "train" else {2}
            wanted |= {1} if valid_split == split else set()
            keep = [partition.get(n) in wanted for n in names]
            skipped = [(str(images_dir / n), "not in list_eval_partition.txt") for n in names if n not in partition]
            how = f"list_eval_partition.txt, valid_split={valid_split!r}"
        elif identity is not None:
            keep = [by_hash(str(g), test_fraction) == (split == "test") for g in group]
            how = f"identities split by hash, test_fraction={test_fraction}"
        else:
            n_test = max(1, round(len(names) * test_fraction))
            keep = [(i >= len(names) - n_test) == (split == "test") for i in range(len(names))]
            how = f"last {n_test} files by name are the test split"
        self.split_rule = how
        mask = np.array(keep, dtype=bool)
        if not mask.any():
            raise _empty_split(self.NAME, split, root, how)
        rel = paths_array(images_dir.relative_to(root).as_posix(), names)[mask]
        group_ids = torch.tensor(group, dtype=torch.long)[torch.from_numpy(mask)]
        self._setup(root, rel, torch.zeros(len(rel), dtype=torch.long), group_ids,
                    resolution=resolution, verify=verify, skipped=skipped)

    def crop_box(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The centre `crop` x `crop` pixels (the whole shorter side if the image is smaller)."""
        side = min(self.crop, width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return left, top, left + side, top + side

    @classmethod
    def make_example(cls, root: Path, groups: int = 3, per_group: int = 3, size: int = 24, seed: int = 0) -> Path:
        """A tiny CelebA: groups x per_group noise JPEGs; the last identity is test, the one before valid."""
        rng = np.random.default_rng(seed)
        root = Path(root)
        ids, parts = [], []
        for i in range(groups * per_group):
            g = i // per_group
            name = f"{i + 1:06d}.jpg"
            write_example_image(root / "img_align_celeba" / name, rng, size)
            ids.append(f"{name} {g + 1}\n")
            parts.append(f"{name} {2 if g == groups - 1 else 1 if g == groups - 2 else 0}\n")
        (root / "identity_CelebA.txt").write_text("".join(ids))
        (root / "list_eval_partition.txt").write_text("".join(parts))
        return root


# -- VGGFace2 ------------------------------------------------------------------------------------
@DATASETS.register("vggface2")
class VGGFace2(FolderDataset):
    """VGGFace2 (your copy): square centre crop, resized; identities are groups and labels."""

    NAME = "vggface2"
    LAYOUT = """
<root>/                         e.g. /data/vggface2
  n000002/                      one folder per identity
    0001_01.jpg
    ...
  n000003/
    ...
or, with the official split:
  <root>/train/<identity>/*.jpg  and  <root>/test/<identity>/*.jpg
"""

    def __init__(
        self,
        *,
        root: str | None = None,
        split: str = "train",
        resolution: int = 64,
        crop_fraction: float = 0.8,
        test_fraction: float = 0.1,
        verify: bool = False,
    ) -> None:
        """crop_fraction: side of the centre square kept, as a fraction of the shorter side.
        With train/ and test/ folders those are the splits; otherwise identities are split by a hash
        of their folder name (test if it falls in the last `test_fraction`). Labels index the
        identities of this split (class_names); the two splits' identities are disjoint."""
        _check_common(self.NAME, split, test_fraction)
        if not 0 < crop_fraction <= 1:
            raise DataError(f"datasets.vggface2.crop_fraction must lie in (0, 1], got {crop_fraction}.")
        self.crop_fraction = crop_fraction
        root = resolve_root(self.NAME, root, self.LAYOUT)
        folders = subdirs(root)
        if not folders:
            names, others = scan_dir(root)
            if names:
                raise layout_error(self.NAME, self.LAYOUT, f"{root} holds {len(names)} images but no identity folders (for a folder of "
                                   f"your own images, use datasets.image_folder)")
            raise no_images_error(self.NAME, self.LAYOUT, root, others)
        if "train" in folders or "test" in folders:
            if not (root / split).is_dir():
                raise layout_error(self.NAME, self.LAYOUT, f"{root} has the official split folders but no {split}/")
            official, identities = True, [f"{split}/{d}" for d in subdirs(root / split)]
        else:
            official, identities = False, [d for d in folders if by_hash(d, test_fraction) == (split == "test")]
        self.split_rule = ("the official train/ and test/ folders" if official
                           else f"identities split by hash, test_fraction={test_fraction}")
        listing = list_folders(root, identities)
        if not len(listing):
            others = listing.others
            if not official:  # split by hash: look at every identity to tell an empty split from no images
                everyone = list_folders(root, folders)
                if len(everyone):
                    raise _empty_split(self.NAME, split, root, self.split_rule)
                others = everyone.others
            where = root / split if official else root
            raise no_images_error(self.NAME, self.LAYOUT, f"the identity folders of {where}", others)
        # An identity without images is not a class: labels index the folders that hold images.
        labels = listing.folder
        self._setup(root, listing.rel, labels, labels.clone(), resolution=resolution, verify=verify,
                    class_names=[f.rsplit("/", 1)[-1] for f in listing.folders])

    @classmethod
    def make_example(cls, root: Path, groups: int = 3, per_group: int = 3, size: int = 24, seed: int = 0,
                     official: bool = False) -> Path:
        """A tiny VGGFace2: `groups` identities of per_group noise JPEGs, the last one in the test split
        (by hash for the default test_fraction, or in test/ when `official`)."""
        rng = np.random.default_rng(seed)
        root = Path(root)
        for g, ident in enumerate(_example_names(groups, "n{:06d}", test_fraction=0.1)):
            folder = root / ("" if not official else "test" if g == groups - 1 else "train") / ident
            for k in range(per_group):
                write_example_image(folder / f"{k + 1:04d}_01.jpg", rng, size)
        return root


# -- ShapeNet renders ----------------------------------------------------------------------------
# The 13 categories of the 3D-R2N2 renders, by ShapeNet synset id.
SYNSETS = {
    "02691156": "airplane", "02828884": "bench", "02933112": "cabinet", "02958343": "car",
    "03001627": "chair", "03211117": "display", "03636649": "lamp", "03691459": "speaker",
    "04090263": "rifle", "04256520": "sofa", "04379243": "table", "04401088": "telephone",
    "04530566": "watercraft",
}


@DATASETS.register("shapenet")
class ShapeNet(FolderDataset):
    """ShapeNet renders (your copy): RGBA on white, resized; objects are groups, categories labels."""

    NAME = "shapenet"
    LAYOUT = """
<root>/                         e.g. /data/shapenet
  02691156/                     one folder per category (synset id or name)
    1a04e3eab45ca15dd86060f189eb133/     one folder per object
      00.png                    renders of the object, RGBA on a transparent background
      ...
  03001627/
    ...
(3D-R2N2's ShapeNetRendering, with <object>/rendering/*.png, works as it is)
"""

    def __init__(
        self,
        *,
        root: str | None = None,
        split: str = "train",
        resolution: int = 64,
        categories: tuple[str, ...] | None = None,
        test_fraction: float = 0.2,
        crop_fraction: float = 1.0,
        verify: bool = False,
    ) -> None:
        """categories: folder names or synset names ('chair') to use; None for every category folder.
        Objects are split by a hash of their id (test if it falls in the last `test_fraction`).
        class_names are the categories' names, in the sorted order of their folders."""
        _check_common(self.NAME, split, test_fraction)
        if not 0 < crop_fraction <= 1:
            raise DataError(f"datasets.shapenet.crop_fraction must lie in (0, 1], got {crop_fraction}.")
        self.crop_fraction = crop_fraction
        root = resolve_root(self.NAME, root, self.LAYOUT)
        folders = subdirs(root)
        if categories is not None:
            wanted = {categories} if isinstance(categories, str) else {str(c) for c in categories}
            unknown = wanted - set(folders) - {SYNSETS.get(f) for f in folders}
            if unknown:
                raise layout_error(self.NAME, self.LAYOUT, f"no folder in {root} for categories {sorted(unknown)} "
                                   f"(found: {', '.join(folders[:20]) or 'none'})")
            folders = [f for f in folders if f in wanted or SYNSETS.get(f) in wanted]
        if not folders:
            names, others = scan_dir(root)
            if names:
                raise layout_error(self.NAME, self.LAYOUT, f"{root} holds {len(names)} images but no category folders")
            raise no_images_error(self.NAME, self.LAYOUT, root, others)
        objects = [f"{category}/{obj}" for category in folders for obj in subdirs(root / category)]
        if not objects:
            raise layout_error(self.NAME, self.LAYOUT, f"the category folders in {root} hold no object folders")
        chosen = [o for o in objects if by_hash(o.split("/")[1], test_fraction) == (split == "test")]
        self.split_rule = f"objects split by hash, test_fraction={test_fraction}"
        listing = list_folders(root, chosen, inner="rendering")
        if not len(listing):
            # Look at every object to tell an empty split from no images at all.
            everything = list_folders(root, objects, inner="rendering")
            if len(everything):
                raise _empty_split(self.NAME, split, root, self.split_rule)
            raise no_images_error(self.NAME, self.LAYOUT, f"the object folders of {root}", everything.others)
        category = {name: i for i, name in enumerate(folders)}
        per_object = torch.tensor([category[f.split("/")[0]] for f in listing.folders])
        self._setup(root, listing.rel, per_object[listing.folder], listing.folder, resolution=resolution,
                    verify=verify, class_names=[SYNSETS.get(f, f) for f in folders])

    def to_rgb(self, image: Image.Image) -> Image.Image:
        """Composite on white: the renders' transparent background would otherwise decode as black."""
        return on_white(image)

    @classmethod
    def make_example(cls, root: Path, groups: int = 3, per_group: int = 3, size: int = 24, seed: int = 0) -> Path:
        """A tiny ShapeNet: `groups` objects alternating over airplane and bench, RGBA noise PNGs;
        the last object falls in the test split under the default test_fraction."""
        rng = np.random.default_rng(seed)
        root = Path(root)
        synsets = sorted(SYNSETS)[:2]
        for g, obj in enumerate(_example_names(groups, "{:04x}" + "ab" * 14, test_fraction=0.2)):
            for k in range(per_group):
                write_example_image(root / synsets[g % 2] / obj / f"{k:02d}.png", rng, size, alpha=True)
        return root

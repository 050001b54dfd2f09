"""Listing image folders: which files are images, folder by folder, as one numpy bytes array.

The one scanner under every folder dataset (CelebA, VGGFace2, ShapeNet renders, your own
images). Image files are those whose ending is in torchvision's `IMG_EXTENSIONS`, as for
`torchvision.datasets.ImageFolder`; folders and classes come in sorted order, as its
`find_classes` gives them. The walk itself is ours rather than torchvision's `make_dataset`:
that one keeps hidden files (macOS "._x.jpg" forks, `.ipynb_checkpoints/` would become a
class), builds a Python list of (str, int) per file (3.3M of them for VGGFace2), and cannot
say what a folder holds instead of images.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@functools.cache
def image_extensions() -> tuple[str, ...]:
    """torchvision's image endings (.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp), lower case."""
    # Imported here: torchvision takes a second to import, and only a folder dataset needs it.
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return tuple(e.lower() for e in IMG_EXTENSIONS)


def _is(entry: os.DirEntry, kind: str) -> bool:
    """entry.is_file() / is_dir(), False for a link that loops or dangles (those raise ELOOP)."""
    try:
        return entry.is_file() if kind == "file" else entry.is_dir()
    except OSError:
        return False


def scan_dir(folder: Path, extensions: Sequence[str] | None = None) -> tuple[list[str], Counter]:
    """Sorted image file names directly in `folder`, and a count of other files by extension.

    os.scandir only (no stat, no PIL). Hidden files (".DS_Store", macOS "._x.jpg" resource
    forks) are ignored.
    """
    extensions = image_extensions() if extensions is None else extensions
    names, others = [], Counter()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not _is(entry, "file"):
                if entry.is_symlink() and not _is(entry, "dir"):
                    others["(broken or looping link)"] += 1
                continue
            ext = os.path.splitext(entry.name)[1].lower()
            if ext in extensions:
                names.append(entry.name)
            else:
                others[ext] += 1
    return sorted(names), others


def subdirs(folder: Path) -> list[str]:
    """Sorted names of the non-hidden folders directly in `folder`."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and _is(e, "dir"))


def walk_images(folder: Path) -> tuple[list[str], Counter]:
    """Image files anywhere below `folder`, as sorted paths relative to it ('a.png', 'sub/b.png'),
    and the other files seen. Hidden files and folders are skipped; a folder reached twice
    (a link loop) is walked once."""
    names, others, seen = [], Counter(), set()

    def walk(path: Path, prefix: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        found, other = scan_dir(path)
        names.extend(prefix + n for n in found)
        others.update(other)
        for sub in subdirs(path):
            walk(path / sub, f"{prefix}{sub}/")

    walk(folder, "")
    return names, others


def paths_array(folder: str, names: Sequence[str]) -> np.ndarray:
    """Relative paths '<folder>/<name>' (or '<name>' when folder is '') as a numpy bytes array.

    fsencode: names that are not UTF-8 on disk (Latin-1 folders) keep their exact bytes.
    A numpy array, not a list: 3.3M str objects cost ~250 MB and are copied page by page into
    every DataLoader worker as their reference counts change."""
    prefix = f"{folder}/" if folder else ""
    return np.array([os.fsencode(prefix + n) for n in names], dtype=np.bytes_)


@dataclass
class Listing:
    """The images of some folders under a root.

    rel      bytes [N]: paths relative to the root, folder by folder, sorted within each
    folder   LongTensor [N]: index into `folders` of the folder each file was listed from
    folders  the folders (relative to the root, '' for the root) that hold images, in order
    empty    the folders asked for that hold none
    others   other files seen, by extension
    """

    rel: np.ndarray
    folder: torch.Tensor
    folders: list[str]
    empty: list[str]
    others: Counter

    def __len__(self) -> int:
        return len(self.rel)


def list_folders(root: Path, folders: Sequence[str], *, recursive: bool = False,
                 inner: str | None = None) -> Listing:
    """List the images of each folder in `folders` (relative to root, '' for root itself).

    recursive: also files in the folders' subfolders (torchvision's ImageFolder takes a class's
    files from anywhere below its folder). inner: a subfolder to list instead when a folder holds
    no images itself (3D-R2N2's <object>/rendering/); the listed folder is then '<folder>/<inner>'.
    """
    chunks, kept, empty, others = [], [], [], Counter()
    for name in folders:
        path = root / name if name else root
        names, other = walk_images(path) if recursive else scan_dir(path)
        if not names and inner is not None and (path / inner).is_dir():
            name = f"{name}/{inner}" if name else inner
            names, other = scan_dir(root / name)
        others += other
        if names:
            chunks.append(paths_array(name, names))
            kept.append(name)
        else:
            empty.append(name)
    counts = torch.tensor([len(c) for c in chunks], dtype=torch.long)
    rel = np.concatenate(chunks) if chunks else np.array([], dtype=np.bytes_)
    return Listing(rel, torch.repeat_interleave(torch.arange(len(kept)), counts), kept, empty, others)

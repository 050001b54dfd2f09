"""Cheap checks of every file of an image folder before training, cached: which files cannot be used, and why.

A check opens each file's header (size, format, pixel count) and decodes only files whose
ending looks truncated, or every file with `verify`. Verdicts are cached under
$XDG_CACHE_HOME/hbaezoo/folder-checks, keyed by the (path, size, mtime) of every file.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from hbaezoo.files import write_cache

CHECK_VERSION = 2  # bump when the checks change, to invalidate cached verdicts
# Larger images are skipped like unreadable ones: one would be decoded in full at every draw
# (hundreds of MB each), and PIL's own bomb check only warns below 179 megapixels.
MAX_PIXELS = 40_000_000
_THREADS = min(32, 4 * (os.cpu_count() or 1))  # checks wait on the disk more than on the CPU


def _check_one(path: str, verify: bool) -> str | None:
    """Why the file cannot be used, or None. Cheap unless `verify` or the file looks truncated."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return "empty file (0 bytes)"
            # A complete JPEG ends with EOI, a PNG with its IEND chunk; only files without
            # that ending are decoded here, to tell trailing padding from truncation.
            f.seek(max(0, size - 12))
            tail = f.read()
            f.seek(0)
            with Image.open(f) as im:
                if im.width * im.height > MAX_PIXELS:
                    return (f"too large ({im.width} x {im.height} = {im.width * im.height / 1e6:.0f} megapixels; "
                            f"the limit is {MAX_PIXELS / 1e6:.0f}): shrink it, it is resized to a few hundred pixels anyway")
                complete = {"JPEG": tail.rstrip(b"\0").endswith(b"\xff\xd9"), "PNG": b"IEND" in tail}
                if verify or not complete.get(im.format, True):
                    im.load()
    except Exception as exc:  # anything PIL or the disk raises makes the file unusable
        return f"unreadable ({type(exc).__name__}: {exc})"
    return None


def _fingerprint(root: Path, rel: np.ndarray, verify: bool) -> str:
    """A hash of every file's path, size and mtime: verdicts are reused while none changes."""

    def stats(chunk: np.ndarray) -> bytes:
        out = []
        for r in chunk:
            try:
                st = os.stat(os.path.join(root, os.fsdecode(r)))
                out.append(b"%s\t%d\t%d\n" % (r, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append(b"%s\t-\n" % r)
        return b"".join(out)

    digest = hashlib.sha1(f"{CHECK_VERSION}|{root.resolve()}|{verify}|{len(rel)}\n".encode("utf-8", "surrogateescape"))
    with ThreadPoolExecutor(_THREADS) as pool:
        for block in pool.map(stats, np.array_split(rel, max(1, len(rel) // 4096))):
            digest.update(block)
    return digest.hexdigest()[:24]


def check_files(name: str, root: Path, rel: np.ndarray, *, verify: bool) -> dict[int, str]:
    """{index: why} of the files in `rel` (relative to root) that cannot be used.

    Verdicts are cached under $XDG_CACHE_HOME/hbaezoo/folder-checks, keyed by a fingerprint
    of (path, size, mtime) of every file, so only the first construction on a folder pays.
    """
    from hbaezoo.data.base import cache_dir

    cache = cache_dir() / "folder-checks" / f"{name}-{_fingerprint(root, rel, verify)}.json"
    if cache.is_file():
        try:
            return {int(i): why for i, why in json.loads(cache.read_text()).items()}
        except (ValueError, OSError):
            pass  # a damaged cache is recomputed

    def check(chunk: np.ndarray) -> list[str | None]:
        return [_check_one(os.path.join(root, os.fsdecode(r)), verify) for r in chunk]

    verdicts: list[str | None] = []
    # Chunks, not one future per file: 3.3M pending futures would take gigabytes.
    label = f"checking {len(rel)} {name} images (first use only)"
    with _progress(label, len(rel)) as advance, ThreadPoolExecutor(_THREADS) as pool:
        for block in pool.map(check, np.array_split(rel, max(1, len(rel) // 512))):
            verdicts.extend(block)
            advance(len(block))
    bad = {i: why for i, why in enumerate(verdicts) if why is not None}
    write_cache(cache, lambda tmp: tmp.write_text(json.dumps(bad)), f"the checks of the {name} images")
    return bad


class _progress:
    """A transient progress bar on stderr for long checks; silent for small folders."""

    def __init__(self, label: str, total: int, threshold: int = 50_000) -> None:
        self.label, self.total, self.bar = label, total, None
        self.show = total >= threshold

    def __enter__(self):
        if self.show:
            from rich.progress import Progress

            from hbaezoo.console import err_console

            self.bar = Progress(console=err_console, transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task(self.label, total=self.total)
        return self.advance

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

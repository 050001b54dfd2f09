"""Atomic file writes: a reader (another process, a resumed run) never sees half a file.

    with atomic_path(cache / "features.npy") as tmp:
        np.save(tmp, feats)            # lands at cache/features.npy only if this succeeds
    write_text_atomic(run_dir / "results.json", json.dumps(results))
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """A fresh temporary path beside `path` (a folder if `directory`); on success it replaces `path`.

    The temporary name keeps `path`'s suffix (np.save and friends append theirs otherwise)
    and carries the process id, so concurrent writers never share one. On an error the
    temporary is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    _remove(tmp)
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        if directory and path.exists():
            shutil.rmtree(path)  # os.replace cannot replace a non-empty folder
        os.replace(tmp, path)
    finally:
        _remove(tmp)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically; returns `path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)

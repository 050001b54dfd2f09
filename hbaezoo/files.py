"""Atomic file writes: a reader (another process, a resumed run) never sees half a file.

    with atomic_path(cache / "features.npy") as tmp:
        np.save(tmp, feats)            # lands at cache/features.npy only if this succeeds
    write_text_atomic(run_dir / "results.json", json.dumps(results))

Checkpoint folders are the one exception, with a protocol of their own in
rundir/checkpoints.py: fsync of every file, checksums, and a folder in the way moved aside
rather than deleted (it may not be ours).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A fresh temporary file path beside `path`; on success it replaces `path`.

    The temporary name keeps `path`'s suffix (np.save and friends append theirs otherwise)
    and carries the process id, so concurrent writers never share one. On an error the
    temporary is removed and `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically; returns `path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


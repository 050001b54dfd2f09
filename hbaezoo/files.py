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
from collections.abc import Callable, Iterator
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



def write_cache(path: str | Path, write: Callable[[Path], None], what: str) -> bool:
    """`write(tmp)` then move it to `path`, as `atomic_path`; True if the cache file was written.

    A cache only saves time: one that cannot be written (read-only disk, full disk, no permission;
    safetensors reports those as SafetensorError) is a warning naming the folder and the reason, and
    the work goes on with what was computed.
    """
    from safetensors import SafetensorError

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            write(tmp)
        return True
    except (OSError, SafetensorError) as exc:
        from rich.markup import escape

        from hbaezoo.console import err_console

        reason = getattr(exc, "strerror", None) or str(exc)
        err_console.print(f"[yellow]warning:[/] {escape(f'{what} could not be cached in {path.parent} ({reason}); it is computed again next time. Set XDG_CACHE_HOME to a writable folder with free space to keep it.')}", highlight=False)
        return False

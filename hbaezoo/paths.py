"""Where hbaezoo may write, checked before any work starts (the run directory's lock is in hbaezoo/rundir/lock.py).

An output path that cannot be written must fail in the first second with its name, not after
an hour of training (at the first checkpoint) or of evaluation (at the PNG or JSON write).
"""

from __future__ import annotations

import os
from pathlib import Path

from hbaezoo.errors import ConfigError


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_writable_dir(path: str | Path, what: str) -> Path:
    """`path` is, or can be created as, a writable folder; ConfigError naming it otherwise. Creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder. Give a folder path (it is created if missing).")
    existing = _first_existing(path.absolute())
    if not existing.is_dir():
        raise ConfigError(f"{what} {path} cannot be created: {existing} is a file, not a folder. Give another path.")
    if not os.access(existing, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if _read_only(existing) else "is not writable by this user"
        raise ConfigError(f"{what} {path} cannot be written: {existing} {why}. Give a folder you can write to.")
    return path


def check_output_file(path: str | Path, what: str) -> Path:
    """`path` can be written as a file (its folder exists or can be created); ConfigError otherwise."""
    path = Path(path)
    if path.is_dir() or str(path).endswith(os.sep):
        raise ConfigError(f"{what} {path} is a folder; give a file path, e.g. {path.joinpath('grid.png')}.")
    check_writable_dir(path.parent, f"the folder of {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{what} {path} exists and is not writable. Give another path.")
    return path


def probe_writable(folder: Path, what: str) -> None:
    """Write and remove a small file: os.access cannot see read-only mounts, quotas or a full disk."""
    probe = folder / f".write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"hbaezoo")
    except OSError as exc:
        raise ConfigError(f"{what} {folder} cannot be written: {exc.strerror or exc}. Give a folder on a "
                          f"writable disk with free space.") from exc
    finally:
        probe.unlink(missing_ok=True)


def check_default_output(path: Path, what: str) -> Path:
    """`what` at `path`, where hbaezoo writes it inside a run directory when --out is not given: checked as
    `check_output_file`, then with a test write (a run received on a read-only disk); the error says --out."""
    try:
        check_output_file(path, what)
        probe_writable(_first_existing(path.parent.absolute()), f"the folder of {what}")
    except ConfigError as exc:
        raise ConfigError(f"{exc} Or pass --out FILE to write {what} elsewhere.") from None
    return path

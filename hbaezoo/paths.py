"""Where hbaezoo may write, checked before any work starts, and the lock on a run directory.

An output path that cannot be written must fail in the first second with its name, not after
an hour of training (at the first checkpoint) or of evaluation (at the PNG or JSON write).
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from pathlib import Path

from hbaezoo.errors import ConfigError, HbaezooError


class RunDirLocked(HbaezooError):
    """Another process is writing the same run directory."""


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_dir(path: str | Path, what: str) -> Path:
    """`path` is, or can be created as, a writable folder; ConfigError naming it otherwise. Creates nothing."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder. Give a folder path (it is created if missing).")
    existing = _first_existing(path.absolute())
    if not existing.is_dir():
        raise ConfigError(f"{what} {path} cannot be created: {existing} is a file, not a folder. Give another path.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} cannot be written: {existing} is not writable by this user. "
                          f"Give a folder you can write to.")
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


class RunDirLock:
    """An exclusive lock on RUN_DIR/.lock, held while a run writes the directory.

    flock, not a pid file: the kernel releases it when the process dies (SIGKILL, power loss),
    so a stale lock never blocks the next run. The file names the holder for the error message.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self.fd: int | None = None

    def acquire(self) -> RunDirLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = self.path.read_text(errors="replace").strip() or "another process"
            raise RunDirLocked(
                f"{self.path.parent} is in use by {holder}. Two runs must not write one run directory: wait "
                f"for that one to finish (or stop it; running the same command again resumes), or use another "
                f"--run-dir."
            ) from None
        os.ftruncate(fd, 0)
        command = " ".join(["hbaezoo", *sys.argv[1:]])[:300]
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')} "
                     f"({command})\n".encode("utf-8", "replace"))
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None

    def __enter__(self) -> RunDirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def read_run_file(path: Path, limit: int = 64 << 20) -> bytes:
    """The bytes of a file in a run directory that may come from someone else: a regular file (not
    a link to /dev/zero or outside the run), at most `limit` bytes; CheckpointError otherwise."""
    import stat

    from hbaezoo.errors import CheckpointError

    try:
        st = os.lstat(path)
    except OSError as exc:
        raise CheckpointError(f"{path} cannot be read: {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path} is not a regular file (a link, a folder or a device); hbaezoo writes plain "
                              f"files only, so this run directory was changed by hand. Replace it with the file "
                              f"`hbaezoo run` wrote.")
    if st.st_size > limit:
        raise CheckpointError(f"{path} is {st.st_size} bytes, more than the {limit} hbaezoo ever writes there.")
    with open(path, "rb") as f:
        return f.read(limit + 1)

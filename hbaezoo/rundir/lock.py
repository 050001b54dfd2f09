"""The lock on a run directory, and reading a file of one that may come from someone else."""

from __future__ import annotations

import errno
import os
import socket
import stat
import sys
import time
from pathlib import Path

from hbaezoo.errors import CheckpointError, HbaezooError


class RunDirLocked(HbaezooError):
    """Another process is writing the same run directory."""


class RunDirLock:
    """An exclusive lock on a run directory's lock file (RUN_DIR/.lock), held while a run writes the directory.

    flock, not a pid file: the kernel releases it when the process dies (SIGKILL, power loss),
    so a stale lock never blocks the next run. The file names the holder for the error message.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> RunDirLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # a link is refused by RunDir.inside; this closes the race
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


#: The largest file hbaezoo reads from a run directory (config.gin, data.json, metrics.jsonl, ...).
MAX_RUN_FILE = 64 << 20


def read_run_file(path: Path, limit: int = MAX_RUN_FILE) -> bytes:
    """The bytes of a file in a run directory that may come from someone else: a regular file (not
    a link to /dev/zero or outside the run), at most `limit` bytes; CheckpointError otherwise."""
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

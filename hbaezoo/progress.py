"""Progress that reaches a log file: live rich bars on a terminal, plain lines otherwise.

rich redraws its bars only on a terminal; a run whose output goes to a file (nohup, a batch
scheduler) would show nothing until it ends. So unless both stdout and stderr are terminals,
progress is printed as plain lines on stdout, each flushed at once (a file is block-buffered).
"""

from __future__ import annotations

import sys
import time

from hbaezoo.console import console, err_console


def live() -> bool:
    """True when progress can be a redrawn bar: stdout and stderr are terminals (or a notebook)."""
    return all(c.is_terminal or c.is_jupyter for c in (console, err_console))


def say(line: str) -> None:
    """Print one plain progress line on stdout, now."""
    print(line, file=sys.stdout, flush=True)


def clock(seconds: float) -> str:
    """Seconds as H:MM:SS."""
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def eta(done: float, total: float, elapsed: float) -> str:
    """Time left at the rate so far, as H:MM:SS ('?' before anything is done)."""
    return clock((total - done) * elapsed / done) if done > 0 else "?"


class PlainProgress:
    """The part of rich's `Progress` that hbaezoo uses, printed as plain lines.

    A task prints a line when it completes, and in between at most once per `every` seconds:
    `test images (inception_fidhelper) 640/1000 (64%) 118/s elapsed 0:00:05 ETA 0:00:03`.
    """

    def __init__(self, prefix: str = "", *, every: float = 30.0) -> None:
        self.prefix, self.every = prefix, every
        self.tasks: list[dict] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **_) -> int:
        now = time.perf_counter()
        self.tasks.append({"description": description, "total": total, "completed": completed,
                           "start": now, "start_completed": completed, "printed": now})
        return len(self.tasks) - 1

    def advance(self, task: int, advance: float = 1) -> None:
        self.update(task, completed=self.tasks[task]["completed"] + advance)

    def update(self, task: int, *, completed: float | None = None, total: float | None = None, **_) -> None:
        t = self.tasks[task]
        if total is not None:
            t["total"] = total
        if completed is not None:
            t["completed"] = completed
        now = time.perf_counter()
        finished = t["total"] is not None and t["completed"] >= t["total"]
        if finished or now - t["printed"] >= self.every:
            t["printed"] = now
            say(self.line(t, now))

    def line(self, t: dict, now: float) -> str:
        elapsed, done, total = now - t["start"], t["completed"] - t["start_completed"], t["total"]
        parts = [f"{self.prefix}{t['description']}", f"{t['completed']:.0f}/{total:.0f}" if total else f"{t['completed']:.0f}"]
        if total:
            parts.append(f"({100 * t['completed'] / total:.0f}%)")
        parts += [f"{done / max(elapsed, 1e-9):.0f}/s", f"elapsed {clock(elapsed)}"]
        if total:
            parts.append(f"ETA {eta(done, total - t['start_completed'], elapsed)}")
        return "  ".join(parts)

"""Progress (a bar on a terminal, plain lines in a log file), metrics.jsonl and (if installed) TensorBoard."""

from __future__ import annotations

import json
import time
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hbaezoo import progress
from hbaezoo.console import err_console
from hbaezoo.rundir.layout import RunDir


class MetricsLog:
    """Appends one JSON line per logged step to the run's metrics.jsonl; mirrors to TensorBoard.

    TensorBoard is optional (`pip install tensorboard`): without it, or with
    `Trainer.tensorboard = False`, only metrics.jsonl is written.
    """

    def __init__(self, run_dir: RunDir, *, enabled: bool = True, tensorboard: bool = True) -> None:
        self.enabled = enabled
        if enabled:
            run_dir.path.mkdir(parents=True, exist_ok=True)  # a Trainer used from Python may get a new folder
        self.file = run_dir.open_metrics() if enabled else None
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # TensorBoard is optional
                pass
            else:
                self.writer = SummaryWriter(str(run_dir.tensorboard))

    def write(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        self.file.write(json.dumps({"step": step, "time": time.time(), **values}) + "\n")
        self.file.flush()
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.writer is not None:
            self.writer.close()


def _short(logs: dict[str, float]) -> str:
    keys = [k for k in logs if k.endswith("/loss")]
    return "  ".join(f"{k.split('/')[0]} {logs[k]:.3f}" for k in keys)


class TrainProgress:
    """Training progress: step, images/s, ETA and the current losses.

    A rich bar on a terminal; otherwise (output to a file) one plain line per logged step:
    `train step 20/40  critic 0.123  generator -0.456  812 img/s  elapsed 0:00:03  ETA 0:00:03`.
    """

    def __init__(self, total: int, start: int, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.plain = enabled and not progress.live()
        self.total, self.start, self.started = total, start, time.perf_counter()
        self.progress = Progress(
            TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"), console=err_console, disable=not enabled or self.plain,
        )
        self.task = self.progress.add_task("train", total=total, completed=start, speed="", losses="")

    def __enter__(self) -> TrainProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def update(self, step: int, logs: dict[str, float] | None) -> None:
        if self.plain:
            if logs is not None:
                progress.say(self.line(step, logs))
            return
        if logs is None:
            self.progress.update(self.task, completed=step)
            return
        self.progress.update(
            self.task, completed=step, speed=f"{logs.get('images_per_sec', 0):.0f} img/s", losses=_short(logs)
        )

    def line(self, step: int, logs: dict[str, float]) -> str:
        elapsed = time.perf_counter() - self.started
        return (f"train step {step}/{self.total}  {_short(logs)}  {logs.get('images_per_sec', 0):.0f} img/s  "
                f"elapsed {progress.clock(elapsed)}  ETA {progress.eta(step - self.start, self.total - self.start, elapsed)}")

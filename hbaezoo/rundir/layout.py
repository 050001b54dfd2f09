"""The run directory's layout and records: every file name of a run directory is spelled here, once.

    RUN_DIR/config.gin          the recipe and bindings as given (includes inlined)
            operative.gin       every value used, headed by hbaezoo/torch/plugin versions
            data.json           image shape, classes, set size, plugins, the split made
            metrics.jsonl       one JSON line per logged step
            skipped_files.txt   unusable files a folder dataset skipped
            checkpoints/step_XXXXXXXX/   (rundir/checkpoints.py, rundir/restore.py)
            samples/<mode>_stepXXXXXXX.png
            tensorboard/        when TensorBoard is installed and Trainer.tensorboard is on
            eval/results.json   `hbaezoo eval`
            report.html         `hbaezoo report`
            .lock               held while a run writes the directory

A run directory may come from someone else: what is read from it goes through `read_run_file`
(a regular file, bounded size) and is checked field by field before use, and every path below
the run directory is handed out by `inside`, which refuses a symbolic link on the way: hbaezoo
never makes one, and writing or reading through one could reach anywhere.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

from hbaezoo.errors import CheckpointError, ConfigError, RunDirError
from hbaezoo.files import write_text_atomic
from hbaezoo.paths import check_writable_dir, probe_writable
from hbaezoo.rundir import checkpoints, restore
from hbaezoo.rundir.lock import RunDirLock, read_run_file

CONFIG = "config.gin"
OPERATIVE = "operative.gin"
DATA = "data.json"
METRICS = "metrics.jsonl"
SKIPPED = "skipped_files.txt"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
TENSORBOARD = "tensorboard"
EVAL = "eval"
RESULTS = "results.json"
REPORT = "report.html"
LOCK = ".lock"

SAMPLE_GRID = re.compile(r"(.+)_step(\d+)\.png")


def _runs_inside(folder: Path, look_at: int = 200) -> list[str]:
    """Names of run directories (with a config.gin) among the first `look_at` entries of `folder`, for
    `runs/` given in place of `runs/NAME`; a few, sorted, and none where the folder cannot be listed."""
    try:
        with os.scandir(folder) as entries:
            found = [e.name for e in itertools.islice(entries, look_at)
                     if e.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(e.path, CONFIG))]
    except OSError:
        return []
    return sorted(found)[:5]


class RunDir:
    """A run directory at `path`: its files by name, its records read and written, its checkpoints."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.inside(name)

    def inside(self, *names: str) -> Path:
        """RUN_DIR/names..., RunDirError if the path or a folder on the way (below the run dir) is a link."""
        path = self.path
        for name in names:
            path = path / name
            if path.is_symlink():
                try:
                    target = f" to {os.readlink(path)}"
                except OSError:
                    target = ""
                raise RunDirError(
                    f"{path} is a symbolic link{target}, not a regular file or folder. hbaezoo never makes links in "
                    f"a run directory and neither writes nor reads through one (it may point outside the run). "
                    f"Replace it with the file or folder itself, or use another --run-dir.")
        return path

    # -- where things are ------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def operative(self) -> Path:
        return self.inside(OPERATIVE)

    @property
    def data(self) -> Path:
        return self.path / DATA

    @property
    def metrics(self) -> Path:
        return self.inside(METRICS)

    @property
    def checkpoints(self) -> Path:
        return self.inside(CHECKPOINTS)

    @property
    def samples(self) -> Path:
        return self.inside(SAMPLES)

    @property
    def tensorboard(self) -> Path:
        return self.inside(TENSORBOARD)

    @property
    def results(self) -> Path:
        """eval/results.json, where `hbaezoo eval` writes by default."""
        return self.inside(EVAL, RESULTS)

    def eval_file(self, name: str) -> Path:
        """A file beside the evaluation results (eval/NAME), e.g. an experiment's own record."""
        return self.inside(EVAL, name)

    @property
    def report(self) -> Path:
        return self.inside(REPORT)

    def sample_grid(self, mode: str, step: int) -> Path:
        """samples/<mode>_step<step>.png, a preview grid written during training."""
        return self.inside(SAMPLES, f"{mode}_step{step:07d}.png")

    # -- writing ---------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Before any work: the run dir and every folder a run writes can be written, and nothing a run
        opens there is a link. Nothing is created yet."""
        check_writable_dir(self.path, "--run-dir")
        for name in (CONFIG, OPERATIVE, DATA, METRICS, SKIPPED, TENSORBOARD, LOCK):
            self.inside(name)
        for sub in (CHECKPOINTS, SAMPLES):
            folder = self.inside(sub)
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"{folder} is a file, but hbaezoo keeps its {sub} there. Move the file "
                                  f"away, or use another --run-dir.")
            if folder.is_dir():
                # A read-only checkpoints/ must stop the run now, not at its first checkpoint.
                probe_writable(folder, f"the run's {sub}/ folder")

    def lock(self) -> RunDirLock:
        """The run dir created (if missing), checked writable, and its lock (acquire it with `with`)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--run-dir {self.path} cannot be created: {exc.strerror or exc}. "
                              f"Give a writable folder.") from exc
        probe_writable(self.path, "--run-dir")
        return RunDirLock(self.inside(LOCK))

    def check_same_config(self, text: str) -> None:
        """A run dir resumes only with the config it was made with: the same values bound (comments, layout
        and where shared bindings come from, such as a recipe that now `include`s them, do not matter)."""
        from hbaezoo import config as gin_config

        given = self.config
        # Read as every run-directory file is: a link (to /dev/zero, or outside) or an oversized file is refused.
        if (given.exists() or given.is_symlink()) and not gin_config.same_bindings(self.read_text(given), text):
            raise ConfigError(
                f"{self.path} holds a run made with a different config (compare {given} with your recipe "
                f"and bindings). Use another --run-dir, or the same recipe and bindings to resume."
            )

    def write_config(self, text: str) -> None:
        write_text_atomic(self.inside(CONFIG), text)

    def write_operative(self, text: str) -> None:
        write_text_atomic(self.inside(OPERATIVE), text)

    def write_data(self, data: dict) -> None:
        write_text_atomic(self.inside(DATA), json.dumps(data, indent=2))

    def write_skipped(self, skipped: list[tuple[str, str]]) -> Path:
        """skipped_files.txt: one `path<TAB>why` line per file a folder dataset could not use."""
        write_text_atomic(self.inside(SKIPPED), "".join(f"{p}\t{why}\n" for p, why in skipped).encode(
            "utf-8", "backslashreplace").decode("utf-8"))
        return self.path / SKIPPED

    def open_metrics(self) -> IO[str]:
        """metrics.jsonl opened for appending (one JSON line per logged step)."""
        fd = os.open(self.metrics, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        return os.fdopen(fd, "a")

    def cut_metrics(self, step: int) -> int:
        """Drop the rows of metrics.jsonl logged after `step` (the checkpoint a run resumes from): a run
        killed after its last checkpoint logged steps it will log again. Returns how many were dropped."""
        path = self.metrics
        if not path.is_file():
            return 0
        kept, dropped = [], 0
        for line in self.read_text(path).splitlines(keepends=True):
            try:
                row = json.loads(line)
                late = isinstance(row, dict) and isinstance(row.get("step"), (int, float)) and row["step"] > step
            except (ValueError, RecursionError):
                late = False  # a damaged line (an interrupted write) is left for readers to skip
            if late:
                dropped += 1
            else:
                kept.append(line if line.endswith("\n") else line + "\n")
        if dropped:
            write_text_atomic(path, "".join(kept))
        return dropped

    def save_checkpoint(self, step: int, model_state: dict, state: dict, *, keep: int,
                        warn: Callable[[str], None] | None = None) -> Path:
        """checkpoints/step_<step>/ written atomically; older verified ones beyond `keep` pruned."""
        return checkpoints.save(self.checkpoints, step, model_state, state, keep=keep, warn=warn)

    # -- reading ---------------------------------------------------------------------------------
    def require(self) -> None:
        """CheckpointError unless the folder holds config.gin and data.json (what loading a run needs),
        naming what is missing and what to give instead."""
        give = ("Give the folder `hbaezoo run` trained into: its --run-dir, or runs/<recipe name> when none was "
                "given (e.g. runs/hbae_shapes).")
        if not self.path.exists():
            raise CheckpointError(f"{self.path} does not exist. {give}")
        if not self.path.is_dir():
            what = "a file" if self.path.is_file() else "not a folder"
            raise CheckpointError(f"{self.path} is {what}, so not a run directory. {give}")
        # A link is not missing: read_run_file says why it is refused.
        missing = [f.name for f in (self.config, self.data) if not f.is_file() and not f.is_symlink()]
        if missing == [CONFIG, DATA]:
            runs = _runs_inside(self.path)
            inside = (f" Run directories inside it: {', '.join(runs)}. Give one of those, e.g. {self.path / runs[0]}."
                      if runs else f" {give}")
            raise CheckpointError(f"{self.path} is not a run directory: it holds neither {CONFIG} nor {DATA}, which "
                                  f"`hbaezoo run` writes into every run directory before training.{inside}")
        if missing == [DATA]:
            raise CheckpointError(
                f"{self.path} holds {CONFIG} but no {DATA} (the image shape, classes and set size the model is built "
                f"for), so its model cannot be rebuilt. `hbaezoo run` writes {DATA} just before the first step: the "
                f"run was stopped before then, or the folder was copied without it. Run the same `hbaezoo run` command "
                f"again (it writes {DATA}, then resumes), or copy {DATA} from where the run was trained.")
        if missing:
            # Most often a Trainer used from Python on a model no recipe built (training/records.py).
            trainer = (f" A Trainer used from Python writes none when no recipe built its model: train with "
                       f"hbaezoo.train(recipe, ...), or build the model with hbaezoo.build(recipe, bindings) before "
                       f"making the Trainer (docs/api.md)." if self.data.is_file() and not self.config.exists() else "")
            raise CheckpointError(f"{self.path} holds no {CONFIG} file (the recipe its model is built from), so its "
                                  f"model cannot be rebuilt.{trainer} If {CONFIG} was removed, put back the one the "
                                  f"run was trained with.")

    def read_text(self, path: Path) -> str:
        """A text file of this run directory (a regular file, bounded size), undecodable bytes replaced."""
        return read_run_file(path).decode("utf-8", "replace")

    def read_config(self, *, trust: bool = False) -> bytes:
        """config.gin's bytes; a link or device refused unless `trust` (--trust-config)."""
        if trust:
            try:
                return self.config.read_bytes()
            except OSError as exc:
                raise CheckpointError(f"{self.config} cannot be read: {exc.strerror or exc}.") from exc
        return read_run_file(self.config)

    def read_data(self) -> dict:
        """data.json, checked for what loading needs (image shape, classes); CheckpointError naming the field."""
        path = self.data
        try:
            data = json.loads(read_run_file(path).decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise CheckpointError(f"{path} cannot be read ({type(exc).__name__}: {exc}). It is written by `hbaezoo "
                                  f"run`; run the recipe again with --run-dir {self.path} to rewrite it.") from exc
        if not isinstance(data, dict):
            raise CheckpointError(f"{path} must hold an object, got {type(data).__name__}.")
        shape = data.get("image_shape")
        if (not isinstance(shape, list) or len(shape) != 3
                or not all(type(v) is int and 1 <= v <= 1 << 14 for v in shape)):
            raise CheckpointError(f"{path}: field 'image_shape' must be [channels, height, width] (whole numbers "
                                  f"from 1 to 16384), got {shape!r}.")
        classes = data.get("num_classes")
        if type(classes) is not int or not 0 <= classes <= 1 << 20:
            raise CheckpointError(f"{path}: field 'num_classes' must be a whole number >= 0, got {classes!r}.")
        set_size = data.get("set_size")
        if set_size is not None and (type(set_size) is not int or not 1 <= set_size <= 4096):
            raise CheckpointError(f"{path}: field 'set_size' must be empty or a whole number in [1, 4096], "
                                  f"got {set_size!r}.")
        plugins = data.get("plugins", [])
        if not isinstance(plugins, list) or not all(isinstance(m, str) for m in plugins):
            raise CheckpointError(f"{path}: field 'plugins' must be a list of module names, got {plugins!r}.")
        return data

    def read_metrics(self) -> list[dict]:
        """Rows of metrics.jsonl with a numeric step; damaged lines (an interrupted write) are skipped."""
        rows = []
        if self.metrics.is_file():
            for line in self.read_text(self.metrics).splitlines():
                try:
                    row = json.loads(line)
                except (json.JSONDecodeError, RecursionError):
                    continue
                step = row.get("step") if isinstance(row, dict) else None
                if isinstance(step, (int, float)) and not isinstance(step, bool) and math.isfinite(step):
                    rows.append(row)
        return rows

    def latest_samples(self) -> dict[str, Path]:
        """mode -> newest samples/<mode>_step<N>.png (plain files only: a link may point anywhere)."""
        newest: dict[str, tuple[int, Path]] = {}
        for path in self.samples.glob("*.png") if self.samples.is_dir() else []:
            if not path.is_file() or path.is_symlink():
                continue
            m = SAMPLE_GRID.fullmatch(path.name)
            if m and (m.group(1) not in newest or int(m.group(2)) > newest[m.group(1)][0]):
                newest[m.group(1)] = (int(m.group(2)), path)
        return {mode: newest[mode][1] for mode in sorted(newest)}

    def read_bytes(self, path: Path) -> bytes:
        """A file of this run directory (a regular file, bounded size)."""
        return read_run_file(path)

    def checkpoint_steps(self) -> list[int]:
        """Steps of the folders named like checkpoints, oldest first (complete or not)."""
        return [int(checkpoints.STEP_DIR.match(p.name).group(1)) for p in checkpoints.checkpoints(self.checkpoints)]

    def newest_checkpoint(self, *, warn: Callable[[str], None], required: bool) -> restore.Checkpoint | None:
        """The newest checkpoint that loads (see rundir.restore.newest); resume and load share it."""
        return restore.newest(self.checkpoints, warn=warn, required=required)

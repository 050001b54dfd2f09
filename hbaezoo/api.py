"""The Python API: `hbaezoo.load`, `hbaezoo.train`, `hbaezoo.build` (docs/api.md).

    run = hbaezoo.train("gin/hbae_shapes.gin", ["Trainer.steps = 200"], run_dir="runs/mine")
    run = hbaezoo.load("runs/mine")
    images = run.sample(8)                          # [8, C, H, W] in [-1, 1]

This is the command layer, beside the CLI (which calls `fit` for `hbaezoo run`): it imports
the run directory, the trainer and the assembly below it, and nothing below imports it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from hbaezoo import assembly
from hbaezoo import config as gin_config
from hbaezoo import recipe_text
from hbaezoo.assembly import build
from hbaezoo.errors import ConfigError
from hbaezoo.inference import Run
from hbaezoo.rundir import loading
from hbaezoo.rundir.layout import RunDir
from hbaezoo.rundir.lock import MAX_RUN_FILE
from hbaezoo.training import distributed
from hbaezoo.training.records import data_record, record_operative
from hbaezoo.training.trainer import Trainer

__all__ = ["Run", "build", "fit", "load", "train"]


def load(run_dir: str | Path, *, device: str = "auto", use_ema: bool = True, plugins: list[str] | tuple = (),
         trust_config: bool = False) -> Run:
    """A finished (or interrupted) run: its model with the newest good checkpoint, as a `Run`.

    The plugins the run recorded are loaded first: installed hbaezoo plugins always, other
    modules only with `trust_config` (or named in `plugins`); the run's config.gin may import
    only those. `use_ema`: the EMA weights of the model's averaged parts, where the run kept them.
    """
    return Run(loading.load(run_dir, device=device, use_ema=use_ema, plugins=plugins, trust_config=trust_config))


def train(recipe: str | Path | list, bindings: list[str] | tuple = (), run_dir: str | Path | None = None, *,
          steps: int | None = None, checkpoint_every: int | None = None, plugins: list[str] | tuple = (),
          device: str = "auto") -> Run:
    """Train a gin recipe (file or list of files) with extra bindings into `run_dir`, and return the run.

    As `hbaezoo run`: the run dir (default runs/<recipe name>) is created; a run dir with
    checkpoints resumes from the newest (the same recipe and bindings are required); `steps`
    and `checkpoint_every` override the recipe. The result is `hbaezoo.load(run_dir)` (EMA weights
    where kept, on `device`), with `.logs` the last training logs.
    """
    run_dir, logs = fit(recipe, bindings, run_dir=run_dir, plugins=plugins,
                        overrides={"steps": steps, "checkpoint_every": checkpoint_every})
    # The config is the one just trained, so imports in it are trusted.
    return Run(loading.load(run_dir, device=device, plugins=plugins, trust_config=True), logs=logs)


def fit(recipe: str | Path | list, bindings: list[str] | tuple = (), *, run_dir: str | Path | None = None,
        overrides: dict | None = None, plugins: list[str] | tuple = ()) -> tuple[Path, dict[str, float]]:
    """`hbaezoo run`: parse, build, train (resuming if the run dir has checkpoints); (run dir, last logs)."""
    if isinstance(bindings, str):
        raise ConfigError(f"bindings must be a list of strings, got the string {bindings!r}; write [{bindings!r}].")
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    files, texts = assembly.parse(recipe, [*bindings, *(f"Trainer.{k} = {v!r}" for k, v in overrides.items())],
                                  plugins=plugins)
    rd = RunDir(run_dir if run_dir else Path("runs") / files[0].stem)
    rd.check_writable()
    text = recipe_text.config_text(files, list(bindings), texts)  # what was parsed, not a second read
    if len(text.encode()) > MAX_RUN_FILE:  # sample, eval and load would refuse the run's config.gin
        raise ConfigError(f"the recipe with its includes and bindings is {len(text.encode()) / 2**20:.0f} MiB; a run "
                          f"records it in config.gin, which hbaezoo reads back up to {MAX_RUN_FILE >> 20} MiB. Keep "
                          f"data (long lists of values) in files a part reads, not in the recipe.")
    dist = distributed.init(assembly.trainer_binding("device", "auto"))  # CPU ranks need gloo even where CUDA is
    rd.check_same_config(text)
    dataset = assembly.build_dataset("train")
    model = assembly.build_model(dataset.describe())
    with assembly.building("trainer"):
        trainer = Trainer(model, dataset, rd.path)
    # Written only now, with every value built and checked: a typo must not pin the run dir to a bad config.
    with rd.lock() if dist.is_main else contextlib.nullcontext():
        if dist.is_main:
            rd.check_same_config(text)  # again, under the lock
            rd.write_config(text)
        dist.barrier()
        if trainer.dist.is_main:
            _warn_unused(gin_config.unused_bindings())
            skipped = rd.write_skipped(dataset.skipped) if dataset.skipped else None
            _report_data(dataset, trainer.plan.stats, skipped)
            rd.write_data(data_record(trainer))
            record_operative(rd)
        logs = trainer.fit()
        if trainer.dist.is_main:
            record_operative(rd)
    return rd.path, logs


def _warn_unused(names: list[str]) -> None:
    """Say which bindings the built run never read: they change nothing, often by mistake."""
    if names:
        _warn(f"{len(names)} binding(s) were never used by the built run: {', '.join(names)}. The model may not "
              f"have that part (e.g. a width for an encoder a GAN lacks); remove them from the recipe or fix the name.")


def _report_data(dataset, stats: dict, skipped: Path | None) -> None:
    """One line on what the data holds, small groups and skipped files included."""
    from rich.markup import escape

    from hbaezoo.console import err_console

    line = f"data: {len(dataset)} images"
    if stats:
        line += (f" in {stats['groups']} groups; {stats['groups_smaller_than_set_size']} smaller than the set size "
                 f"({stats['small_groups_policy']}: {'drawn with replacement' if stats['small_groups_policy'] == 'replace' else 'never drawn'})")
    split = dataset.describe().get("split")
    if isinstance(split, dict):  # the dataset says how it held out its test split (datasets.image_folder)
        line += f"; test split: {split['test_images']} images, {split['rule']}"
        line += f"; {split['train_only']}" if "train_only" in split else ""
    elif split:
        line += f"; test split: {split}"
    if skipped is not None:
        line += f"; {len(dataset.skipped)} unusable files skipped: unreadable or too large (listed in {skipped})"
    err_console.print(escape(line), highlight=False)


def _warn(message: str) -> None:
    from rich.markup import escape

    from hbaezoo.console import err_console

    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

"""Assemble a run from a gin recipe, and load a finished run back for sampling or evaluation.

A recipe names the model and dataset (`run.model = @models.hbae`, `run.dataset =
@datasets.shapes`); the model is built with the data's image shape and class count,
and the trainer with the model. The run directory keeps everything needed later:
config.gin, operative.gin, data.json (so sampling needs no dataset), checkpoints.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import gin
import torch

import hbaezoo
from hbaezoo import config as gin_config
from hbaezoo.errors import CheckpointError, ConfigError, HbaezooError
from hbaezoo.files import write_text_atomic
from hbaezoo.limits import check_model_size
from hbaezoo.models.base import Model
from hbaezoo.paths import RunDirLock, check_writable_dir, probe_writable, read_run_file
from hbaezoo.plugins import REPORT, load_plugins
from hbaezoo.train import checkpoint, distributed
from hbaezoo.train.trainer import Trainer, resolve_device


@gin.configurable("run", module="hbaezoo")
def recipe(*, model=gin.REQUIRED, dataset=gin.REQUIRED) -> tuple[Any, Any]:
    """The model and dataset factories a recipe names (`run.model`, `run.dataset`)."""
    return model, dataset


def versions() -> dict[str, str]:
    out = {"hbaezoo": hbaezoo.__version__, "torch": torch.__version__}
    out.update({f"plugin {name}": version for name, version in REPORT.loaded.items()})
    return out


def _building(what: str):
    """Turn bad values met while building parts (wrong type, out of range) into ConfigErrors."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except HbaezooError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"while building the {what}: {exc}".replace("\n", "\n  ")) from exc
        except RuntimeError as exc:
            if "Required bindings" not in str(exc):  # gin's word for a parameter nobody bound
                raise
            raise ConfigError(
                f"while building the {what}: {exc}".replace("\n", "\n  ")
                + "\nA recipe binds at least run.model and run.dataset; start from one in gin/, e.g. gin/hbae_shapes.gin."
            ) from exc

    return guard()


def _trainer_binding(name: str, default: Any) -> Any:
    """A Trainer argument as the parsed config binds it, before the Trainer exists."""
    try:
        return gin.query_parameter(f"Trainer.{name}")
    except ValueError:  # not bound: the Trainer's default
        return default


def build_model(model_factory, data: dict) -> Model:
    def build():
        return model_factory(image_shape=tuple(data["image_shape"]), num_classes=data["num_classes"])

    with _building("model"):
        check_model_size(build)
        # Initial weights depend on the seed alone, never on what ran before in the process.
        torch.manual_seed(int(_trainer_binding("seed", 0)))
        return build()


def train(
    config_files: list[str],
    bindings: list[str] = (),
    *,
    run_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    plugins: list[str] = (),
) -> dict[str, float]:
    """`hbaezoo run`: parse, build, train (resuming if the run dir has checkpoints)."""
    load_plugins(plugins)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    texts = gin_config.parse(config_files, [*bindings, *(f"Trainer.{k} = {v!r}" for k, v in overrides.items())])
    run_dir = Path(run_dir) if run_dir else Path("runs") / Path(config_files[0]).stem
    check_run_dir(run_dir)
    text = gin_config.config_text(config_files, list(bindings), texts)  # what was parsed, not a second read
    dist = distributed.init(_trainer_binding("device", "auto"))  # CPU ranks need gloo even where CUDA is
    check_same_config(run_dir, text)
    with _building("recipe"):
        model_factory, dataset_factory = recipe()
        dataset = dataset_factory(split="train")
    data = dataset.describe()
    model = build_model(model_factory, data)
    with _building("trainer"):
        trainer = Trainer(model, dataset, run_dir)
    # Written only now, with every value built and checked: a typo must not pin the run dir to a bad config.
    with _locked(run_dir) if dist.is_main else contextlib.nullcontext():
        if dist.is_main:
            check_same_config(run_dir, text)  # again, under the lock
            write_text_atomic(run_dir / "config.gin", text)
        dist.barrier()
        data["set_size"] = trainer.set_size
        data["batch_plan"] = trainer.plan.stats
        data["plugins"] = plugin_modules()
        if trainer.dist.is_main:
            _warn_unused(gin_config.unused_bindings())
            _report_data(dataset, trainer.plan.stats, run_dir)
            write_text_atomic(run_dir / "data.json", json.dumps(data, indent=2))
            if dataset.skipped:
                (run_dir / "skipped_files.txt").write_text("".join(f"{p}\t{why}\n" for p, why in dataset.skipped),
                                                          errors="backslashreplace")
            write_text_atomic(run_dir / "operative.gin", gin_config.operative_text(versions()))
        logs = trainer.fit()
        if trainer.dist.is_main:
            write_text_atomic(run_dir / "operative.gin", gin_config.operative_text(versions()))
    return logs


def _warn_unused(names: list[str]) -> None:
    """Say which bindings the built run never read: they change nothing, often by mistake."""
    if names:
        _warn(f"{len(names)} binding(s) were never used by the built run: {', '.join(names)}. The model may not "
              f"have that part (e.g. a width for an encoder a GAN lacks); remove them from the recipe or fix the name.")


def _locked(run_dir: Path) -> RunDirLock:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--run-dir {run_dir} cannot be created: {exc.strerror or exc}. Give a writable folder.") from exc
    probe_writable(run_dir, "--run-dir")
    return RunDirLock(run_dir)


def plugin_modules() -> list[str]:
    """The modules of the plugins loaded now (entry points and --plugin modules), as a run records them."""
    from importlib.metadata import entry_points

    from hbaezoo.plugins import GROUP

    modules = {ep.name: ep.module for ep in entry_points(group=GROUP)}
    return sorted({modules.get(name, name) for name in REPORT.loaded})


def check_run_dir(run_dir: Path) -> None:
    """The run dir and its checkpoints/ and samples/ folders can be written; nothing is created yet."""
    check_writable_dir(run_dir, "--run-dir")
    for sub in ("checkpoints", "samples"):
        if (run_dir / sub).exists() and not (run_dir / sub).is_dir():
            raise ConfigError(f"{run_dir / sub} is a file, but hbaezoo keeps its {sub} there. Move the file away, "
                              f"or use another --run-dir.")


def check_same_config(run_dir: Path, text: str) -> None:
    """A run dir resumes only with the config it was made with: the same values bound (comments, layout
    and where shared bindings come from, such as a recipe that now `include`s them, do not matter)."""
    given = run_dir / "config.gin"
    if given.is_file() and not gin_config.same_bindings(given.read_text(errors="replace"), text):
        raise ConfigError(
            f"{run_dir} holds a run made with a different config (compare {given} with your recipe "
            f"and bindings). Use another --run-dir, or the same recipe and bindings to resume."
        )


def _report_data(dataset, stats: dict, run_dir: Path) -> None:
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
    if dataset.skipped:
        line += f"; {len(dataset.skipped)} unusable files skipped: unreadable or too large (listed in {run_dir / 'skipped_files.txt'})"
    err_console.print(escape(line), highlight=False)


def trusted_modules(recorded: list[str], plugins: list[str] = ()) -> set[str]:
    """Modules a loaded config may import: installed hbaezoo plugins the run recorded, and those named by --plugin."""
    from importlib.metadata import entry_points

    from hbaezoo.plugins import GROUP

    installed = {ep.module for ep in entry_points(group=GROUP)}
    recorded = {m for m in recorded if isinstance(m, str)} if isinstance(recorded, list) else set()
    return (installed & recorded) | set(plugins)


def read_data_json(run_dir: Path) -> dict:
    """data.json, checked for what loading needs (image shape, classes); CheckpointError naming the field."""
    path = run_dir / "data.json"
    try:
        data = json.loads(read_run_file(path).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path} cannot be read ({type(exc).__name__}: {exc}). It is written by `hbaezoo run`; "
                              f"run the recipe again with --run-dir {run_dir} to rewrite it.") from exc
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
        raise CheckpointError(f"{path}: field 'set_size' must be empty or a whole number in [1, 4096], got {set_size!r}.")
    return data


def load_run(run_dir: str | Path, *, device: str = "auto", use_ema: bool = True, plugins: list[str] = (),
             trust_config: bool = False):
    """A trained model (newest good checkpoint, EMA weights of its averaged parts if any), its data facts and dataset factory.

    Runs no code from the run directory (see docs/reliability.md, "Trust model") unless `trust_config`.
    """
    run_dir = Path(run_dir)
    for needed in ("config.gin", "data.json"):
        if not (run_dir / needed).is_file() and not (run_dir / needed).is_symlink():  # a link: read_run_file says why
            raise CheckpointError(
                f"{run_dir} is not a run directory (no {needed}). Give the folder `hbaezoo run` wrote, "
                f"e.g. runs/hbae_shapes."
            )
    load_plugins(plugins)
    data = read_data_json(run_dir)
    gin_config.parse_loaded(run_dir / "config.gin", trust=trust_config,
                            trusted_modules=trusted_modules(data.get("plugins", []), plugins))
    with _building("model from the run's config.gin"):
        model_factory, dataset_factory = recipe()
    model = build_model(model_factory, data)
    skipped: list[str] = []
    found = checkpoint.load_latest(run_dir / "checkpoints", warn=lambda m: (skipped.append(m), _warn(m)))
    if found is None:
        why = f" Skipped: {' | '.join(skipped)}" if skipped else ""
        raise CheckpointError(f"{run_dir}/checkpoints holds no usable checkpoint.{why} "
                              f"Train (or resume) first with `hbaezoo run`.")
    step, model_state, state = found
    where = run_dir / "checkpoints" / f"step_{step:08d}"
    checkpoint.check_compatible(model, model_state, where)
    model.load_state_dict(model_state)
    if use_ema and state.get("ema") is not None and model.averaged_parts:
        ema = checkpoint.ema_state(state["ema"], model.averaged_parts)
        averaged = torch.nn.ModuleDict({name: getattr(model, name) for name in model.averaged_parts})
        checkpoint.check_compatible(averaged, ema, f"{where / 'state.json'} (field 'state.ema')")
        averaged.load_state_dict(ema)
    model.to(resolve_device(device)).eval()
    return model, data, dataset_factory, step


def _warn(message: str) -> None:
    from rich.markup import escape

    from hbaezoo.console import err_console

    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

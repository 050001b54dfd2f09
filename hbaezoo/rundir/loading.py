"""Load a finished run back: its recorded plugins, its config, its model with the newest good checkpoint.

`hbaezoo sample`, `eval`, `report` and `hbaezoo.load` come through `load`; the trainer's resume
restores the same `Checkpoint` with the same checks (rundir/restore.py). Loading runs no
code from the run directory (docs/reliability.md, "Trust model") unless `trust_config`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hbaezoo import assembly
from hbaezoo import config as gin_config
from hbaezoo import recipe_text
from hbaezoo.devices import resolve_device
from hbaezoo.errors import ConfigError
from hbaezoo.limits import check_image_shape
from hbaezoo.plugins import load_plugins, load_recorded, trusted_modules
from hbaezoo.rundir.layout import RunDir


@dataclass
class LoadedRun:
    """A trained model (eval mode, on its device) and what the run recorded beside it."""

    model: Any
    data: dict            # data.json: image_shape, num_classes, set_size, plugins, split, ...
    dataset_factory: Callable[..., Any]   # the recipe's dataset: `dataset_factory(split="test")`
    step: int             # the checkpoint's training step
    run_dir: RunDir
    config: str           # config.gin as text


def parse_config(run_dir: RunDir, data: dict, *, plugins=(), trust_config: bool = False) -> str:
    """Load the run's recorded plugins, then parse its config.gin (refusing code in it unless trusted)."""
    load_plugins(plugins)
    left = load_recorded(data.get("plugins", []), trust=trust_config)
    text = recipe_text.decode_recipe(run_dir.read_config(trust=trust_config), run_dir.config)
    try:
        gin_config.parse_loaded(text, run_dir.config, trust=trust_config,
                                trusted_modules=trusted_modules(data.get("plugins", []), plugins))
    except ConfigError as exc:
        if not left:
            raise
        raise ConfigError(f"{exc}\nThe run was trained with plugin module(s) {', '.join(left)}, which are not "
                          f"installed hbaezoo plugins and were not imported (a run directory runs no code of its "
                          f"own). If you have them: --plugin {' --plugin '.join(left)} (hbaezoo.load(..., plugins=[...])),"
                          f" or --trust-config if you trust where this run came from.") from exc
    return text


def load(run_dir: str | Path, *, device: str = "auto", use_ema: bool = True, plugins=(),
         trust_config: bool = False, warn: Callable[[str], None] | None = None) -> LoadedRun:
    """The run's model with the newest good checkpoint (EMA weights of its averaged parts, if kept and `use_ema`)."""
    rd = RunDir(run_dir)
    rd.require()
    data = rd.read_data()
    check_image_shape(data["image_shape"], f"{rd.data} (image_shape)")
    text = parse_config(rd, data, plugins=plugins, trust_config=trust_config)
    model_factory, dataset_factory = assembly.factories("model from the run's config.gin")
    model = assembly.build_model(data, factory=model_factory)
    found = rd.newest_checkpoint(warn=warn or _warn, required=True)
    averaged = None
    if use_ema and model.averaged_parts:
        averaged = torch.nn.ModuleDict({name: getattr(model, name) for name in model.averaged_parts})
    found.restore(model, averaged=averaged)
    model.to(resolve_device(device)).eval()
    return LoadedRun(model=model, data=data, dataset_factory=dataset_factory, step=found.step, run_dir=rd, config=text)


def _warn(message: str) -> None:
    from rich.markup import escape

    from hbaezoo.console import err_console

    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

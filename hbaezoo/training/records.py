"""What a run directory records beside its checkpoints (data.json, config.gin), so that `hbaezoo.load`
rebuilds the model: written by `hbaezoo run` / `hbaezoo.train` before training, and by a Trainer used
directly from Python where the folder lacks them.

    model, dataset = hbaezoo.build("gin/hbae_shapes.gin", ["Trainer.steps = 10"])
    Trainer(model, dataset, "runs/mine").fit()      # records the recipe gin holds: loadable
    hbaezoo.load("runs/mine")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin

from hbaezoo import assembly
from hbaezoo import config as gin_config
from hbaezoo import recipe_text
from hbaezoo.plugins import loaded_modules
from hbaezoo.rundir.layout import RunDir


def data_record(trainer: Any) -> dict:
    """data.json: the dataset's description (image shape, classes, split), set size, batch plan, labels seen, plugins."""
    data = trainer.dataset.describe()
    data["set_size"] = trainer.set_size
    data["batch_plan"] = trainer.plan.stats
    if trainer.labelled is not None:  # which share of the labels a semi-supervised run saw
        data["labelled"] = trainer.labelled
    data["plugins"] = loaded_modules()
    return data


def recipe_of(model: Any) -> str | None:
    """The recipe gin holds now, if `model` was built from it (`assembly.build_model`) and its `run.model`
    is `model`'s class (so it rebuilds this model); else None."""
    text = gin_config.parsed_recipe()
    if text is None or getattr(model, "built_from_recipe", None) != text:
        return None
    try:
        reference = gin.query_parameter("run.model")
    except ValueError:  # gin was cleared, or the recipe names no model
        return None
    configurable = getattr(reference, "configurable", None)
    if configurable is None or type(model) not in (configurable.wrapped, configurable.wrapper):
        return None
    return text


def record_run(trainer: Any, warn: Callable[[str], None]) -> bool:
    """Write data.json and config.gin where the run dir lacks them; True if config.gin was written here.

    `hbaezoo run` wrote both already. A Trainer used directly knows its data, but the recipe only
    when gin holds the one that built its model (`hbaezoo.build`); without it no config.gin is
    written (a guess would load the wrong model) and the run resumes but does not load.
    """
    rd = trainer.rundir
    rd.check_writable()
    rd.path.mkdir(parents=True, exist_ok=True)
    if not rd.data.exists():
        rd.write_data(data_record(trainer))
    if rd.config.exists() or rd.config.is_symlink():
        return False
    text = recipe_of(trainer.model)
    if text is None:
        warn(f"{rd.path} records no config.gin: the model was not built from a recipe gin still holds, so "
             f"hbaezoo.load and `hbaezoo sample/eval` cannot rebuild it (this Trainer still resumes it). Build the "
             f"model with hbaezoo.build(recipe, bindings), or train with hbaezoo.train, to make a loadable run.")
        return False
    rd.write_config(text)
    return True


def record_operative(rd: RunDir) -> None:
    """operative.gin: every value the run used, headed by the package and plugin versions."""
    rd.write_operative(recipe_text.operative_text(assembly.versions()))

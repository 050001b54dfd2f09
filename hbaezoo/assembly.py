"""Recipe -> model and dataset: the one place a model is assembled from a gin config.

A recipe names the model and dataset (`run.model = @models.hbae`, `run.dataset =
@datasets.shapes`); the model is built with the data's image shape and class count.
`build(recipe, bindings)` does it in one call; training, loading a run, evaluation's
untrained twins, benchmarks and experiments all go through `build_model`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gin
import torch

from hbaezoo import config as gin_config
from hbaezoo.about import __version__
from hbaezoo.errors import ConfigError, HbaezooError, message
from hbaezoo.limits import check_model_size
from hbaezoo.plugins import REPORT, load_plugins
from hbaezoo.seeds import check_seed


@gin.configurable("run", module="hbaezoo")
def recipe(*, model=gin.REQUIRED, dataset=gin.REQUIRED) -> tuple[Any, Any]:
    """The model and dataset factories a recipe names (`run.model`, `run.dataset`)."""
    return model, dataset


def versions() -> dict[str, str]:
    """hbaezoo, torch and loaded plugin versions, as operative.gin and eval results record them."""
    out = {"hbaezoo": __version__, "torch": torch.__version__}
    out.update({f"plugin {name}": version for name, version in REPORT.loaded.items()})
    return out


@contextlib.contextmanager
def building(what: str) -> Iterator[None]:
    """Turn bad values met while building parts (wrong type, out of range) into ConfigErrors."""
    try:
        yield
    except HbaezooError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"while building the {what}: {message(exc)}".replace("\n", "\n  ")) from exc
    except RuntimeError as exc:
        if "Required bindings" not in str(exc):  # gin's word for a parameter nobody bound
            raise
        raise ConfigError(
            f"while building the {what}: {message(exc)}".replace("\n", "\n  ")
            + "\nA recipe binds at least run.model and run.dataset; start from one in gin/, e.g. gin/hbae_shapes.gin."
        ) from exc


def trainer_binding(name: str, default: Any) -> Any:
    """A Trainer argument as the parsed config binds it, before the Trainer exists."""
    try:
        return gin.query_parameter(f"Trainer.{name}")
    except ValueError:  # not bound: the Trainer's default
        return default


def factories(what: str = "recipe") -> tuple[Any, Any]:
    """(model factory, dataset factory) of the parsed config."""
    with building(what):
        return recipe()


def build_dataset(split: str = "train"):
    """The parsed config's dataset, split `split` ("train" or "test")."""
    _, dataset_factory = factories()
    with building("dataset"):
        return dataset_factory(split=split)


def build_model(data: dict, *, seed: int | None = None, factory=None):
    """The parsed config's model for data facts `data` (image_shape, num_classes; as data.json records them).

    Initial weights depend on `seed` alone (default: the config's Trainer.seed), never on what ran
    before in the process. `factory`: a model factory other than the config's `run.model`.
    """
    factory = factory or factories("model")[0]

    def make():
        return factory(image_shape=tuple(data["image_shape"]), num_classes=data["num_classes"])

    with building("model"):
        check_model_size(make)
        torch.manual_seed(check_seed(trainer_binding("seed", 0), "Trainer.seed") if seed is None else seed)
        model = make()
    # The recipe gin held when this model was built: a Trainer used directly records it as config.gin
    # only while gin still holds it (training/records.py), never another recipe parsed since.
    model.built_from_recipe = gin_config.parsed_recipe()
    return model


def parse(recipe: str | Path | list, bindings: list[str] | tuple[str, ...] = (), *,
          plugins: list[str] | tuple[str, ...] = ()) -> tuple[list[Path], list[str]]:
    """Load plugins, then clear gin and parse the recipe file(s) and bindings.

    Returns (recipe files, each file's text as parsed, includes inlined)."""
    files = [Path(p) for p in (recipe if isinstance(recipe, (list, tuple)) else [recipe])]
    if not files:
        raise ConfigError("no recipe given: pass a gin file, e.g. gin/hbae_shapes.gin.")
    if isinstance(bindings, str):
        raise ConfigError(f"bindings must be a list of strings, got the string {bindings!r}; write [{bindings!r}].")
    load_plugins(list(plugins))
    return files, gin_config.parse(files, list(bindings))


def build(recipe: str | Path | list, bindings: list[str] | tuple[str, ...] = (), *,
          plugins: list[str] | tuple[str, ...] = (), split: str = "train"):
    """(model, dataset) of a gin recipe with extra bindings, as `hbaezoo run` builds them.

        model, dataset = hbaezoo.build("gin/hbae_shapes.gin", ["Trainer.steps = 10"])

    The model is untrained (seeded by Trainer.seed); the dataset is split `split`. gin keeps
    the parsed config, so a `Trainer(model, dataset, run_dir)` made next gets the recipe's settings.
    """
    parse(recipe, bindings, plugins=plugins)
    dataset = build_dataset(split)
    return build_model(dataset.describe()), dataset

"""Registries of interchangeable parts, each also a gin module.

`ENCODERS.register("resnet")` records a class or function under its kind and makes it
configurable in gin as `encoders.resnet` (`encoders.resnet.width = 32`,
`models.hbae.encoder = @encoders.resnet`). Names are unique per kind: a second
definition fails at import and names both places. An unknown name fails with the
closest registered names.

The core parts of a kind are imported the first time its registry is asked (`get`, `parts`,
`names`, `in`, ...) or a plugin registers one: `import hbaezoo` and `hbaezoo --help` import
no part (nor torch), and `hbaezoo list poolers` not the evaluation stack. `load_core()` loads every
kind, as parsing a recipe must (a recipe may name any part).
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gin

from hbaezoo.errors import RegistryError
from hbaezoo.signatures import parameters

# Which plugin is being imported right now; parts registered meanwhile belong to it.
_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("hbaezoo_source", default=None)


@contextlib.contextmanager
def registering_as(source: str) -> Iterator[None]:
    """Attribute every part registered inside this block to `source` (a plugin name)."""
    token = _SOURCE.set(source)
    try:
        yield
    finally:
        _SOURCE.reset(token)


def _location(obj: Any) -> str:
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"
    except (OSError, TypeError):
        return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"


def _source_of(obj: Any) -> str:
    active = _SOURCE.get()
    if active is not None:
        return active
    module = getattr(obj, "__module__", "") or ""
    return "core" if module == "hbaezoo" or module.startswith("hbaezoo.") else module


@dataclass(frozen=True)
class Part:
    """One registered part: what it is, where it was defined, who provided it."""

    kind: str
    name: str
    obj: Any  # the gin-configurable version: calling it applies the recipe's bindings
    original: Any  # the class or function as written
    source: str
    location: str

    @property
    def gin_name(self) -> str:
        return f"{self.kind}.{self.name}"

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.original) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    def parameters(self) -> dict[str, Any]:
        """Keyword parameters with their defaults (`inspect.Parameter.empty` if required)."""
        return parameters(self.original)


def suggest(name: str, candidates: list[str], n: int = 3) -> str:
    """' Did you mean: a, b?' for the closest candidates, or '' when none is close."""
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    return f" Did you mean: {', '.join(close)}?" if close else ""


class Registry:
    """Named parts of one kind (encoders, poolers, ...); the kind is also their gin module."""

    def __init__(self, kind: str, doc: str, core: str | None = None) -> None:
        """core: the module whose import registers this kind's core parts (imported on first use)."""
        self.kind = kind
        self.doc = doc
        self._parts: dict[str, Part] = {}
        self._core = core
        self._core_loaded = core is None

    def load_core(self) -> None:
        """Import the module that registers the core parts of this kind (once)."""
        if self._core_loaded:
            return
        self._core_loaded = True  # first: the module's own registrations come back here
        token = _SOURCE.set(None)  # core parts, even when a plugin's registration brought them in
        try:
            importlib.import_module(self._core)
        except BaseException:
            self._core_loaded = False
            raise
        finally:
            _SOURCE.reset(token)

    def register(self, name: str) -> Callable[[Any], Any]:
        """Decorator: register a class or function under `name` and make it gin-configurable.

        The decorated object itself is returned unchanged (gin wraps a subclass), so
        direct Python calls never pick up gin bindings and subclasses of registered
        classes do not inherit another name's bindings.
        """

        if not name.isidentifier():
            raise RegistryError(
                f"cannot register {self.kind} '{name}': names must be Python identifiers "
                f"(letters, digits, underscores) so gin can refer to them as @{self.kind}.<name>."
            )

        def decorate(obj: Any) -> Any:
            if _source_of(obj) != "core":
                self.load_core()  # a plugin's name that clashes with a core one fails in the plugin
            location = _location(obj)
            if name in self._parts:
                first = self._parts[name]
                raise RegistryError(
                    f"{self.kind} '{name}' is registered twice: first at {first.location} "
                    f"({first.source}), again at {location} ({_source_of(obj)}). "
                    f"Rename one of them."
                )
            configurable = gin.external_configurable(obj, name=name, module=self.kind)
            self._parts[name] = Part(self.kind, name, configurable, obj, _source_of(obj), location)
            return obj

        return decorate

    def get(self, name: str) -> Any:
        """The registered class or function; unknown names fail with the closest ones."""
        return self.part(name).obj

    def part(self, name: str) -> Part:
        self.load_core()
        try:
            return self._parts[name]
        except KeyError:
            known = ", ".join(sorted(self._parts)) or "none"
            raise RegistryError(
                f"no {self.kind} named '{name}'.{suggest(name, list(self._parts))} "
                f"Registered {self.kind}: {known}. Run `hbaezoo list {self.kind}` for details."
            ) from None

    def parts(self) -> list[Part]:
        self.load_core()
        return [self._parts[n] for n in sorted(self._parts)]

    def names(self) -> list[str]:
        self.load_core()
        return sorted(self._parts)

    def __contains__(self, name: object) -> bool:
        self.load_core()
        return name in self._parts

    def __len__(self) -> int:
        self.load_core()
        return len(self._parts)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


_C = "hbaezoo.components."
ENCODERS = Registry("encoders", "image [B, C, H, W] -> features [B, F]", _C + "encoders")
POOLERS = Registry("poolers", "set of features [B, K, F] -> [B, F], permutation invariant", _C + "poolers")
HEADS = Registry("heads", "features [B, F] -> posterior over z [B, Z]", _C + "heads")
GENERATORS = Registry("generators", "(z [B, Z], noise [B, N]) -> image [B, C, H, W]", _C + "generators")
DISCRIMINATORS = Registry("discriminators", "(image [B, C, H, W], z [B, Z]) -> score [B]", _C + "discriminators")
DIVERGENCES = Registry("divergences", "posterior over z -> scalar distance to N(0, I)", _C + "divergences")
PRIORS = Registry("priors", "where codes [n, Z] come from when a model samples; fitted to training codes or fixed",
                  _C + "priors")
REGULARISERS = Registry("regularisers", "(image, reconstruction) -> scalar reconstruction penalty", _C + "regularisers")
CLASSIFIERS = Registry("classifiers", "codes z [B, Z] -> class logits [B, C] (semi-supervised models)",
                       _C + "classifiers")
PENALTIES = Registry("penalties", "gradient penalties on a discriminator", _C + "penalties")
ADVERSARIAL_LOSSES = Registry("adversarial", "critic and generator losses from scores", _C + "adversarial")
MODELS = Registry("models", "assemblies of parts that say how they train (phases)", "hbaezoo.models")
DATASETS = Registry("datasets", "image datasets with labels and groups (sets)", "hbaezoo.data")
OPTIMIZERS = Registry("optimizers", "params -> torch optimizer, gin-scoped per group", _C + "optimizers")
SCHEDULES = Registry("schedules", "(optimizer, steps) -> learning-rate scheduler", _C + "optimizers")
SAMPLERS = Registry("samplers", "inference modes of `hbaezoo sample`: model -> image grid", "hbaezoo.sampling")
METRICS = Registry("metrics", "evaluation metrics of `hbaezoo eval`", "hbaezoo.eval.parts")
FEATURE_EXTRACTORS = Registry("extractors", "images -> features for FID and feature-space MSE", "hbaezoo.eval.parts")

REGISTRIES: dict[str, Registry] = {
    r.kind: r
    for r in (
        ENCODERS, POOLERS, HEADS, GENERATORS, DISCRIMINATORS, DIVERGENCES, PRIORS, REGULARISERS, CLASSIFIERS,
        PENALTIES, ADVERSARIAL_LOSSES, MODELS, DATASETS, OPTIMIZERS, SCHEDULES, SAMPLERS,
        METRICS, FEATURE_EXTRACTORS,
    )
}


def registry(kind: str) -> Registry:
    """The registry of one kind; unknown kinds fail with the closest ones."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise RegistryError(
            f"no kind of part named '{kind}'.{suggest(kind, list(REGISTRIES))} "
            f"Kinds: {', '.join(REGISTRIES)}."
        ) from None


def all_parts() -> list[Part]:
    return [p for r in REGISTRIES.values() for p in r.parts()]


# What a recipe binds besides parts: `run.model` / `run.dataset`, the Trainer's settings, the semantic
# classifier's. Imported by name, like the kinds' core modules, so the registry imports no layer above it.
SETTINGS_MODULES = ("hbaezoo.assembly", "hbaezoo.training.trainer")

#: Kinds only evaluation uses: loading a run for sampling leaves them (and the evaluation stack) unimported.
EVALUATION_KINDS = ("metrics", "extractors")


def load_core(*, skip: tuple[str, ...] = ()) -> None:
    """Register the core parts of every kind but those in `skip`, and the settings a recipe binds."""
    for reg in REGISTRIES.values():
        if reg.kind not in skip:
            reg.load_core()
    for module in SETTINGS_MODULES:
        importlib.import_module(module)


def core_loaded() -> bool:
    """Whether every kind's core parts are registered."""
    return all(reg._core_loaded for reg in REGISTRIES.values())

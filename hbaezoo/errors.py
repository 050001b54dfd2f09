"""User-facing errors: each says what went wrong, where, and what to do.

The CLI prints these without a traceback and exits with status 2; anything else is a
bug and keeps its traceback.
"""

import re

# What gin appends to any error raised inside a configurable: "In call to configurable 'X' (<class ...>)".
_GIN_CALL = re.compile(r"\n  In call to configurable '([^'\n]*)' \([^\n]*\)(?: in scope '([^'\n]*)')?")


def message(exc: BaseException) -> str:
    """An error's text without gin's call lines: ours already say where; another error keeps the part's name."""
    text = str(exc)
    if isinstance(exc, HbaezooError):
        return _GIN_CALL.sub("", text)
    return _GIN_CALL.sub(lambda m: f" (in {m.group(1)}{f', scope {m.group(2)}' if m.group(2) else ''})", text)


class HbaezooError(Exception):
    """Base class of every error caused by the user's input, not by a bug."""


class RegistryError(HbaezooError):
    """A part name is unknown, or registered twice."""


class ConfigError(HbaezooError):
    """A gin file or binding is malformed, names an unknown part or parameter, or has a bad value."""


class DataError(HbaezooError):
    """A dataset folder is missing, empty, or laid out differently than expected."""


class CapabilityError(HbaezooError):
    """A model was asked for something it cannot do (e.g. a GAN asked to reconstruct)."""


class CheckpointError(HbaezooError):
    """A checkpoint is missing, corrupt, or does not fit the configured model."""


class RunDirError(CheckpointError):
    """A run directory holds something hbaezoo never writes there (a link out of it), or cannot be written."""


class TrainingError(HbaezooError):
    """Training stopped on purpose (e.g. repeated non-finite losses); the state was saved."""


class DependencyError(HbaezooError, ImportError):
    """A package hbaezoo needs is missing, or another module of the same name is found instead."""


class WeightsUnavailable(HbaezooError):
    """Pretrained weights a part needs are not on disk (hbaezoo never downloads them)."""


def original_os_error(exc: OSError) -> OSError:
    """The OSError gin re-raised as a proxy (its message augmented, its errno and filename lost), else `exc`.

    gin's proxy class keeps the original in the closure of its `__getattr__`; without it a full disk or a
    name too long met while a dataset or cache is built would lose the message that names the path.
    """
    if exc.errno is not None:
        return exc
    for cell in getattr(getattr(type(exc), "__getattr__", None), "__closure__", None) or ():
        inner = cell.cell_contents
        if isinstance(inner, OSError) and inner is not exc:
            return original_os_error(inner)
    return exc

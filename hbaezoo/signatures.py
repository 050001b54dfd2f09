"""What a registered part accepts: its keyword parameters and their defaults, read one way everywhere."""

from __future__ import annotations

import inspect
from typing import Any


def parameters(obj: Any) -> dict[str, Any]:
    """Parameter name -> default (`inspect.Parameter.empty` if required) of a class's `__init__`
    or a function; `self`, *args and **kwargs left out; {} when Python cannot tell."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    return {
        n: p.default
        for n, p in sig.parameters.items()
        if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }

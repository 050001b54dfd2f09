"""Check, on import and before anything else, that `import gin` finds gin-config.

Without gin-config, `import gin` run from the repository root finds the recipe folder `gin/`
as a namespace package, and hbaezoo would fail deep in the registry with "module 'gin' has
no attribute 'external_configurable'". This says what was found and how to install the real one.
"""

from __future__ import annotations

import sys

from hbaezoo.errors import DependencyError

#: As in pyproject.toml (tests/test_dependencies.py keeps the two equal).
GIN_REQUIREMENT = "gin-config>=0.5,<0.6"


def require_gin() -> None:
    """Import gin-config, or raise DependencyError saying what `import gin` found and what to run."""
    fix = f"Install it into this Python ({sys.executable}): pip install '{GIN_REQUIREMENT}'"
    try:
        import gin
    except ImportError as exc:
        raise DependencyError(f"hbaezoo needs the gin-config package (`import gin`), which is not installed "
                              f"({exc}). {fix}") from exc
    if hasattr(gin, "external_configurable"):
        return
    sys.modules.pop("gin", None)  # the impostor should not satisfy a later `import gin`
    folders = [str(p) for p in getattr(gin, "__path__", [])]
    found = (f"the folder {', '.join(folders)} (hbaezoo's recipe folder gin/, or another folder named gin "
             f"on sys.path)" if getattr(gin, "__file__", None) is None and folders else str(gin.__file__))
    raise DependencyError(f"hbaezoo needs the gin-config package, but `import gin` found {found} instead: "
                          f"gin-config is not installed. {fix}")


require_gin()

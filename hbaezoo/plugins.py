"""Plugin loading: entry points in group `hbaezoo.plugins`, plus local modules by name.

A plugin is any importable module whose import registers parts with the decorators
of `hbaezoo.registry`. Plugins load once, before gin parses a config; one that fails
to import is reported by name and the others still load.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from hbaezoo.errors import HbaezooError
from hbaezoo.registry import registering_as

GROUP = "hbaezoo.plugins"
DISABLE_ENV = "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD"


@dataclass
class PluginReport:
    """What was loaded: name -> version for plugins, name -> error for failures."""

    loaded: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


REPORT = PluginReport()
_autoloaded = False


def _autoload_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load_plugins(modules: tuple[str, ...] | list[str] = (), *, warn=None) -> PluginReport:
    """Load installed entry-point plugins (once) and the given local modules.

    `warn(message)` is called for each plugin that fails to import; by default the
    message goes to stderr. Local modules named explicitly that fail raise an error,
    since the user asked for them by name.
    """
    global _autoloaded
    warn = warn or _print_warning
    if not _autoloaded and not _autoload_disabled():
        _autoloaded = True
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            _load_entry_point(ep, warn)
    if modules and "" not in sys.path and os.getcwd() not in sys.path:
        # `python -m hbaezoo` has the working directory on sys.path, the `hbaezoo` script not;
        # appended, not prepended, so a local file never shadows an installed package.
        sys.path.append(os.getcwd())
    for module in modules:
        if module in REPORT.loaded:
            continue
        try:
            with registering_as(f"module {module}"):
                importlib.import_module(module)
        except ImportError as exc:
            raise HbaezooError(
                f"--plugin {module}: cannot import it ({exc}). Give an importable module "
                f"name (e.g. my_parts for ./my_parts.py run from its folder, or a package "
                f"on PYTHONPATH)."
            ) from exc
        except SystemExit as exc:  # sys.exit() at import: the module's message alone would not say whose it is
            raise HbaezooError(f"--plugin {module}: importing it called sys.exit({exc.code!r}); hbaezoo stopped there. "
                               f"Fix the module, or leave out --plugin {module}.") from None
        REPORT.loaded[module] = getattr(importlib.import_module(module), "__version__", "local")
    return REPORT


def _load_entry_point(ep, warn) -> None:
    if ep.name in REPORT.loaded:
        return
    dist = ep.dist.name if ep.dist is not None else ep.name
    try:
        with registering_as(f"plugin {dist}"):
            ep.load()
    except SystemExit as exc:  # uncaught, every command would end with only the plugin's own text
        REPORT.failed[ep.name] = f"sys.exit({exc.code!r})"
        warn(f"plugin '{ep.name}' ({ep.value}, from {dist}) called sys.exit({exc.code!r}) while it was imported and "
             f"was skipped. Fix or uninstall it, or set {DISABLE_ENV}=1 to skip all plugins.")
    except Exception as exc:  # a broken plugin must not take the others down
        REPORT.failed[ep.name] = f"{type(exc).__name__}: {exc}"
        warn(
            f"plugin '{ep.name}' ({ep.value}, from {dist}) failed to import and was "
            f"skipped: {type(exc).__name__}: {exc}\n"
            f"{traceback.format_exc(limit=-3)}"
            f"Fix or uninstall it, or set {DISABLE_ENV}=1 to skip all plugins."
        )
    else:
        REPORT.loaded[ep.name] = ep.dist.version if ep.dist is not None else "unknown"


def loaded_modules() -> list[str]:
    """The modules of the plugins loaded now (entry points and --plugin modules), as a run records them."""
    modules = {ep.name: ep.module for ep in entry_points(group=GROUP)}
    return sorted({modules.get(name, name) for name in REPORT.loaded})


def trusted_modules(recorded: list[str], plugins: list[str] | tuple[str, ...] = ()) -> set[str]:
    """Modules a run's config may import and whose import the run may ask for: installed hbaezoo
    plugins the run recorded, and those named by --plugin."""
    installed = {ep.module for ep in entry_points(group=GROUP)}
    recorded = {m for m in recorded if isinstance(m, str)} if isinstance(recorded, list) else set()
    return (installed & recorded) | set(plugins)


def load_recorded(recorded: list[str], *, trust: bool = False, warn=None) -> list[str]:
    """Load the plugins a run recorded (data.json `plugins`) before its config is parsed.

    The trust rule of config imports: installed hbaezoo plugins load (even with autoloading off:
    the run needs them); any other module, a local `--plugin` file when the run was trained, runs
    code from outside the installed packages, so it is imported only with `trust` (--trust-config).
    Returns the recorded modules left unloaded.
    """
    warn = warn or _print_warning
    installed = {ep.module: ep for ep in entry_points(group=GROUP)}
    loaded = set(loaded_modules())
    left = []
    for module in recorded:
        if module in loaded:
            continue
        if module in installed:
            _load_entry_point(installed[module], warn)
        elif trust:
            load_plugins([module])
        else:
            left.append(module)
    return left


def _print_warning(message: str) -> None:
    from rich.markup import escape

    from hbaezoo.console import err_console

    # Escaped: error text and traceback lines hold brackets (x[idx], [/path]) that rich reads as markup.
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

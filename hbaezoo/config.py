"""gin wiring: parse recipes and bindings with clear errors; save a run's config files.

gin's own errors are precise but terse; this module turns them into messages that
say which name was wrong, the closest registered names, and the file and line.
"""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import gin

from hbaezoo.errors import ConfigError
from hbaezoo.registry import suggest


def _configurable_names() -> list[str]:
    """Every gin configurable as `module.name` and as plain `name`."""
    names = set()
    for selector, _ in gin.config._REGISTRY.items():  # gin has no public listing
        names.add(selector)
        names.add(selector.rsplit(".", 1)[-1])
    return sorted(names)


def _parameters_of(selector: str) -> list[str]:
    try:
        configurable = gin.config._REGISTRY.get_match(selector)
    except (KeyError, ValueError):
        return []
    if configurable is None:
        return []
    import inspect

    fn = configurable.wrapped
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        return [p for p in inspect.signature(target).parameters if p != "self"]
    except (TypeError, ValueError):
        return []


def explain(exc: BaseException, where: str = "") -> ConfigError:
    """Turn a gin parse/binding error into a ConfigError with 'did you mean' hints."""
    text = str(exc)
    head, _, location = text.partition("\n")
    location = location.strip()
    if isinstance(exc, SyntaxError) and exc.filename:
        location = f"In file {exc.filename}, line {exc.lineno}"
    hint = ""
    if m := re.search(r"No configurable matching (?:reference )?'@?([\w./]+)'", head):
        name = m.group(1).split("/")[-1]
        hint = suggest(name, _configurable_names()) or (
            " Run `hbaezoo list` to see every registered part."
        )
        if hint.startswith(" Did"):
            hint += " (`hbaezoo list` shows every part.)"
    elif m := re.search(r"Configurable '([\w.]+)' doesn't have a parameter named '(\w+)'", head):
        params = _parameters_of(m.group(1))
        hint = suggest(m.group(2), params) + (f" Its parameters: {', '.join(params)}." if params else "")
    elif isinstance(exc, SyntaxError):
        hint = (
            " Each line of a gin file is `configurable.parameter = value` "
            "(strings quoted, references as @kind.name)."
        )
    where = f" ({where})" if where and where not in location else ""
    message = f"{head}{hint}{where}"
    if location:
        message += f"\n  {location}"
    return ConfigError(message)


# What gin's parser raises on malformed text (tokenize errors escape on unclosed brackets).
PARSE_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, IndexError, AttributeError, tokenize.TokenError)


def parse(config_files: list[str | Path] = (), bindings: list[str] = ()) -> None:
    """Clear gin and parse the given files then bindings; errors become ConfigError."""
    gin.clear_config()
    for path in config_files:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist. Recipes ship in the gin/ folder of the "
                f"repository, e.g. `hbaezoo run gin/hbae_shapes.gin`."
            )
        try:
            gin.parse_config_file(str(path))
        except PARSE_ERRORS as exc:
            raise explain(exc, str(path)) from exc
    for binding in bindings:
        try:
            gin.parse_config(binding)
        except PARSE_ERRORS as exc:
            raise explain(exc, f"binding -b {binding!r}") from exc


def config_text(config_files: list[str | Path], bindings: list[str]) -> str:
    """The recipe as given: each file's text, then the bindings, in parse order."""
    parts = []
    for path in config_files:
        parts.append(f"# ---- {path}\n{Path(path).read_text()}")
    if bindings:
        parts.append("# ---- bindings (-b)\n" + "\n".join(bindings) + "\n")
    return "\n".join(parts)


def operative_text(versions: dict[str, str]) -> str:
    """Every gin value actually used so far, headed by package and plugin versions."""
    header = "".join(f"# {name} == {version}\n" for name, version in versions.items())
    return f"{header}\n{gin.operative_config_str()}"

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
from hbaezoo.signatures import parameters


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
    return list(parameters(configurable.wrapped))


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
        if str(path.parent) not in gin.config._LOCATION_PREFIXES:
            # `include 'shared/x.gin'` in a recipe is read relative to the recipe's folder.
            gin.add_config_file_search_path(str(path.parent))
        try:
            gin.parse_config_file(str(path))
        except PARSE_ERRORS as exc:
            raise explain(exc, str(path)) from exc
    for binding in bindings:
        try:
            gin.parse_config(binding)
        except PARSE_ERRORS as exc:
            raise explain(exc, f"binding -b {binding!r}") from exc


# Parts built only after a run starts (previews, `hbaezoo sample` and `eval`): unbuilt is not unused.
BUILT_LATER = ("samplers", "metrics", "extractors")


def unused_bindings() -> list[str]:
    """Bindings parsed but read by no configurable call so far, as `[scope/]selector.param`.

    Called once a run is built, these are values that change nothing: a part the model does
    not have (`encoders.resnet.width` for a GAN), a scope no optimizer group uses, ...
    """
    used = gin.config._OPERATIVE_CONFIG  # gin has no public view of either table
    out = []
    for (scope, selector), params in gin.config._CONFIG.items():
        if selector.split(".")[0] in BUILT_LATER:
            continue
        taken = {p for (s, sel), ps in used.items() if s == scope and (sel == selector or sel.endswith(f".{selector}"))
                 for p in ps}
        out += [f"{scope + '/' if scope else ''}{selector}.{param}" for param in params if param not in taken]
    return sorted(out)


INCLUDE = re.compile(r"""^include\s+['"](?P<path>[^'"]+)['"]\s*$""", re.MULTILINE)


def inline_includes(path: Path) -> str:
    """A recipe's text with every `include` replaced by the included file's text (recursively),
    so config.gin stands alone in a run directory."""

    def expand(m: re.Match) -> str:
        name = m["path"]
        found = next((c for c in (path.parent / name, Path(name)) if c.is_file()), None)
        if found is None:
            raise ConfigError(f"{path}: include '{name}' not found next to the recipe ({path.parent / name}) "
                              f"or in the working directory.")
        return f"# ---- include {name}\n{inline_includes(found).rstrip()}\n# ---- end of {name}"

    return INCLUDE.sub(expand, path.read_text())


def config_text(config_files: list[str | Path], bindings: list[str]) -> str:
    """The recipe as given: each file's text, then the bindings, in parse order."""
    parts = []
    for path in config_files:
        parts.append(f"# ---- {path}\n{inline_includes(Path(path))}")
    if bindings:
        parts.append("# ---- bindings (-b)\n" + "\n".join(bindings) + "\n")
    return "\n".join(parts)


def operative_text(versions: dict[str, str]) -> str:
    """Every gin value actually used so far, headed by package and plugin versions."""
    header = "".join(f"# {name} == {version}\n" for name, version in versions.items())
    return f"{header}\n{gin.operative_config_str()}"

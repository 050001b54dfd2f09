"""gin wiring: parse recipes and bindings with clear errors; save a run's config files.

gin's own errors are precise but terse; this module turns them into messages that
say which name was wrong, the closest registered names, and the file and line.
"""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import gin
import gin.config_parser

from hbaezoo.errors import ConfigError
from hbaezoo.paths import read_run_file
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


def read_recipe(path: str | Path) -> str:
    """A recipe's text; ConfigError for a missing file, a folder, or bytes that are not UTF-8 (with the line)."""
    path = Path(path)
    if path.is_dir():
        found = sorted(p.name for p in path.glob("*.gin"))[:6]
        listing = f" It holds {', '.join(found)}; give one of them" if found else " Give a .gin file"
        raise ConfigError(f"config file {path} is a folder, not a gin recipe.{listing}, e.g. `hbaezoo run gin/hbae_shapes.gin`.")
    if path.exists() and not path.is_file():
        raise ConfigError(f"config file {path} is not a regular file (a device or a pipe); give a .gin recipe file.")
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist. Recipes ship in the gin/ folder of the "
            f"repository, e.g. `hbaezoo run gin/hbae_shapes.gin`."
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}.") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text: line {line}, column {column} holds the byte "
            f"0x{data[exc.start]:02x}. Save the file as UTF-8 (recipes are plain text)."
        ) from None


def parse(config_files: list[str | Path] = (), bindings: list[str] = ()) -> None:
    """Clear gin and parse the given files then bindings; errors become ConfigError."""
    gin.clear_config()
    for path in config_files:
        text = inline_includes(path)
        if not text.strip():
            raise ConfigError(f"config file {path} is empty. A recipe binds at least run.model and run.dataset; "
                              f"start from one in gin/, e.g. gin/hbae_shapes.gin.")
        # The inlined text, exactly what config.gin records: included files are read once, here.
        _parse_file(path, text)
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


INCLUDE = re.compile(r"""^include\s+['"](?P<path>[^'"]+)['"]\s*(#.*)?$""", re.MULTILINE)


def inline_includes(path: str | Path, _within: tuple[Path, ...] = ()) -> str:
    """A recipe's text with every `include` replaced by the included file's text (recursively),
    so config.gin stands alone in a run directory. An included path is read next to the
    including file, else from the working directory."""
    path = Path(path)
    if path.resolve() in _within:
        raise ConfigError(f"config file {_within[0]} includes itself, directly or through the files it includes "
                          f"({' -> '.join(p.name for p in (*_within, path))}); remove the `include` line that "
                          f"closes the cycle.")

    def expand(m: re.Match) -> str:
        name = m["path"]
        found = next((c for c in (path.parent / name, Path(name)) if c.exists()), None)
        if found is None:
            raise ConfigError(f"{path}: include '{name}' not found next to the recipe ({path.parent / name}) "
                              f"or in the working directory.")
        return (f"# ---- include {name}\n{inline_includes(found, (*_within, path.resolve())).rstrip()}\n"
                f"# ---- end of {name}")

    return INCLUDE.sub(expand, read_recipe(path))


def _parse_file(path: str | Path, text: str | None = None) -> None:
    try:
        if text is None:
            gin.parse_config_file(str(path))
        else:
            # The checked text itself: re-reading the file could see different bytes.
            gin.parse_config(text)
    except RecursionError:
        raise ConfigError(f"config file {path} includes itself, directly or through the files it includes; "
                          f"remove the `include` line that closes the cycle.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"a file included by {path} is not UTF-8 text ({exc}); save it as UTF-8.") from None
    except PARSE_ERRORS as exc:
        raise explain(exc, str(path)) from exc


class _Literal(gin.config_parser.ParserDelegate):
    """Parses references and macros to nothing: enough to list statements without resolving them."""

    def configurable_reference(self, scoped_configurable_name, evaluate):
        return None

    def macro(self, macro_name):
        return None


def code_statements(text: str) -> list[str]:
    """The `import` and `include` lines of gin text, as 'line N: ...' (parsing only; nothing runs)."""
    found = []
    for statement in gin.config_parser.ConfigParser(text, _Literal()):
        if isinstance(statement, gin.config_parser.ImportStatement):
            found.append((statement.module, f"line {statement.location.line_num}: {statement.format()}"))
        elif isinstance(statement, gin.config_parser.IncludeStatement):
            found.append((None, f"line {statement.location.line_num}: include {statement.filename!r}"))
    return found


def parse_loaded(path: Path, *, trusted_modules: set[str], trust: bool = False) -> None:
    """Parse a run directory's config.gin without running code from it.

    A run directory may come from someone else. gin executes `import` lines and reads
    `include`d files, so those are refused unless `trust` (--trust-config) or the module is
    in `trusted_modules` (installed hbaezoo plugins the run recorded, and --plugin modules).
    """
    gin.clear_config()
    if not trust:
        read_run_file(path)  # a regular file, not a link to a device or outside the run
    text = read_recipe(path)
    if not trust:
        try:
            statements = code_statements(text)
        except PARSE_ERRORS as exc:
            raise explain(exc, str(path)) from exc
        refused = [line for module, line in statements if not _trusted(module, trusted_modules)]
        if refused:
            raise ConfigError(
                f"{path} would run code when loaded ({'; '.join(refused[:3])}{' ...' if len(refused) > 3 else ''}). "
                f"A run directory is data, not code: only installed hbaezoo plugins that the run recorded may be "
                f"imported. If you trust where this run came from, pass --trust-config (or --plugin MODULE "
                f"for a module you have)."
            )
    _parse_file(path, text)


def _trusted(module: str | None, trusted: set[str]) -> bool:
    if module is None:
        return False
    return any(module == t or module.startswith(t + ".") for t in trusted | {"__gin__", "hbaezoo"})


def config_text(config_files: list[str | Path], bindings: list[str]) -> str:
    """The recipe as given: each file's text, then the bindings, in parse order."""
    parts = []
    for path in config_files:
        parts.append(f"# ---- {path}\n{inline_includes(path)}")
    if bindings:
        parts.append("# ---- bindings (-b)\n" + "\n".join(bindings) + "\n")
    return "\n".join(parts)


def operative_text(versions: dict[str, str]) -> str:
    """Every gin value actually used so far, headed by package and plugin versions."""
    header = "".join(f"# {name} == {version}\n" for name, version in versions.items())
    return f"{header}\n{gin.operative_config_str()}"

"""gin wiring: parse recipes and bindings with clear errors; parse a run's config.gin safely.

gin's own errors are precise but terse; this module turns them into messages that
say which name was wrong, the closest registered names, and the file and line.
Reading a recipe file, inlining its includes and the texts a run records (config.gin,
operative.gin) are recipe_text.py.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import gin
import gin.config_parser

from hbaezoo.errors import ConfigError
from hbaezoo.recipe_text import config_text, inlined, recipe_pieces
from hbaezoo.registry import EVALUATION_KINDS, core_loaded, load_core, suggest
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


def explain(exc: BaseException, where: str = "", text: str | None = None) -> ConfigError:
    """Turn a gin parse/binding error into a ConfigError with 'did you mean' hints (`text`: what was parsed)."""
    where_ = f" ({where})" if where else ""
    if isinstance(exc, RecursionError):
        return ConfigError(f"the recipe nests brackets or values too deeply for gin to read{where_}. A recipe's values "
                           f"are a few levels deep at most: look for a long run of brackets.")
    if isinstance(exc, tokenize.TokenError):
        # Python's tokenizer: ('EOF in multi-line statement', (line, column)), reported at the end of the text.
        opened = _unclosed_bracket(text) if text is not None else None
        what = "a bracket" if "statement" in str(exc.args[0]) else "a triple-quoted string"
        at = f" opened on line {opened}" if opened else ""
        return ConfigError(f"{what}{at} is never closed{where_}: the text ends inside it. Close it, or remove it.")
    text = _AST_NODE.sub(lambda m: f"a bare name ({m.group(1)})", str(exc))
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
    elif "malformed node or string" in head:
        head = "a value gin cannot read: quote a string ('text'), write a part as @kind.name"
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


# What gin's parser raises on malformed text (tokenize errors escape on unclosed brackets; Python's
# parser recurses once per bracket, so a deep enough run of them exhausts the stack).
PARSE_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, IndexError, AttributeError, tokenize.TokenError,
                RecursionError)
# ast.literal_eval names the node it refused by its repr: "<ast.Name object at 0x7f...>".
_AST_NODE = re.compile(r"<ast\.(\w+) object at 0x[0-9a-fA-F]+>")


def _unclosed_bracket(text: str) -> int | None:
    """The line of the innermost bracket still open where the text ends (comments and strings skipped)."""
    stack = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.OP and token.string in "([{":
                stack.append(token.start[0])
            elif token.type == tokenize.OP and token.string in ")]}" and stack:
                stack.pop()
    except (tokenize.TokenError, SyntaxError):
        pass
    return stack[-1] if stack else None


# The recipe gin holds, as config.gin records it: set by `parse` and `parse_loaded`, read by `parsed_recipe`.
_parsed: str | None = None


def parsed_recipe() -> str | None:
    """The text of the recipe last parsed here (files with includes inlined, then bindings), as config.gin
    records it; None before any, or after a parse that failed. gin may have been cleared since: a caller
    checks that gin still binds what it needs."""
    return _parsed


def parse(config_files: list[str | Path] = (), bindings: list[str] = ()) -> list[str]:
    """Clear gin and parse the given files then bindings; errors become ConfigError.

    Returns each file's text as parsed, includes inlined, for `recipe_text.config_text` to record: every
    file is read once, so what config.gin records is what was parsed.
    """
    global _parsed
    _parsed = None
    gin.clear_config()
    load_core()  # a recipe may name a part of any kind
    texts = []
    for path in config_files:
        pieces = recipe_pieces(path)
        if not "".join(text for _, _, text in pieces).strip():
            raise ConfigError(f"config file {path} is empty. A recipe binds at least run.model and run.dataset; "
                              f"start from one in gin/, e.g. gin/hbae_shapes.gin.")
        for file, head, text in pieces:
            _refuse_other_includes(file, head + text)
            _parse_file(file, head + text)
        texts.append(inlined(path, pieces))
    for binding in bindings:
        try:
            gin.parse_config(binding)
        except PARSE_ERRORS as exc:
            raise explain(exc, f"binding -b {binding!r}", binding) from exc
    _parsed = config_text(config_files, list(bindings), texts)
    return texts


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
        # gin applies a binding of scope S to calls under S or a scope nested in it ('' is every scope).
        taken = {p for (s, sel), ps in used.items() if _within(s, scope)
                 and (sel == selector or sel.endswith(f".{selector}")) for p in ps}
        out += [f"{scope + '/' if scope else ''}{selector}.{param}" for param in params if param not in taken]
    return sorted(out)


def _refuse_other_includes(path: str | Path, text: str) -> None:
    """An `include` that recipe_pieces did not take (indented, split over lines) would be read by
    gin from the working directory and left out of config.gin: refused, saying how to write it."""
    try:
        statements = code_statements(text)
    except PARSE_ERRORS:
        return  # _parse_file explains the syntax error
    left = [line for module, line in statements if module is None]
    if left:
        raise ConfigError(f"{path}: {left[0]} is not on a line of its own. Write each include at the start of "
                          f"a line, as include 'shared/x.gin' (read next to the recipe).")


def _within(scope: str, outer: str) -> bool:
    return not outer or scope == outer or scope.startswith(f"{outer}/")


def _parse_file(path: str | Path, text: str | None = None) -> None:
    try:
        if text is None:
            gin.parse_config_file(str(path))
        else:
            # The checked text itself: re-reading the file could see different bytes.
            gin.parse_config(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"a file included by {path} is not UTF-8 text ({exc}); save it as UTF-8.") from None
    except PARSE_ERRORS as exc:  # includes are inlined by recipe_pieces: a RecursionError here is deep nesting
        raise explain(exc, str(path), text) from exc


class _Literal(gin.config_parser.ParserDelegate):
    """Parses references and macros to nothing: enough to list statements without resolving them."""

    def configurable_reference(self, scoped_configurable_name, evaluate):
        return None

    def macro(self, macro_name):
        return None


class _Named(gin.config_parser.ParserDelegate):
    """Parses references and macros to their names: values to compare without resolving anything."""

    def configurable_reference(self, scoped_configurable_name, evaluate):
        return f"@{scoped_configurable_name}{'()' if evaluate else ''}"

    def macro(self, macro_name):
        return f"%{macro_name}"


def effective_bindings(text: str) -> dict:
    """What gin text sets, the later of two bindings of one parameter winning:
    {(scope, selector, parameter): value} and {statement text: True} for imports and includes.
    Comments, blank lines, include markers and the order of distinct bindings do not count."""
    out: dict = {}
    for statement in gin.config_parser.ConfigParser(text, _Named()):
        if isinstance(statement, gin.config_parser.BindingStatement):
            out[(statement.scope, statement.selector, statement.arg_name)] = statement.value
        elif isinstance(statement, gin.config_parser.ImportStatement):
            out[statement.format()] = True
        else:
            out[f"include {statement.filename!r}"] = True
    return out


def same_bindings(a: str, b: str) -> bool:
    """Whether two gin texts set the same values (False if either does not parse)."""
    try:
        return effective_bindings(a) == effective_bindings(b)
    except PARSE_ERRORS:
        return False


def code_statements(text: str) -> list[str]:
    """The `import` and `include` lines of gin text, as 'line N: ...' (parsing only; nothing runs)."""
    found = []
    for statement in gin.config_parser.ConfigParser(text, _Literal()):
        if isinstance(statement, gin.config_parser.ImportStatement):
            found.append((statement.module, f"line {statement.location.line_num}: {statement.format()}"))
        elif isinstance(statement, gin.config_parser.IncludeStatement):
            found.append((None, f"line {statement.location.line_num}: include {statement.filename!r}"))
    return found


def parse_loaded(text: str, path: Path, *, trusted_modules: set[str], trust: bool = False) -> None:
    """Parse a run directory's config.gin (`text`, read from `path` by the run directory) without running code from it.

    A run directory may come from someone else. gin executes `import` lines, reads `include`d
    files and, after `from __gin__ import dynamic_registration`, resolves attribute chains into
    any imported module's globals (`hbaezoo.paths.os.system`); so unless `trust` (--trust-config)
    only registered configurables may be bound: dynamic registration, includes and every import
    are refused, but for modules in `trusted_modules` (installed hbaezoo plugins the run
    recorded, and --plugin modules), which were imported before this and bind nothing new.
    """
    global _parsed
    _parsed = None
    gin.clear_config()
    load_core(skip=EVALUATION_KINDS)  # sampling needs no metric; a config that binds one loads them below
    if not trust:
        try:
            statements = code_statements(text)
        except PARSE_ERRORS as exc:
            raise explain(exc, str(path)) from exc
        refused = [line for module, line in statements if not _trusted(module, trusted_modules)]
        if refused:
            raise ConfigError(
                f"{path} would run code when loaded ({'; '.join(refused[:3])}{' ...' if len(refused) > 3 else ''}). "
                f"A run directory is data, not code: it may bind registered parts only (`hbaezoo list`), with no "
                f"dynamic registration, include or import but of installed hbaezoo plugins that the run recorded. If you trust where this run came from, pass --trust-config (or --plugin MODULE "
                f"for a module you have)."
            )
    try:
        _parse_file(path, text)
    except ConfigError:
        if core_loaded():
            raise
        gin.clear_config()
        load_core()  # the config names a part of a kind not yet loaded (a metric setting): load all, parse again
        _parse_file(path, text)
    _parsed = text


def _trusted(module: str | None, trusted: set[str]) -> bool:
    if module is None:
        return False
    # Not __gin__ (dynamic registration opens attribute chains into module globals), not hbaezoo itself.
    return any(module == t or module.startswith(t + ".") for t in trusted)

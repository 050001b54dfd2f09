"""A recipe's text: a file read with checks (a folder, not UTF-8, too large), its includes inlined,
and the texts a run records of it: config.gin (the recipe as given) and operative.gin (every value used).

Parsing that text into gin, and explaining gin's errors, is config.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import gin

from hbaezoo.errors import ConfigError


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
    from hbaezoo.rundir.lock import MAX_RUN_FILE

    try:
        size = path.stat().st_size
        if size > MAX_RUN_FILE:  # a run records it whole in config.gin, which is read back up to this size
            raise ConfigError(f"config file {path} is {size / 2**20:.0f} MiB; a recipe is text of a few KiB, and a run "
                              f"records it in config.gin, which hbaezoo reads back up to {MAX_RUN_FILE >> 20} MiB. "
                              f"Keep data (long lists of values) in files a part reads, not in the recipe.")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}.") from exc
    return decode_recipe(data, path)


def decode_recipe(data: bytes, path: str | Path) -> str:
    """A recipe's bytes as text; ConfigError naming the line and column of a byte that is not UTF-8.

    A byte-order mark at the start (some Windows editors write one) is dropped: gin reads it as a token."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 text: line {line}, column {column} holds the byte "
            f"0x{data[exc.start]:02x}. Save the file as UTF-8 (recipes are plain text)."
        ) from None


# gin/'s recipes include two levels deep; a longer chain is a mistake (and deep enough, a stack overflow).
MAX_INCLUDE_DEPTH = 32
INCLUDE = re.compile(r"""^include[ \t]+['"](?P<path>[^'"]+)['"][ \t]*(#[^\r\n]*)?\r?$""", re.MULTILINE)
# gin's import statements: a parse of one piece needs the ones its file made above it.
IMPORT = re.compile(r"^(?:import|from)[ \t]+\S")


def recipe_pieces(path: str | Path, _within: tuple[Path, ...] = ()) -> list[tuple[Path, str, str]]:
    """A recipe as (file, head, text) pieces in parse order: its own lines between `include`s,
    and each included file's pieces where its include stands (recursively). `head` stands for
    the file's lines above the piece: blank, but for gin `import` lines, which gin forgets
    between parses; so head + text parses as the piece did in the whole file, with the file's
    own line numbers. An included path is read next to the including file, else from the
    working directory."""
    path = Path(path)
    if len(_within) >= MAX_INCLUDE_DEPTH:
        raise ConfigError(f"config file {_within[0]} includes files more than {MAX_INCLUDE_DEPTH} deep ({_within[0].name}"
                          f" -> {_within[1].name} -> ... -> {path.name}). Include the shared files from the recipe "
                          f"itself, a level or two deep as gin/ does.")
    if path.resolve() in _within:
        raise ConfigError(f"config file {_within[0]} includes itself, directly or through the files it includes "
                          f"({' -> '.join(p.name for p in (*_within, path))}); remove the `include` line that "
                          f"closes the cycle.")
    text = read_recipe(path)

    def head(end: int) -> str:
        # A line cut short at `end` (the include line itself) gives no newline: the piece starts with it.
        return "".join(line if IMPORT.match(line) else "\n" if line.endswith("\n") else ""
                       for line in text[:end].splitlines(keepends=True))

    pieces, start = [], 0
    for m in INCLUDE.finditer(text):
        pieces.append((path, head(start), text[start:m.start()]))
        name = m["path"]
        found = next((c for c in (path.parent / name, Path(name)) if c.exists()), None)
        if found is None:
            raise ConfigError(f"{path}: include '{name}' not found next to the recipe ({path.parent / name}) "
                              f"or in the working directory.")
        pieces += recipe_pieces(found, (*_within, path.resolve()))
        start = m.end()
    pieces.append((path, head(start), text[start:]))
    return pieces


def inlined(path: str | Path, pieces: list[tuple[Path, str, str]]) -> str:
    """A recipe's text from its `recipe_pieces`, every include replaced by the included file's, so
    config.gin stands alone in a run directory; a comment marks where each file's lines resume."""
    out, current = [], Path(path)
    for file, _, text in pieces:
        if file != current:
            out.append(f"# ---- from {file.name}\n")
            current = file
        out.append(text if text.endswith("\n") or not text else text + "\n")
    return "".join(out)


def config_text(config_files: list[str | Path], bindings: list[str], texts: list[str]) -> str:
    """The recipe as given: each file's text (`texts`, as `parse` returned them: includes
    inlined, each file read once), then the bindings, in parse order."""
    parts = [f"# ---- {path}\n{text}" for path, text in zip(config_files, texts)]
    if bindings:
        parts.append("# ---- bindings (-b)\n" + "\n".join(bindings) + "\n")
    return "\n".join(parts)


def operative_text(versions: dict[str, str]) -> str:
    """Every gin value actually used so far, headed by package and plugin versions."""
    header = "".join(f"# {name} == {version}\n" for name, version in versions.items())
    return f"{header}\n{gin.operative_config_str()}"

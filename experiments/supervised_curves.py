"""Where the supervised few-shot baseline's validation accuracy peaks, by N (how long `probe_supervised` must train).

Runs `metrics.probe_supervised` on a run directory with patience high enough that nothing stops early, and
records every validation check (step, accuracy, cross-entropy) for each N, so that max_steps, check_every and
patience can be set from where the curves peak rather than guessed:

    python experiments/supervised_curves.py runs/ablation/tables/supervised --sizes 64 256 2048 --steps 400 400 800
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from hbaezoo.eval import fewshot  # noqa: E402
from hbaezoo.eval.runner import evaluate  # noqa: E402
from hbaezoo.files import write_text_atomic  # noqa: E402


def traced(curves: list):
    """train_with_early_stopping that appends (steps, score) at every check to a new list in `curves`."""
    plain = fewshot.train_with_early_stopping

    def wrapper(step, score, module, **kwargs):
        trace, done = [], [0]
        curves.append(trace)

        def counted_step():
            step()
            done[0] += 1

        def logged_score():
            out = score()
            trace.append([done[0], *out])
            return out

        return plain(counted_step, logged_score, module, **kwargs)

    return wrapper


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--sizes", type=int, nargs="+", required=True)
    ap.add_argument("--steps", type=int, nargs="+", required=True, help="steps to train each size (one per size)")
    ap.add_argument("--check-every", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0, help="the probe seed (which N examples, which fresh encoder)")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("-b", "--binding", action="append", default=[], help="more metric bindings, e.g. the batch size")
    ap.add_argument("--out", default="results/supervised_curves/curves.json")
    args = ap.parse_args(argv)
    if len(args.steps) != len(args.sizes):
        ap.error(f"--steps needs one count per size: {len(args.sizes)} sizes, {len(args.steps)} counts")
    # Probe seed s is the s-th seed of the metric: run seeds 0..s and keep only the last one's curves.
    found = {}
    for n, steps in zip(args.sizes, args.steps):
        curves: list = []
        fewshot.train_with_early_stopping = traced(curves)
        start = time.time()
        evaluate(args.run_dir, metrics="probe_supervised", n=args.n, progress=False, cache=False,
                 out=Path("/tmp") / f"supervised_curves_{n}.json",
                 bindings=["metrics.probe_supervised.kinds = ('image',)", f"metrics.probe_supervised.sizes = ({n},)",
                           f"metrics.probe_supervised.seeds = {args.seed + 1}",
                           f"metrics.probe_supervised.max_steps = {steps}",
                           f"metrics.probe_supervised.check_every = {args.check_every}",
                           f"metrics.probe_supervised.patience = {steps}", *args.binding])
        trace = curves[-1]
        best = max(trace, key=lambda row: (row[1], row[2]))
        found[str(n)] = {"checks": [[s, round(100 * a, 2), round(-l, 4)] for s, a, l in trace],
                         "best_step": best[0], "best_accuracy": round(100 * best[1], 2),
                         "seconds": round(time.time() - start, 1)}
        print(f"N={n}: best validation accuracy {100 * best[1]:.1f} % at step {best[0]} of {steps} "
              f"({found[str(n)]['seconds']:.0f} s)", flush=True)
    record = {"command": shlex.join(["python", "experiments/supervised_curves.py", *(argv or sys.argv[1:])]),
              "run_dir": args.run_dir, "seed": args.seed, "bindings": args.binding, "check_every": args.check_every,
              "columns": ["step", "validation accuracy %", "validation cross-entropy"], "sizes": found}
    write_text_atomic(REPO / args.out, json.dumps(record, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The hostile-input battery (issues 17 and 24), whose records make docs/reliability.md's figures.

    python benchmarks/battery.py [--only NAME] [--modules cases_escapes,...] [--skip NAME]
                                            [--code CHECKOUT] [--out results/battery/NAME.json --note "..."]

Runs every case of tests/battery/ (cases_*.py) in a fresh temporary folder and counts the
outcomes: clear error, correct, traceback, hang, data loss, code executed, unclear, wrong, not
run. With --out it writes a record (every case's family, module and outcome, the counts, the
commit of the code measured); experiments/tables.py builds docs/reliability.md's tables from
the records in results/battery/. To measure another checkout (the figures before a fix), give
its folder with --code: the record names the commit of the hbaezoo it imported. A case with no
answer after HBAEZOO_BATTERY_TIMEOUT seconds (120) counts as a hang: on a loaded machine, run it
at normal priority (under `nice -n 19` the cases that start an `hbaezoo` process starve past it).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "battery"))
from common import record_options, write_record  # noqa: E402  (puts this checkout first on sys.path)

# --code DIR: measure another checkout's hbaezoo (the code before a fix): ahead of this one, before anything imports it.
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv[:-1] else None
if CODE is not None:
    sys.path.insert(0, str(CODE))

import battery_cases as battery  # noqa: E402

import hbaezoo  # noqa: E402


def measured_code() -> dict:
    """Which hbaezoo ran: the commit of the checkout it was imported from, and whether its code had changes."""
    root = Path(hbaezoo.__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short=7", "HEAD") or "unknown",
            "uncommitted_changes": bool(git("status", "--porcelain", "--", "hbaezoo"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--modules", default="", help="comma-separated case modules to run, e.g. cases_escapes")
    parser.add_argument("--skip", action="append", default=[],
                        help="a case not to run (counted as 'not run'), e.g. one that would exhaust memory on old code")
    parser.add_argument("--code", type=Path, help="a checkout whose hbaezoo to measure (default: this one's)")
    record_options(parser)
    args = parser.parse_args()
    if CODE is not None and Path(hbaezoo.__file__).resolve().parents[1] != CODE:
        raise SystemExit(f"--code {CODE}: hbaezoo was imported from {Path(hbaezoo.__file__).parent} instead")
    modules = {m for m in args.modules.split(",") if m}
    print(f"hbaezoo from {Path(hbaezoo.__file__).resolve().parents[1]} ({measured_code()})")
    counts, cases, start = collections.Counter(), [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hbaezoo-battery-") as tmp:
        # The run the cases copy is trained once, in this folder: removed with it, out of other processes' way.
        os.environ["HBAEZOO_BATTERY_CACHE"] = tmp
        for i, (family, name, fn) in enumerate(battery.CASES):
            if args.only not in name or (modules and fn.__module__ not in modules):
                continue
            root = Path(tmp) / f"case{i}"
            root.mkdir()
            t = time.perf_counter()
            if name in args.skip:
                outcome, detail = "not run", "skipped (--skip)"
            else:
                outcome, detail = battery.run_case(fn, root)
            counts[outcome] += 1
            cases.append({"family": family, "module": fn.__module__, "name": name, "outcome": outcome,
                          "seconds": round(time.perf_counter() - t, 1)})
            flag = "" if outcome in ("clear error", "correct") else "   <<<<"
            print(f"{family:12s} {name:58s} {outcome:14s} {time.perf_counter() - t:5.1f}s{flag}", flush=True)
            if flag:
                print(f"    {detail}", flush=True)
    total = sum(counts.values())
    seconds = time.perf_counter() - start
    print(f"\n{total} cases in {seconds:.0f} s: " + ", ".join(f"{k} {counts[k]}" for k in battery.OUTCOMES))
    write_record(args, "cpu", code=measured_code(), seconds=round(seconds), cases_tried=total,
                 counts={k: counts[k] for k in battery.OUTCOMES}, cases=cases)
    return 0 if total == counts["clear error"] + counts["correct"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The bad-input battery of issue 17, with the figures of docs/reliability.md.

    nice -n 19 python benchmarks/battery.py [--only NAME_SUBSTRING] [--markdown]

Runs every case of tests/battery/ (cases_*.py) in a fresh temporary folder and counts the
outcomes: clear error, correct, traceback, hang, data loss, code executed, unclear, wrong.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "battery"))

import battery_cases as battery  # noqa: E402
from common import machine  # noqa: E402

import hbaezoo  # noqa: E402,F401


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    counts, rows, start = collections.Counter(), [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hbaezoo-battery-") as tmp:
        for i, (family, name, fn) in enumerate(battery.CASES):
            if args.only not in name:
                continue
            root = Path(tmp) / f"case{i}"
            root.mkdir()
            t = time.perf_counter()
            outcome, detail = battery.run_case(fn, root)
            counts[outcome] += 1
            rows.append((family, name, outcome))
            flag = "" if outcome in ("clear error", "correct") else "   <<<<"
            print(f"{family:12s} {name:58s} {outcome:14s} {time.perf_counter() - t:5.1f}s{flag}", flush=True)
            if flag:
                print(f"    {detail}", flush=True)
    total = sum(counts.values())
    print(f"\n{total} cases in {time.perf_counter() - start:.0f} s: " + ", ".join(f"{k} {counts[k]}" for k in battery.OUTCOMES))
    if args.markdown:
        by_family = collections.Counter(f for f, _, _ in rows)
        print("\n| family | cases |\n|---|---|")
        for family, n in by_family.items():
            print(f"| {family} | {n} |")
        print("\n| cases tried | clear errors | correct behaviour | tracebacks | hangs | data loss | code executed from a run directory | unclear / wrong |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {total} | {counts['clear error']} | {counts['correct']} | {counts['traceback']} | {counts['hang']} | "
              f"{counts['data loss']} | {counts['code executed']} | {counts['unclear'] + counts['wrong']} |")
    return 0 if total == counts["clear error"] + counts["correct"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

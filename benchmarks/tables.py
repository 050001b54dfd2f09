"""Write the measured tables of docs/performance.md from the JSON the benchmarks wrote (--out).

A table lives between `<!-- table:NAME -->` and `<!-- /table:NAME -->` and is rebuilt from
results/benchmarks/NAME*.json; nothing in it is typed by hand.

    python benchmarks/tables.py            # rewrite docs/performance.md in place
    python benchmarks/tables.py --check    # exit 1 if the doc is not what the records give
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "performance.md"
RECORDS = REPO / "results" / "benchmarks"


def compiled() -> str:
    """One row per recipe and record of compiled.py: images/s per mode and the ratio to eager."""
    rows = ["| recipe (batch) | machine | rounds (median) | eager img/s | compiled img/s | ratio | reduce-overhead img/s | ratio |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for path in sorted(RECORDS.glob("compiled*.json")):
        record = json.loads(path.read_text())
        for recipe, figures in record["recipes"].items():
            rate = figures["images_per_s"]
            batch, set_size = figures["batch"]
            shape = f"{batch} sets × {set_size}" if set_size else f"{batch}"
            graphs = rate.get("reduce-overhead")
            rows.append(
                f"| {recipe} ({shape}) | {record['machine']} | {record['rounds']} | {rate['eager']:.1f} | {rate['compile']:.1f} | "
                f"**{rate['compile'] / rate['eager']:.3f}** | "
                + (f"{graphs:.1f} | {graphs / rate['eager']:.3f} |" if graphs else "— | — |")
            )
    return "\n".join(rows)


TABLES = {"compiled": compiled}


def render(doc: str) -> str:
    def replace(m: re.Match) -> str:
        name = m[1]
        return f"<!-- table:{name} -->\n{TABLES[name]()}\n<!-- /table:{name} -->"

    return re.sub(r"<!-- table:(\S+) -->.*?<!-- /table:\1 -->", replace, doc, flags=re.S)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc differs from the records")
    args = parser.parse_args(argv)
    doc = DOC.read_text()
    new = render(doc)
    if args.check:
        if new != doc:
            print(f"{DOC} is not what results/benchmarks/ gives: run python benchmarks/tables.py")
            return 1
        return 0
    DOC.write_text(new)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""docs/reliability.md's battery tables, from the records benchmarks/battery.py wrote with --out (results/battery/*.json).

Each function returns one markdown table; experiments/tables.py puts it between the doc's
`<!-- table:NAME -->` markers. A record is one run of the battery: its command, machine, date,
note, the commit of the code it measured, and every case's family, module and outcome.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "results" / "battery"
#: The case modules issue 24 added (tests/battery/): its cases, counted apart before and after its fixes.
ISSUE_24 = ("cases_escapes", "cases_tracebacks", "cases_unclear", "cases_read_only")
COLUMNS = (("clear errors", ("clear error",)), ("correct behaviour", ("correct",)), ("tracebacks", ("traceback",)),
           ("hangs", ("hang",)), ("data loss", ("data loss",)), ("code executed from a run directory", ("code executed",)),
           ("unclear / wrong", ("unclear", "wrong")), ("not run", ("not run",)))


def records() -> list[tuple[str, dict]]:
    """(file name, record) of every battery record, oldest measurement first."""
    found = [(p.stem, json.loads(p.read_text())) for p in sorted(ROOT.glob("*.json"))]
    return sorted(found, key=lambda item: (item[1]["date"], item[0]))


def _label(name: str, record: dict) -> str:
    code = record["code"]["commit"] + (" + uncommitted changes" if record["code"]["uncommitted_changes"] else "")
    note = f"; {record['note']}" if record.get("note") else ""
    return f"`{name}`: code {code}, {record['date']}{note}"


def _row(label: str, cases: list[dict]) -> str:
    counts = collections.Counter(c["outcome"] for c in cases)
    cells = [str(sum(counts[o] for o in outcomes)) for _, outcomes in COLUMNS]
    return f"| {label} | {len(cases)} | " + " | ".join(cells) + " |"


def _table(first: str, rows: list[str]) -> str:
    head = f"| {first} | cases tried | " + " | ".join(name for name, _ in COLUMNS) + " |"
    return "\n".join([head, "|" + "---|" * (len(COLUMNS) + 2), *rows])


def battery() -> str:
    """Every record: all the cases it ran."""
    return _table("record", [_row(_label(name, r), r["cases"]) for name, r in records()])


def battery_issue_24() -> str:
    """Every record that ran issue 24's cases: those cases only, before and after its fixes."""
    rows = []
    for name, r in records():
        cases = [c for c in r["cases"] if c["module"] in ISSUE_24]
        if cases:
            rows.append(_row(_label(name, r), cases))
    return _table("record (issue 24's cases only)", rows)


def battery_families() -> str:
    """The newest record that ran every case module: cases per family and what they ended in."""
    full = [(name, r) for name, r in records() if not _restricted(r)]
    if not full:
        return "| family | cases |\n|---|---|"
    name, r = full[-1]
    by_family: dict[str, list[dict]] = collections.defaultdict(list)
    for c in r["cases"]:
        by_family[c["family"]].append(c)
    return _table(f"family (`{name}`)", [_row(family, cases) for family, cases in by_family.items()])


def _restricted(record: dict) -> bool:
    return any(flag in record["command"] for flag in ("--only", "--modules"))


TABLES = {"battery": battery, "battery_issue_24": battery_issue_24, "battery_families": battery_families}

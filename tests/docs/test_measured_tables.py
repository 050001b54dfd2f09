"""The tables of docs/results.md, docs/performance.md and docs/reliability.md are what the recorded runs give (never typed)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_doc_tables_match_their_records():
    done = subprocess.run([sys.executable, str(REPO / "experiments/tables.py"), "--check"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_performance_table_has_records(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "experiments"))
    import performance_tables

    for name, table in performance_tables.TABLES.items():
        rows = [line for line in table().splitlines() if line.startswith("| ") and "---" not in line]
        assert len(rows) > 1, f"table {name} has no record under results/"


def test_every_battery_table_has_records(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "experiments"))
    import battery_tables

    for name, table in battery_tables.TABLES.items():
        rows = [line for line in table().splitlines() if line.startswith("| ") and "---" not in line]
        assert len(rows) > 1, f"table {name} has no record under results/battery/"
    assert any(r["code"]["commit"] != "unknown" for _, r in battery_tables.records())


def test_a_benchmark_record_names_its_command_without_out_and_note(tmp_path, monkeypatch):
    import argparse
    import json

    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import common

    out = tmp_path / "r.json"
    monkeypatch.setattr(sys, "argv", [str(REPO / "benchmarks/compiled.py"), "--recipe", "a.gin", "--out", str(out),
                                      "--note", "why", "-b", "Trainer.amp = 'bf16'"])
    common.write_record(argparse.Namespace(out=out, note="why"), "cpu", rounds=3)
    record = json.loads(out.read_text())
    assert record["benchmark"] == "compiled"
    assert record["command"] == "python compiled.py --recipe a.gin -b \"Trainer.amp = 'bf16'\""
    assert (record["note"], record["rounds"]) == ("why", 3)
    assert record["machine"].startswith("device cpu")
    common.write_record(argparse.Namespace(out=None, note=""), "cpu", rounds=3)  # without --out: nothing written

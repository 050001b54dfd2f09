"""The tables of docs/results.md and docs/performance.md are what the recorded runs give (never typed)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("script", ["experiments/tables.py", "benchmarks/tables.py"])
def test_doc_tables_match_their_records(script):
    done = subprocess.run([sys.executable, str(REPO / script), "--check"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

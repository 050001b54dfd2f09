"""The tables of docs/results.md and docs/performance.md are what the recorded runs give (never typed)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_doc_tables_match_their_records():
    done = subprocess.run([sys.executable, str(REPO / "experiments/tables.py"), "--check"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr

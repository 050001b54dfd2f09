"""Every case of the battery (issues 17 and 24) ends in a clear error or correct behaviour (no traceback, hang,
data loss or code run from a run directory). benchmarks/battery.py prints the same as figures."""

import pytest
from battery_cases import CASES, run_case


@pytest.mark.parametrize("fn", [fn for _, _, fn in CASES], ids=[f"{family}-{name}" for family, name, _ in CASES])
def test_case_ends_in_a_clear_error_or_correct_behaviour(fn, tmp_path, monkeypatch):
    monkeypatch.setenv("HBAEZOO_BATTERY_CACHE", str(tmp_path.parent))
    outcome, detail = run_case(fn, tmp_path)
    if outcome == "not run":  # this machine cannot make the case's setup (e.g. a read-only mount)
        pytest.skip(detail)
    assert outcome in ("clear error", "correct"), f"{outcome}: {detail}"

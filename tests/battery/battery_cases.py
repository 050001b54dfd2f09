"""Every case of the battery (tests/battery/battery_harness.py holds the harness), in the order they run."""

import cases_checkpoints  # noqa: F401  (each module registers its cases)
import cases_run_dirs  # noqa: F401
import cases_inputs  # noqa: F401
import cases_escapes  # noqa: F401
import cases_tracebacks  # noqa: F401
import cases_unclear  # noqa: F401
import cases_read_only  # noqa: F401
from battery_harness import CASES, OUTCOMES, run_case  # noqa: F401

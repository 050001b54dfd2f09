"""What an evaluation's results.json may hold, read defensively: a file edited by hand, or received from
elsewhere, may put anything where a number or an object belongs (`hbaezoo eval` keeps, `hbaezoo report` shows)."""

from __future__ import annotations

import math


def finite_number(value) -> bool:
    """True for an int or float that is finite (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def as_dict(value) -> dict:
    """`value` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}

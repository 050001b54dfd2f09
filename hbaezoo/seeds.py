"""The range a seed may take: it reaches NumPy's global RNG, whose seeds are 32-bit (torch's are 64-bit).

Checked where a seed enters (Trainer.seed, the seed a model is built with, `--seed`), so that a seed
of 2**64 is refused by name rather than as torch's "Overflow when unpacking long long".
"""

from __future__ import annotations

from hbaezoo.errors import ConfigError

MAX_SEED = 2**32 - 1


def check_seed(seed, what: str) -> int:
    """`seed` if it is a whole number in [0, MAX_SEED]; ConfigError naming `what` otherwise."""
    if type(seed) is not int or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{what} must be a whole number from 0 to {MAX_SEED} (2**32 - 1), got {seed!r}.")
    return seed

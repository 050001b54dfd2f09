"""Early stopping on a held-out score: train until it stops improving, then restore the best weights.

Used by the supervised few-shot baseline (hbaezoo/eval/fewshot.py) so that it trains as long as
its validation accuracy says it should, not for a fixed number of steps that suits one N and
not another.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class Stopped:
    """Where training stopped: the best score, the step it was reached at, the steps run, and whether
    max_steps ended it before `patience` checks had passed without improvement."""

    best: tuple[float, ...]
    best_step: int
    steps: int
    cut_short: bool = False


def train_with_early_stopping(
    step: Callable[[], None],
    score: Callable[[], tuple[float, ...]],
    module: nn.Module,
    *,
    max_steps: int,
    check_every: int,
    patience: int,
) -> Stopped:
    """Call `step()` up to `max_steps` times; every `check_every` steps (and before the first) compare
    `score()` (a tuple, higher is better, compared in order: accuracy, then −loss) with the best so far.
    Stop after `patience` checks without improvement; `module` then holds the weights of the best check.
    """
    for name, value, low in (("max_steps", max_steps, 0), ("check_every", check_every, 1), ("patience", patience, 1)):
        if type(value) is not int or value < low:
            raise ValueError(f"early stopping: {name} must be an integer >= {low}, got {value!r}")
    best, best_step = tuple(score()), 0
    best_state = copy.deepcopy(module.state_dict())
    waited, done = 0, 0
    while done < max_steps and waited < patience:
        for _ in range(min(check_every, max_steps - done)):
            step()
            done += 1
        current = tuple(score())
        if current > best:
            best, best_step, waited = current, done, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            waited += 1
    module.load_state_dict(best_state)
    return Stopped(best=best, best_step=best_step, steps=done, cut_short=waited < patience)

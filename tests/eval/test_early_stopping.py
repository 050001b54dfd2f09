"""Early stopping: it stops once the held-out score stops improving and leaves the best weights behind;
the supervised few-shot baseline uses it and reports where it stopped."""

import pytest
import torch
from torch import nn

from hbaezoo.eval.early_stopping import train_with_early_stopping


def toy(peak: int):
    """A one-weight module stepped by +1; its score rises until the weight reaches `peak`, then falls."""
    module = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(module.weight)
    calls = []

    def step():
        calls.append(1)
        with torch.no_grad():
            module.weight += 1

    def score():
        w = float(module.weight.detach())
        return (-abs(w - peak),)

    return module, step, score, calls


def test_it_stops_after_patience_checks_without_improvement_and_restores_the_best_weights():
    module, step, score, calls = toy(peak=30)
    stopped = train_with_early_stopping(step, score, module, max_steps=1000, check_every=10, patience=3)
    assert stopped.best_step == 30 and stopped.best == (0.0,)
    assert stopped.steps == 60 and len(calls) == 60, "three checks (40, 50, 60) without improvement, then stop"
    assert not stopped.cut_short, "patience ended it, not max_steps"
    assert float(module.weight.detach()) == 30.0, "the weights of the best check are restored, not the last ones"


def test_it_runs_to_max_steps_while_the_score_keeps_improving():
    module, step, score, _ = toy(peak=10_000)
    stopped = train_with_early_stopping(step, score, module, max_steps=95, check_every=10, patience=2)
    assert stopped.steps == 95 and stopped.best_step == 95 and float(module.weight.detach()) == 95.0
    assert stopped.cut_short, "max_steps ended it while the score still improved"


def test_ties_do_not_count_as_improvement_and_the_second_entry_breaks_them():
    module = nn.Linear(1, 1, bias=False)
    scores = iter([(0.5, -2.0), (0.5, -1.0), (0.5, -1.0), (0.5, -1.0)])
    stopped = train_with_early_stopping(lambda: None, lambda: next(scores), module, max_steps=100, check_every=1,
                                        patience=2)
    assert stopped.best == (0.5, -1.0) and stopped.best_step == 1 and stopped.steps == 3


def test_untrained_weights_are_kept_when_no_step_helps():
    module, step, score, _ = toy(peak=0)
    stopped = train_with_early_stopping(step, score, module, max_steps=100, check_every=5, patience=2)
    assert stopped.best_step == 0 and float(module.weight.detach()) == 0.0


@pytest.mark.parametrize("bad", [dict(check_every=0), dict(patience=0), dict(max_steps=-1)])
def test_bad_settings_say_which(bad):
    module, step, score, _ = toy(peak=3)
    kwargs = {**dict(max_steps=10, check_every=1, patience=1), **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        train_with_early_stopping(step, score, module, **kwargs)


def test_the_supervised_baseline_stops_early_and_reports_where():
    from hbaezoo.eval.fewshot import probe_supervised
    from hbaezoo.eval.toy import toy_context
    from hbaezoo.registry import MODELS
    from hbaezoo.testing import Sizes, tiny_model

    def untrained(seed):
        torch.manual_seed(seed)
        return tiny_model(MODELS.get("vae"), Sizes(resolution=16, num_classes=4))

    ctx = toy_context(untrained(0), build_untrained=untrained, n=8)
    out = probe_supervised(ctx, sizes=(8, 16), seeds=2, kinds=("image",), max_steps=400, check_every=5, patience=2)
    assert {"image/8", "image/16", "image/8_std", "best_step/image/8", "best_step/image/16"} <= set(out)
    assert all(out[f"best_step/image/{n}"] <= out[f"steps_run/image/{n}"] for n in (8, 16))
    assert out["cut_at_max_steps/image/8"] == out["cut_at_max_steps/image/16"] == 0, "it stopped by patience"
    assert all(0 <= out[f"image/{n}"] <= 100 for n in (8, 16))
    assert all(0 <= out[f"best_step/image/{n}"] < 400 for n in (8, 16)), "coloured noise is learned well before 400 steps"
    assert out["image/16"] > out["chance"], "trained on 16 labelled images, it beats guessing the largest class"

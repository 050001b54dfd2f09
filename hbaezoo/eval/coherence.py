"""Sets: do the elements of one generated set show one category, and the category of the set they came from?

Every element is labelled by the run's semantic classifier (hbaezoo.eval.classifier), and each
value is printed beside the same quantity on real test data (hbaezoo.eval.labelling). Sets of
real views come from `ctx.set_indices("test", ...)`: one object each, so truly coherent.

  set_coherence        sets drawn from prior codes (`model.sample_sets`): are their elements
                       of one category?
  set_recon_agreement  one new set of K elements from the code of each real test set of K
                       views (`model.reconstruct_set(x, K)`): of the input set's category?
  set_complete         new elements from the code of only the first `given` views of a real
                       set (`model.reconstruct_set(x[:, :given], K - given)`): of the category
                       of the views given? (set completion; beyond the paper)
"""

from __future__ import annotations

import torch
from einops import rearrange

from hbaezoo.errors import ConfigError
from hbaezoo.eval.classifier import TINY_SETTINGS, ClassifierSettings, set_probabilities, trained_classifier
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.labelling import agreement, default_sets, real_accuracy, real_reference, real_sets, set_summary
from hbaezoo.registry import METRICS


@METRICS.register("set_coherence")
@check_kwargs(sets=4, classifier=TINY_SETTINGS)
def set_coherence(ctx: EvalContext, *, sets: int | None = None, set_size: int | None = None,
                  classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """% of generated sets (sample_sets) whose elements all get one label, beside real test sets of the same size."""
    num_classes = ctx.require_labels("set coherence")
    m, k = default_sets(ctx, sets, set_size)
    with ctx.seeded("set_coherence"):
        generated = ctx.batched("sampling sets", m, lambda s, b: ctx.model.sample_sets(b, k).flatten(0, 1))
    probs = set_probabilities(trained_classifier(ctx, classifier), rearrange(generated, "(m k) c h w -> m k c h w", k=k))
    # Independent draws with the generated labels' class frequencies p agree in all K with chance sum_c p_c^K.
    p = torch.bincount(probs.argmax(-1).flatten(), minlength=num_classes).double() / (m * k)
    real = real_sets(ctx, m, k, classifier)
    return {**set_summary(probs), **{f"real/{key}": value for key, value in real.items()},
            "independent_chance": 100.0 * float((p**k).sum()), "real/accuracy": real_accuracy(ctx, classifier),
            "sets": float(m), "set_size": float(k)}


def real_test_sets(ctx: EvalContext, m: int, k: int, key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """m sets of k views of one test object each: (uint8 images [m, k, C, H, W], true labels [m])."""
    index = ctx.set_indices("test", m, k, distinct=False, key=key)
    images = rearrange(ctx.load("test", index.flatten()), "(m k) c h w -> m k c h w", k=k)
    return images, ctx.labels("test")[index[:, 0]]


def from_set_codes(ctx: EvalContext, description: str, inputs: torch.Tensor, k: int) -> torch.Tensor:
    """k new elements from the code of each real set: uint8 inputs [m, K', C, H, W] -> uint8 [m, k, C, H, W]."""
    new = ctx.batched(description, len(inputs), lambda s, b: rearrange(
        ctx.model.reconstruct_set(ctx.to_model(inputs[s:s + b]), k), "b k c h w -> (b k) c h w"))
    return rearrange(new, "(m k) c h w -> m k c h w", k=k)


@METRICS.register("set_recon_agreement")
@check_kwargs(sets=3, classifier=TINY_SETTINGS)
def set_recon_agreement(ctx: EvalContext, *, sets: int | None = None, set_size: int | None = None,
                        classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """% of the elements of a set drawn from a real test set's code labelled as that set's class."""
    ctx.require_labels("set reconstruction agreement")
    m, k = default_sets(ctx, sets, set_size)
    inputs, labels = real_test_sets(ctx, m, k, "set_recon_agreement")
    with ctx.seeded("set_recon_agreement"):
        new = from_set_codes(ctx, "reconstructing sets", inputs, k)
    probs = set_probabilities(trained_classifier(ctx, classifier), new)
    reference = real_reference(ctx, classifier)
    return {**agreement(probs.argmax(-1), labels[:, None], reference["real/accuracy"]),
            "coherent": set_summary(probs)["coherent"], **reference, "sets": float(m), "set_size": float(k)}


@METRICS.register("set_complete")
@check_kwargs(sets=3, given=1, classifier=TINY_SETTINGS)
def set_complete(ctx: EvalContext, *, sets: int | None = None, given: int = 2, set_size: int | None = None,
                 classifier: ClassifierSettings | None = None) -> dict[str, float]:
    """Set completion: % of K - given elements drawn from the code of `given` real views labelled as their class.

    K is `set_size`, else the run's set size (at least given + 1).
    """
    if type(given) is not int or given < 1:
        raise ConfigError(f"metrics.set_complete.given must be a whole number >= 1, got {given!r}")
    k = set_size or max(ctx.set_size, given + 1)
    if k <= given:
        raise ConfigError(f"metrics.set_complete.set_size ({k}) must exceed metrics.set_complete.given ({given}): "
                         f"the model draws set_size - given new elements")
    ctx.require_labels("set completion")
    m, _ = default_sets(ctx, sets, k)
    inputs, labels = real_test_sets(ctx, m, k, "set_complete")
    with ctx.seeded("set_complete"):
        new = from_set_codes(ctx, "completing sets", inputs[:, :given], k - given)
    net = trained_classifier(ctx, classifier)
    probs = set_probabilities(net, new)
    reference = real_reference(ctx, classifier)
    # The views the model did not see: their coherence is the ceiling for the generated elements'.
    held_out = set_summary(set_probabilities(net, inputs[:, given:]))["coherent"]
    return {**agreement(probs.argmax(-1), labels[:, None], reference["real/accuracy"]),
            "coherent": set_summary(probs)["coherent"], **reference, "real/held_out_coherent": held_out,
            "given": float(given), "sets": float(m), "set_size": float(k)}

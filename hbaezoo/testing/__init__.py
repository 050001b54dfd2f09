"""Property checks every registered part must pass, for core parts and plugins alike.

`check_part(kind, factory, sizes)` builds the part the way a model would (the shape
contract of docs/architecture.md) and checks: output shapes, finite values,
gradients reaching every parameter, a state_dict round trip, determinism under a
seed and, for poolers, invariance to the order of a set's elements. Plugin authors
call the same function in their own tests:

    from hbaezoo.testing import Sizes, check_part
    check_part("poolers", MyPooler, Sizes())

A part whose defaults cannot be built in a test (it needs weights on disk, say) sets
a class attribute `TEST_KWARGS = {...}` with the keyword arguments to use instead.
"""

from __future__ import annotations

from collections.abc import Callable

from hbaezoo.testing.common import (
    Sizes,
    check_deterministic,
    check_gradients,
    check_state_dict_round_trip,
    skip,
)
from hbaezoo.testing.data import check_dataset, check_extractor, check_metric, check_sampler
from hbaezoo.testing.models import check_model, check_phase_directions, tiny_model
from hbaezoo.testing.parts import (
    check_adversarial,
    check_classifier,
    check_discriminator,
    check_divergence,
    check_encoder,
    check_generator,
    check_head,
    check_optimizer,
    check_penalty,
    check_pooler,
    check_prior,
    check_regulariser,
    check_schedule,
)

CHECKS: dict[str, Callable[..., None]] = {
    "encoders": check_encoder,
    "poolers": check_pooler,
    "heads": check_head,
    "generators": check_generator,
    "discriminators": check_discriminator,
    "divergences": check_divergence,
    "priors": check_prior,
    "regularisers": check_regulariser,
    "classifiers": check_classifier,
    "penalties": check_penalty,
    "adversarial": check_adversarial,
    "optimizers": check_optimizer,
    "schedules": check_schedule,
    "models": check_model,
    "datasets": check_dataset,
    "samplers": check_sampler,
    "extractors": check_extractor,
    "metrics": check_metric,
}


def check_part(kind: str, factory, sizes: Sizes | None = None, name: str | None = None) -> None:
    """Run the checks of `kind` on a part (a registered factory or any class of that kind)."""
    if kind not in CHECKS:
        raise KeyError(f"no property checks for kind '{kind}'; kinds with checks: {sorted(CHECKS)}")
    CHECKS[kind](factory, sizes or Sizes(), name=name or getattr(factory, "__name__", kind))


__all__ = ["CHECKS", "Sizes", "check_adversarial", "check_classifier", "check_dataset", "check_deterministic",
    "check_discriminator", "check_divergence", "check_encoder", "check_extractor", "check_generator",
    "check_gradients", "check_head", "check_metric", "check_model", "check_optimizer", "check_part",
    "check_penalty", "check_phase_directions", "check_pooler", "check_prior", "check_regulariser", "check_sampler",
    "check_schedule", "check_state_dict_round_trip", "skip", "tiny_model"]

"""Core parts; importing this package registers them."""

from hbaezoo.components import (  # noqa: F401
    adversarial,
    classifiers,
    discriminators,
    divergences,
    encoders,
    generators,
    heads,
    optimizers,
    penalties,
    poolers,
    priors,
    regularisers,
)

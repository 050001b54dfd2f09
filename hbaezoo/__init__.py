"""hbaezoo: Hierarchical Bayes Autoencoders and their control models as a zoo of registered parts."""

__version__ = "0.1.0"

import hbaezoo.gin_import  # noqa: F401  (first: says clearly if gin-config is missing or shadowed)
from hbaezoo import components, data, models, sampling  # noqa: F401  (import registers the core parts)
from hbaezoo import eval as _eval  # noqa: F401  (registers metrics and feature extractors)
from hbaezoo.plugins import load_plugins
from hbaezoo.registry import REGISTRIES, registry

__all__ = ["REGISTRIES", "__version__", "load_plugins", "registry"]

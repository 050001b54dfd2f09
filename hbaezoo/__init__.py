"""hbaezoo: Hierarchical Bayes Autoencoders and their control models as a zoo of registered parts."""

__version__ = "0.1.0"

from hbaezoo import components, data, models, sampling  # noqa: E402,F401  (import registers the core parts)
from hbaezoo import eval as _eval  # noqa: E402,F401  (registers metrics and feature extractors)
from hbaezoo.plugins import load_plugins  # noqa: E402
from hbaezoo.registry import REGISTRIES, registry  # noqa: E402

__all__ = ["REGISTRIES", "load_plugins", "registry", "__version__"]

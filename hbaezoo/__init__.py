"""hbaezoo: Hierarchical Bayes Autoencoders and their control models as a zoo of registered parts.

The registries live in the submodule `hbaezoo.registry` (`import hbaezoo.registry as reg`,
`from hbaezoo.registry import POOLERS`, `reg.registry("poolers")`); no attribute of this
package may share a submodule's name, or `import hbaezoo.x as m` would give the attribute.
"""

__version__ = "0.1.0"

import hbaezoo.gin_import  # noqa: F401  (first: says clearly if gin-config is missing or shadowed)
from hbaezoo import components, data, models, sampling  # noqa: F401  (import registers the core parts)
from hbaezoo import eval as _eval  # noqa: F401  (registers metrics and feature extractors)
from hbaezoo.plugins import load_plugins
from hbaezoo.registry import REGISTRIES

__all__ = ["REGISTRIES", "__version__", "load_plugins"]

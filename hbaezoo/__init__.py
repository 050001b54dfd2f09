"""hbaezoo: Hierarchical Bayes Autoencoders and their control models as a zoo of registered parts.

The registries live in the submodule `hbaezoo.registry` (`import hbaezoo.registry as reg`,
`from hbaezoo.registry import POOLERS`, `reg.registry("poolers")`); no attribute of this
package may share a submodule's name, or `import hbaezoo.x as m` would give the attribute.
Importing the package is cheap: a kind's core parts are imported the first time its
registry is asked (`POOLERS.names()`), or all at once by `hbaezoo.registry.load_core()`.
"""

from importlib.metadata import PackageNotFoundError, version

import hbaezoo.gin_import  # noqa: F401  (first: says clearly if gin-config is missing or shadowed)
from hbaezoo.plugins import load_plugins
from hbaezoo.registry import REGISTRIES

try:
    __version__ = version("hbaezoo")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["REGISTRIES", "__version__", "load_plugins"]

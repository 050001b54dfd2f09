"""hbaezoo: Hierarchical Bayes Autoencoders and their control models as a zoo of registered parts.

The Python API (docs/api.md):

    run = hbaezoo.train("gin/hbae_shapes.gin", ["Trainer.steps = 200"], run_dir="runs/mine")
    run = hbaezoo.load("runs/mine")       # .model .config .step; encode, reconstruct, sample, ...
    model, dataset = hbaezoo.build("gin/hbae_shapes.gin")

The registries live in the submodule `hbaezoo.registry` (`import hbaezoo.registry as reg`,
`from hbaezoo.registry import POOLERS`, `reg.registry("poolers")`); no attribute of this
package may share a submodule's name, or `import hbaezoo.x as m` would give the attribute.
Importing the package is cheap: `load`, `train`, `build` and `Run` import torch and the model
code when first used, and a kind's core parts are imported the first time its registry is asked
(`POOLERS.names()`), or all at once by `hbaezoo.registry.load_core()`.
"""

import hbaezoo.gin_import  # noqa: F401  (first: says clearly if gin-config is missing or shadowed)
from hbaezoo.about import __version__
from hbaezoo.plugins import load_plugins
from hbaezoo.registry import REGISTRIES

_API = ("Run", "build", "load", "train")  # in hbaezoo.api, imported on first use (it imports torch)

__all__ = ["REGISTRIES", "Run", "__version__", "build", "load", "load_plugins", "train"]


def __getattr__(name: str):
    if name in _API:
        import hbaezoo.api

        return getattr(hbaezoo.api, name)
    raise AttributeError(f"module 'hbaezoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})

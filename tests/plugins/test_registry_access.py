"""Every documented way to reach the registries works for a plugin, and no package attribute shadows a submodule.

`hbaezoo/__init__.py` once re-exported the function `registry`, which rebound the
attribute `hbaezoo.registry` to it: `import hbaezoo.registry as reg` then gave the
function and a plugin using `reg.POOLERS` was reported broken.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import hbaezoo
from test_plugin_loading import REPO, fake_distribution
from test_plugin_loading import hbaezoo as run_hbaezoo

PLUGIN = '''\
import torch
from torch import nn

{imports}


@{registry}.register("{name}")
class Pooler(nn.Module):
    """A mean pooler reached through `{registry}`."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        return x.mean(dim=1) * self.scale
'''

WAYS = {
    "module_alias": ("import hbaezoo.registry as reg", "reg.POOLERS"),
    "from_import": ("from hbaezoo.registry import POOLERS", "POOLERS"),
    "by_kind": ("from hbaezoo.registry import registry", 'registry("poolers")'),
    "package_dict": ("import hbaezoo", 'hbaezoo.REGISTRIES["poolers"]'),
}

TINY = [
    "datasets.shapes.resolution = 16", "datasets.shapes.objects_per_category = 2", "datasets.shapes.views = 4",
    "encoders.resnet.width = 4", "generators.resnet.width = 4", "discriminators.projection.width = 4",
    "Trainer.batch_size = 2", "Trainer.set_size = 2", "Trainer.progress = False", "Trainer.tensorboard = False",
    "Trainer.preview_modes = ()",
]


def test_no_package_attribute_shadows_a_submodule():
    for info in pkgutil.walk_packages(hbaezoo.__path__, "hbaezoo."):
        if info.name.endswith("__main__"):  # importing it runs the CLI
            continue
        module = importlib.import_module(info.name)
        parent, _, child = info.name.rpartition(".")
        attribute = getattr(sys.modules[parent], child)
        assert attribute is module, f"{parent}.{child} is {attribute!r}, not the submodule {info.name}"


def test_plugins_written_each_way_load_and_one_trains_in_a_recipe(tmp_path):
    for way, (imports, registry) in WAYS.items():
        fake_distribution(tmp_path, f"fake-{way}", way, f"{way}_plugin",
                          PLUGIN.format(imports=imports, registry=registry, name=f"pool_{way}"))
    # The tree under test first: an installed hbaezoo elsewhere must not answer for it.
    path = f"{tmp_path}{os.pathsep}{REPO}"
    # The way a new plugin author writes first, and the one a package attribute once broke.
    bindings = ["models.set_hbae.pooler = @poolers.pool_module_alias", *TINY]
    result = run_hbaezoo("run", str(REPO / "gin" / "set_hbae_shapes.gin"), *(a for b in bindings for a in ("-b", b)),
                         "--steps", "1", "--run-dir", str(tmp_path / "run"), cwd=tmp_path, pythonpath=path)
    assert result.returncode == 0, result.stderr
    assert "failed to import" not in result.stderr, result.stderr
    operative = (tmp_path / "run" / "operative.gin").read_text()
    assert "poolers.pool_module_alias" in operative
    for way in WAYS:  # the header names every plugin that loaded
        assert f"# plugin {way} == 1.2.3" in operative, operative[:500]

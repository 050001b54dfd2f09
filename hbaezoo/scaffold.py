"""`hbaezoo new-plugin NAME --kind KIND`: scaffold a plugin package with one working part.

The package has a pyproject.toml whose entry point (group `hbaezoo.plugins`) makes
hbaezoo import it once installed, a module registering one small but real part of
the chosen kind (`src/<module>/__init__.py`), a test running `hbaezoo.testing.check_part` on it, and a README.
Templates are `string.Template`s (`$name` placeholders), one per kind, in `TEMPLATES`.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from hbaezoo.errors import HbaezooError
from hbaezoo.paths import check_writable_dir
from hbaezoo.plugins import GROUP
from hbaezoo.registry import registry, suggest

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class KindTemplate:
    """How to scaffold one kind: its registry constant, a class-name suffix, the module body."""

    registry: str
    suffix: str
    body: str


_HEADER = '''\
"""$dist: an hbaezoo plugin registering `$kind.$part`.

Importing this module registers the part; the entry point in pyproject.toml makes
hbaezoo import it automatically once the package is installed (`pip install -e .`).
Use it from gin as `@$kind.$part`; `hbaezoo list $kind` shows it.
"""

from __future__ import annotations

'''

_POOLER = '''\
import torch
from torch import nn

from hbaezoo.registry import POOLERS

__version__ = "0.1.0"


@POOLERS.register("$part")
class $cls(nn.Module):
    """Attention pooling (Ilse et al., 2018): a softmax over learned per-element scores weights their projections."""

    def __init__(self, *, dim: int, hidden: int = 32) -> None:
        super().__init__()
        self.dim = dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.value = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, K, F] -> [B, F]."""
        # Each element is scored on its own and the softmax sums over the set: order never matters.
        weights = torch.softmax(self.score(x), dim=1)  # [B, K, 1]
        return (weights * self.value(x)).sum(dim=1)
'''

_ENCODER = '''\
import torch
from torch import nn

from hbaezoo.registry import ENCODERS

__version__ = "0.1.0"


@ENCODERS.register("$part")
class $cls(nn.Module):
    """Two strided 3x3 convolutions and a global average pool: a small image encoder."""

    def __init__(self, *, image_shape: tuple[int, int, int], width: int = 32) -> None:
        super().__init__()
        channels = image_shape[0]
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.feature_dim = width  # the models size the pooler and head from this

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] in [-1, 1] -> [B, width]."""
        return self.net(x)
'''

_HEAD = '''\
import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.registry import HEADS

__version__ = "0.1.0"


@HEADS.register("$part")
class $cls(nn.Module):
    """A two-layer MLP to a diagonal Gaussian q(z|x) = N(mean, exp(logvar))."""

    def __init__(self, *, in_dim: int, z_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * z_dim))

    def forward(self, features: torch.Tensor) -> Posterior:
        """features [B, F] -> Posterior(mean [B, Z], logvar [B, Z])."""
        mean, logvar = self.net(features).chunk(2, dim=1)
        # Bounded log-variance keeps exp() finite early in training.
        return Posterior(mean, logvar.clamp(-10.0, 10.0))
'''

_GENERATOR = '''\
import torch
from einops import rearrange
from torch import nn

from hbaezoo.registry import GENERATORS

__version__ = "0.1.0"


@GENERATORS.register("$part")
class $cls(nn.Module):
    """G(z'|z): an MLP from [z, z'] to every pixel, squashed into [-1, 1] by tanh."""

    def __init__(self, *, image_shape: tuple[int, int, int], z_dim: int, noise_dim: int, hidden: int = 128) -> None:
        super().__init__()
        if z_dim + noise_dim == 0:
            raise ValueError("$kind.$part needs z_dim + noise_dim > 0 (it has no input).")
        self.image_shape = tuple(image_shape)
        channels, height, width = image_shape
        self.net = nn.Sequential(
            nn.Linear(z_dim + noise_dim, hidden), nn.ReLU(), nn.Linear(hidden, channels * height * width)
        )

    def forward(self, z: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """z [B, Z], noise [B, N] -> image [B, C, H, W] in [-1, 1]."""
        channels, height, width = self.image_shape
        pixels = torch.tanh(self.net(torch.cat([z, noise], dim=1)))
        return rearrange(pixels, "b (c h w) -> b c h w", c=channels, h=height, w=width)
'''

_DISCRIMINATOR = '''\
import torch
from torch import nn

from hbaezoo.nn.spectral import spectral_norm
from hbaezoo.registry import DISCRIMINATORS

__version__ = "0.1.0"


@DISCRIMINATORS.register("$part")
class $cls(nn.Module):
    """D(x|z) = w·φ(x) + (Vφ(x))ᵀz: a projection critic (Miyato & Koyama, 2018) on an MLP trunk φ."""

    def __init__(self, *, image_shape: tuple[int, int, int], cond_dim: int, hidden: int = 128) -> None:
        super().__init__()
        channels, height, width = image_shape
        sn = spectral_norm  # keeps the critic roughly 1-Lipschitz; torch's own breaks Trainer.compile
        self.trunk = nn.Sequential(nn.Flatten(), sn(nn.Linear(channels * height * width, hidden)), nn.LeakyReLU(0.2))
        self.linear = sn(nn.Linear(hidden, 1))
        self.project = sn(nn.Linear(hidden, cond_dim, bias=False)) if cond_dim else None

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W], z [B, Z] -> score [B]."""
        phi = self.trunk(x)
        score = self.linear(phi).squeeze(1)
        if self.project is not None:
            score = score + (self.project(phi) * z).sum(dim=1)
        return score
'''

_DIVERGENCE = '''\
import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.registry import DIVERGENCES

__version__ = "0.1.0"


@DIVERGENCES.register("$part")
class $cls(nn.Module):
    """Moment matching: ‖mean(z)‖² + ‖var(z) − 1‖² over the batch pulls q(z) towards N(0, I)."""

    def forward(self, posterior: Posterior) -> torch.Tensor:
        """posterior over z [B, Z] -> scalar."""
        z = posterior.sample()
        if z.shape[0] < 2:  # a variance needs two codes
            return z.new_zeros(())
        return z.mean(dim=0).pow(2).sum() + (z.var(dim=0) - 1).pow(2).sum()
'''

_REGULARISER = '''\
import torch
import torch.nn.functional as F
from torch import nn

from hbaezoo.registry import REGULARISERS

__version__ = "0.1.0"


@REGULARISERS.register("$part")
class $cls(nn.Module):
    """λ · Huber(x, x̂): quadratic for small pixel errors, linear (like L1) for large ones."""

    def __init__(self, *, weight: float = 1.0, delta: float = 0.1) -> None:
        super().__init__()
        self.weight, self.delta = weight, delta

    def forward(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """x, x_hat [B, C, H, W] -> scalar (a mean over pixels, so λ reads the same at any resolution)."""
        return self.weight * F.huber_loss(x_hat, x, delta=self.delta)
'''

_ADVERSARIAL = '''\
import torch
import torch.nn.functional as F

from hbaezoo.registry import ADVERSARIAL_LOSSES

__version__ = "0.1.0"


@ADVERSARIAL_LOSSES.register("$part")
class $cls:
    """Smooth hinge: critic softplus(m − D(x)) + softplus(m + D(x̃)), generator softplus(−D(x̃))."""

    def __init__(self, *, margin: float = 1.0) -> None:
        self.margin = margin

    def critic(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Scores real [N], fake [M] -> scalar; lower when real scores rise and fake scores fall."""
        return F.softplus(self.margin - real).mean() + F.softplus(self.margin + fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        """Scores fake [M] -> scalar; lower when the fakes' scores rise."""
        return F.softplus(-fake).mean()
'''

TEMPLATES: dict[str, KindTemplate] = {
    "poolers": KindTemplate("POOLERS", "Pooler", _POOLER),
    "encoders": KindTemplate("ENCODERS", "Encoder", _ENCODER),
    "heads": KindTemplate("HEADS", "Head", _HEAD),
    "generators": KindTemplate("GENERATORS", "Generator", _GENERATOR),
    "discriminators": KindTemplate("DISCRIMINATORS", "Discriminator", _DISCRIMINATOR),
    "divergences": KindTemplate("DIVERGENCES", "Divergence", _DIVERGENCE),
    "regularisers": KindTemplate("REGULARISERS", "Regulariser", _REGULARISER),
    "adversarial": KindTemplate("ADVERSARIAL_LOSSES", "Loss", _ADVERSARIAL),
}

_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "hbaezoo plugin: $kind.$part"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["hbaezoo"]

[project.optional-dependencies]
test = ["pytest"]

# hbaezoo imports every module named in this group; the import registers the parts.
[project.entry-points."$group"]
$part = "$module"

# src layout: the project folder may share the module's name, and must not shadow it.
[tool.setuptools]
package-dir = { "" = "src" }
packages = ["$module"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

_TEST = '''\
"""`$kind.$part` passes the property checks that hbaezoo runs on every part of its kind."""

from hbaezoo.testing import Sizes, check_part
from $module import $cls


def test_${part}_passes_the_${kind}_checks():
    check_part("$kind", $cls, Sizes())


def test_${part}_passes_the_${kind}_checks_at_other_sizes():
    sizes = Sizes(batch=2, set_size=1, channels=1, resolution=8, feature_dim=5, z_dim=3, noise_dim=2)
    check_part("$kind", $cls, sizes)
'''

_README = '''\
# $dist

An hbaezoo plugin registering `$kind.$part` ($cls in `src/$module/__init__.py`).

```sh
# registers the entry point `$part = "$module"` in group $group
pip install -e .
# shows $kind.$part, from plugin $dist
hbaezoo list $kind
# runs hbaezoo.testing.check_part("$kind", $cls, Sizes())
pytest
```

Use it in a gin recipe by name, e.g. `@$kind.$part`; its keyword parameters are set like
any core part's (`$kind.$part.<parameter> = ...`). To try it without installing, run
hbaezoo with `PYTHONPATH=src` and `--plugin $module`.
'''


def _module_name(name: str) -> str:
    if not _NAME.fullmatch(name):  # fullmatch: `$` alone lets a trailing newline through
        raise HbaezooError(
            f"plugin name {name!r} is not usable: start with a letter and use only letters, digits, "
            f"'_' and '-' (e.g. my_pooler or hbaezoo-my-pooler); '-' becomes '_' in the module name."
        )
    module = name.replace("-", "_")
    if keyword.iskeyword(module):
        raise HbaezooError(f"plugin name '{name}' is a Python keyword, so it cannot name a module. Pick another name.")
    return module


def _check_kind(kind: str) -> KindTemplate:
    if kind not in TEMPLATES:
        raise HbaezooError(
            f"new-plugin has no template for kind '{kind}'.{suggest(kind, list(TEMPLATES))} "
            f"Supported kinds: {', '.join(TEMPLATES)}."
        )
    return TEMPLATES[kind]


def _class_name(part: str, suffix: str) -> str:
    camel = "".join(word[:1].upper() + word[1:] for word in part.split("_") if word)
    return camel if camel.endswith(suffix) else camel + suffix


def new_plugin(name: str, kind: str, dest: Path) -> Path:
    """Create `dest/<name>/` holding a plugin package with one working part of `kind`; return that folder."""
    module = _module_name(name)
    template = _check_kind(kind)
    check_writable_dir(dest, "--dest")
    target = Path(dest) / name
    if target.exists():
        raise HbaezooError(
            f"{target.resolve()} already exists; new-plugin never overwrites. Remove it, or pass another name "
            f"or --dest folder."
        )
    spec = importlib.util.find_spec(module)
    if spec is not None:
        where = spec.origin or ", ".join(spec.submodule_search_locations or [])
        raise HbaezooError(
            f"a module named '{module}' is already importable (from {where}), so the plugin's module "
            f"would clash with it. Pick another name (e.g. hbaezoo_{module})."
        )
    part = module.removeprefix("hbaezoo_") or module
    if part in registry(kind):
        raise HbaezooError(
            f"{kind} '{part}' is already registered (see `hbaezoo list {kind}`), so the plugin's part "
            f"would clash with it. Pick another name."
        )
    values = dict(dist=name, module=module, kind=kind, part=part, group=GROUP,
                  cls=_class_name(part, template.suffix))
    files = {
        "pyproject.toml": _PYPROJECT,
        f"src/{module}/__init__.py": _HEADER + template.body,
        f"tests/test_{module}.py": _TEST,
        "README.md": _README,
    }
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return target

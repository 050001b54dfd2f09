"""LPIPS (Zhang et al., 2018), built one way for the whole project, with one policy for missing weights.

The `lpips` package's v0.1 linear layers (they ship inside the package) sit on a torchvision
trunk whose ImageNet weights hbaezoo never downloads. Every caller says which trunk it wants:

    trunk="imagenet"  torchvision's ImageNet weights, already on disk (torch hub cache);
                      WeightsUnavailable names the file and the folder when they are not.
    trunk="random"    a fixed random init (seed 0): a deep-feature distance, not the calibrated metric.
    trunk="auto"      "imagenet" when the weights are on disk, else "random".

`lpips_network` returns the module and a sentence saying which trunk it got, so no number is
read as the other kind. Used by the `lpips` regulariser (training: "imagenet" by default) and
the diversity metrics (evaluation: "auto" by default, the sentence lands in results.json).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from hbaezoo.errors import ConfigError, WeightsUnavailable
from hbaezoo.scopes import seeded

TRUNK_FILES = {  # torchvision's IMAGENET1K_V1 files for the trunks lpips knows
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
TRUNKS = ("imagenet", "random", "auto")
MIN_SIZE = 64  # the trunks' strided pooling needs about this many pixels


def trunk_weights(net: str) -> Path | None:
    """Where torchvision keeps `net`'s ImageNet weights, if the file is there."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / TRUNK_FILES[net]
    return path if path.is_file() else None


def check_trunk(trunk: str, setting: str) -> str:
    """`trunk` if it is one of TRUNKS, else a ConfigError naming `setting` (e.g. 'regularisers.lpips.trunk')."""
    if trunk not in TRUNKS:
        raise ConfigError(f"{setting}: '{trunk}' is not one of {list(TRUNKS)}.")
    return trunk


def lpips_network(net: str = "alex", trunk: str = "imagenet",
                  setting: str = "regularisers.lpips.trunk") -> tuple[torch.nn.Module, str]:
    """(LPIPS v0.1 module in eval mode without gradients, a sentence naming its trunk); never downloads.

    `setting` is the gin name of the caller's trunk parameter, which errors name.
    """
    if net not in TRUNK_FILES:
        raise ConfigError(f"{setting.rpartition('.')[0]}.net: '{net}' is not one of {sorted(TRUNK_FILES)}.")
    check_trunk(trunk, setting)
    weights = trunk_weights(net)
    if trunk == "imagenet" and weights is None:
        folder = Path(torch.hub.get_dir()) / "checkpoints"
        raise WeightsUnavailable(
            f"{setting} = 'imagenet': LPIPS with net='{net}' needs torchvision's ImageNet weights "
            f"{TRUNK_FILES[net]} in {folder}, and hbaezoo never downloads. Copy the file there (or set TORCH_HOME), "
            f"or bind `{setting} = 'random'` for a fixed random trunk (a feature distance, not the calibrated metric)."
        )
    imagenet = weights is not None and trunk != "random"
    import lpips

    with seeded(0), warnings.catch_warnings():  # seeded: the random trunk is the same in every run
        warnings.simplefilter("ignore")  # lpips itself passes torchvision's deprecated `pretrained=`
        module = lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=not imagenet, verbose=False)
    what = (f"LPIPS v0.1, {net} trunk with ImageNet weights ({weights})" if imagenet else
            f"LPIPS v0.1, {net} trunk with a fixed random init (trunk='{trunk}'"
            + (f": {TRUNK_FILES[net]} is not in {Path(torch.hub.get_dir()) / 'checkpoints'}" if weights is None else "")
            + "); linear layers from the lpips package")
    return module.eval().requires_grad_(False), what


def prepare(x: torch.Tensor, size: int = MIN_SIZE) -> torch.Tensor:
    """Images [N, C, H, W] in [-1, 1] -> [N, 3, H', W'] as LPIPS takes them: grey repeated to RGB,
    upsampled bilinearly to at least `size` pixels a side."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if min(x.shape[-2:]) < size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x

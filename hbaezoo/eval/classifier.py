"""A small CNN trained on the run's own labelled training split: the labeller of the semantic metrics.

`recon_agreement`, `chain_agreement`, `set_coherence`, `set_recon_agreement` and `set_complete`
all ask which category an image shows. A linear probe on Inception features of 32-px images
upsampled to 299 px answers that badly (83 % right on real shapes test images); this network
is trained for the question, on the run's `train` split, with augmentation — small
translations, random Gaussian blur, additive noise, horizontal flips, colour jitter — so
that a slightly blurred or noisy image gets the label a person would give it, by its shape.

Trained once per dataset and settings: the weights (safetensors) and a JSON note lie at
<ctx.cache_dir>/semantic_classifier/<key>.safetensors, the key being the sha1 of the run's
dataset description (ctx.data without its class names), a fingerprint of the training split
(its labels, groups and a few images) and the settings. A second evaluation loads them; with
ctx.cache_dir None the network is trained in memory for this evaluation only.

Settings are gin-configurable as `semantic_classifier.<name>`:

    hbaezoo eval runs/hbae_shapes -b "semantic_classifier.epochs = 8"
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import gin
import torch
import torch.nn.functional as F
from einops import rearrange
from safetensors.torch import load_file, save_file
from torch import nn
from torchvision.transforms import v2

from hbaezoo.data.base import to_float
from hbaezoo.devices import fast_bf16
from hbaezoo.errors import ConfigError
from hbaezoo.eval.context import EvalContext
from hbaezoo.eval.features import progress_bar
from hbaezoo.files import write_cache
from hbaezoo.scopes import seeded

#: Bump when training or the network changes for the same settings: invalidates cached classifiers.
VERSION = 1
#: Images that share one draw of flip, crop offset and blur / of colour jitter (one transform call each).
GEOMETRY_CHUNK, COLOUR_CHUNK = 8, 32


@dataclass(frozen=True)
class ClassifierSettings:
    """How the semantic classifier is built and trained (gin: `semantic_classifier.<field>`)."""

    epochs: int = 24
    width: int = 20  # channels of the first block; each later block doubles them
    blur: float = 1.0  # largest Gaussian blur sigma, in pixels of a 32-px image (scaled with the size)
    noise: float = 0.1  # largest std of the added Gaussian noise, on the [-1, 1] pixel scale
    shift: float = 0.125  # largest translation, as a fraction of the image side
    colour: float = 1.0  # hue jitter as a fraction of the colour wheel (1: any hue); 0: no colour jitter
    train_images: int = 20000  # at most this many training images (a seeded random subset)
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "width", "train_images", "batch_size"):
            if type(getattr(self, name)) is not int or getattr(self, name) < 1:
                raise ConfigError(f"semantic_classifier.{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        for name in ("blur", "noise", "shift", "colour", "lr"):
            if not isinstance(getattr(self, name), (int, float)) or not 0 <= getattr(self, name) < math.inf:
                raise ConfigError(f"semantic_classifier.{name} must be a finite number >= 0, got {getattr(self, name)!r}")
        if self.shift >= 0.5 or self.colour > 1:
            raise ConfigError(f"semantic_classifier.shift must lie below 0.5 and .colour at most 1 (fractions of the "
                             f"image side and of the colour wheel), got {self.shift} and {self.colour}")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """The settings as one string (memo keys)."""
        return json.dumps(self.as_dict(), sort_keys=True)


#: What `check_kwargs` gives the semantic metrics: trains in well under a second on toy data.
TINY_SETTINGS = ClassifierSettings(epochs=2, width=4)


# gin wraps a subclass and leaves ClassifierSettings itself alone: direct Python use sees no bindings.
configured_settings = gin.external_configurable(ClassifierSettings, name="semantic_classifier", module="hbaezoo")


def settings_from_gin(settings: ClassifierSettings | None = None) -> ClassifierSettings:
    """`settings` as given, else the `semantic_classifier.*` bindings over the defaults (a plain instance)."""
    return ClassifierSettings(**(settings or configured_settings()).as_dict())


def autocast(device: torch.device | str):
    """bf16 autocast where it is native (2-3x faster on such a CPU), plain float32 elsewhere."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast_bf16(device))


class SemanticClassifier(nn.Module):
    """Conv blocks (two 3x3 conv + batch norm + ReLU, then 2x max pooling), global mean and max pooling, a linear layer.

    images float [B, C, H, W] in [-1, 1] -> logits [B, num_classes]. One block per halving
    until 4x4: 1 block at 8 px, 2 at 16, 3 at 32, 4 at 64.
    """

    def __init__(self, *, image_shape: tuple[int, int, int], num_classes: int, width: int = 32) -> None:
        super().__init__()
        channels, height, wide = image_shape
        blocks = max(1, min(5, int(math.log2(min(height, wide))) - 2))
        layers: list[nn.Module] = []
        c_in = channels
        for i in range(blocks):
            c_out = width * 2**i
            for c in (c_in, c_out):
                layers += [nn.Conv2d(c, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * c_in, num_classes)
        self.image_shape, self.num_classes = tuple(image_shape), num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout on CPU, cuDNN's on GPU
        f = self.features(x)
        # The max keeps where a telling detail (an apex, a fourth edge) fired at all; the mean dilutes it.
        return self.head(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], 1).float())

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """uint8 images [N, C, H, W] -> class probabilities float [N, num_classes] (CPU).

        The mean of the softmax of an image and of its mirror image (training flips images, so
        both are in-distribution): on the shapes this lifts full agreement on real sets of 8.
        """
        if images.dtype != torch.uint8:
            raise TypeError(f"the semantic classifier takes uint8 images (as metrics hold them), got {images.dtype}")
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"the semantic classifier was trained on {self.image_shape} images, got {tuple(images.shape[1:])}")
        self.eval()
        device = next(self.parameters()).device
        out = []
        for start in range(0, len(images), batch_size):
            x = to_float(images[start:start + batch_size].to(device))
            both = self(torch.cat([x, x.flip(-1)])).float().softmax(1)  # float32: bf16 costs ~0.5 % accuracy here
            out.append(rearrange(both, "(two b) n -> two b n", two=2).mean(0).cpu())
        return torch.cat(out) if out else torch.zeros(0, self.num_classes)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images [N, C, H, W] -> labels [N]."""
        return self.probabilities(images).argmax(1)


def augmentation(image_shape: tuple[int, int, int], settings: ClassifierSettings) -> tuple[v2.Transform, v2.Transform]:
    """(geometry: flip, translation by an edge-padded random crop, Gaussian blur; colour: jitter, grey).

    Both act on float images in [0, 1]; one call draws one of each random choice. Colour is
    jittered hard (any hue) because objects of one category come in several colours: a
    network that may lean on colour labels an unusually coloured pyramid a tetrahedron.
    """
    channels, height, wide = image_shape
    side = min(height, wide)
    pad = round(settings.shift * side)
    sigma = settings.blur * side / 32
    geometry: list[v2.Transform] = [v2.RandomHorizontalFlip()]
    if pad > 0:
        geometry.append(v2.RandomCrop((height, wide), padding=pad, padding_mode="edge"))
    if sigma > 0.05:  # below that a 3-tap kernel is the identity
        geometry.append(v2.GaussianBlur(2 * math.ceil(2 * sigma) + 1, sigma=(0.01, sigma)))
    colour: list[v2.Transform] = []
    if channels == 3 and settings.colour > 0:
        colour = [v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.4, hue=settings.colour / 2),
                  v2.RandomGrayscale(0.1)]
    return v2.Compose(geometry), v2.Compose(colour or [v2.Identity()])


def augment(images: torch.Tensor, transforms: tuple[v2.Transform, v2.Transform], noise: float) -> torch.Tensor:
    """uint8 images [B, C, H, W] -> augmented float [B, C, H, W] in [-1, 1]: draws per chunk, noise per image."""
    # torchvision's transforms draw once per call; a call per image costs 6x (colour 20x) one per chunk.
    geometry, colour = transforms
    x = images.float() / 255
    x = torch.cat([geometry(chunk) for chunk in x.split(GEOMETRY_CHUNK)])
    x = torch.cat([colour(chunk) for chunk in x.split(COLOUR_CHUNK)]) * 2 - 1
    if noise > 0:
        std = torch.rand(len(x), 1, 1, 1, device=x.device) * noise
        x = x + std * torch.randn_like(x)
    return x.clamp(-1, 1)


def train_classifier(images: torch.Tensor, labels: torch.Tensor, *, num_classes: int,
                     settings: ClassifierSettings, device: torch.device | str = "cpu",
                     progress: bool = False) -> SemanticClassifier:
    """Train on uint8 images [N, C, H, W] with labels [N]; deterministic for a device and settings.

    AdamW with a one-cycle learning rate, label smoothing 0.1, `settings.epochs` passes over
    the images in shuffled batches, each batch augmented; bf16 autocast where the device
    computes it natively.
    """
    if images.dtype != torch.uint8 or images.ndim != 4 or len(images) != len(labels) or len(labels) == 0:
        raise ValueError(f"train_classifier needs uint8 images [N, C, H, W] and labels [N], got "
                         f"{images.dtype} {tuple(images.shape)} and {tuple(labels.shape)}")
    labels = labels.long()
    image_shape = tuple(images.shape[1:])
    batch = min(settings.batch_size, len(images))
    per_epoch = math.ceil(len(images) / batch)
    total = settings.epochs * per_epoch
    with seeded(settings.seed, device), torch.enable_grad():
        net = SemanticClassifier(image_shape=image_shape, num_classes=num_classes, width=settings.width)
        net = net.to(device, memory_format=torch.channels_last)
        opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=5e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.lr, total_steps=total)
        transforms = augmentation(image_shape, settings)
        net.train()
        with progress_bar(progress) as bar:
            task = bar.add_task("training the semantic classifier", total=total)
            for _ in range(settings.epochs):
                order = torch.randperm(len(images))
                for rows in order.split(batch):
                    x = augment(images[rows].to(device), transforms, settings.noise)
                    with autocast(device):
                        logits = net(x)
                    loss = F.cross_entropy(logits.float(), labels[rows].to(device), label_smoothing=0.1)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    schedule.step()
                    bar.advance(task)
    return net.eval().requires_grad_(False)


# -- per dataset, cached -----------------------------------------------------------------------------
def training_index(size: int, settings: ClassifierSettings) -> torch.Tensor:
    """Which training images: min(train_images, size) of them, drawn from the settings' seed alone."""
    order = torch.randperm(size, generator=torch.Generator().manual_seed(settings.seed))
    return order[: min(settings.train_images, size)].sort().values


def cache_key(data: dict, fingerprint: str, settings: ClassifierSettings) -> str:
    """sha1 of what the classifier depends on: the dataset (description, fingerprint) and the settings."""
    text = json.dumps({"version": VERSION, "data": described(data), "fingerprint": fingerprint,
                       "settings": settings.as_dict()}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def described(data: dict) -> dict:
    """The dataset part of a run's data.json: not its class names (a renaming changes no pixel), not the
    training run's set size or batch plan (runs on one dataset share one classifier)."""
    return {k: data.get(k) for k in ("image_shape", "num_classes", "size", "groups")}


def fingerprint(labels: torch.Tensor, groups: torch.Tensor, some_images: torch.Tensor) -> str:
    """sha1 of a split's labels and groups and of a few of its images: tells datasets of one description apart."""
    h = hashlib.sha1()
    for t in (labels.long(), groups.long(), some_images):
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _load(path: Path, image_shape, num_classes: int, settings: ClassifierSettings, device) -> SemanticClassifier | None:
    if not path.is_file():
        return None
    try:
        net = SemanticClassifier(image_shape=image_shape, num_classes=num_classes, width=settings.width)
        net.load_state_dict(load_file(path))
    except Exception:  # a damaged or foreign file is retrained, never trusted
        return None
    return net.to(device, memory_format=torch.channels_last).eval().requires_grad_(False)


def _save(path: Path, net: SemanticClassifier, note: dict) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    if write_cache(path, lambda tmp: save_file(state, tmp), "the semantic classifier"):
        write_cache(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(note, indent=2, default=str)),
                    "the semantic classifier's description")


def trained_classifier(ctx: EvalContext, settings: ClassifierSettings | None = None) -> SemanticClassifier:
    """The semantic classifier of ctx's dataset: from the cache, or trained (and cached) now; memoised in ctx."""
    settings = settings_from_gin(settings)
    num_classes = ctx.require_labels("a semantic classifier")

    def build() -> SemanticClassifier:
        dataset = ctx.dataset("train")
        index = training_index(len(dataset), settings)
        probe = index[:: max(1, len(index) // 16)][:16]
        key = cache_key(ctx.data, fingerprint(ctx.labels("train"), dataset.group_ids, ctx.load("train", probe)), settings)
        path = Path(ctx.cache_dir) / "semantic_classifier" / f"{key}.safetensors" if ctx.cache_dir else None
        image_shape = tuple(dataset.image_shape)
        net = _load(path, image_shape, num_classes, settings, ctx.device) if path else None
        if net is not None:
            ctx.info["semantic_classifier"] = f"loaded from {path}"
            return net
        start = time.perf_counter()
        net = train_classifier(ctx.load("train", index), ctx.labels("train")[index], num_classes=num_classes,
                               settings=settings, device=ctx.device, progress=ctx.progress)
        seconds = time.perf_counter() - start
        ctx.info["semantic_classifier"] = (f"trained on {len(index)} train images in {seconds:.1f} s"
                                           + (f", cached at {path}" if path else " (not cached)"))
        if path:
            _save(path, net, {"settings": settings.as_dict(), "version": VERSION, "train_images": len(index),
                              "seconds": round(seconds, 2), "device": str(ctx.device),
                              "bf16": fast_bf16(ctx.device),
                              "data": described(ctx.data)})
        return net

    return ctx.memo(f"semantic_classifier/{settings.key()}", build)


def set_probabilities(net: SemanticClassifier, sets: torch.Tensor) -> torch.Tensor:
    """uint8 sets [m, k, C, H, W] -> class probabilities [m, k, num_classes]."""
    flat = net.probabilities(rearrange(sets, "m k c h w -> (m k) c h w"))
    return rearrange(flat, "(m k) n -> m k n", m=len(sets))

"""A tiny in-memory context for property checks of metrics (hbaezoo.testing.check_metric) and tests.

Toy data: `num_classes` categories, 3 objects each per split, 4 views per object; every image
is its category's colour plus noise, so probes have something to find. `toy_shapes_factory`
draws categories as shapes instead (any colour), for tests of the semantic classifier.
"""

from __future__ import annotations

import torch

from hbaezoo.data.base import TensorImageDataset
from hbaezoo.eval.context import EvalContext


def toy_dataset_factory(image_shape=(3, 16, 16), num_classes: int = 4, objects: int = 3, views: int = 4, seed: int = 0):
    """A dataset factory `(split=...) -> TensorImageDataset` of coloured noise with labels and groups."""

    def factory(*, split: str = "train") -> TensorImageDataset:
        g = torch.Generator().manual_seed(seed * 2 + (split == "test"))
        colours = torch.rand(num_classes, image_shape[0], 1, 1, generator=torch.Generator().manual_seed(seed)) * 200
        labels = torch.arange(num_classes).repeat_interleave(objects * views)
        noise = torch.rand(len(labels), *image_shape, generator=g) * 55
        images = (colours[labels] + noise).round().clamp(0, 255).to(torch.uint8)
        groups = torch.arange(num_classes * objects).repeat_interleave(views)
        return TensorImageDataset(images, labels, groups, class_names=tuple(f"c{i}" for i in range(num_classes)))

    return factory


#: The categories of `toy_shapes_factory`: masks over coordinates u, v in [-1, 1] (s: the object's size).
TOY_SHAPES = {
    "square": lambda u, v, s: torch.maximum(u.abs(), v.abs()) < 0.5 * s,
    "disc": lambda u, v, s: u**2 + v**2 < (0.5 * s) ** 2,
    "horizontal_bar": lambda u, v, s: (u.abs() < 0.7 * s) & (v.abs() < 0.2 * s),
    "vertical_bar": lambda u, v, s: (u.abs() < 0.2 * s) & (v.abs() < 0.7 * s),
    "cross": lambda u, v, s: ((u.abs() < 0.7 * s) & (v.abs() < 0.15 * s)) | ((u.abs() < 0.15 * s) & (v.abs() < 0.7 * s)),
    "ring": lambda u, v, s: ((u**2 + v**2).sqrt() - 0.45 * s).abs() < 0.12 * s,
}


def toy_shapes_factory(image_shape=(3, 16, 16), num_classes: int = 4, objects: int = 6, views: int = 4, seed: int = 0):
    """A dataset factory of flat shapes, one category per shape (at most 6): every object has its own
    colour and size, every view its own position and noise. The test split holds half as many objects."""
    if not 2 <= num_classes <= len(TOY_SHAPES):
        raise ValueError(f"toy_shapes_factory draws 2 to {len(TOY_SHAPES)} categories, got {num_classes}")
    channels, height, width = image_shape

    def factory(*, split: str = "train") -> TensorImageDataset:
        g = torch.Generator().manual_seed(seed * 2 + (split == "test"))
        per_class = objects if split == "train" else max(1, objects // 2)
        labels = torch.arange(num_classes).repeat_interleave(per_class * views)
        groups = torch.arange(num_classes * per_class).repeat_interleave(views)
        colour = torch.rand(len(labels) // views, channels, 1, 1, generator=g).repeat_interleave(views, 0) * 0.6
        size = (0.8 + 0.4 * torch.rand(len(labels) // views, generator=g)).repeat_interleave(views)
        shift = (torch.rand(len(labels), 2, generator=g) - 0.5) * 0.3
        v, u = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        masks = [list(TOY_SHAPES.values())[int(c)](u - dx, v - dy, s)
                 for c, (dx, dy), s in zip(labels, shift, size)]
        mask = torch.stack(masks)[:, None].float()
        images = 0.85 * (1 - mask) + colour * mask + 0.03 * torch.randn(len(labels), *image_shape, generator=g)
        images = (images * 255).round().clamp(0, 255).to(torch.uint8)
        return TensorImageDataset(images, labels, groups, class_names=tuple(list(TOY_SHAPES)[:num_classes]))

    return factory


def toy_context(model, *, image_shape=(3, 16, 16), num_classes: int = 4, n: int = 8, set_size: int = 3,
                build_untrained=None, extractor=None, seed: int = 0, factory=None, cache_dir=None) -> EvalContext:
    """An EvalContext over toy data for `model` (on CPU, no cache unless given, no progress bars).

    The default extractor is a 16-feature random_convnet: small enough that FID's matrix
    square root stays cheap.
    """
    if extractor is None:
        from hbaezoo.eval.extractors import RandomConvNet

        extractor = RandomConvNet(width=4)
    factory = factory or toy_dataset_factory(image_shape, num_classes, seed=seed)
    data = factory(split="train").describe()
    return EvalContext(model=model.eval(), dataset_factory=factory, data=data, n=n, seed=seed,
                       extractor_name=extractor, set_size=set_size, batch_size=16, cache_dir=cache_dir,
                       build_untrained=build_untrained, progress=False)

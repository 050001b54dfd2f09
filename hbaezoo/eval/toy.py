"""A tiny in-memory context for property checks of metrics (hbaezoo.testing.check_metric) and tests.

Toy data: `num_classes` categories, 3 objects each per split, 4 views per object; every image
is its category's colour plus noise, so probes have something to find.
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


def toy_context(model, *, image_shape=(3, 16, 16), num_classes: int = 4, n: int = 8, set_size: int = 3,
                build_untrained=None, extractor=None, seed: int = 0) -> EvalContext:
    """An EvalContext over toy data for `model` (on CPU, no cache, no progress bars).

    The default extractor is a 16-feature random_convnet: small enough that FID's matrix
    square root stays cheap.
    """
    if extractor is None:
        from hbaezoo.eval.extractors import RandomConvNet

        extractor = RandomConvNet(width=4)
    factory = toy_dataset_factory(image_shape, num_classes, seed=seed)
    data = factory(split="train").describe()
    return EvalContext(model=model.eval(), dataset_factory=factory, data=data, n=n, seed=seed,
                       extractor_name=extractor, set_size=set_size, batch_size=16, cache_dir=None,
                       build_untrained=build_untrained, progress=False)

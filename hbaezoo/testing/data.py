"""Checks of what feeds and reads models: datasets, samplers (`hbaezoo sample` modes), feature
extractors and evaluation metrics."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.errors import message
from hbaezoo.scopes import num_threads
from hbaezoo.testing.common import Sizes, _assert_finite, _assert_shape, _images, _kwargs, skip
from hbaezoo.testing.models import tiny_model


def check_dataset(factory, sizes: Sizes, name: str = "dataset") -> None:
    dataset = factory(split="train", **_kwargs(factory))
    assert len(dataset) > 0, f"{name}: empty"
    x, y = dataset[0]
    _assert_shape(name, x, dataset.image_shape)
    assert x.min() >= -1 and x.max() <= 1, f"{name}: images must lie in [-1, 1]"
    assert len(dataset.group_ids) == len(dataset), f"{name}: group_ids must have one entry per image"
    assert 0 <= y < max(dataset.num_classes, 1) or dataset.num_classes == 0, f"{name}: label {y} out of range"


def check_sampler(factory, sizes: Sizes, name: str = "sampler") -> None:
    from hbaezoo.errors import CapabilityError
    from hbaezoo.registry import MODELS

    sampler = factory(**_kwargs(factory))
    model = tiny_model(MODELS.get("set_hbae"), sizes).eval()
    # Sets of two or more: a mode may show the model part of a set and generate the rest.
    x = _images(sizes, sizes.batch, max(2, sizes.set_size)) if sampler.needs_sets else _images(sizes, sizes.batch)
    try:
        grid = sampler(model, x if sampler.needs_data else None, n=2, steps=2)
    except CapabilityError as exc:
        return skip(f"{name}: a tiny Set-HBAE cannot do it: {message(exc)}")
    assert grid.ndim == 5 and tuple(grid.shape[2:]) == sizes.image_shape, f"{name}: grid must be [rows, cols, C, H, W]"
    _assert_finite(name, grid)


def check_extractor(factory, sizes: Sizes, name: str = "extractor") -> None:
    """Images [B, C, H, W] in [-1, 1] -> finite features [B, dim], independent of batch and RNG state.

    An extractor whose weights are not on disk (hbaezoo never downloads) is skipped, saying why.
    """
    from hbaezoo.errors import WeightsUnavailable

    try:
        extractor = factory(**_kwargs(factory))
    except WeightsUnavailable as exc:
        return skip(f"{name}: its weights are not on disk: {message(exc)}")
    with num_threads(1):  # small batches: extra threads only spin on a busy machine
        _check_extractor(extractor, sizes, name)


def _check_extractor(extractor, sizes: Sizes, name: str) -> None:
    extractor.eval()
    dim = getattr(extractor, "dim", None)
    assert isinstance(dim, int) and dim > 0, f"{name}: needs a positive int attribute `dim`"
    assert {"name", "resize", "weights"} <= set(extractor.describe()), f"{name}: describe() must name name, resize, weights"
    x = _images(sizes, 2)
    with torch.no_grad():
        torch.manual_seed(1)
        out = extractor(x)
        torch.manual_seed(2)
        single = extractor(x[:1])
    _assert_shape(name, out, (2, dim))
    _assert_finite(name, out)
    assert torch.allclose(out[:1], single, rtol=1e-3, atol=1e-4), (
        f"{name}: an image's features change with its batch or the RNG state"
    )
    assert not torch.allclose(out[0], out[1]), f"{name}: two different images give the same features"


def check_metric(factory, sizes: Sizes, name: str = "metric") -> None:
    """metric(ctx) on a tiny Set-HBAE and toy data: a dict of finite floats, the same on a rerun
    whatever the global RNG state. A metric that raises CapabilityError (the model or data
    cannot support it) is skipped, saying why.
    """
    import math

    from hbaezoo.errors import CapabilityError
    from hbaezoo.eval.toy import toy_context
    from hbaezoo.registry import MODELS

    def build(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return tiny_model(MODELS.get("set_hbae"), sizes).eval()

    def values(rng: int) -> dict[str, float] | None:
        ctx = toy_context(build(sizes.seed), image_shape=sizes.image_shape, num_classes=sizes.num_classes,
                          set_size=sizes.set_size, build_untrained=build, seed=sizes.seed)
        torch.manual_seed(rng)
        try:
            out = factory(ctx, **_kwargs(factory))
        except CapabilityError as exc:
            skip(f"{name}: a tiny Set-HBAE on toy data cannot support it: {message(exc)}")
            return None
        assert isinstance(out, dict) and out, f"{name}: must return a non-empty dict[str, float]"
        for key, value in out.items():
            assert isinstance(key, str), f"{name}: keys must be strings, got {key!r}"
            assert math.isfinite(float(value)), f"{name}: '{key}' is not a finite number: {value!r}"
        return {k: float(v) for k, v in out.items()}

    with num_threads(1):  # tiny tensors: extra threads only spin on a busy machine
        first = values(100)
        if first is None:
            return
        second = values(101)
    assert second is not None and first.keys() == second.keys() and all(
        math.isclose(first[k], second[k], rel_tol=1e-4, abs_tol=1e-6) for k in first
    ), f"{name}: not reproducible under the context's seed: {first} vs {second}"

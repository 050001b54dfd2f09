"""Property checks every registered part must pass, for core parts and plugins alike.

`check_part(kind, factory, sizes)` builds the part the way a model would (the shape
contract of docs/architecture.md) and checks: output shapes, finite values,
gradients reaching every parameter, a state_dict round trip, determinism under a
seed and, for poolers, invariance to the order of a set's elements. Plugin authors
call the same function in their own tests:

    from hbaezoo.testing import Sizes, check_part
    check_part("poolers", MyPooler, Sizes())

A part whose defaults cannot be built in a test (it needs weights on disk, say) sets
a class attribute `TEST_KWARGS = {...}` with the keyword arguments to use instead.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.scopes import num_threads, seeded
from hbaezoo.signatures import parameters


@dataclass(frozen=True)
class Sizes:
    """The small sizes a check builds parts and inputs with."""

    batch: int = 3
    set_size: int = 4
    channels: int = 3
    resolution: int = 16
    feature_dim: int = 12
    z_dim: int = 6
    noise_dim: int = 5
    num_classes: int = 4
    seed: int = 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.resolution, self.resolution)


def skip(reason: str) -> None:
    """Stop a check visibly: a pytest skip under pytest, else a warning (never a silent pass)."""
    if "PYTEST_CURRENT_TEST" in os.environ:  # not in a plugin author's script: pytest's Skip would crash it
        try:
            import pytest
        except ImportError:
            pass
        else:
            pytest.skip(reason)
    import warnings

    warnings.warn(f"check skipped: {reason}", stacklevel=2)


def _kwargs(factory) -> dict[str, Any]:
    return dict(getattr(factory, "TEST_KWARGS", {}))


def _images(sizes: Sizes, *lead: int) -> torch.Tensor:
    return torch.rand(*lead, *sizes.image_shape) * 2 - 1


def _assert_finite(name: str, t: torch.Tensor) -> None:
    assert torch.isfinite(t).all(), f"{name}: output has non-finite values"


def _assert_shape(name: str, t: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert tuple(t.shape) == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {tuple(t.shape)}"


def check_gradients(name: str, module: nn.Module, output: torch.Tensor) -> None:
    """Backpropagate a random projection of `output`; every trainable parameter must be reached.

    A reached parameter may still get a zero gradient (a dead ReLU on a tiny input), but
    not all of them may.
    """
    module.zero_grad(set_to_none=True)
    (output * torch.randn_like(output)).sum().backward()
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"{name}: no gradient reaches {missing[:6]}"
    assert any(p.grad.abs().sum() > 0 for _, p in trainable), f"{name}: every gradient is zero"


def check_state_dict_round_trip(name: str, module: nn.Module, rebuild: Callable[[], nn.Module],
                                run: Callable[[nn.Module], torch.Tensor]) -> None:
    """Saving a state dict and loading it into a fresh build gives identical outputs (eval mode)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh = rebuild()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    module.eval(), fresh.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        a = run(module)
        torch.manual_seed(1)
        b = run(fresh)
    assert torch.allclose(a, b, atol=1e-5), f"{name}: outputs differ after a state_dict round trip"


def check_deterministic(name: str, build: Callable[[], nn.Module], run: Callable[[nn.Module], torch.Tensor]) -> None:
    """Two builds under the same seed compute the same output from the same input."""
    outs = []
    for _ in range(2):
        torch.manual_seed(1234)
        module = build()
        module.eval()
        with torch.no_grad():
            torch.manual_seed(99)
            outs.append(run(module))
    assert torch.allclose(outs[0], outs[1], atol=1e-6), f"{name}: not deterministic under a fixed seed"


def _module_checks(name: str, build: Callable[[], nn.Module], run: Callable[[nn.Module], torch.Tensor]) -> None:
    module = build()
    module.train()
    out = run(module)
    _assert_finite(name, out)
    if any(p.requires_grad for p in module.parameters()):
        check_gradients(name, module, out)
    check_state_dict_round_trip(name, module, build, run)
    check_deterministic(name, build, run)


# -- one check per kind --------------------------------------------------------------------------
def check_encoder(factory, sizes: Sizes, name: str = "encoder") -> None:
    x = _images(sizes, sizes.batch)

    def build():
        return factory(image_shape=sizes.image_shape, **_kwargs(factory))

    enc = build()
    assert isinstance(getattr(enc, "feature_dim", None), int), f"{name}: needs an int attribute `feature_dim`"
    _assert_shape(name, enc(x), (sizes.batch, enc.feature_dim))
    _module_checks(name, build, lambda m: m(x))


def check_pooler(factory, sizes: Sizes, name: str = "pooler") -> None:
    x = torch.randn(sizes.batch, sizes.set_size, sizes.feature_dim)

    def build():
        return factory(dim=sizes.feature_dim, **_kwargs(factory))

    pooler = build()
    pooler.eval()
    with torch.no_grad():
        out = pooler(x)
        _assert_shape(name, out, (sizes.batch, sizes.feature_dim))
        perm = torch.randperm(sizes.set_size)
        permuted = pooler(x[:, perm])
    assert torch.allclose(out, permuted, atol=1e-5), f"{name}: output changes when the set's elements are reordered"
    _module_checks(name, build, lambda m: m(x))


def check_head(factory, sizes: Sizes, name: str = "head") -> None:
    f = torch.randn(sizes.batch, sizes.feature_dim)

    def build():
        return factory(in_dim=sizes.feature_dim, z_dim=sizes.z_dim, **_kwargs(factory))

    post = build()(f)
    assert isinstance(post, Posterior), f"{name}: must return a hbaezoo Posterior, got {type(post).__name__}"
    _assert_shape(name, post.mean, (sizes.batch, sizes.z_dim))
    if post.logvar is not None:
        _assert_shape(f"{name} logvar", post.logvar, (sizes.batch, sizes.z_dim))
    _module_checks(name, build, lambda m: m(f).sample())


def check_generator(factory, sizes: Sizes, name: str = "generator") -> None:
    z = torch.randn(sizes.batch, sizes.z_dim)
    noise = torch.randn(sizes.batch, sizes.noise_dim)

    def build():
        return factory(image_shape=sizes.image_shape, z_dim=sizes.z_dim, noise_dim=sizes.noise_dim, **_kwargs(factory))

    out = build()(z, noise)
    _assert_shape(name, out, (sizes.batch, *sizes.image_shape))
    assert out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5, f"{name}: images must lie in [-1, 1]"
    _module_checks(name, build, lambda m: m(z, noise))


def check_discriminator(factory, sizes: Sizes, name: str = "discriminator") -> None:
    x = _images(sizes, sizes.batch)
    z = torch.randn(sizes.batch, sizes.z_dim)

    def build():
        return factory(image_shape=sizes.image_shape, cond_dim=sizes.z_dim, **_kwargs(factory))

    _assert_shape(name, build()(x, z), (sizes.batch,))
    _module_checks(name, build, lambda m: m(x, z))


def check_divergence(factory, sizes: Sizes, name: str = "divergence") -> None:
    div = factory(**_kwargs(factory))
    mean = torch.randn(max(sizes.batch, 2), sizes.z_dim, requires_grad=True)
    logvar = torch.zeros_like(mean, requires_grad=True)
    value = div(Posterior(mean, logvar))
    _assert_shape(name, value, ())
    _assert_finite(name, value)
    if value.requires_grad:
        value.backward()
        _assert_finite(f"{name} gradient", mean.grad)


def check_regulariser(factory, sizes: Sizes, name: str = "regulariser") -> None:
    reg = factory(**_kwargs(factory))
    x = _images(sizes, sizes.batch)
    x_hat = _images(sizes, sizes.batch).requires_grad_(True)
    value = reg(x, x_hat)
    _assert_shape(name, value, ())
    _assert_finite(name, value)
    value.backward()
    assert x_hat.grad is not None and x_hat.grad.abs().sum() > 0, f"{name}: no gradient reaches the reconstruction"
    same = reg(x, x.clone())
    assert same <= value.detach() + 1e-6, f"{name}: a perfect reconstruction must not cost more than a random one"


def check_penalty(factory, sizes: Sizes, name: str = "penalty") -> None:
    pen = factory(**_kwargs(factory))
    weight = torch.randn(sizes.image_shape).requires_grad_(True)
    value = pen(lambda images: (images * weight).flatten(1).sum(1) ** 2, _images(sizes, sizes.batch))
    _assert_shape(name, value, ())
    _assert_finite(name, value)


def check_adversarial(factory, sizes: Sizes, name: str = "adversarial loss") -> None:
    """Directions: the critic gains by raising real scores and lowering fake ones; the generator by raising fakes."""
    loss = factory(**_kwargs(factory))
    real = torch.randn(sizes.batch, requires_grad=True)
    fake = torch.randn(sizes.batch, requires_grad=True)
    loss.critic(real, fake).backward()
    assert (real.grad <= 0).all() and (fake.grad >= 0).all(), f"{name}: critic loss has the wrong sign"
    assert real.grad.sum() < 0 or fake.grad.sum() > 0, f"{name}: critic loss ignores the scores"
    fake = torch.randn(sizes.batch, requires_grad=True)
    loss.generator(fake).backward()
    assert (fake.grad <= 0).all() and fake.grad.sum() < 0, f"{name}: generator loss has the wrong sign"


def check_optimizer(factory, sizes: Sizes, name: str = "optimizer") -> None:
    """A few steps on a convex quadratic lower it."""
    torch.manual_seed(sizes.seed)
    w = nn.Parameter(torch.randn(sizes.z_dim))
    opt = factory([w], **_kwargs(factory))
    start = float((w**2).sum())
    for _ in range(20):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert float((w**2).sum()) < start, f"{name}: 20 steps did not lower a quadratic"


def check_schedule(factory, sizes: Sizes, name: str = "schedule") -> None:
    w = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = factory(opt, steps=10, **_kwargs(factory))
    for _ in range(10):
        opt.step()
        sched.step()
        lr = opt.param_groups[0]["lr"]
        assert 0 <= lr <= 0.1 + 1e-12, f"{name}: learning rate {lr} outside [0, base]"


def tiny_model(factory, sizes: Sizes, **overrides) -> nn.Module:
    """A model built from small core parts for whichever part slots its constructor has."""
    from hbaezoo.registry import (
        ADVERSARIAL_LOSSES,
        DISCRIMINATORS,
        DIVERGENCES,
        ENCODERS,
        GENERATORS,
        HEADS,
        POOLERS,
        REGULARISERS,
    )

    slots = {
        "encoder": lambda **kw: ENCODERS.get("resnet")(width=8, **kw),
        "pooler": POOLERS.get("mean"),
        "head": HEADS.get("gaussian"),
        "generator": lambda **kw: GENERATORS.get("resnet")(width=8, **kw),
        "discriminator": lambda **kw: DISCRIMINATORS.get("projection")(width=8, **kw),
        "divergence": DIVERGENCES.get("mmd")(),
        "regulariser": REGULARISERS.get("l1")(),
        "adversarial": ADVERSARIAL_LOSSES.get("linear")(),
        "z_dim": sizes.z_dim,
        "noise_dim": sizes.noise_dim,
    }
    params = parameters(factory)
    kwargs = {k: v for k, v in slots.items() if k in params}
    kwargs.update(_kwargs(factory))
    kwargs.update(overrides)
    return factory(image_shape=sizes.image_shape, num_classes=sizes.num_classes, **kwargs)


def check_model(factory, sizes: Sizes, name: str = "model") -> None:
    """Every phase gives a finite scalar loss whose gradient reaches every parameter of its group,
    a step of each phase moves the model's measures the way the phase declares, and a state
    dict loads into a fresh build with identical outputs.
    """
    torch.manual_seed(sizes.seed)
    model = tiny_model(factory, sizes)
    groups = model.param_groups()
    all_params = {id(p) for ps in groups.values() for p in ps}
    assert all_params == {id(p) for p in model.parameters() if p.requires_grad}, (
        f"{name}: param_groups() must hold every trainable parameter exactly once"
    )
    not_parts = [p for p in model.averaged_parts if not isinstance(getattr(model, p, None), nn.Module)]
    assert not not_parts, f"{name}: averaged_parts names {not_parts}, which are not submodules of the model"
    batch = {
        "x": _images(sizes, sizes.batch, sizes.set_size),
        "y": torch.randint(sizes.num_classes, (sizes.batch,)),
    }
    for phase in model.phases():
        assert phase.group in groups, f"{name}: phase trains unknown group '{phase.group}'"
        model.zero_grad(set_to_none=True)
        loss, logs = phase.loss(batch)
        _assert_shape(f"{name} {phase.group} loss", loss, ())
        _assert_finite(f"{name} {phase.group} loss", loss)
        loss.backward()
        dead = [i for i, p in enumerate(groups[phase.group]) if p.grad is None]
        assert not dead, f"{name}: phase '{phase.group}' leaves {len(dead)} of its parameters without a gradient"
    model.zero_grad(set_to_none=True)
    check_phase_directions(name, model, batch, seed=sizes.seed)

    def rebuild() -> nn.Module:
        torch.manual_seed(sizes.seed + 1)  # other initial weights: only the loaded state can make outputs agree
        return tiny_model(factory, sizes)

    check_state_dict_round_trip(name, model, rebuild, lambda m: _model_output(m, batch))


def _model_output(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Every measure and every phase loss of `model` on `batch`, as one vector."""
    values = [fn() for fn in model.measures(batch).values()] + [phase.loss(batch)[0] for phase in model.phases()]
    return torch.stack([v.detach().float() for v in values])


def check_phase_directions(name: str, model: nn.Module, batch: dict[str, torch.Tensor], *, seed: int = 0,
                           step: float = 1e-2) -> None:
    """One step of each real phase, from the same start, moves its declared measures the declared way.

    The step is the phase's gradient on its group, scaled to parameter-space length `step`
    (or a tenth, a hundredth of it, until the phase's own loss falls), so the change is first
    order. Buffers (batch-norm statistics, spectral-norm vectors)
    and the RNG are reset before every evaluation: only the step can move a measure. A
    critic phase must raise the margin D(real) − D(fake), a generator phase lower it, an
    autoencoder phase lower its reconstruction error — a sign error in a loss fails here.
    """
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    groups = model.param_groups()
    model.train()  # the mode the trainer runs phases in

    def evaluate(fn):
        with torch.no_grad():
            for n, b in model.named_buffers():
                b.copy_(buffers[n])
        with seeded(seed, model.device):
            return fn()

    def measure() -> dict[str, float]:
        # Not under no_grad: a measure may hold a gradient penalty.
        return {k: float(evaluate(fn).detach()) for k, fn in model.measures(batch).items()}

    for phase in model.phases():
        wanted = {**{m: +1 for m in phase.raises}, **{m: -1 for m in phase.lowers}}
        assert wanted, (
            f"{name}: phase '{phase.group}' declares no direction. Give it Phase(..., raises=(...,)) or "
            f"lowers=(...,) naming what a step must move among the model's measures(batch)."
        )
        before = measure()
        unknown = sorted(wanted.keys() - before.keys())
        assert not unknown, f"{name}: phase '{phase.group}' names {unknown}, which measures(batch) lacks: {sorted(before)}"
        params = [p for p in groups[phase.group] if p.requires_grad]
        loss, _ = evaluate(lambda: phase.loss(batch))
        grads = [g if g is not None else torch.zeros_like(p)
                 for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True))]
        norm = float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))
        assert norm > 0, f"{name}: phase '{phase.group}' has a zero gradient on a toy batch"
        # The longest of these steps that lowers the phase's own loss is short enough to be first order.
        for length in (step, step / 10, step / 100):
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(g, alpha=length / norm)
                lower = float(evaluate(lambda: phase.loss(batch)[0])) < float(loss)
            if lower:
                break
            model.load_state_dict(start)
        else:
            raise AssertionError(
                f"{name}: no step against phase '{phase.group}''s gradient lowers its own loss ({float(loss):.6g}): "
                f"the loss and its gradient disagree (a detached or non-differentiable term?)."
            )
        after = measure()
        model.load_state_dict(start)
        for key, sign in wanted.items():
            way = "raise" if sign > 0 else "lower"
            assert sign * (after[key] - before[key]) > 0, (
                f"{name}: a step of phase '{phase.group}' should {way} '{key}' but moved it "
                f"{before[key]:.6g} -> {after[key]:.6g}. Check the sign of that phase's loss."
            )


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
    x = _images(sizes, sizes.batch, sizes.set_size) if sampler.needs_sets else _images(sizes, sizes.batch)
    try:
        grid = sampler(model, x if sampler.needs_data else None, n=2, steps=2)
    except CapabilityError as exc:
        return skip(f"{name}: a tiny Set-HBAE cannot do it: {exc}")
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
        return skip(f"{name}: its weights are not on disk: {exc}")
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
            skip(f"{name}: a tiny Set-HBAE on toy data cannot support it: {exc}")
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


CHECKS: dict[str, Callable[..., None]] = {
    "encoders": check_encoder,
    "poolers": check_pooler,
    "heads": check_head,
    "generators": check_generator,
    "discriminators": check_discriminator,
    "divergences": check_divergence,
    "regularisers": check_regulariser,
    "penalties": check_penalty,
    "adversarial": check_adversarial,
    "optimizers": check_optimizer,
    "schedules": check_schedule,
    "models": check_model,
    "datasets": check_dataset,
    "samplers": check_sampler,
    "extractors": check_extractor,
    "metrics": check_metric,
}


def check_part(kind: str, factory, sizes: Sizes | None = None, name: str | None = None) -> None:
    """Run the checks of `kind` on a part (a registered factory or any class of that kind)."""
    if kind not in CHECKS:
        raise KeyError(f"no property checks for kind '{kind}'; kinds with checks: {sorted(CHECKS)}")
    CHECKS[kind](factory, sizes or Sizes(), name=name or getattr(factory, "__name__", kind))

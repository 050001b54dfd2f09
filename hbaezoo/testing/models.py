"""Checks of whole models: a tiny model from small core parts, finite phase losses whose gradients reach
their group, and one step of each phase moving the model's measures the way the phase declares."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.scopes import seeded
from hbaezoo.signatures import parameters
from hbaezoo.testing.common import (
    Sizes,
    _assert_finite,
    _assert_shape,
    _images,
    _kwargs,
    check_state_dict_round_trip,
)


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

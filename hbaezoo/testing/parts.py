"""One check per kind of network part and loss: encoders, poolers, heads, generators, discriminators,
divergences, sampling priors, regularisers, classifiers on codes, penalties, adversarial losses, optimizers and schedules."""

from __future__ import annotations

import torch
from torch import nn

from hbaezoo.components.posterior import Posterior
from hbaezoo.components.priors import conditional, fits
from hbaezoo.testing.common import Sizes, _assert_finite, _assert_shape, _images, _kwargs, _module_checks


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


def check_classifier(factory, sizes: Sizes, name: str = "classifier") -> None:
    z = torch.randn(sizes.batch, sizes.z_dim)

    def build():
        return factory(z_dim=sizes.z_dim, num_classes=sizes.num_classes, **_kwargs(factory))

    _assert_shape(name, build()(z), (sizes.batch, sizes.num_classes))
    _module_checks(name, build, lambda m: m(z))


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


def check_prior(factory, sizes: Sizes, name: str = "prior") -> None:
    """Draws [n, Z] that are finite; a prior that fits lands on the codes it was fitted to, and its
    fit travels in its state_dict (the checkpoint). A conditional prior is built with `given_dim`, fitted to
    rows [given, code] and drawn at a given value."""
    gen = torch.Generator().manual_seed(sizes.seed)
    given_dim = sizes.z_dim if conditional(factory) else 0

    def build():
        return factory(z_dim=sizes.z_dim, **({"given_dim": given_dim} if given_dim else {}), **_kwargs(factory))

    def draw(prior, n: int) -> torch.Tensor:
        return prior.sample(n, given=torch.randn(n, given_dim, generator=gen)) if given_dim else prior.sample(n)

    prior = build()
    draws = draw(prior, 64)
    _assert_shape(name, draws, (64, sizes.z_dim))
    _assert_finite(name, draws)
    if not fits(prior):
        return
    # Codes in a thin, shifted sub-space: far from N(0, I), as a trained encoder's are.
    codes = 3.0 + 0.1 * torch.randn(256, sizes.z_dim, generator=gen)
    prior.fit(torch.cat([torch.randn(256, given_dim, generator=gen), codes], 1) if given_dim else codes)
    draws = draw(prior, 512)
    assert (draws.mean(0) - 3.0).abs().max() < 0.1, f"{name}: draws after fit() do not centre on the codes"
    assert draws.std(0).max() < 0.3, f"{name}: draws after fit() spread far wider than the codes"
    rebuilt = build()
    rebuilt.load_state_dict(prior.state_dict())
    at = torch.randn(8, given_dim, generator=gen)
    with torch.random.fork_rng():
        torch.manual_seed(sizes.seed)
        a = prior.sample(8, given=at) if given_dim else prior.sample(8)
        torch.manual_seed(sizes.seed)
        b = rebuilt.sample(8, given=at) if given_dim else rebuilt.sample(8)
    assert torch.equal(a, b), f"{name}: a prior rebuilt from its state_dict draws other codes (the fit is not saved)"


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

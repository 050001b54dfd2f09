"""The projection critic that reads a set's elements jointly (`discriminators.projection.set_spread`)."""

import pytest
import torch
from einops import repeat

from hbaezoo.components.discriminators import ProjectionDiscriminator
from hbaezoo.registry import load_core, registry

SHAPE, Z, K = (3, 16, 16), 4, 4


def critic(set_spread: bool, seed: int = 0) -> ProjectionDiscriminator:
    torch.manual_seed(seed)
    d = ProjectionDiscriminator(image_shape=SHAPE, cond_dim=Z, width=16, set_spread=set_spread)
    return d.eval()


def sets(b: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """b sets of K different images, flattened element-major [b·K, C, H, W], and their codes [b·K, Z]."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b * K, *SHAPE, generator=g) * 2 - 1
    z = repeat(torch.randn(b, Z, generator=g), "b z -> (b k) z", k=K)
    return x, z


def test_set_score_tells_k_copies_of_one_view_from_k_views():
    d = critic(True)
    x, z = sets()
    copies = repeat(x[::K], "b c h w -> (b k) c h w", k=K)  # every set: its first view K times
    with torch.no_grad():
        alone = d(copies, z)  # elements scored one by one: copies score as their one view does
        joint_copies, joint_views = d(copies, z, set_size=K), d(x, z, set_size=K)
        spread_views = joint_views - d(x, z)
    assert not torch.allclose(joint_copies, alone)  # a set of copies has a (near-)zero spread, not none
    # The spread term is one number per set, shared by its elements, and differs between copies and views.
    per_set = spread_views.view(-1, K)
    assert torch.allclose(per_set, per_set[:, :1].expand_as(per_set), atol=1e-5)
    assert not torch.allclose(joint_copies - alone, spread_views)


def test_set_score_does_not_depend_on_element_order_and_needs_whole_sets():
    d = critic(True)
    x, z = sets()
    perm = torch.cat([torch.randperm(K) + i * K for i in range(len(x) // K)])
    with torch.no_grad():
        assert torch.allclose(d(x, z, set_size=K)[perm], d(x[perm], z[perm], set_size=K), atol=1e-5)
    with pytest.raises(ValueError, match="whole sets"):
        d(x[:-1], z[:-1], set_size=K)


def test_without_set_spread_the_set_size_changes_nothing():
    d = critic(False)
    x, z = sets()
    assert not d.reads_sets
    with torch.no_grad():
        assert torch.equal(d(x, z), d(x, z, set_size=K))


def test_spread_gradient_is_finite_on_identical_copies():
    d = critic(True)
    x, z = sets(b=2)
    copies = repeat(x[::K], "b c h w -> (b k) c h w", k=K).requires_grad_(True)
    d(copies, z, set_size=K).sum().backward()
    assert torch.isfinite(copies.grad).all() and copies.grad.abs().sum() > 0


def test_set_hbae_tells_its_critic_the_set_size():
    """Swapping one view between two sets changes their scores only when the critic reads sets."""
    load_core()
    for set_spread, changes in ((True, True), (False, False)):
        torch.manual_seed(0)
        model = registry("models").get("set_hbae")(
            image_shape=SHAPE, encoder=registry("encoders").get("resnet"), pooler=registry("poolers").get("mean"),
            head=registry("heads").get("deterministic"), generator=registry("generators").get("resnet"),
            discriminator=lambda **kw: ProjectionDiscriminator(**kw, width=16, set_spread=set_spread),
            divergence=registry("divergences").get("mmd"), z_dim=Z, noise_dim=Z).eval()
        x, z = sets(b=2)
        swapped = x.clone()
        swapped[[0, K]] = x[[K, 0]]
        with torch.no_grad():
            before, after = model.score(x, z, K), model.score(swapped, z, K)
        # Elements that stayed put (1..K-1 and K+1..) keep their own score unless the set term reads the swap.
        kept = [i for i in range(2 * K) if i not in (0, K)]
        assert (not torch.allclose(before[kept], after[kept])) is changes

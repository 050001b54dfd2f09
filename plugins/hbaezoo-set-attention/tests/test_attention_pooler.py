"""poolers.attention passes the pooler checks of hbaezoo.testing and builds from gin by name."""

import functools

import gin
import pytest
import torch
from hbaezoo_set_attention import AttentionPooler, usable_heads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbaezoo import config
from hbaezoo.errors import ConfigError
from hbaezoo.registry import MODELS, POOLERS
from hbaezoo.testing import Sizes, check_part


def test_passes_pooler_checks():
    check_part("poolers", AttentionPooler, Sizes())


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    sizes=st.builds(
        Sizes,
        batch=st.integers(1, 4),
        set_size=st.integers(1, 6),
        feature_dim=st.sampled_from([1, 2, 7, 8, 12, 13]),
    ),
    heads=st.integers(1, 6),
    seeds=st.integers(1, 3),
)
def test_passes_pooler_checks_over_sizes(sizes, heads, seeds):
    torch.manual_seed(0)
    check_part("poolers", functools.partial(AttentionPooler, heads=heads, seeds=seeds), sizes, name="attention")


@pytest.mark.parametrize(
    ("dim", "heads", "used"), [(12, 4, 4), (7, 4, 1), (13, 4, 1), (6, 4, 3), (10, 4, 2), (2, 8, 2)]
)
def test_heads_fall_back_to_largest_divisor(dim, heads, used):
    assert usable_heads(dim, heads) == used
    assert AttentionPooler(dim=dim, heads=heads).heads == used


def test_rejects_nonpositive_settings():
    with pytest.raises(ConfigError, match="heads and seeds"):
        AttentionPooler(dim=8, seeds=0)


def test_registered_as_poolers_attention():
    assert POOLERS.part("attention").original is AttentionPooler


def test_gin_binding_builds_set_hbae_with_attention_pooler():
    config.parse(bindings=[
        "models.set_hbae.encoder = @encoders.resnet",
        "encoders.resnet.width = 8",
        "models.set_hbae.pooler = @poolers.attention",
        "poolers.attention.heads = 2",
        "models.set_hbae.head = @heads.deterministic",
        "models.set_hbae.generator = @generators.resnet",
        "generators.resnet.width = 8",
        "models.set_hbae.discriminator = @discriminators.projection",
        "discriminators.projection.width = 8",
        "models.set_hbae.divergence = @divergences.mmd()",
        "models.set_hbae.adversarial = @adversarial.linear()",
        "models.set_hbae.z_dim = 4",
        "models.set_hbae.noise_dim = 4",
    ])
    try:
        model = MODELS.get("set_hbae")(image_shape=(3, 16, 16))
        assert isinstance(model.pooler, AttentionPooler)
        assert model.pooler.heads == 2
        sets = torch.rand(2, 3, 3, 16, 16) * 2 - 1  # [B, K, C, H, W]
        assert model.encode(sets).mean.shape == (2, 4)
    finally:
        gin.clear_config()

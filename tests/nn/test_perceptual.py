"""LPIPS is built one way (hbaezoo.nn.perceptual), with one policy for missing trunk weights."""

import pytest
import torch

from hbaezoo.errors import ConfigError, WeightsUnavailable
from hbaezoo.eval.diversity import lpips_model
from hbaezoo.nn.perceptual import lpips_network, prepare
from hbaezoo.registry import REGULARISERS


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """A torch hub cache without any trunk weights."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    return tmp_path


def _images(n=2, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_imagenet_trunk_without_weights_is_a_clear_error_naming_the_file(empty_hub):
    with pytest.raises(WeightsUnavailable, match=r"alexnet-owt-7be5be79\.pth.*never downloads"):
        lpips_network("alex", "imagenet", setting="regularisers.lpips.trunk")
    with pytest.raises(WeightsUnavailable, match="regularisers.lpips.trunk = 'random'"):
        REGULARISERS.get("lpips")()  # the regulariser's default demands the real trunk


def test_auto_without_weights_is_the_fixed_random_trunk_and_says_so(empty_hub):
    auto, what_auto = lpips_network("alex", "auto")
    rand, what_rand = lpips_network("alex", "random")
    assert "random init" in what_auto and "not in" in what_auto and "random init" in what_rand
    a, b = prepare(_images(seed=1)), prepare(_images(seed=2))
    with torch.no_grad():
        assert torch.equal(auto(a, b), rand(a, b))  # seeded: the same random trunk every time


def test_bad_names_are_config_errors():
    with pytest.raises(ConfigError, match=r"regularisers\.lpips\.trunk: 'imagnet'"):
        lpips_network("alex", "imagnet")
    with pytest.raises(ConfigError, match=r"regularisers\.lpips\.net: 'resnet'"):
        lpips_network("resnet", "random")


def test_prepare_makes_rgb_of_at_least_64_pixels():
    grey = torch.zeros(2, 1, 16, 16)
    assert prepare(grey).shape == (2, 3, 64, 64)
    big = torch.zeros(2, 3, 80, 80)
    assert prepare(big) is big


def test_regulariser_is_a_fixed_metric_in_training_mode_and_passes_gradients():
    reg = REGULARISERS.get("lpips")(trunk="random", weight=2.0)
    reg.train()
    x, x_hat = _images(seed=3), _images(seed=4).requires_grad_(True)
    first, second = reg(x, x_hat), reg(x, x_hat)
    assert torch.equal(first, second), "LPIPS' dropout must stay off when the model trains"
    assert first > 0 and reg(x, x) == 0
    first.backward()
    assert x_hat.grad is not None and x_hat.grad.abs().sum() > 0


def test_metric_and_regulariser_build_the_same_network(empty_hub):
    reg = REGULARISERS.get("lpips")(trunk="random", weight=1.0)
    net, _ = lpips_model(torch.device("cpu"), "random")
    x, y = _images(seed=5), _images(seed=6)
    with torch.no_grad():
        assert torch.allclose(reg(x, y), net(prepare(x), prepare(y)).mean())

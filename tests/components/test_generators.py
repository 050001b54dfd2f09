"""The conditional generator's learned noise strength (generators.resnet.noise_strength)."""

import pytest
import torch

from hbaezoo.errors import ConfigError
from hbaezoo.registry import GENERATORS


def _generator(**kwargs):
    torch.manual_seed(0)
    return GENERATORS.get("resnet")(image_shape=(3, 8, 8), z_dim=4, noise_dim=3, width=8, **kwargs).eval()


def test_a_zero_noise_strength_starts_deterministic_and_learns_to_use_the_noise():
    generator = _generator(noise_strength=0.0)
    z, target = torch.randn(6, 4), torch.rand(6, 3, 8, 8) * 2 - 1
    a, b = torch.randn(6, 3), torch.randn(6, 3)
    assert torch.equal(generator(z, a), generator(z, b))  # at the start, z' changes nothing
    # An image per noise draw: only a generator that reads z' can lower this loss, and the strength gets the gradient.
    def loss():
        return (generator(z, a) - target).pow(2).mean() + (generator(z, b) - target.flip(0)).pow(2).mean()

    before = loss()
    before.backward()
    assert generator.noise_strength.grad.abs().sum() > 0
    with torch.no_grad():
        generator.noise_strength -= 0.05 * generator.noise_strength.grad.sign()
    assert float(loss()) < float(before)
    assert not torch.allclose(generator(z, a), generator(z, b))


def test_without_a_noise_strength_the_noise_enters_as_drawn():
    generator = _generator()
    assert generator.noise_strength is None
    z = torch.randn(6, 4)
    assert not torch.allclose(generator(z, torch.randn(6, 3)), generator(z, torch.randn(6, 3)))
    strong = _generator(noise_strength=1.0)
    assert strong.load_state_dict(generator.state_dict(), strict=False).missing_keys == ["noise_strength"]
    noise = torch.randn(6, 3)
    assert torch.allclose(strong(z, noise), generator(z, noise))  # strength 1 is the plain generator


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_noise_strength_that_is_no_number_is_refused(value):
    with pytest.raises(ConfigError, match="noise_strength"):
        _generator(noise_strength=value)

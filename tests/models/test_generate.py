"""Every model that draws images from codes draws them one way (models/base.py `generate_from`): z' from
N(0, I) unless given, scaled by noise_scale, the k draws of one code together."""

import pytest
import torch

from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model


@pytest.mark.parametrize("name", ["hbae", "bigan"])
def test_generate_takes_the_noise_it_is_given_scaled_and_draws_its_own_otherwise(name):
    torch.manual_seed(0)
    model = tiny_model(MODELS.get(name), Sizes()).eval()
    seen = []
    forward = model.generator.forward
    model.generator.forward = lambda z, noise: seen.append((z, noise)) or forward(z, noise)
    z = torch.randn(2, model.z_dim)
    given = torch.full((6, model.noise_dim), 2.0)
    images = model.generate(z, 3, noise_scale=0.5, noise=given)
    codes, noise = seen[-1]
    assert images.shape[0] == 6 and torch.equal(noise, torch.ones(6, model.noise_dim))
    assert torch.equal(codes[:3], z[:1].expand(3, -1)) and torch.equal(codes[3:], z[1:].expand(3, -1))
    # Noise-free (what experiments/sampling_diagnostics.py's noise_free mode asks): one image per code.
    still = model.generate(z, 3, noise_scale=0.0)
    assert torch.allclose(still[0], still[2]) and not torch.allclose(still[0], still[3])
    model.generate(z, 3)
    drawn = seen[-1][1]
    assert drawn.shape == (6, model.noise_dim) and drawn.std() > 0.3

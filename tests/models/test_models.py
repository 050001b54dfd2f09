"""Behaviour of the assemblies: set codes ignore element order, the VAE learns, capabilities are honest."""

import pytest
import torch

from hbaezoo.errors import CapabilityError
from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model


def test_set_hbae_code_ignores_the_order_of_the_set():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(set_size=5)).eval()
    x = torch.rand(3, 5, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        a = model.encode(x).mean
        b = model.encode(x[:, torch.randperm(5)]).mean
    assert torch.allclose(a, b, atol=1e-5)


def test_set_hbae_samples_sets_of_any_size():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(set_size=4)).eval()
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    assert model.reconstruct_set(x, 7).shape == (2, 7, 3, 16, 16)
    assert model.sample_sets(3, 2).shape == (3, 2, 3, 16, 16)


def test_set_hbae_elements_of_a_generated_set_differ_but_share_a_code():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes()).eval()
    sets = model.sample_sets(2, 4)
    assert (sets[:, 0] - sets[:, 1]).abs().mean() > 1e-4, "different z' must give different elements"


def test_hbae_stochastic_reconstructions_differ():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes()).eval()
    recon = model.reconstruct(torch.rand(2, 3, 16, 16) * 2 - 1, 3)
    assert recon.shape == (3, 2, 3, 16, 16)
    assert (recon[0] - recon[1]).abs().mean() > 1e-4


def test_vae_negative_elbo_decreases_on_a_toy_set():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("vae"), Sizes(batch=16, set_size=1, resolution=8))
    from hbaezoo.components.divergences import KL

    model.divergence = KL()
    x = (torch.rand(16, 1, 3, 8, 8) > 0.5).float() * 1.6 - 0.8
    (phase,) = model.phases()
    opt = torch.optim.Adam(model.param_groups()["autoencoder"], lr=1e-3)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss, _ = phase.loss({"x": x})
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.9 * sum(losses[:5]) / 5


def test_vae_decodes_a_prior_code_once_and_a_posterior_per_draw():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("vae"), Sizes()).eval()
    calls = []
    model.generator.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    samples = model.sample(3, 4)
    assert calls == [3], "a prior code is a point mass: one decode per code"
    assert samples.shape == (4, 3, 3, 16, 16)
    assert torch.equal(samples[0], samples[3]), "a deterministic decoder of one code gives one image"
    calls.clear()
    recon = model.reconstruct(torch.rand(2, 3, 16, 16) * 2 - 1, 3)
    assert calls == [6], "posterior draws differ, so each is decoded"
    assert (recon[0] - recon[1]).abs().mean() > 1e-6


@pytest.mark.parametrize("name", ["gan", "cgan"])
def test_gans_refuse_to_reconstruct_with_a_clear_reason(name):
    model = tiny_model(MODELS.get(name), Sizes()).eval()
    with pytest.raises(CapabilityError, match="has no encoder"):
        model.reconstruct(torch.zeros(1, 3, 16, 16), 2)


def test_cgan_samples_follow_their_label():
    """Set i is drawn from class i % classes; the same noise under another label gives other images."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("cgan"), Sizes(num_classes=3)).eval()
    torch.manual_seed(1)
    sets = model.sample_sets(3, 2)
    assert sets.shape == (3, 2, 3, 16, 16)
    with torch.no_grad():
        torch.manual_seed(1)
        own = model.generate(model.one_hot(torch.tensor([0, 1, 2])), 2)
        torch.manual_seed(1)
        other = model.generate(model.one_hot(torch.tensor([1, 2, 0])), 2)
    assert torch.allclose(sets.flatten(0, 1), own, atol=1e-6)
    assert (sets.flatten(0, 1) - other).abs().mean() > 1e-3, "the label must change what is drawn"
    z, _ = model.condition({"x": torch.zeros(4, 3, 16, 16), "y": torch.tensor([2, 0, 1, 2])}, terms=False)
    assert z.argmax(1).tolist() == [2, 0, 1, 2] and torch.equal(z.sum(1), torch.ones(4))


def test_cgan_needs_labels():
    from hbaezoo.errors import ConfigError

    with pytest.raises(ConfigError, match="class labels"):
        tiny_model(MODELS.get("cgan"), Sizes(num_classes=0))

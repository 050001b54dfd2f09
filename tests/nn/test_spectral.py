"""hbaezoo's spectral norm is torch's in keys and numbers, but never writes a tensor a graph may have saved."""

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from hbaezoo.nn.spectral import spectral_norm

LAYERS = [lambda: nn.Conv2d(3, 5, 3, padding=1), lambda: nn.Linear(7, 4, bias=False)]


def pair(make):
    torch.manual_seed(0)
    ours = spectral_norm(make())
    torch.manual_seed(0)
    theirs = torch_spectral_norm(make())
    return ours, theirs


def inputs(layer, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (2, 3, 6, 6) if isinstance(layer, nn.Conv2d) else (2, 7)
    return torch.randn(shape, generator=g)


@pytest.mark.parametrize("make", LAYERS)
def test_same_keys_initial_state_and_training_steps_as_torch(make):
    ours, theirs = pair(make)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    for module in (ours, theirs):
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        for step in range(3):
            # Two calls before one backward, as a critic on real and fake images.
            loss = module(inputs(module, step)).square().mean() - module(inputs(module, step + 10)).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    ours.eval(), theirs.eval()
    assert torch.equal(ours(inputs(ours, 99)), theirs(inputs(theirs, 99)))


def test_checkpoints_move_between_torch_and_hbaezoo_spectral_norm():
    ours, theirs = pair(LAYERS[0])
    with torch.no_grad():
        theirs.parametrizations.weight.original.mul_(2)
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    ours.eval(), theirs.eval()
    assert torch.equal(ours.weight, theirs.weight)


def test_power_iteration_stores_new_tensors_and_leaves_saved_ones_alone():
    """The property torch.compile needs: a training call never changes a vector read by an earlier call."""
    layer, _ = pair(LAYERS[0])
    norm = layer.parametrizations.weight[0]
    u, v = norm._u, norm._v
    u_before, version = u.clone(), u._version
    layer(inputs(layer, 0))
    assert norm._u is not u and norm._v is not v
    assert u._version == version and torch.equal(u, u_before)
    assert not torch.equal(norm._u, u_before)  # it did iterate


def test_normalised_weight_has_unit_spectral_norm():
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(16, 8))
    for _ in range(30):
        layer(torch.zeros(1, 16))  # each training-mode call runs one power iteration
    assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item() == pytest.approx(1.0, abs=1e-4)


def test_refuses_what_it_cannot_normalise():
    with pytest.raises(ValueError, match="transposed"):
        spectral_norm(nn.ConvTranspose2d(3, 3, 3))
    with pytest.raises(ValueError, match="no tensor 'kernel'"):
        spectral_norm(nn.Linear(2, 2), name="kernel")

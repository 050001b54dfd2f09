"""Pieces of the metrics that are easy to get subtly wrong."""

import torch

from hbaezoo.eval.labelling import coherence_rates
from hbaezoo.eval.diversity import lpips_between, lpips_features, lpips_model
from hbaezoo.eval.fewshot import capped
from hbaezoo.eval.fidelity import pixel_mse, random_pairs


def test_lpips_from_shared_features_equals_lpips_forward():
    net, what = lpips_model(torch.device("cpu"))
    assert "LPIPS v0.1" in what
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1, torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    with torch.no_grad():
        expected = net(a, b).flatten()
        got = lpips_between(net, lpips_features(net, a), lpips_features(net, b))
    assert torch.allclose(expected, got, atol=1e-6)


def test_coherence_rates():
    pred = torch.tensor([[1, 1, 1], [1, 2, 1], [0, 0, 0], [2, 1, 0]])
    coherent, majority = coherence_rates(pred)
    assert coherent == 50.0
    assert abs(majority - 100 * (3 + 2 + 3 + 1) / 12) < 1e-9


def test_probe_sizes_are_capped_by_availability():
    assert capped((64, 128, 256), 1000) == [64, 128, 256]
    assert capped((64, 128, 256, 512), 200) == [64, 128, 200]
    assert capped((64, 128), 15) == [15]


def test_random_pairs_never_pair_an_image_with_itself():
    i, j = random_pairs(10, torch.Generator().manual_seed(0))
    assert (i != j).all() and sorted(i.tolist()) == list(range(10))


def test_pixel_mse_is_on_the_unit_scale():
    black = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    white = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    assert pixel_mse(black, white).tolist() == [1.0, 1.0]

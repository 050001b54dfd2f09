import torch

from hbaezoo.eval.probe import fit_linear, linear_probe


def _blobs(n, k=4, d=16, spread=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(k, d, generator=torch.Generator().manual_seed(99)) * 3
    labels = torch.randint(k, (n,), generator=g)
    return centres[labels] + spread * torch.randn(n, d, generator=g), labels


def test_linearly_separable_features_are_classified_perfectly():
    x, y = _blobs(200, seed=0)
    xt, yt = _blobs(500, seed=1)
    assert linear_probe(x, y, xt, yt, seed=0) >= 0.99


def test_random_labels_give_chance():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 32, generator=g), torch.randint(4, (256,), generator=g)
    xt, yt = torch.randn(4000, 32, generator=g), torch.randint(4, (4000,), generator=g)
    assert abs(linear_probe(x, y, xt, yt, seed=0) - 0.25) < 0.05


def test_numpy_inputs_and_seeds_are_deterministic():
    x, y = _blobs(64, spread=2.0)
    xt, yt = _blobs(300, spread=2.0, seed=3)
    a = linear_probe(x.numpy(), y.numpy(), xt.numpy(), yt.numpy(), seed=5)
    assert a == linear_probe(x, y, xt, yt, seed=5)
    clf = fit_linear(x, y, seed=5, num_classes=4)
    assert clf.logits(xt).shape == (300, 4)


def test_constant_feature_dimensions_do_not_break_the_fit():
    x, y = _blobs(100)
    x[:, 0] = 7.0
    assert linear_probe(x, y, *_blobs(100, seed=2), seed=0) >= 0.99

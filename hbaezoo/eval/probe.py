"""A linear classifier on frozen features, as in the paper's few-shot protocol (Table 2).

Multinomial logistic regression: softmax cross-entropy, no regularisation and no
augmentation, fitted full-batch with L-BFGS (strong Wolfe line search) in float64 on CPU.
Features are standardised with the training examples' mean and standard deviation (an
affine reparameterisation, not a regulariser: it only helps the optimiser). Weights start
at small Gaussian values drawn from `seed`.

    acc = linear_probe(train_feats, train_labels, test_feats, test_labels, seed=0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hbaezoo.scopes import num_threads


def _tensor(x, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x.detach().cpu(), dtype=dtype)


@dataclass
class LinearClassifier:
    """A fitted probe: standardisation, then logits = x W + b."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def logits(self, feats) -> torch.Tensor:
        x = (_tensor(feats, torch.float64) - self.mean) / self.std
        return x @ self.weight + self.bias

    def predict(self, feats) -> torch.Tensor:
        return self.logits(feats).argmax(1)

    def accuracy(self, feats, labels) -> float:
        labels = _tensor(labels, torch.long)
        return float((self.predict(feats) == labels).double().mean()) if len(labels) else float("nan")


def fit_linear(feats, labels, *, seed: int = 0, num_classes: int | None = None, max_iter: int = 500) -> LinearClassifier:
    """Fit the probe on features [N, D] and integer labels [N]."""
    x = _tensor(feats, torch.float64)
    y = _tensor(labels, torch.long)
    if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"fit_linear needs features [N, D] and labels [N], got {tuple(x.shape)} and {tuple(y.shape)}")
    k = int(num_classes or int(y.max()) + 1)
    mean = x.mean(0)
    std = x.std(0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))  # constant features stay constant (zero)
    x = (x - mean) / std
    g = torch.Generator().manual_seed(int(seed))
    weight = (torch.randn(x.shape[1], k, generator=g, dtype=torch.float64) * 0.01).requires_grad_(True)
    bias = torch.zeros(k, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, y)
        loss.backward()
        return loss

    # Tiny ops: extra threads only spin (60x slower on a busy 2-core machine).
    with num_threads(1), torch.enable_grad():
        opt.step(closure)
    return LinearClassifier(mean, std, weight.detach(), bias.detach())


def linear_probe(train_feats, train_labels, test_feats, test_labels, seed: int = 0, *,
                 num_classes: int | None = None, max_iter: int = 500) -> float:
    """Test accuracy (0..1) of a linear classifier fitted on the training features (see module doc)."""
    train_labels = _tensor(train_labels, torch.long)
    test_labels = _tensor(test_labels, torch.long)
    k = num_classes or int(max(int(train_labels.max()), int(test_labels.max()) if len(test_labels) else 0)) + 1
    clf = fit_linear(train_feats, train_labels, seed=seed, num_classes=k, max_iter=max_iter)
    return clf.accuracy(test_feats, test_labels)

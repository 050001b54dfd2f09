import warnings

import numpy as np
import pytest
import scipy.linalg
from cleanfid.fid import fid_from_feats

from hbaezoo.eval.fid import feature_stats, fid_from_features, frechet_distance


def _feats(n=400, d=12, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _inception_like(n, d, seed, *, shift=0.0, scale=1.0):
    """Non-negative, correlated features with a decaying spectrum, like Inception pool3 (mean ≈ 0.3)."""
    rng = np.random.default_rng(seed)
    k = min(d, 512)
    mixing = rng.normal(size=(k, d)) * (4 / np.sqrt(k)) * np.arange(1, k + 1)[:, None] ** -0.5
    return np.maximum(rng.normal(size=(n, k)) @ (mixing * scale) + 0.2 + shift, 0) + 0.01 * rng.normal(size=(n, d))


def _pair(n, d):
    return _inception_like(n, d, 0), _inception_like(n, d, 1, shift=0.05, scale=1.1)


def _fid_by_cholesky(a, b):
    """An independent computation: the eigenvalues of Σ₁Σ₂ are those of Lᵀ Σ₁ L with Σ₂ = L Lᵀ."""
    (mu1, s1), (mu2, s2) = feature_stats(a), feature_stats(b)
    chol = np.linalg.cholesky(s2)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(chol.T @ s1 @ chol), 0, None)).sum()
    return (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt


def _clean_fid(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # clean-fid passes sqrtm's deprecated `disp`
        return fid_from_feats(a, b)


def test_fid_of_a_feature_set_against_itself_is_zero():
    a = _feats()
    assert fid_from_features(a, a) == pytest.approx(0, abs=1e-6)


def test_fid_grows_with_a_shift():
    a = _feats()
    values = [fid_from_features(a, a + shift) for shift in (0.1, 0.5, 1.0)]
    assert values[0] < values[1] < values[2]
    # Same covariance: only the mean term remains, D * shift².
    assert values[2] == pytest.approx(a.shape[1] * 1.0, rel=1e-6)


def test_known_value_of_two_diagonal_gaussians():
    # Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^½ = Σ (σ₁ − σ₂)² per axis for diagonal covariances.
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 4.0, 1.0])
    assert frechet_distance([0, 0, 0], s1, [1, 0, 0], s2) == pytest.approx(1 + (1 + 0 + 4), rel=1e-12)


@pytest.mark.parametrize("n, d", [(400, 12), (2000, 256), (200, 256)], ids=["small", "256-dim", "256-dim-singular"])
def test_agrees_with_clean_fid(n, d):
    a, b = _pair(n, d)
    ours = fid_from_features(a, b)
    assert ours == pytest.approx(_clean_fid(a, b), rel=1e-6)
    assert ours > 1


@pytest.mark.slow  # clean-fid's sqrtm of a 2048 x 2048 product: seconds on an idle machine, a minute on a busy one
def test_agrees_with_clean_fid_on_2048_dim_inception_like_features():
    # hbaezoo eval's default n = 1000 is fewer samples than dimensions: both covariances are singular.
    a, b = _pair(1000, 2048)
    assert fid_from_features(a, b) == pytest.approx(_clean_fid(a, b), rel=1e-6)


def test_works_under_a_scipy_whose_sqrtm_rejects_disp(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm

    def sqrtm_without_disp(A, *, blocksize=64):  # SciPy >= 1.18's signature
        return real_sqrtm(A)

    monkeypatch.setattr(scipy.linalg, "sqrtm", sqrtm_without_disp)
    a, b = _pair(1000, 512)
    with pytest.raises(TypeError, match="disp"):  # the stand-in breaks clean-fid's own Fréchet distance ...
        fid_from_feats(a[:50, :8], b[:50, :8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ... and ours neither fails nor warns
        ours = fid_from_features(a, b)
    assert ours == pytest.approx(_fid_by_cholesky(a, b), rel=1e-9)
    assert ours > 1


def test_too_few_or_mismatched_features_are_refused():
    with pytest.raises(ValueError, match="at least two"):
        fid_from_features(_feats(n=1), _feats())
    with pytest.raises(ValueError, match="dimensions"):
        fid_from_features(_feats(d=3), _feats(d=4))
    with pytest.raises(ValueError, match="one D"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), np.eye(4))

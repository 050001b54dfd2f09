"""Fréchet distance between two feature sets, in float64 from symmetric eigendecompositions.

FID = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^½ over the Gaussians fitted to each set (mean and
unbiased covariance, as clean-fid's `fid_from_feats`). It is biased upwards at small sample
counts, so numbers are comparable only at equal counts and with the same extractor.

The trace term needs only eigenvalues: Σ₁Σ₂ is similar to the symmetric positive
semi-definite √Σ₁ Σ₂ √Σ₁, so Tr (Σ₁Σ₂)^½ = Σᵢ √λᵢ(√Σ₁ Σ₂ √Σ₁). Two `eigh` calls replace
clean-fid's `scipy.linalg.sqrtm(Σ₁Σ₂, disp=False)`, whose `disp` argument SciPy 1.18 removed;
the value agrees with clean-fid's within 1e-6 relative (tests/eval/test_fid.py; docs/evaluation.md).
"""

from __future__ import annotations

import numpy as np


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], covariance [D, D]) in float64, as clean-fid computes them."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"FID needs at least two feature vectors [N, D], got shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance [D, D] (negative rounding-error eigenvalues as 0)."""
    eigenvalues, vectors = np.linalg.eigh(sigma)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr (Σ₁Σ₂)^½ for covariances [D, D], from the eigenvalues of √Σ₁ Σ₂ √Σ₁."""
    root1 = sqrt_psd(sigma1)
    eigenvalues = np.linalg.eigvalsh(root1 @ sigma2 @ root1)
    # With fewer samples than dimensions the product is singular: its zero eigenvalues come out ±1e-12.
    return float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(μ₁ [D], Σ₁ [D, D]) and N(μ₂, Σ₂), computed in float64."""
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"Fréchet distance needs means [D] and covariances [D, D] of one D; got means "
                         f"{mu1.shape}, {mu2.shape} and covariances {sigma1.shape}, {sigma2.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2))


def fid_from_features(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """FID between two feature sets [N₁, D] and [N₂, D]."""
    mu1, sigma1 = feature_stats(feats1)
    mu2, sigma2 = feature_stats(feats2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature sets have different dimensions: {mu1.shape[0]} and {mu2.shape[0]}")
    return frechet_distance(mu1, sigma1, mu2, sigma2)

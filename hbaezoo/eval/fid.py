"""Fréchet distance between two feature sets, with clean-fid's own implementation.

FID = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) over the Gaussians fitted to each set (mean and
unbiased covariance, as clean-fid's `fid_from_feats`). It is biased upwards at small sample
counts, so numbers are comparable only at equal counts and with the same extractor.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], covariance [D, D]) in float64, as clean-fid computes them."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"FID needs at least two feature vectors [N, D], got shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """clean-fid's numerically stable Fréchet distance (its singular-product notice is silenced)."""
    from cleanfid.fid import frechet_distance as cleanfid_frechet
    from scipy.linalg import LinAlgWarning

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # singular covariances (few samples) are handled
        warnings.simplefilter("ignore", DeprecationWarning)  # clean-fid passes sqrtm's deprecated `disp`
        return float(cleanfid_frechet(mu1, sigma1, mu2, sigma2))


def fid_from_features(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """FID between two feature sets [N₁, D] and [N₂, D]."""
    mu1, sigma1 = feature_stats(feats1)
    mu2, sigma2 = feature_stats(feats2)
    if mu1.shape != mu2.shape:
        raise ValueError(f"feature sets have different dimensions: {mu1.shape[0]} and {mu2.shape[0]}")
    return frechet_distance(mu1, sigma1, mu2, sigma2)

import numpy as np
import pytest
from cleanfid.fid import fid_from_feats

from hbaezoo.eval.fid import fid_from_features


def _feats(n=400, d=12, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_fid_of_a_feature_set_against_itself_is_zero():
    a = _feats()
    assert fid_from_features(a, a) == pytest.approx(0, abs=1e-6)


def test_fid_grows_with_a_shift():
    a = _feats()
    values = [fid_from_features(a, a + shift) for shift in (0.1, 0.5, 1.0)]
    assert values[0] < values[1] < values[2]
    # Same covariance: only the mean term remains, D * shift².
    assert values[2] == pytest.approx(a.shape[1] * 1.0, rel=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # clean-fid passes sqrtm a deprecated argument
def test_agrees_with_clean_fid_on_the_same_features():
    a, b = _feats(seed=1), _feats(seed=2) * 1.3 + 0.2
    assert fid_from_features(a, b) == pytest.approx(fid_from_feats(a, b), rel=1e-9, abs=1e-12)
    assert fid_from_features(a, b) > 0.5


def test_too_few_or_mismatched_features_are_refused():
    with pytest.raises(ValueError, match="at least two"):
        fid_from_features(_feats(n=1), _feats())
    with pytest.raises(ValueError, match="dimensions"):
        fid_from_features(_feats(d=3), _feats(d=4))

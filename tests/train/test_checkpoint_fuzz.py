"""Crafted checkpoints (checksums fixed up to match) load, or fail with a CheckpointError naming the field."""

import hashlib
import json
import shutil
import uuid

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hbaezoo.data.base import TensorImageDataset
from hbaezoo.errors import CheckpointError
from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model
from hbaezoo.rundir import checkpoints as checkpoint
from hbaezoo.training.trainer import Trainer


def toy_dataset(n=16):
    return TensorImageDataset(torch.randint(0, 255, (n, 3, 8, 8), dtype=torch.uint8),
                              torch.zeros(n), torch.arange(n), ())


def trainer(run_dir):
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("vae"), Sizes(resolution=8))
    return Trainer(model, toy_dataset(), run_dir, steps=2, batch_size=4, progress=False, tensorboard=False,
                   checkpoint_every=1, sample_every=1000)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    run = tmp_path_factory.mktemp("fuzz") / "run"
    run.mkdir()
    trainer(run).fit()
    return run


def leaves(tree, path=()):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from leaves(v, (*path, i))
    else:
        yield path


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, 10**9), value=json_values)
# Found by this test: the key of one parameter's Adam entry ('step') replaced, which reached torch as a KeyError.
@example(pick=75, value=0)
def test_any_state_json_field_replaced_loads_or_names_the_problem(saved, pick, value, tmp_path):
    run = tmp_path / uuid.uuid4().hex
    shutil.copytree(saved, run)
    ckpt = run / "checkpoints" / "step_00000002"
    meta = json.loads((ckpt / "state.json").read_text())
    meta.pop("sha256")
    paths = list(leaves(meta))
    *parent, last = paths[pick % len(paths)]
    node = meta
    for key in parent:
        node = node[key]
    node[last] = value
    meta["sha256"] = {n: hashlib.sha256((ckpt / n).read_bytes()).hexdigest() for n in checkpoint.FILES}
    (ckpt / "state.json").write_text(json.dumps(meta))
    t = trainer(run)
    try:
        t.resume()
    except CheckpointError as exc:
        assert "state.json" in str(exc) or "step_0000000" in str(exc)


@pytest.mark.parametrize("name", ["/dev/zero", "../../outside", "model.safetensors/../x", ""])
def test_sha256_map_names_only_the_two_files(saved, tmp_path, name):
    run = tmp_path / "run"
    shutil.copytree(saved, run)
    ckpt = run / "checkpoints" / "step_00000002"
    meta = json.loads((ckpt / "state.json").read_text())
    meta["sha256"][name] = "0" * 64
    (ckpt / "state.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="field 'sha256'"):
        checkpoint.load(ckpt)


def test_pruning_never_counts_or_deletes_folders_it_did_not_write(tmp_path):
    for step in (1, 2):
        checkpoint.save(tmp_path, step, {"w": torch.zeros(1)}, {}, keep=1)
    for junk in ("step_00000097", "step_00000098", "step_00000099"):
        (tmp_path / junk).mkdir()
    truncated = checkpoint.save(tmp_path, 3, {"w": torch.zeros(1)}, {}, keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000003", "step_00000097", "step_00000098",
                                                           "step_00000099"]
    f = truncated / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-3])
    checkpoint.save(tmp_path, 4, {"w": torch.zeros(1)}, {}, keep=1)
    assert (tmp_path / "step_00000003").is_dir(), "a damaged checkpoint is not ours to delete"
    assert (tmp_path / "step_00000004").is_dir()


def test_a_failed_save_removes_its_temporary_folder_and_says_the_disk_is_full(tmp_path, monkeypatch):
    import errno

    checkpoint.save(tmp_path, 1, {"w": torch.zeros(1)}, {})

    def full(tensors, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    monkeypatch.setattr(checkpoint, "save_file", full)
    with pytest.raises(CheckpointError, match="disk is full"):
        checkpoint.save(tmp_path, 2, {"w": torch.zeros(1)}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000001"]


def test_a_damaged_folder_in_the_way_is_kept_aside_not_deleted(tmp_path):
    (tmp_path / "step_00000001").mkdir()
    (tmp_path / "step_00000001" / "mine.txt").write_text("keep me")
    warnings = []
    checkpoint.save(tmp_path, 1, {"w": torch.zeros(1)}, {}, warn=warnings.append)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("step_00000001.replaced-")]
    assert aside and (aside[0] / "mine.txt").read_text() == "keep me"
    assert warnings and "kept as" in warnings[0]

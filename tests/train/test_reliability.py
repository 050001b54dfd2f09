"""Checkpoints survive corruption, signals stop cleanly, non-finite losses are skipped then stop the run."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hbaezoo.data.base import TensorImageDataset
from hbaezoo.errors import TrainingError
from hbaezoo.models.base import Phase
from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model
from hbaezoo.rundir import checkpoints as checkpoint
from hbaezoo.rundir import restore
from hbaezoo.training.trainer import Trainer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def toy_dataset(n=16):
    return TensorImageDataset(torch.randint(0, 255, (n, 3, 8, 8), dtype=torch.uint8),
                              torch.zeros(n), torch.arange(n), ())


def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path):
    state = {"x": torch.arange(3.0), "nested": {1: [torch.ones(2), 5]}}
    for step in (1, 2):
        checkpoint.save(tmp_path, step, {"w": torch.full((4,), float(step))}, state, keep=3)
    newest = tmp_path / "step_00000002" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:-7])
    warnings = []
    step, model_state, loaded = checkpoint.load_latest(tmp_path, warn=warnings.append)
    assert step == 1 and model_state["w"][0] == 1.0
    assert loaded["nested"][1][1] == 5 and torch.equal(loaded["x"], torch.arange(3.0))
    assert warnings and "checksum" in warnings[0]


def test_only_the_newest_k_checkpoints_are_kept_and_no_temporary_folder_remains(tmp_path):
    for step in range(1, 6):
        checkpoint.save(tmp_path, step, {"w": torch.zeros(1)}, {}, keep=2)
    assert [p.name for p in tmp_path.iterdir()] and sorted(p.name for p in tmp_path.iterdir()) == [
        "step_00000004", "step_00000005"]


def test_checkpoint_of_another_model_names_the_mismatched_parts(tmp_path):
    from hbaezoo.errors import CheckpointError

    model = tiny_model(MODELS.get("hbae"), Sizes())
    other = tiny_model(MODELS.get("hbae"), Sizes(z_dim=3))
    with pytest.raises(CheckpointError, match="shape differs"):
        restore.check_compatible(model, other.state_dict(), tmp_path)


def test_repeated_non_finite_losses_stop_with_a_saved_state(tmp_path):
    model = tiny_model(MODELS.get("vae"), Sizes(resolution=8))
    model.phases = lambda: [Phase("autoencoder", lambda batch: (torch.tensor(float("nan"), requires_grad=True), {}))]
    trainer = Trainer(model, toy_dataset(), tmp_path, steps=20, batch_size=4, max_nonfinite=3,
                      progress=False, tensorboard=False, checkpoint_every=100)
    with pytest.raises(TrainingError, match="non-finite losses in a row in phase 'autoencoder'"):
        trainer.fit()
    assert checkpoint.checkpoints(tmp_path / "checkpoints"), "the state must be saved before stopping"


def test_sigterm_finishes_the_step_checkpoints_and_says_how_to_resume(tiny, tmp_path):
    args = [sys.executable, "-m", "hbaezoo", "run", os.path.join(REPO, "gin", "hbae_shapes.gin"),
            "--run-dir", str(tmp_path), "--steps", "500", "--checkpoint-every", "1000"]
    for b in tiny:
        args += ["-b", b]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / "metrics.jsonl").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Run the same command again to resume" in " ".join(err.split())
    saved = checkpoint.checkpoints(tmp_path / "checkpoints")
    assert saved and saved[-1].name != "step_00000500"

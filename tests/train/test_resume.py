"""Resume after a stop yields the same parameters as an uninterrupted run (bit-identical on CPU)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from safetensors.torch import load_file

from hbaezoo.api import fit
from hbaezoo.rundir.checkpoints import checkpoints

RECIPE = "gin/hbae_shapes.gin"
# Bit-identical needs deterministic kernels: CUDA's convolution backward is not, so these pin the CPU.
CPU = "Trainer.device = 'cpu'"


def final_weights(run_dir: Path) -> dict:
    return load_file(checkpoints(run_dir / "checkpoints")[-1] / "model.safetensors")


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not (a[k] == b[k]).all()]
    assert not different, f"parameters differ after resume: {different[:5]}"


def test_stop_and_resume_matches_uninterrupted(repo_root, tiny, tmp_path):
    recipe = os.path.join(repo_root, RECIPE)
    bindings = [*tiny, CPU]
    fit([recipe], bindings, run_dir=tmp_path / "straight", overrides={"steps": 6})
    fit([recipe], bindings, run_dir=tmp_path / "resumed", overrides={"steps": 3})
    fit([recipe], bindings, run_dir=tmp_path / "resumed", overrides={"steps": 6})
    assert_identical(final_weights(tmp_path / "straight"), final_weights(tmp_path / "resumed"))


def test_changed_config_on_existing_run_dir_is_refused(repo_root, tiny, tmp_path):
    import pytest

    from hbaezoo.errors import ConfigError

    recipe = os.path.join(repo_root, RECIPE)
    fit([recipe], tiny, run_dir=tmp_path / "run", overrides={"steps": 1})
    with pytest.raises(ConfigError, match="different config"):
        fit([recipe], [*tiny, "models.hbae.beta = 3.0"], run_dir=tmp_path / "run", overrides={"steps": 2})


def test_sigkill_then_same_command_resumes_bit_identical(repo_root, tiny, tmp_path):
    recipe = os.path.join(repo_root, RECIPE)
    args = [sys.executable, "-m", "hbaezoo", "run", recipe, "--checkpoint-every", "1", "--steps", "8"]
    for b in [*tiny, CPU]:
        args += ["-b", b]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([*args, "--run-dir", str(tmp_path / "straight")], check=True, env=env, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen([*args, "--run-dir", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (killed / "checkpoints" / "step_00000003").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [p.name for p in checkpoints(killed / "checkpoints")]
    assert done and done[-1] != "step_00000008", f"the kill came too late to test anything: {done}"
    subprocess.run([*args, "--run-dir", str(killed)], check=True, env=env, capture_output=True)
    assert_identical(final_weights(tmp_path / "straight"), final_weights(killed))


def test_resumed_optimizer_state_has_its_parameters_layout(repo_root, tiny, tmp_path):
    """Checkpoints are stored contiguous; after resume Adam's moments must match channels_last weights
    again (fused CUDA Adam refuses mismatched strides)."""
    from hbaezoo import config
    from hbaezoo.assembly import build_dataset, build_model
    from hbaezoo.training.trainer import Trainer

    recipe_path = os.path.join(repo_root, RECIPE)
    fit([recipe_path], tiny, run_dir=tmp_path / "run", overrides={"steps": 1})
    config.parse([recipe_path], tiny)
    dataset = build_dataset("train")
    trainer = Trainer(build_model(dataset.describe()), dataset, tmp_path / "run", progress=False)
    assert trainer.resume()
    checked = 0
    for optimizer in trainer.optimizers.values():
        for p, state in optimizer.state.items():
            for value in state.values():
                if value.shape == p.shape:
                    assert value.stride() == p.stride()
                    checked += p.ndim == 4
    assert checked > 0

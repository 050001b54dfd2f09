"""`torchrun --nproc_per_node=2` (gloo on CPU) trains to what one process with the same global batch reaches;
more processes than GPUs is a clear error."""

import os
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from hbaezoo.rundir.checkpoints import checkpoints

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# A model without batch statistics or sampling noise: a deterministic autoencoder
# (WAE recipe, no divergence) whose generator keeps only z-conditioned scale and shift.
BINDINGS = [
    "models.wae.divergence = @divergences.none()",
    "generators.resnet.batch_norm = False",
    "Trainer.batch_size = 8",
    "Trainer.device = 'cpu'",  # gloo on the CPU even on a GPU machine (which may have fewer GPUs than ranks)
]


def weights(run_dir):
    return load_file(checkpoints(run_dir / "checkpoints")[-1] / "model.safetensors")


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "torchrun")),
                    reason="torchrun not installed")
def test_two_process_training_matches_one_process(tiny, tmp_path):
    recipe = os.path.join(REPO, "gin", "wae_shapes.gin")
    args = ["run", recipe, "--steps", "3"]
    for b in [*tiny, *BINDINGS]:
        args += ["-b", b]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "hbaezoo", *args, "--run-dir", str(tmp_path / "one")],
                   check=True, env=env, capture_output=True)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", "-m", "hbaezoo", *args, "--run-dir", str(tmp_path / "two")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert one.keys() == two.keys()
    worst = max((one[k].float() - two[k].float()).abs().max().item() for k in one)
    assert worst < 1e-4, f"2-process parameters differ from 1-process ones by up to {worst}"
    import json

    logged = [json.loads(line) for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [1, 2, 3], "rank 0 alone logs, once per step"
    assert logged[0]["autoencoder/loss"] != logged[-1]["autoencoder/loss"]


@pytest.fixture
def second_of_two_ranks(monkeypatch):
    """torchrun's environment for rank 1 of 2 on one machine, on a machine with one GPU."""
    import torch

    for key, value in {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)  # no rendezvous in a unit test


def test_more_processes_than_gpus_names_both_counts(second_of_two_ranks):
    from hbaezoo.errors import ConfigError
    from hbaezoo.training import distributed

    with pytest.raises(ConfigError, match=r"2 processes on this machine but it has 1 CUDA device") as error:
        distributed.init("auto")
    assert "--nproc_per_node=1" in str(error.value) and "Trainer.device = 'cpu'" in str(error.value)


def test_device_cpu_keeps_every_rank_on_the_cpu(second_of_two_ranks):
    from hbaezoo.training import distributed

    dist = distributed.init("cpu")
    assert dist.enabled and dist.rank == 1 and dist.device.type == "cpu"

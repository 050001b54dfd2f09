"""`torchrun --nproc_per_node=2` (gloo on CPU) trains to what one process with the same global batch reaches."""

import os
import shutil
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from hbaezoo.train.checkpoint import checkpoints

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# A model without batch statistics or sampling noise: a deterministic autoencoder
# (WAE recipe, no divergence) whose generator keeps only z-conditioned scale and shift.
BINDINGS = [
    "models.wae.divergence = @divergences.none()",
    "generators.resnet.batch_norm = False",
    "Trainer.batch_size = 8",
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

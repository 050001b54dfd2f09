"""The speed switches: Trainer.compile's modes, CUDA-graph detection, TF32 on CUDA only."""

import os

import pytest
import torch

from hbaezoo.errors import ConfigError
from hbaezoo.training import backends

CUDA = torch.device("cuda")
CPU = torch.device("cpu")


def test_compile_switch_takes_a_bool_or_a_torch_compile_mode():
    assert backends.compile_mode(False) is None
    assert backends.compile_mode(True) == "default"
    assert backends.compile_mode("reduce-overhead") == "reduce-overhead"
    with pytest.raises(ConfigError, match="Trainer.compile must be .*got 'fast'.*reduce-overhead"):
        backends.compile_mode("fast")


def test_cuda_graphs_only_in_graph_modes_on_cuda():
    assert backends.captures_graphs("reduce-overhead", CUDA)
    assert backends.captures_graphs("max-autotune", CUDA)
    assert not backends.captures_graphs("default", CUDA)
    assert not backends.captures_graphs("max-autotune-no-cudagraphs", CUDA)
    assert not backends.captures_graphs("reduce-overhead", CPU)  # inductor has no graphs to replay on a CPU
    assert not backends.captures_graphs(None, CUDA)


def test_tf32_switch_leaves_the_cpu_and_its_flags_alone():
    def flags():
        return (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
                torch.get_float32_matmul_precision())

    before = flags()
    backends.set_tf32(CPU, not before[0])
    assert flags() == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="TF32 is a CUDA switch; no CUDA device here")
def test_trainer_turns_tf32_on_by_default_and_off_on_request(repo_root, tiny, tmp_path):
    from hbaezoo import config
    from hbaezoo.assembly import build_dataset, build_model
    from hbaezoo.training.trainer import Trainer

    config.parse([os.path.join(repo_root, "gin", "vae_shapes.gin")], tiny)
    dataset = build_dataset("train")
    try:
        for tf32 in (True, False):
            options = {} if tf32 else {"tf32": False}
            Trainer(build_model(dataset.describe()), dataset, tmp_path, device="cuda", **options)
            assert torch.backends.cuda.matmul.allow_tf32 is tf32 and torch.backends.cudnn.allow_tf32 is tf32
    finally:
        backends.set_tf32(CUDA, True)

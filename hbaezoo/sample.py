"""`hbaezoo sample`: one grid PNG from a trained run in any mode the model supports."""

from __future__ import annotations

from pathlib import Path

import torch

from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.errors import ConfigError
from hbaezoo.paths import check_output_file

MAX_GRID = 1024  # rows or columns of one PNG; more is a typo, and would not fit in memory
from hbaezoo.registry import SAMPLERS
from hbaezoo.run import load_run
from hbaezoo.sampling import save_grid


def test_inputs(dataset_factory, data: dict, n: int, sets: bool, seed: int) -> torch.Tensor:
    """n held-out images [n, C, H, W] or sets [n, K, C, H, W] (K as in training, 8 if unset)."""
    dataset = dataset_factory(split="test")
    set_size = (data.get("set_size") or 8) if sets else None
    plan = BatchPlan(dataset.group_ids, batch_size=n, set_size=set_size, seed=seed)
    return next(batches(dataset, plan, start=0, stop=1))["x"]


def sample_to_file(run_dir, mode: str, out, *, n: int = 8, steps: int = 6, device: str = "auto",
                   seed: int = 0, plugins=(), use_ema: bool = True, trust_config: bool = False) -> Path:
    out = check_output_file(out, "--out")
    if n > MAX_GRID or steps > MAX_GRID:
        raise ConfigError(f"--n {n} / --steps {steps}: a grid holds at most {MAX_GRID} rows or columns; "
                          f"ask for fewer (e.g. --n 8) and run again for more.")
    sampler = SAMPLERS.get(mode)()
    model, data, dataset_factory, _ = load_run(run_dir, device=device, use_ema=use_ema, plugins=plugins,
                                               trust_config=trust_config)
    torch.manual_seed(seed)
    x = None
    if sampler.needs_data:
        x = test_inputs(dataset_factory, data, n, sampler.needs_sets, seed).to(next(model.parameters()).device)
    with torch.no_grad():
        grid = sampler(model, x, n=n, steps=steps)
    save_grid(grid, Path(out))
    return Path(out)

"""What the trainer puts in a checkpoint and takes back from one: optimizers, schedules, scalers,
EMA weights, RNG streams and the run of non-finite losses, so a resumed run continues bit-identically.

The folder itself (atomic write, checksums) is rundir/checkpoints.py; what fits the model is
rundir/restore.py; what a loaded training state must look like is training/state_checks.py.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from hbaezoo.errors import TrainingError
from hbaezoo.rundir.restore import model_kind, nonfinite_tensors
from hbaezoo.training.state_checks import check_trainer_state


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]), "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    np_state = np.random.get_state()
    np.random.set_state((np_state[0], state["numpy"].numpy().astype(np.uint32), 624, 0, 0.0))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give per-parameter optimizer state its parameter's memory layout again after loading.

    Checkpoints store tensors contiguous and `load_state_dict` restores only dtype and device,
    so Adam's moments of channels_last weights would come back contiguous; fused CUDA Adam
    refuses parameters, gradients and moments whose strides differ.
    """
    for p, st in optimizer.state.items():
        for key, value in st.items():
            if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                st[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def trainer_state(trainer) -> dict[str, Any]:
    """Everything of `trainer` a checkpoint holds beside the model's weights."""
    return {
        "optimizers": {g: o.state_dict() for g, o in trainer.optimizers.items()},
        "schedules": {g: s.state_dict() for g, s in trainer.schedules.items()},
        "scalers": {g: s.state_dict() for g, s in trainer.scalers.items()},
        "ema": trainer.ema.state_dict() if trainer.ema is not None else None,
        "rng": rng_state(),
        "nonfinite_in_a_row": trainer.nonfinite_in_a_row,
        "model": model_kind(trainer.model),
    }


def save(trainer) -> None:
    """Write checkpoint `trainer.step` into the run directory (the main process only); TrainingError
    instead when a weight or EMA statistic is not finite."""
    ema = {f"ema.{k}": v for k, v in trainer.ema.state_dict().items()} if trainer.ema is not None else {}
    bad = nonfinite_tensors({**trainer.model.state_dict(), **ema})
    if bad:
        # Saved, it would replace good checkpoints (pruning) and `sample` would draw from it.
        raise TrainingError(
            f"training diverged: at step {trainer.step}, {len(bad)} weight(s) or statistic(s) are not finite "
            f"({', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}); no checkpoint was written, the earlier "
            f"ones in {trainer.rundir.path / 'checkpoints'} are intact. Lower the learning rate (e.g. -b "
            f"'critic/optimizers.adam.lr = 1e-4'), then run the same command to resume from the last good one.")
    if trainer.dist.is_main:
        trainer.rundir.save_checkpoint(trainer.step, trainer.model.state_dict(), trainer_state(trainer),
                                       keep=trainer.keep_checkpoints, warn=trainer._warn)
    trainer.dist.barrier()


def resume(trainer) -> bool:
    """Load the newest good checkpoint of `trainer`'s run dir into it, if any. True if resumed."""
    found = trainer.rundir.newest_checkpoint(warn=trainer._warn, required=False)
    if found is None:
        return False
    found.restore(trainer.model, averaged=trainer.ema,
                  check=lambda state, where: check_trainer_state(trainer, state, where))
    step, state = found.step, found.state
    for g, o in trainer.optimizers.items():
        o.load_state_dict(state["optimizers"][g])
        _match_layouts(o)
    for g, s in trainer.schedules.items():
        s.load_state_dict(state["schedules"][g])
    for g, s in trainer.scalers.items():
        s.load_state_dict(state["scalers"][g])
    set_rng_state(state["rng"])
    if trainer.dist.enabled:
        torch.manual_seed(trainer.seed + 7919 * step + trainer.dist.rank)
    trainer.nonfinite_in_a_row = state.get("nonfinite_in_a_row", 0)
    trainer.step = step
    return True

"""Checks of a loaded checkpoint's training state against the trainer it is about to restore.

Checksums prove only that a checkpoint's files are intact, not that hbaezoo wrote them: a
crafted or foreign `state.json` must give an error naming the file and the field, before
torch sees it, not a traceback at the first optimizer step (a moment of the wrong shape) or
deep inside numpy (an RNG state of the wrong type).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import torch

from hbaezoo.errors import CheckpointError

TORCH_RNG_SHAPE = tuple(torch.get_rng_state().shape)
PYTHON_RNG_LEN = len(random.getstate()[1])  # 624 words + the position
NUMPY_RNG_LEN = 624


def fail(where: Path, field: str, problem: str) -> CheckpointError:
    return CheckpointError(
        f"{where}: field '{field}' {problem}. Move that checkpoint folder out of checkpoints/ to resume from "
        f"the previous one, or use a new --run-dir."
    )


def _kind(value: Any) -> str:
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_like(template: Any, value: Any, where: Path, field: str) -> None:
    """`value` has `template`'s structure: keys it knows (a subset: older files may lack some), sequences of
    its length, numbers where it has numbers (ints where it has ints), tensors of its dtype and shape."""
    if isinstance(template, dict):
        if not isinstance(value, dict):
            raise fail(where, field, f"must be an object, got {_kind(value)}")
        unknown = sorted(map(str, set(value) - set(template)))
        if unknown:
            raise fail(where, field, f"has unknown key(s) {', '.join(unknown[:5])}")
        for key, item in value.items():
            check_like(template[key], item, where, f"{field}.{key}")
    elif isinstance(template, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            raise fail(where, field, f"must be a list of {len(template)} items, got {_describe(value)}")
        for i, (t, v) in enumerate(zip(template, value)):
            check_like(t, v, where, f"{field}.{i}")
    elif isinstance(template, torch.Tensor):
        check_tensor(value, where, field, dtype=template.dtype, shape=tuple(template.shape))
    elif isinstance(template, bool):
        if not isinstance(value, bool):
            raise fail(where, field, f"must be true or false, got {_describe(value)}")
    elif isinstance(template, int):
        if type(value) is not int:
            raise fail(where, field, f"must be a whole number, got {_describe(value)}")
    elif isinstance(template, float):
        if not _is_number(value) or not math.isfinite(value):
            raise fail(where, field, f"must be a finite number, got {_describe(value)}")
    elif isinstance(template, str):
        if not isinstance(value, str):
            raise fail(where, field, f"must be a string, got {_describe(value)}")
    elif template is None:
        if not (value is None or _is_number(value) or isinstance(value, str)):
            raise fail(where, field, f"must be empty or a number, got {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items"
    text = repr(value)
    return f"{_kind(value)} {text[:40]}{'...' if len(text) > 40 else ''}"


def check_tensor(value: Any, where: Path, field: str, *, dtype=None, shape=None, floating=False) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise fail(where, field, f"must be a tensor, got {_describe(value)}")
    if dtype is not None and value.dtype != dtype:
        raise fail(where, field, f"must be a {dtype} tensor, got {value.dtype}")
    if floating and not value.dtype.is_floating_point:
        raise fail(where, field, f"must be a floating-point tensor, got {value.dtype}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise fail(where, field, f"must have shape {tuple(shape)}, got {tuple(value.shape)}")
    return value


def kept_entries(optimizer: torch.optim.Optimizer) -> set[str] | None:
    """The entries `optimizer`'s kind keeps for each parameter, read off a twin stepped once on a one-number
    parameter (None where such a twin cannot be built or stepped: then the loaded state's first entry decides)."""
    probe = torch.zeros(1, requires_grad=True)
    try:
        twin = type(optimizer)([probe], **optimizer.defaults)
        probe.grad = torch.zeros(1)
        twin.step()
    except Exception:  # noqa: BLE001 (an optimizer kind this check does not know how to probe)
        return None
    return {str(key) for key in twin.state[probe]}


def check_optimizer(optimizer: torch.optim.Optimizer, loaded: Any, where: Path, field: str) -> None:
    """An optimizer state dict fits `optimizer`: its groups, and per-parameter tensors of each parameter's shape."""
    template = optimizer.state_dict()
    if not isinstance(loaded, dict) or set(loaded) != {"state", "param_groups"}:
        raise fail(where, field, "must hold exactly 'state' and 'param_groups'")
    groups = loaded["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(template["param_groups"]):
        raise fail(where, f"{field}.param_groups", f"must be a list of {len(template['param_groups'])} groups, "
                                                  f"got {_describe(groups)}")
    for i, (t, g) in enumerate(zip(template["param_groups"], groups)):
        check_like(t, g, where, f"{field}.param_groups.{i}")
        if list(g.get("params", [])) != list(t["params"]):
            raise fail(where, f"{field}.param_groups.{i}.params", f"must list parameters {t['params'][:8]}..., "
                                                                  f"got {list(g.get('params', []))[:8]}...")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not isinstance(loaded["state"], dict):
        raise fail(where, f"{field}.state", f"must be an object, got {_kind(loaded['state'])}")
    # An optimizer keeps the same entries for every parameter (Adam: step, exp_avg, exp_avg_sq); an entry renamed or
    # missing would reach torch as a bare KeyError at the first step.
    keys, source = kept_entries(optimizer), f"the {type(optimizer).__name__} optimizer keeps"
    for index, per_param in loaded["state"].items():
        name = f"{field}.state.{index}"
        if type(index) is not int or not 0 <= index < len(params):
            raise fail(where, name, f"names parameter {index!r}, but the group has {len(params)} parameters")
        if not isinstance(per_param, dict):
            raise fail(where, name, f"must be an object, got {_kind(per_param)}")
        if keys is None:
            keys, source = set(per_param), f"parameter {index} holds"
        if set(per_param) != keys:
            raise fail(where, name, f"holds entries {sorted(map(str, per_param))}, but {source} "
                                    f"{sorted(map(str, keys))}")
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                check_tensor(value, where, f"{name}.{key}", floating=True)
                if value.ndim and tuple(value.shape) != tuple(params[index].shape):
                    raise fail(where, f"{name}.{key}", f"has shape {tuple(value.shape)} but its parameter has "
                                                       f"{tuple(params[index].shape)}")
                if not torch.isfinite(value).all():
                    raise fail(where, f"{name}.{key}", "holds non-finite values")
            elif not _is_number(value):
                raise fail(where, f"{name}.{key}", f"must be a tensor or a number, got {_describe(value)}")


def check_rng(state: Any, where: Path, field: str = "state.rng") -> None:
    """RNG states restorable without errors: torch bytes, Python's Mersenne words, NumPy's words."""
    if not isinstance(state, dict) or not {"torch", "python", "numpy"} <= set(state):
        raise fail(where, field, "must hold 'torch', 'python' and 'numpy' states")
    check_tensor(state["torch"], where, f"{field}.torch", dtype=torch.uint8, shape=TORCH_RNG_SHAPE)
    words = state["python"]
    if (not isinstance(words, list) or len(words) != PYTHON_RNG_LEN
            or not all(type(w) is int and 0 <= w < 2**32 for w in words) or words[-1] > PYTHON_RNG_LEN - 1):
        raise fail(where, f"{field}.python", f"must be {PYTHON_RNG_LEN} whole numbers in [0, 2**32) ending in a "
                                             f"position <= {PYTHON_RNG_LEN - 1}, got {_describe(words)}")
    numpy_words = check_tensor(state["numpy"], where, f"{field}.numpy", dtype=torch.int64, shape=(NUMPY_RNG_LEN,))
    if numpy_words.min() < 0 or numpy_words.max() >= 2**32:
        raise fail(where, f"{field}.numpy", "must hold whole numbers in [0, 2**32)")
    if "cuda" in state:
        cuda = state["cuda"]
        if not isinstance(cuda, list):
            raise fail(where, f"{field}.cuda", f"must be a list of tensors, got {_describe(cuda)}")
        for i, t in enumerate(cuda):
            check_tensor(t, where, f"{field}.cuda.{i}", dtype=torch.uint8)
            if t.ndim != 1:
                raise fail(where, f"{field}.cuda.{i}", f"must be one-dimensional, got shape {tuple(t.shape)}")
        if torch.cuda.is_available() and len(cuda) > torch.cuda.device_count():
            raise fail(where, f"{field}.cuda", f"holds {len(cuda)} device states, but {torch.cuda.device_count()} "
                                               f"CUDA devices are visible")


def check_trainer_state(trainer, state: dict, where: Path) -> None:
    """Everything `Trainer.resume` restores, checked against the trainer's own freshly built state."""
    for key in ("optimizers", "schedules", "scalers", "rng"):
        if key not in state:
            raise fail(where, f"state.{key}", "is missing")
    for key, parts in (("optimizers", trainer.optimizers), ("schedules", trainer.schedules),
                       ("scalers", trainer.scalers)):
        if not isinstance(state[key], dict) or set(state[key]) != set(parts):
            got = sorted(map(str, state[key])) if isinstance(state[key], dict) else _kind(state[key])
            raise fail(where, f"state.{key}", f"must hold the groups {sorted(parts)}, got {got}")
    for group, optimizer in trainer.optimizers.items():
        check_optimizer(optimizer, state["optimizers"][group], where, f"state.optimizers.{group}")
    for group, schedule in trainer.schedules.items():
        check_like(schedule.state_dict(), state["schedules"][group], where, f"state.schedules.{group}")
    for group, scaler in trainer.scalers.items():
        check_like(scaler.state_dict(), state["scalers"][group], where, f"state.scalers.{group}")
    check_rng(state["rng"], where)
    count = state.get("nonfinite_in_a_row", 0)
    if type(count) is not int or count < 0:
        raise fail(where, "state.nonfinite_in_a_row", f"must be a whole number >= 0, got {_describe(count)}")
    if trainer.ema is not None and state.get("ema") is not None:
        if not isinstance(state["ema"], dict) or not all(isinstance(v, torch.Tensor) for v in state["ema"].values()):
            raise fail(where, "state.ema", "must map names to tensors")

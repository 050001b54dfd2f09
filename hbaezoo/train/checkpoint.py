"""Checkpoints that survive a kill at any moment.

A checkpoint is a folder `checkpoints/step_0000100/` with
    model.safetensors   the model's state dict
    state.safetensors   every other tensor (optimizer moments, RNG states, EMA weights)
    state.json          everything else, with `{"__tensor__": key}` where a tensor was,
                        and the SHA-256 of both safetensors files
It is written into a temporary folder, fsynced, then renamed, so a folder that exists
is complete; a newest checkpoint that fails its checksums is skipped with a warning.
No pickle: nothing here runs code when loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from hbaezoo.errors import CheckpointError
from hbaezoo.files import atomic_path

STEP_DIR = re.compile(r"^step_(\d+)$")


def flatten(tree: Any, tensors: dict[str, torch.Tensor], prefix: str = "") -> Any:
    """Replace every tensor in a nested dict/list by a placeholder, collecting it in `tensors`."""
    if isinstance(tree, torch.Tensor):
        key = prefix or "root"
        tensors[key] = tree.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(tree, dict):
        return {"__dict__": [[_key(k), flatten(v, tensors, f"{prefix}.{k}" if prefix else str(k))] for k, v in tree.items()]}
    if isinstance(tree, (list, tuple)):
        return {"__list__": [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(tree)], "tuple": isinstance(tree, tuple)}
    return tree


def _key(k: Any) -> Any:
    # Optimizer states are keyed by int; JSON would turn them into strings.
    return {"__int__": k} if isinstance(k, int) else k


def unflatten(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            return tensors[tree["__tensor__"]]
        if "__dict__" in tree:
            return {
                (k["__int__"] if isinstance(k, dict) else k): unflatten(v, tensors) for k, v in tree["__dict__"]
            }
        if "__list__" in tree:
            items = [unflatten(v, tensors) for v in tree["__list__"]]
            return tuple(items) if tree.get("tuple") else items
    return tree


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(directory: Path, step: int, model_state: dict[str, torch.Tensor], state: dict[str, Any], keep: int = 3) -> Path:
    """Write checkpoint `step` atomically and keep only the newest `keep` checkpoints."""
    final = directory / f"step_{step:08d}"
    with atomic_path(final, directory=True) as tmp:
        tensors: dict[str, torch.Tensor] = {}
        tree = flatten(state, tensors)
        save_file({k: v.detach().cpu().contiguous() for k, v in model_state.items()}, tmp / "model.safetensors")
        save_file(tensors, tmp / "state.safetensors")
        meta = {
            "step": step,
            "state": tree,
            "sha256": {name: _sha256(tmp / name) for name in ("model.safetensors", "state.safetensors")},
        }
        (tmp / "state.json").write_text(json.dumps(meta))
        for name in ("model.safetensors", "state.safetensors", "state.json"):
            _fsync(tmp / name)
    _fsync(directory)
    for old in checkpoints(directory)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def ema_state(saved: dict[str, torch.Tensor], parts: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """A checkpoint's EMA weights keyed like the model's state dict (`generator.<key>`).

    Checkpoints written before models named their averaged parts held the generator's own
    keys; those are read as the generator's.
    """
    if parts == ("generator",) and saved and not any(k.startswith("generator.") for k in saved):
        return {f"generator.{k}": v for k, v in saved.items()}
    return saved


def checkpoints(directory: Path) -> list[Path]:
    """Complete checkpoint folders, oldest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.is_dir() and STEP_DIR.match(p.name)]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))


def load(path: Path) -> tuple[int, dict[str, torch.Tensor], dict[str, Any]]:
    """(step, model state dict, other state) of one checkpoint; CheckpointError if damaged."""
    try:
        meta = json.loads((path / "state.json").read_text())
        for name, digest in meta["sha256"].items():
            if _sha256(path / name) != digest:
                raise CheckpointError(f"{path / name} does not match its checksum (truncated or corrupt).")
        model_state = load_file(path / "model.safetensors")
        tensors = load_file(path / "state.safetensors")
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {type(exc).__name__}: {exc}") from exc
    return meta["step"], model_state, unflatten(meta["state"], tensors)


def load_latest(directory: Path, warn: Callable[[str], None]) -> tuple[int, dict, dict] | None:
    """The newest checkpoint that loads; damaged newer ones are skipped with a warning."""
    for path in reversed(checkpoints(directory)):
        try:
            return load(path)
        except CheckpointError as exc:
            warn(f"{exc} Falling back to the previous checkpoint.")
    return None


def check_compatible(model: torch.nn.Module, model_state: dict[str, torch.Tensor], where: Path) -> None:
    """Fail with the list of mismatched parts when a checkpoint does not fit the model."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(model_state))
    unexpected = sorted(set(model_state) - set(expected))
    shapes = sorted(
        f"{k}: checkpoint {tuple(model_state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in model_state and tuple(model_state[k].shape) != tuple(v.shape)
    )
    if missing or unexpected or shapes:
        lines = [f"the checkpoint in {where} does not fit the configured model:"]
        for title, items in (("missing in checkpoint", missing), ("not in model", unexpected), ("shape differs", shapes)):
            if items:
                parts = sorted({k.split(".")[0] for k in items}) if title != "shape differs" else []
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:8]) + (" ..." if len(items) > 8 else ""))
                if parts:
                    lines.append(f"    parts affected: {', '.join(parts)}")
        lines.append("Use a new --run-dir for a changed model, or the config the run was started with.")
        raise CheckpointError("\n".join(lines))

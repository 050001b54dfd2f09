"""Restoring a checkpoint into a model: what fits, checked before anything is loaded.

rundir/checkpoints.py says whether a checkpoint folder is intact (checksums, fields, plain
files); this module says whether its weights belong to the model at hand (kind, names,
shapes, dtypes, finite values) and loads them. Resume (`Trainer.resume`) and `hbaezoo.load`
both go through `newest` and `Checkpoint.restore`, so they accept and refuse the same folders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hbaezoo.errors import CheckpointError
from hbaezoo.rundir.checkpoints import load_latest


def ema_state(saved: dict[str, torch.Tensor], parts: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """A checkpoint's EMA weights keyed like the model's state dict (`generator.<key>`).

    Checkpoints written before models named their averaged parts held the generator's own
    keys; those are read as the generator's.
    """
    if parts == ("generator",) and isinstance(saved, dict) and saved and not any(k.startswith("generator.") for k in saved):
        return {f"generator.{k}": v for k, v in saved.items()}
    return saved


#: Model keys renamed since checkpoints were first written, old prefix -> new: each element's view and the
#: noise prior fitted to the views moved into models/views.py (`HBAE.views`).
RENAMED = {"view_head.": "views.head.", "noise_prior.": "views.noise_prior."}


def current_names(model: torch.nn.Module, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A checkpoint's model state with each key the model has since renamed (`RENAMED`) under its new name;
    a key the model still has as it is stays as it is."""
    wanted = model.state_dict().keys()

    def name(key: str) -> str:
        for old, new in RENAMED.items():
            if key not in wanted and key.startswith(old) and new + key[len(old):] in wanted:
                return new + key[len(old):]
        return key

    return {name(key): value for key, value in saved.items()}


def check_compatible(model: torch.nn.Module, model_state: dict[str, torch.Tensor], where: Path) -> None:
    """Fail with the list of mismatched parts when a checkpoint does not fit the model (names, shapes, dtypes)."""
    if not isinstance(model_state, dict) or not all(isinstance(v, torch.Tensor) for v in model_state.values()):
        raise CheckpointError(f"the checkpoint in {where} holds no state dict (names mapped to tensors) there.")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(model_state))
    unexpected = sorted(set(model_state) - set(expected))
    shapes = sorted(
        f"{k}: checkpoint {tuple(model_state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in model_state and tuple(model_state[k].shape) != tuple(v.shape)
    )
    # load_state_dict would cast silently: int8 weights must not pass for trained float ones.
    dtypes = sorted(
        f"{k}: checkpoint {model_state[k].dtype} vs model {v.dtype}"
        for k, v in expected.items()
        if k in model_state and model_state[k].dtype != v.dtype
    )
    if missing or unexpected or shapes or dtypes:
        lines = [f"the checkpoint in {where} does not fit the configured model:"]
        for title, items in (("missing in checkpoint", missing), ("not in model", unexpected),
                             ("shape differs", shapes), ("dtype differs", dtypes)):
            if items:
                parts = sorted({k.split(".")[0] for k in items}) if title not in ("shape differs", "dtype differs") else []
                lines.append(f"  {title} ({len(items)}): " + ", ".join(items[:8]) + (" ..." if len(items) > 8 else ""))
                if parts:
                    lines.append(f"    parts affected: {', '.join(parts)}")
        lines.append("Use a new --run-dir for a changed model, or the config the run was started with.")
        raise CheckpointError("\n".join(lines))


def model_kind(model: torch.nn.Module) -> str:
    """What a checkpoint records of its model, so that another kind with fitting tensors (Set-HBAE into HBAE) is refused."""
    return type(model).__name__


def nonfinite_tensors(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors holding a NaN or an infinity."""
    return [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def check_finite(tensors: dict[str, torch.Tensor], where: Path | str) -> None:
    bad = nonfinite_tensors(tensors)
    if bad:
        raise CheckpointError(f"the checkpoint in {where} holds non-finite weights ({len(bad)} tensor(s): "
                              f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}): its training diverged. "
                              f"Remove it to use the one before, or train again with a lower learning rate.")


@dataclass
class Checkpoint:
    """One loaded checkpoint folder: its step, the model's state dict and the other state (optimizers, RNG, EMA)."""

    step: int
    model_state: dict[str, torch.Tensor]
    state: dict[str, Any]
    folder: Path

    def restore(self, model: torch.nn.Module, *, averaged: torch.nn.ModuleDict | None = None,
                check: Callable[[dict, Path], None] | None = None) -> None:
        """Load the model's weights, and the EMA weights into `averaged` (a ModuleDict of the model's
        averaged parts: the trainer's EMA copy, or the model's own parts to sample with the EMA).

        Everything is checked before anything is loaded: the model's keys, shapes and dtypes, the
        EMA's, and `check(state, state.json path)` for what the caller restores itself (the trainer's
        optimizers and RNG), so a checkpoint that does not fit leaves the model untouched.
        """
        state_file = self.folder / "state.json"
        kind = self.state.get("model")
        if kind is not None and kind != model_kind(model):  # older checkpoints did not record it
            raise CheckpointError(f"the checkpoint in {self.folder} is of a {kind!r} model, but the config builds a "
                                  f"{model_kind(model)!r}; its weights would fit by chance only. Use a new --run-dir "
                                  f"for another model, or the config the run was started with.")
        model_state = current_names(model, self.model_state)
        check_compatible(model, model_state, self.folder)
        check_finite(model_state, self.folder)
        if check is not None:
            check(self.state, state_file)
        ema = None
        if averaged is not None and self.state.get("ema") is not None:
            ema = ema_state(self.state["ema"], tuple(averaged.keys()))
            check_compatible(averaged, ema, f"{state_file} (field 'state.ema')")
            check_finite(ema, f"{state_file} (field 'state.ema')")
        model.load_state_dict(model_state)
        if ema is not None:
            averaged.load_state_dict(ema)


def newest(directory: Path, *, warn: Callable[[str], None], required: bool) -> Checkpoint | None:
    """The newest checkpoint in `directory` that loads; damaged newer ones are named to `warn` and left in place.

    None when there is none at all. Damaged ones only, and none good: CheckpointError, since starting
    over beside them (resume) would hide them. `required` (loading a run to use it): CheckpointError when none.
    """
    skipped: list[str] = []
    found = load_latest(directory, warn=lambda m: (skipped.append(m), warn(m)))
    if found is not None:
        step, model_state, state = found
        return Checkpoint(step, model_state, state, directory / f"step_{step:08d}")
    if required:
        why = f" Skipped: {' | '.join(skipped)}" if skipped else ""
        raise CheckpointError(f"{directory} holds no usable checkpoint.{why} Train (or resume) first with `hbaezoo run`.")
    if skipped:
        raise CheckpointError(
            f"{directory} holds {len(skipped)} step_* folder(s) but none is a usable checkpoint "
            f"(newest: {skipped[0]}). Move them out of {directory} to start this run over, or use a new --run-dir."
        )
    return None

"""Checkpoints that survive a kill at any moment.

A checkpoint is a folder `checkpoints/step_0000100/` with
    model.safetensors   the model's state dict
    state.safetensors   every other tensor (optimizer moments, RNG states, EMA weights)
    state.json          everything else, with `{"__tensor__": key}` where a tensor was,
                        and the SHA-256 of both safetensors files
It is written into a temporary folder, fsynced, then renamed, so a folder that exists
is complete; a newest checkpoint that fails its checks is skipped with a warning.
No pickle: nothing here runs code when loaded.

A run directory may come from someone else, so nothing in it is trusted: `state.json` may
name only the two files above (plain names, regular files), every field is checked before
use, and pruning deletes only checkpoints that verify, never a folder hbaezoo did not write.

Whether a checkpoint fits a model, and loading it into one, is rundir/restore.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from hbaezoo.errors import CheckpointError

STEP_DIR = re.compile(r"^step_(\d+)$")
TMP_DIR = re.compile(r"^\.tmp_step_\d{8}_\d+$")
FILES = ("model.safetensors", "state.safetensors")
MAX_STEP = 10**15
MAX_STATE_JSON = 256 << 20  # optimizer bookkeeping of the largest models stays far below


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


def flatten_tensors(tree: Any) -> list[torch.Tensor]:
    """Every tensor of a nested dict/list (what `flatten` would store), without copying."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in flatten_tensors(v)]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in flatten_tensors(v)]
    return []


def _key(k: Any) -> Any:
    # Optimizer states are keyed by int; JSON would turn them into strings.
    return {"__int__": k} if isinstance(k, int) else k


def unflatten(tree: Any, tensors: dict[str, torch.Tensor], field: str = "state") -> Any:
    """The inverse of `flatten`; a malformed tree raises ValueError naming the field."""
    if isinstance(tree, dict):
        if "__tensor__" in tree:
            key = tree["__tensor__"]
            if not isinstance(key, str) or key not in tensors:
                raise ValueError(f"field '{field}' refers to tensor {key!r}, which state.safetensors does not hold")
            return tensors[key]
        if "__dict__" in tree:
            out = {}
            for item in _items(tree["__dict__"], field, pairs=True):
                k = item[0]["__int__"] if isinstance(item[0], dict) and "__int__" in item[0] else item[0]
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise ValueError(f"field '{field}' has a key of type {type(k).__name__} (expected str or int)")
                out[k] = unflatten(item[1], tensors, f"{field}.{k}")
            return out
        if "__list__" in tree:
            items = [unflatten(v, tensors, f"{field}.{i}") for i, v in enumerate(_items(tree["__list__"], field))]
            return tuple(items) if tree.get("tuple") else items
        raise ValueError(f"field '{field}' is an object without __tensor__, __dict__ or __list__")
    if isinstance(tree, list):
        raise ValueError(f"field '{field}' is a bare list (lists are stored as {{'__list__': ...}})")
    return tree


def _items(value: Any, field: str, pairs: bool = False) -> list:
    if not isinstance(value, list) or (pairs and not all(isinstance(v, list) and len(v) == 2 for v in value)):
        raise ValueError(f"field '{field}' is malformed (expected a list{' of [key, value] pairs' if pairs else ''})")
    return value


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


def _write_error(exc: BaseException, final: Path, needed: int) -> CheckpointError:
    """What a failed write says. safetensors raises its own error (not OSError) with the OS's text in it."""
    errno_ = getattr(exc, "errno", None)
    text = getattr(exc, "strerror", None) or str(exc)
    if errno_ in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text or "Disk quota" in text:
        return CheckpointError(
            f"the disk is full: checkpoint {final} could not be written ({text}); it needs about "
            f"{needed / 2**20:.1f} MiB. The half-written folder was removed and the previous checkpoints are "
            f"intact. Free some space (or lower Trainer.keep_checkpoints), then run the same command to resume."
        )
    if not isinstance(exc, OSError):
        return CheckpointError(f"checkpoint {final} could not be written: {text}; the half-written folder was "
                               f"removed and the previous checkpoints are intact. Run the same command to resume.")
    return CheckpointError(
        f"checkpoint {final} could not be written: {exc.strerror or exc} ({exc.filename or final.parent}); "
        f"the half-written folder was removed. Make {final.parent} a writable folder, then run the same "
        f"command to resume."
    )


def save(directory: Path, step: int, model_state: dict[str, torch.Tensor], state: dict[str, Any], keep: int = 3,
         warn: Callable[[str], None] | None = None) -> Path:
    """Write checkpoint `step` atomically and keep only the newest `keep` verified checkpoints.

    The caller holds the run directory's lock (hbaezoo.rundir.lock.RunDirLock), so no other process writes here.
    """
    final = directory / f"step_{step:08d}"
    tmp = directory / f".tmp_step_{step:08d}_{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(directory)
        tmp.mkdir()
        tensors: dict[str, torch.Tensor] = {}
        tree = flatten(state, tensors)
        save_file({k: v.detach().cpu().contiguous() for k, v in model_state.items()}, tmp / "model.safetensors")
        save_file(tensors, tmp / "state.safetensors")
        meta = {"step": step, "state": tree, "sha256": {name: _sha256(tmp / name) for name in FILES}}
        (tmp / "state.json").write_text(json.dumps(meta))
        for name in (*FILES, "state.json"):
            _fsync(tmp / name)
        if final.exists() or final.is_symlink():
            # Never deleted: a folder in the way is either damaged (resume skipped it) or not ours.
            aside = final.with_name(f"{final.name}.replaced-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}")
            os.replace(final, aside)
            if warn:
                warn(f"{final} was in the way of the new checkpoint (it did not verify); kept as {aside.name}.")
        os.replace(tmp, final)
        _fsync(directory)
    except BaseException as exc:
        # A half-written folder must not keep a full disk full.
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError":
            needed = sum(t.numel() * t.element_size() for t in model_state.values())
            needed += sum(t.numel() * t.element_size() for t in flatten_tensors(state))
            raise _write_error(exc, final, needed) from exc
        raise
    _VERIFIED[str(final)] = _signature(final)
    prune(directory, keep)
    return final


def _remove_stale_temporaries(directory: Path) -> None:
    """Temporary folders of writers that died (SIGKILL, power loss): only names hbaezoo makes."""
    for p in directory.iterdir():
        if TMP_DIR.match(p.name) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)


def checkpoints(directory: Path) -> list[Path]:
    """Folders named like checkpoints (step_N, not symlinks), oldest first; `load` says which are complete."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if STEP_DIR.match(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))


# Checkpoints already verified by this process: path -> (size, mtime, inode) of their files.
_VERIFIED: dict[str, tuple] = {}


def _signature(path: Path) -> tuple:
    return tuple((st.st_size, st.st_mtime_ns, st.st_ino) for st in (os.lstat(path / n) for n in (*FILES, "state.json")))


def verified(path: Path) -> bool:
    """Whether `path` is a complete checkpoint whose files match their checksums (cached per process)."""
    try:
        if _VERIFIED.get(str(path)) == _signature(path):
            return True
        load(path)
    except (OSError, CheckpointError):
        return False
    _VERIFIED[str(path)] = _signature(path)
    return True


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete verified checkpoints older than the newest `keep` verified ones; return what was deleted.

    Folders that do not verify are neither counted nor deleted: they may be someone else's.
    """
    if keep <= 0:
        return []
    good = [p for p in reversed(checkpoints(directory)) if verified(p)]
    for old in good[keep:]:
        shutil.rmtree(old)
        _VERIFIED.pop(str(old), None)
    return good[keep:]


def _read_meta(path: Path) -> dict:
    """state.json, checked: a dict with an int `step` equal to the folder's, a `state` tree, and
    `sha256` naming exactly the two safetensors files."""
    where = path / "state.json"
    _check_regular_file(where)
    if os.lstat(where).st_size > MAX_STATE_JSON:
        raise CheckpointError(f"{where} is {os.lstat(where).st_size} bytes, more than a checkpoint ever writes.")
    try:
        meta = json.loads(where.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{where} is not valid JSON ({type(exc).__name__}: {exc}).") from exc
    missing = sorted({"step", "state", "sha256"} - set(meta if isinstance(meta, dict) else ()))
    if missing:
        raise CheckpointError(f"{where} lacks field(s) {', '.join(missing)}; it is not a checkpoint hbaezoo wrote.")
    step = meta["step"]
    if type(step) is not int or not 0 <= step <= MAX_STEP:
        raise CheckpointError(f"{where}: field 'step' must be a whole number in [0, {MAX_STEP}], got {step!r}.")
    if step != int(STEP_DIR.match(path.name).group(1)):
        raise CheckpointError(f"{where}: field 'step' is {step} but the folder is {path.name}.")
    sha = meta["sha256"]
    if not isinstance(sha, dict) or set(sha) != set(FILES) or not all(isinstance(v, str) for v in sha.values()):
        # Names only, fixed: a path here ("../x", "/dev/zero") would read outside the checkpoint.
        shown = sorted(map(str, sha)) if isinstance(sha, dict) else type(sha).__name__
        raise CheckpointError(f"{where}: field 'sha256' must map exactly {' and '.join(FILES)} to digests, got {shown}.")
    return meta


def _check_regular_file(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing (an incomplete checkpoint, or a folder hbaezoo did not write).") from None
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path} is not a regular file (a link or a device); a checkpoint holds plain files only.")


def load(path: Path) -> tuple[int, dict[str, torch.Tensor], dict[str, Any]]:
    """(step, model state dict, other state) of one checkpoint; CheckpointError naming the file and field."""
    try:
        return _load(path)
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read: {exc.strerror or exc} ({exc.filename or path}).") from exc


def _load(path: Path) -> tuple[int, dict[str, torch.Tensor], dict[str, Any]]:
    meta = _read_meta(path)
    for name, digest in meta["sha256"].items():
        _check_regular_file(path / name)
        if _sha256(path / name) != digest:
            raise CheckpointError(f"{path / name} does not match its checksum (truncated or corrupt).")
    try:
        model_state = load_file(path / "model.safetensors")
        tensors = load_file(path / "state.safetensors")
    except Exception as exc:  # safetensors raises its own error types on malformed headers
        raise CheckpointError(f"checkpoint {path} cannot be read: {type(exc).__name__}: {exc}") from exc
    try:
        state = unflatten(meta["state"], tensors)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path / 'state.json'}: {exc}.") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path / 'state.json'}: field 'state' must be an object, got {type(state).__name__}.")
    return meta["step"], model_state, state


def load_latest(directory: Path, warn: Callable[[str], None]) -> tuple[int, dict, dict] | None:
    """The newest checkpoint that loads; each damaged newer one is named to `warn`, with the reason, and left in place."""
    for path in reversed(checkpoints(directory)):
        try:
            return load(path)
        except CheckpointError as exc:
            warn(f"skipped checkpoint {path.name}: {exc} It is left in place; the next older checkpoint is tried.")
    return None

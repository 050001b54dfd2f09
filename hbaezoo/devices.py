"""Which torch device a `device` setting ('auto', 'cpu', 'cuda:1') means, checked."""

from __future__ import annotations

import torch

from hbaezoo.errors import ConfigError


KNOWN = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def _not_a_device(device) -> ConfigError:
    return ConfigError(f"Trainer.device (or --device) = {device!r} is not a device name; use {KNOWN}.")


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA if available, else CPU; a CUDA device where there is none -> ConfigError."""
    if not isinstance(device, str):
        raise _not_a_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"Trainer.device = '{device}' but no CUDA device is available; use 'cpu' or 'auto'.")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise _not_a_device(device) from None
    if resolved.type not in ("cpu", "cuda"):
        # mps, xla, ...: torch knows the name, but hbaezoo's trainer and sampling are tested on CPU and CUDA only.
        raise ConfigError(f"Trainer.device (or --device) = {device!r}: hbaezoo runs on {KNOWN}.")
    return resolved

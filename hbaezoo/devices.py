"""Which torch device a `device` setting ('auto', 'cpu', 'cuda:1') means, checked."""

from __future__ import annotations

import torch

from hbaezoo.errors import ConfigError


def resolve_device(device: str) -> torch.device:
    """'auto' -> CUDA if available, else CPU; a CUDA device where there is none -> ConfigError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"Trainer.device = '{device}' but no CUDA device is available; use 'cpu' or 'auto'.")
    return torch.device(device)

"""Which torch device a `device` setting ('auto', 'cpu', 'cuda:1') means, checked, and what it computes natively."""

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


def fast_bf16(device: torch.device | str) -> bool:
    """Whether `device` computes bfloat16 convolutions natively (a CUDA GPU with bf16, a CPU with AVX-512 BF16/AMX)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)  # pre-Ampere GPUs emulate it
    supported = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)  # private; absent on some builds
    return device.type == "cpu" and torch.backends.mkldnn.is_available() and supported is not None and supported()

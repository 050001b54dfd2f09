"""The trainer's speed switches below the model: TF32 on CUDA, torch.compile of each part, CUDA graphs.

    Trainer.tf32 = True                         # default; False for IEEE float32 on CUDA
    Trainer.compile = True                      # torch.compile, mode "default"
    Trainer.compile = 'reduce-overhead'         # ... and replay each part as a CUDA graph
"""

from __future__ import annotations

import torch

from hbaezoo.errors import ConfigError

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
_GRAPH_MODES = ("reduce-overhead", "max-autotune")  # the modes in which inductor captures CUDA graphs


def compile_mode(value: bool | str) -> str | None:
    """Trainer.compile -> the torch.compile mode to use, or None for eager."""
    if value is False or value is None:
        return None
    if value is True:
        return "default"
    if value in COMPILE_MODES:
        return value
    raise ConfigError(
        f"Trainer.compile must be False, True or a torch.compile mode ({', '.join(map(repr, COMPILE_MODES))}), "
        f"got {value!r}. For CUDA graphs use -b \"Trainer.compile = 'reduce-overhead'\"."
    )


def captures_graphs(mode: str | None, device: torch.device) -> bool:
    """True if compiled parts replay CUDA graphs, whose outputs live only until the next replay."""
    return mode in _GRAPH_MODES and device.type == "cuda"


def compile_parts(model: torch.nn.Module, mode: str) -> None:
    # In place, per part: the phases call the parts (not model.forward), and state_dict keys stay as they are.
    for part in model.children():
        part.compile(mode=mode)


def set_tf32(device: torch.device, enabled: bool) -> None:
    """TF32 tensor cores for float32 matmuls and convolutions on CUDA (Ampere and later); CPU is untouched.

    Process-wide, as torch's flags are. The per-backend flags, not set_float32_matmul_precision,
    which would also lower oneDNN's float32 precision on the CPU.
    """
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled

"""What every check shares: the small sizes, toy inputs, assertions with clear messages, and the
module checks (gradients reach every parameter, a state_dict round trip, determinism under a seed).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Sizes:
    """The small sizes a check builds parts and inputs with."""

    batch: int = 3
    set_size: int = 4
    channels: int = 3
    resolution: int = 16
    feature_dim: int = 12
    z_dim: int = 6
    noise_dim: int = 5
    num_classes: int = 4
    seed: int = 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.resolution, self.resolution)


def skip(reason: str) -> None:
    """Stop a check visibly: a pytest skip under pytest, else a warning (never a silent pass)."""
    if "PYTEST_CURRENT_TEST" in os.environ:  # not in a plugin author's script: pytest's Skip would crash it
        try:
            import pytest
        except ImportError:
            pass
        else:
            pytest.skip(reason)
    import warnings

    warnings.warn(f"check skipped: {reason}", stacklevel=2)


def _kwargs(factory) -> dict[str, Any]:
    return dict(getattr(factory, "TEST_KWARGS", {}))


def _images(sizes: Sizes, *lead: int) -> torch.Tensor:
    return torch.rand(*lead, *sizes.image_shape) * 2 - 1


def _assert_finite(name: str, t: torch.Tensor) -> None:
    assert torch.isfinite(t).all(), f"{name}: output has non-finite values"


def _assert_shape(name: str, t: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert tuple(t.shape) == tuple(shape), f"{name}: expected shape {tuple(shape)}, got {tuple(t.shape)}"


def check_gradients(name: str, module: nn.Module, output: torch.Tensor) -> None:
    """Backpropagate a random projection of `output`; every trainable parameter must be reached.

    A reached parameter may still get a zero gradient (a dead ReLU on a tiny input), but
    not all of them may.
    """
    module.zero_grad(set_to_none=True)
    (output * torch.randn_like(output)).sum().backward()
    trainable = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"{name}: no gradient reaches {missing[:6]}"
    assert any(p.grad.abs().sum() > 0 for _, p in trainable), f"{name}: every gradient is zero"


def check_state_dict_round_trip(name: str, module: nn.Module, rebuild: Callable[[], nn.Module],
                                run: Callable[[nn.Module], torch.Tensor]) -> None:
    """Saving a state dict and loading it into a fresh build gives identical outputs (eval mode)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh = rebuild()
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    module.eval(), fresh.eval()
    with torch.no_grad():
        torch.manual_seed(1)
        a = run(module)
        torch.manual_seed(1)
        b = run(fresh)
    assert torch.allclose(a, b, atol=1e-5), f"{name}: outputs differ after a state_dict round trip"


def check_deterministic(name: str, build: Callable[[], nn.Module], run: Callable[[nn.Module], torch.Tensor]) -> None:
    """Two builds under the same seed compute the same output from the same input."""
    outs = []
    for _ in range(2):
        torch.manual_seed(1234)
        module = build()
        module.eval()
        with torch.no_grad():
            torch.manual_seed(99)
            outs.append(run(module))
    assert torch.allclose(outs[0], outs[1], atol=1e-6), f"{name}: not deterministic under a fixed seed"


def _module_checks(name: str, build: Callable[[], nn.Module], run: Callable[[nn.Module], torch.Tensor]) -> None:
    module = build()
    module.train()
    out = run(module)
    _assert_finite(name, out)
    if any(p.requires_grad for p in module.parameters()):
        check_gradients(name, module, out)
    check_state_dict_round_trip(name, module, build, run)
    check_deterministic(name, build, run)

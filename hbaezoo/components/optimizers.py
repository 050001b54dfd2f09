"""Optimizers and learning-rate schedules, gin-scoped per optimizer group.

The trainer builds one optimizer per group inside `gin.config_scope(group)`, so a
recipe sets `critic/optimizers.adam.lr = 4e-4` and `generator/optimizers.adam.lr = 2e-4`.
"""

from __future__ import annotations

import math

import torch

from hbaezoo.registry import OPTIMIZERS, SCHEDULES


def _fused_ok(params) -> bool:
    return all(p.is_cuda for p in params)


@OPTIMIZERS.register("adam")
def adam(params, *, lr: float = 2e-4, betas: tuple[float, float] = (0.0, 0.9), eps: float = 1e-8,
         weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam; β = (0, 0.9) as in SNGAN/projection-cGAN training (the paper leaves β unstated)."""
    params = list(params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                            fused=_fused_ok(params) or None, foreach=None)


@OPTIMIZERS.register("adamw")
def adamw(params, *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
          weight_decay: float = 1e-2) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay."""
    params = list(params)
    return torch.optim.AdamW(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay,
                             fused=_fused_ok(params) or None)


@OPTIMIZERS.register("sgd")
def sgd(params, *, lr: float = 1e-2, momentum: float = 0.9) -> torch.optim.Optimizer:
    """SGD with momentum."""
    return torch.optim.SGD(list(params), lr=lr, momentum=momentum)


@SCHEDULES.register("constant")
def constant(optimizer, *, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning rate never changes (the paper's protocol)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


@SCHEDULES.register("linear_decay")
def linear_decay(optimizer, *, steps: int, start_fraction: float = 0.5) -> torch.optim.lr_scheduler.LRScheduler:
    """Constant, then linear decay to zero over the last (1 − start_fraction) of training."""
    start = int(steps * start_fraction)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 1.0 if step < start else max(0.0, (steps - step) / max(1, steps - start))
    )


@SCHEDULES.register("cosine")
def cosine(optimizer, *, steps: int, warmup: int = 0) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up then cosine decay to zero."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

"""Hardware utilisation: achieved FLOP/s of a training step ÷ the machine's dense matmul FLOP/s.

    python benchmarks/utilisation.py [--recipe hbae_shapes.gin]

FLOPs of one step are counted with torch.utils.flop_counter; the matmul peak is measured
in the same run with a large float32 matrix product.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import batch_shape, build, machine, step_trainer
from torch.utils.flop_counter import FlopCounterMode


def matmul_flops(n: int = 2048, repeat: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n**3 * repeat / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", default="hbae_shapes.gin")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    model, dataset = build(args.recipe)
    trainer, batch = step_trainer(model, dataset, *batch_shape())
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(batch)
    flops = counter.get_total_flops()
    trainer.train_step(batch)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(batch)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    achieved = flops * args.steps / (time.perf_counter() - start)
    peak = matmul_flops()
    print(f"machine: {machine()}")
    print(f"{args.recipe}: {flops / 1e9:.2f} GFLOP per step, achieved {achieved / 1e9:.1f} GFLOP/s")
    print(f"dense float32 matmul: {peak / 1e9:.1f} GFLOP/s")
    print(f"utilisation ratio: {achieved / peak:.3f}")


if __name__ == "__main__":
    main()

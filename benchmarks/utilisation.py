"""Hardware utilisation: achieved FLOP/s of a training step ÷ the dense matmul peak of the step's device.

    python benchmarks/utilisation.py [--recipe hbae_shapes.gin] [-b "Trainer.amp = None"] [--out X.json --note ...]

FLOPs of one step are counted with torch.utils.flop_counter. The peaks are measured in the
same run, on the device the step ran on, with large matrix products in the dtypes that
matter there: on a GPU bf16 and float32 with TF32 (what a float32 step uses by default);
on a CPU float32, and bf16 too when the step runs under bf16 autocast. One ratio per peak.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import batch_shape, build, machine, record_options, step_trainer, write_record
from torch.utils.flop_counter import FlopCounterMode


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(device: torch.device, dtype: torch.dtype, n: int, seconds: float = 1.0) -> float:
    """FLOP/s of repeated n x n @ n x n products in `dtype` on `device`."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    sync(device)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            a @ b
        sync(device)
        done += 10
    return 2 * n**3 * done / (time.perf_counter() - start)


def peaks(device: torch.device, amp: str | None) -> dict[str, float]:
    """Dense matmul FLOP/s per dtype the step may run at on `device`."""
    if device.type == "cuda":
        tf32 = torch.backends.cuda.matmul.allow_tf32  # the Trainer's setting (Trainer.tf32)
        out = {"bf16": matmul_flops(device, torch.bfloat16, 8192),
               f"float32 (TF32 {'on' if tf32 else 'off'})": matmul_flops(device, torch.float32, 8192)}
        if amp == "fp16":
            out["fp16"] = matmul_flops(device, torch.float16, 8192)
        return out
    out = {"float32": matmul_flops(device, torch.float32, 2048)}
    if amp == "bf16":
        out["bf16"] = matmul_flops(device, torch.bfloat16, 2048)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="hbae_shapes.gin")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("-b", "--binding", action="append", default=[], help="gin binding, e.g. Trainer.amp = 'bf16'")
    record_options(parser)
    args = parser.parse_args()

    model, dataset = build(args.recipe, args.binding)
    trainer, batch = step_trainer(model, dataset, *batch_shape())
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(batch)
    flops = counter.get_total_flops()
    trainer.train_step(batch)
    sync(trainer.device)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.train_step(batch)
    sync(trainer.device)
    achieved = flops * args.steps / (time.perf_counter() - start)
    print(f"machine: {machine(trainer.device)}")
    print(f"{args.recipe} ({trainer.amp or 'float32'}): {flops / 1e9:.2f} GFLOP per step, "
          f"achieved {achieved / 1e9:.1f} GFLOP/s")
    peak_flops = peaks(trainer.device, trainer.amp)
    for dtype, peak in peak_flops.items():
        print(f"dense {dtype} matmul on {trainer.device}: {peak / 1e9:.1f} GFLOP/s -> "
              f"utilisation ratio {achieved / peak:.4f}")
    write_record(args, trainer.device, recipe=args.recipe, bindings=args.binding, batch=list(batch_shape()),
                 precision=trainer.amp or "float32", flops_per_step=flops, achieved_flops=achieved,
                 matmul_peak_flops=peak_flops)


if __name__ == "__main__":
    main()

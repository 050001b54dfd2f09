"""Shared helpers for the benchmarks: build a recipe's model and data, time alternating runs."""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gin
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build(recipe: str, bindings: list[str] = ()):
    """(model, dataset) of a recipe in gin/, without a run dir; gin keeps the parsed recipe for the Trainer."""
    import hbaezoo

    return hbaezoo.build(REPO / "gin" / recipe, list(bindings))


def batch_shape() -> tuple[int, int | None]:
    """The parsed recipe's (Trainer.batch_size, Trainer.set_size); set_size is None for single images."""
    batch_size = gin.query_parameter("Trainer.batch_size")
    try:
        set_size = gin.query_parameter("Trainer.set_size")
    except ValueError:
        set_size = None
    return batch_size, set_size


def recipe_amp() -> str | None:
    """The parsed recipe's Trainer.amp, or the Trainer's default where the recipe leaves it (None: float32)."""
    from hbaezoo.assembly import trainer_binding
    from hbaezoo.signatures import parameters
    from hbaezoo.training.trainer import Trainer

    return trainer_binding("amp", parameters(Trainer)["amp"])


def first_batch(dataset, batch_size: int, set_size: int | None) -> dict[str, torch.Tensor]:
    """Step 0's batch of the recipe's batch plan."""
    from hbaezoo.data.batches import BatchPlan, batches

    plan = BatchPlan(dataset.group_ids, batch_size=batch_size, set_size=set_size)
    return next(batches(dataset, plan, start=0, stop=1))


def images_in(x: torch.Tensor) -> int:
    """Images in a batch of images [B, C, H, W] or sets [B, K, C, H, W]."""
    return x[..., 0, 0, 0].numel()


def step_rate(trainer, batch: dict[str, torch.Tensor], seconds: float) -> float:
    """Images/s of trainer.train_step on one fixed batch, after a warm-up step."""
    trainer.train_step(batch)
    return rate(lambda: (trainer.train_step(batch), images_in(batch["x"]))[1], seconds)


def step_trainer(model, dataset, batch_size: int, set_size: int | None, **options):
    """A Trainer for timing train_step alone (no run dir use, no progress) and step 0's batch, placed."""
    from hbaezoo.training.trainer import Trainer

    trainer = Trainer(model, dataset, tempfile.mkdtemp(), steps=10**9, batch_size=batch_size, set_size=set_size,
                      progress=False, tensorboard=False, **options)
    return trainer, trainer.place(first_batch(dataset, batch_size, set_size))


def trainer_rate(model, dataset, seconds, cudnn_benchmark=False, tf32=True, **options):
    """A callable measuring images/s of train_step on the recipe's first batch with Trainer `options`."""
    from hbaezoo.training.backends import set_tf32

    trainer, batch = step_trainer(copy.deepcopy(model), dataset, *batch_shape(), tf32=tf32, **options)
    images = images_in(batch["x"])

    def step() -> int:
        # Process-wide flags: each variant sets its own before every step of its round.
        torch.backends.cudnn.benchmark = cudnn_benchmark
        set_tf32(trainer.device, tf32)
        trainer.train_step(batch)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        return images

    step(), step(), step()  # warm-up: compilation, and CUDA-graph recording in reduce-overhead
    return lambda: rate(step, seconds)


def alternate(runs: dict[str, Callable[[], float]], rounds: int = 5) -> dict[str, float]:
    """Median of each callable's returned rate over `rounds` interleaved rounds (noise hits both alike)."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            rates[name].append(fn())
    return {name: statistics.median(values) for name, values in rates.items()}


def rate(fn: Callable[[], int], seconds: float = 3.0) -> float:
    """Items per second of repeated fn() (returns items done per call) over about `seconds`."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # queued GPU work belongs to this window
    return done / (time.perf_counter() - start)


def machine(device: torch.device | str = "auto") -> str:
    """The device a benchmark ran on (default: where Trainer.device = 'auto' trains) and the host."""
    from hbaezoo.training.trainer import resolve_device

    device = resolve_device(str(device))
    where = str(device)
    if device.type == "cuda":
        tf32 = "on" if torch.backends.cuda.matmul.allow_tf32 else "off"
        where += f" ({torch.cuda.get_device_name(device)}, TF32 matmul {tf32})"
    return (f"device {where}; host {os.cpu_count()} CPU threads, {torch.get_num_threads()} intra-op threads, "
            f"torch {torch.__version__}")


def record_options(parser: argparse.ArgumentParser) -> None:
    """--out/--note: also write a run's figures as JSON, the files docs/performance.md's tables are made from."""
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file "
                        "(python experiments/tables.py turns results/benchmarks/*.json into docs/performance.md's tables)")
    parser.add_argument("--note", default="", help="with --out: what this record measures (the code state, a switch)")


def shell_word(arg: str) -> str:
    """`arg` quoted for a shell as a person would: gin bindings with 'strings' go in double quotes."""
    if shlex.quote(arg) != arg and '"' not in arg and not any(c in arg for c in "$`\\!"):
        return f'"{arg}"'
    return shlex.quote(arg)


def write_record(args: argparse.Namespace, device: torch.device | str, launcher: str = "", **figures) -> None:
    """With --out: this run's figures, with the command (without --out/--note), machine, date and note.

    `launcher` is how a user starts the script when not `python SCRIPT.py` (peers.sh)."""
    from hbaezoo.files import write_text_atomic

    if args.out is None:
        return
    argv, kept = sys.argv[1:], []
    while argv:
        arg = argv.pop(0)
        if arg in ("--out", "--note"):
            argv.pop(0)
        elif not arg.startswith(("--out=", "--note=")):
            kept.append(arg)
    command = " ".join([launcher or f"python {Path(sys.argv[0]).name}", *map(shell_word, kept)]).strip()
    record = {"benchmark": Path(sys.argv[0]).stem, "command": command,
              "machine": machine(device), "date": datetime.date.today().isoformat(), "note": args.note, **figures}
    write_text_atomic(args.out, json.dumps(record, indent=2) + "\n")  # a killed run leaves no half record
    print(f"wrote {args.out}")


def clear_gin() -> None:
    gin.clear_config()

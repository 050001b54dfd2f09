"""Shared helpers for the benchmarks: build a recipe's model and data, time alternating runs."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import gin
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build(recipe: str, bindings: list[str] = ()):
    """(model, dataset, gin-configured Trainer kwargs) of a recipe, without a run dir."""
    import hbaezoo  # noqa: F401
    from hbaezoo import config
    from hbaezoo.run import build_model, recipe as recipe_parts

    config.parse([REPO / "gin" / recipe], list(bindings))
    model_factory, dataset_factory = recipe_parts()
    dataset = dataset_factory(split="train")
    model = build_model(model_factory, dataset.describe())
    return model, dataset


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
    return done / (time.perf_counter() - start)


def machine() -> str:
    return f"{os.cpu_count()} CPU threads, torch {torch.__version__}, {torch.get_num_threads()} intra-op threads" + (
        f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    )


def clear_gin() -> None:
    gin.clear_config()

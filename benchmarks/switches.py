"""Switches that may pay: each measured against the defaults in alternating rounds.

    python benchmarks/switches.py [--recipe hbae_shapes.gin ...] [--compile] [--out X.json --note ...]

For each recipe, images/s of `Trainer.train_step` on the recipe's batch with:
the defaults; `channels_last` toggled; the precision toggled (bf16 autocast for a float32 recipe,
float32 for a recipe that trains in bf16); Adam with foreach and with fused kernels; with --compile, `Trainer.compile`
(torch.compile of every part; compile time excluded). On a GPU also
`torch.backends.cudnn.benchmark`, `Trainer.tf32 = False` and, with --compile,
`Trainer.compile = 'reduce-overhead'` (CUDA graphs). Pinned-memory loaders with workers only matter for
decoded folder datasets and are measured by data_pipeline.py.
"""

from __future__ import annotations

import argparse

import torch
from common import (
    alternate,
    batch_shape,
    build,
    clear_gin,
    machine,
    recipe_amp,
    record_options,
    trainer_rate,
    write_record,
)

from hbaezoo.signatures import parameters


def adam(**options):
    """An Adam factory with the recipe's defaults but the given kernel options."""

    def make(params):
        return torch.optim.Adam(list(params), lr=2e-4, betas=(0.0, 0.9), **options)

    return make


def measure(recipe: str, seconds: float, rounds: int, with_compile: bool) -> dict:
    from hbaezoo.training.trainer import Trainer, resolve_device

    clear_gin()
    model, dataset = build(recipe)
    default_layout = parameters(Trainer)["channels_last"]
    runs = {
        "defaults": trainer_rate(model, dataset, seconds),
        f"channels_last={not default_layout}": trainer_rate(model, dataset, seconds,
                                                            channels_last=not default_layout),
        # The recipe's precision toggled, as the layout is: each recipe read against the other precision.
        **({"float32": trainer_rate(model, dataset, seconds, amp=None)} if recipe_amp() else
           {"bf16 autocast": trainer_rate(model, dataset, seconds, amp="bf16")}),
        "Adam foreach": trainer_rate(model, dataset, seconds, optimizer=adam(foreach=True)),
        "Adam fused": trainer_rate(model, dataset, seconds, optimizer=adam(fused=True)),
    }
    cuda = resolve_device("auto").type == "cuda"  # where the trainers above run
    if cuda:
        runs["cudnn.benchmark"] = trainer_rate(model, dataset, seconds, cudnn_benchmark=True)
        runs["Trainer.tf32=False"] = trainer_rate(model, dataset, seconds, tf32=False)
    if with_compile:
        runs["Trainer.compile"] = trainer_rate(model, dataset, seconds, compile=True)
        if cuda:
            runs["compile reduce-overhead"] = trainer_rate(model, dataset, seconds, compile="reduce-overhead")
    result = alternate(runs, rounds=rounds)
    print(f"{recipe} (batch {batch_shape()}), median of {rounds} rounds:")
    for name, value in result.items():
        print(f"  {name:22s} {value:8.1f} images/s   ratio to defaults {value / result['defaults']:.3f}")
    return {"batch": batch_shape(), "images_per_s": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", nargs="+", default=["hbae_shapes.gin"])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to compile on CPU)")
    record_options(parser)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    recipes = {recipe: measure(recipe, args.seconds, args.rounds, args.compile) for recipe in args.recipe}
    write_record(args, "auto", rounds=args.rounds, seconds=args.seconds, recipes=recipes)


if __name__ == "__main__":
    main()

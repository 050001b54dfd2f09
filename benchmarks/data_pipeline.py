"""Data pipeline: images/s the loaders deliver ÷ images/s the recipe's training consumes (target >= 5).

    python benchmarks/data_pipeline.py [--recipe hbae_shapes.gin] [--folder-workers 2] [--out X.json --note ...]

Measures the embedded shapes (in-memory gather) and a folder dataset with JPEG decoding
(a generated VGGFace2-layout folder), against the training speed of the same recipe.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from common import batch_shape, build, images_in, machine, rate, record_options, step_rate, step_trainer, write_record


def delivered(dataset, batch_size, set_size, workers, seconds) -> float:
    from hbaezoo.data.batches import BatchPlan, batches

    plan = BatchPlan(dataset.group_ids, batch_size=batch_size, set_size=set_size)
    stream = batches(dataset, plan, start=0, stop=10**9, num_workers=workers)
    next(stream)

    def one() -> int:
        x = next(stream)["x"]
        return images_in(x)

    return rate(one, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", default="hbae_shapes.gin")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--folder-workers", type=int, default=2)
    record_options(parser)
    args = parser.parse_args()

    from hbaezoo.data.folders import VGGFace2

    model, dataset = build(args.recipe)
    batch_size, set_size = batch_shape()
    consumed = step_rate(*step_trainer(model, dataset, batch_size, set_size), args.seconds)

    shapes = delivered(dataset, batch_size, set_size, 0, args.seconds)
    root = VGGFace2.make_example(Path(tempfile.mkdtemp()) / "vgg", groups=40, per_group=20, size=250)
    folder = VGGFace2(root=str(root), resolution=dataset.image_shape[-1], test_fraction=0.01)
    decoded = delivered(folder, batch_size, set_size, args.folder_workers, args.seconds)

    print(f"machine: {machine()}")
    print(f"training consumes {consumed:.0f} images/s ({args.recipe}, batch {batch_size}, set size {set_size})")
    print(f"embedded shapes deliver {shapes:.0f} images/s -> ratio {shapes / consumed:.1f}")
    print(f"folder (250px JPEG decode + crop + resize, {args.folder_workers} workers) delivers "
          f"{decoded:.0f} images/s -> ratio {decoded / consumed:.1f}")
    write_record(args, "auto", recipe=args.recipe, batch=[batch_size, set_size], folder_workers=args.folder_workers,
                 images_per_s={"training consumes": consumed, "embedded shapes": shapes, "JPEG folder": decoded})


if __name__ == "__main__":
    torch.manual_seed(0)
    main()

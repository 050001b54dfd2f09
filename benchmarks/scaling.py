"""How training cost scales: images/s vs resolution (16/32/64) for HBAE, and vs set size K (1/4/8/16) for Set-HBAE.

    python benchmarks/scaling.py [--seconds 4] [--out X.json --note ...]

Batches hold 64 images throughout (64 images, or 64/K sets of K), so rows compare cost per image.
"""

from __future__ import annotations

import argparse

import torch
from common import build, machine, record_options, step_rate, step_trainer, write_record


def images_per_second(recipe, bindings, batch_size, set_size, seconds):
    model, dataset = build(recipe, bindings)
    return step_rate(*step_trainer(model, dataset, batch_size, set_size), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    record_options(parser)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    resolution, set_size = {}, {}
    for res in (16, 32, 64):
        value = resolution[res] = images_per_second(
            "hbae_shapes.gin", [f"datasets.shapes.resolution = {res}"], 64, None, args.seconds)
        print(f"HBAE {res:2d}px           {value:8.1f} images/s   relative to 16px {value / resolution[16]:.3f}")
    for k in (1, 4, 8, 16):
        value = set_size[k] = images_per_second("set_hbae_shapes.gin", [], 64 // k, k, args.seconds)
        print(f"Set-HBAE K={k:2d} (32px)  {value:8.1f} images/s   relative to K=1 {value / set_size[1]:.3f}")
    write_record(args, "auto", seconds=args.seconds, hbae_images_per_s_by_resolution=resolution,
                 set_hbae_images_per_s_by_set_size=set_size)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()

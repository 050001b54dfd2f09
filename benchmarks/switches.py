"""Switches that may pay: each measured against the default in alternating rounds.

    python benchmarks/switches.py [--recipe hbae_shapes.gin]

channels_last, bf16 autocast, foreach vs single-tensor Adam, and (with --compile)
torch.compile of the parts. cudnn.benchmark and pinned-memory loaders only matter
on GPU and are reported there.
"""

from __future__ import annotations

import argparse
import copy
import tempfile

import torch

from common import alternate, build, machine, rate


def trainer_rate(model, dataset, batch, seconds, **kwargs):
    from hbaezoo.train.trainer import Trainer

    trainer = Trainer(copy.deepcopy(model), dataset, tempfile.mkdtemp(), steps=10**9, progress=False,
                      tensorboard=False, batch_size=batch["x"].shape[0], **kwargs)
    if kwargs.get("channels_last"):
        batch = {**batch, "x": batch["x"].contiguous(memory_format=torch.channels_last)}
    trainer.train_step(batch)
    return lambda: rate(lambda: (trainer.train_step(batch), batch["x"].shape[0])[1], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", default="hbae_shapes.gin")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()

    from hbaezoo.data.batches import BatchPlan, batches

    model, dataset = build(args.recipe)
    import gin

    batch_size = gin.query_parameter("Trainer.batch_size")
    batch = next(batches(dataset, BatchPlan(dataset.group_ids, batch_size=batch_size), start=0, stop=1))
    runs = {
        "default": trainer_rate(model, dataset, batch, args.seconds),
        "channels_last": trainer_rate(model, dataset, batch, args.seconds, channels_last=True),
        "bf16 autocast": trainer_rate(model, dataset, batch, args.seconds, amp="bf16"),
    }
    runs["foreach=False Adam"] = _single_tensor_adam(copy.deepcopy(model), dataset, batch, args.seconds)
    if args.compile:
        compiled = copy.deepcopy(model)
        for name in ("encoder", "generator", "discriminator"):
            if hasattr(compiled, name):
                setattr(compiled, name, torch.compile(getattr(compiled, name)))
        runs["torch.compile parts"] = trainer_rate(compiled, dataset, batch, args.seconds)
    result = alternate(runs, rounds=args.rounds)
    print(f"machine: {machine()}  recipe: {args.recipe}")
    for name, value in result.items():
        print(f"  {name:22s} {value:8.1f} images/s   ratio to default {value / result['default']:.3f}")


def _single_tensor_adam(model, dataset, batch, seconds):
    from hbaezoo.train.trainer import Trainer

    def adam(params):
        return torch.optim.Adam(list(params), lr=2e-4, betas=(0.0, 0.9), foreach=False)

    trainer = Trainer(model, dataset, tempfile.mkdtemp(), steps=10**9, progress=False, tensorboard=False,
                      batch_size=batch["x"].shape[0], optimizer=adam)
    trainer.train_step(batch)
    return lambda: rate(lambda: (trainer.train_step(batch), batch["x"].shape[0])[1], seconds)


if __name__ == "__main__":
    main()

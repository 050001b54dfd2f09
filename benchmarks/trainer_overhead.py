"""Trainer overhead: hbaezoo's Trainer.train_step vs a minimal hand-written loop, same nets and batches.

    python benchmarks/trainer_overhead.py [--recipe hbae_shapes.gin] [-b BINDING ...] [--out X.json --note ...]

Prints images/s of each and their ratio (target >= 0.97), measured in alternating rounds.
"""

from __future__ import annotations

import argparse
import copy
import tempfile

import torch
from common import alternate, batch_shape, build, images_in, machine, rate, record_options, write_record
from einops import repeat


def hand_written(model, batch_fn, lr_critic=4e-4, lr_gen=2e-4):
    """The minimum an HBAE/Set-HBAE step needs: two Adam steps on the same losses, nothing else."""
    critic_params = model.param_groups()["critic"]
    gen_params = model.param_groups()["generator"]
    opt_c = torch.optim.Adam(critic_params, lr=lr_critic, betas=(0.0, 0.9))
    opt_g = torch.optim.Adam(gen_params, lr=lr_gen, betas=(0.0, 0.9))
    adv = model.adversarial

    def step() -> int:
        x = batch_fn()
        x = x if x.ndim == 5 else x[:, None]
        k = x.shape[1]
        for p in gen_params:
            p.requires_grad_(False)
        opt_c.zero_grad(set_to_none=True)
        posterior = model.encode(x)
        z = posterior.mean
        zk = repeat(z, "b z -> (b k) z", k=k)
        real = model.discriminator(x.flatten(0, 1), zk)
        z_fake = zk if model.encoder_through_generator else zk.detach()
        fake = model.discriminator(model.generator(z_fake, torch.randn(zk.shape[0], model.noise_dim, device=zk.device)), zk)
        mean_image = repeat(model.generator(z, z.new_zeros(z.shape[0], model.noise_dim)), "b c h w -> (b k) c h w", k=k)
        loss = (adv.critic(real, fake) + model.beta * model.divergence(posterior)
                + model.regulariser_trains.get("encoder", 0.0) * model.regulariser(x.flatten(0, 1), mean_image))
        loss.backward()
        opt_c.step()
        for p in gen_params:
            p.requires_grad_(True)
        for p in critic_params:
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        with torch.no_grad():
            z = model.encode(x).mean
            zk = repeat(z, "b z -> (b k) z", k=k)
        loss = adv.generator(model.discriminator(model.generator(zk, torch.randn(zk.shape[0], model.noise_dim, device=zk.device)), zk))
        if model.regulariser_trains.get("generator"):
            mean_image = repeat(model.generator(z, z.new_zeros(z.shape[0], model.noise_dim)), "b c h w -> (b k) c h w", k=k)
            loss = loss + model.regulariser_trains["generator"] * model.regulariser(x.flatten(0, 1), mean_image)
        loss.backward()
        opt_g.step()
        for p in critic_params:
            p.requires_grad_(True)
        return x.shape[0] * k

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipe", default="hbae_shapes.gin")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-b", "--binding", action="append", default=[])
    record_options(parser)
    args = parser.parse_args()

    from hbaezoo.data.batches import BatchPlan, batches
    from hbaezoo.training.trainer import Trainer

    model, dataset = build(args.recipe, args.binding)
    batch_size, set_size = batch_shape()
    trainer = Trainer(copy.deepcopy(model), dataset, tempfile.mkdtemp(), steps=10**9, batch_size=batch_size,
                      set_size=set_size, progress=False, tensorboard=False)
    # Both loops get the same batches in the trainer's memory layout (as Trainer.fit feeds them), and the
    # hand-written loop's nets the same layout: what is measured is the loop, not channels_last.
    plan = BatchPlan(dataset.group_ids, batch_size=batch_size, set_size=set_size)
    fixed = [next(batches(dataset, plan, start=s, stop=s + 1))["x"] for s in range(4)]
    fixed = [trainer.place({"x": x})["x"] for x in fixed]
    counter = iter(range(10**9))

    def next_batch():
        return fixed[next(counter) % 4]

    def trainer_step() -> int:
        x = next_batch()
        trainer.train_step({"x": x, "y": torch.zeros(x.shape[0], dtype=torch.long, device=x.device)})
        return images_in(x)

    minimal = hand_written(copy.deepcopy(model).to(trainer.device, memory_format=trainer.memory_format), next_batch)
    trainer_step(), minimal()  # warm-up
    result = alternate({"hbaezoo": lambda: rate(trainer_step, args.seconds),
                        "hand-written": lambda: rate(minimal, args.seconds)}, rounds=args.rounds)
    print(f"machine: {machine(trainer.device)}")
    print(f"recipe: {args.recipe} (batch {batch_size}, set size {set_size}, {trainer.memory_format})")
    for name, value in result.items():
        print(f"  {name:13s} {value:8.1f} images/s (median of {args.rounds} rounds)")
    print(f"ratio hbaezoo / hand-written: {result['hbaezoo'] / result['hand-written']:.3f}")
    write_record(args, trainer.device, recipe=args.recipe, bindings=args.binding, batch=[batch_size, set_size],
                 rounds=args.rounds, images_per_s=result)


if __name__ == "__main__":
    main()

"""torch.compile against eager: images/s of Trainer.train_step, side by side in alternating rounds.

    python benchmarks/compiled.py [--recipe hbae_shapes.gin ...] [-b BINDING ...]
                                  [--out results/benchmarks/X.json --note "what this record measures"]

Per recipe: the defaults (eager), `Trainer.compile = True`, and on a GPU also
`Trainer.compile = 'reduce-overhead'` (each part replayed as a CUDA graph). Compile time is
excluded (three warm-up steps); the ratio is to eager in the same run. With --out, the
figures are also written as JSON, from which `python experiments/tables.py` builds the table
of docs/performance.md.
"""

from __future__ import annotations

import argparse

from common import alternate, batch_shape, build, clear_gin, machine, record_options, trainer_rate, write_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", nargs="+", default=["hbae_shapes.gin"])
    parser.add_argument("-b", "--binding", action="append", default=[])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    record_options(parser)
    args = parser.parse_args()

    from hbaezoo.training.trainer import resolve_device

    device = resolve_device("auto")
    recipes = {}
    print(f"machine: {machine(device)}")
    for recipe in args.recipe:
        clear_gin()
        model, dataset = build(recipe, args.binding)
        runs = {"eager": trainer_rate(model, dataset, args.seconds),
                "compile": trainer_rate(model, dataset, args.seconds, compile=True)}
        if device.type == "cuda":
            runs["reduce-overhead"] = trainer_rate(model, dataset, args.seconds, compile="reduce-overhead")
        result = alternate(runs, rounds=args.rounds)
        print(f"{recipe} (batch {batch_shape()}{', ' + '; '.join(args.binding) if args.binding else ''}), "
              f"median of {args.rounds} rounds:")
        for name, value in result.items():
            print(f"  {name:16s} {value:8.1f} images/s   ratio to eager {value / result['eager']:.3f}")
        recipes[recipe] = {"batch": batch_shape(), "images_per_s": result}
    write_record(args, device, bindings=args.binding, rounds=args.rounds, seconds=args.seconds, recipes=recipes)


if __name__ == "__main__":
    main()

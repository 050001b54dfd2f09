"""Peak memory of the default recipes: RSS (and CUDA peak when present) of a short training run.

    python benchmarks/memory.py [--steps 5] [recipe ...] [--out X.json --note ...]

Each recipe runs in its own process so peaks do not mix.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from common import REPO, machine, record_options, write_record

CHILD = """
import json, resource, sys, torch
sys.argv = ['hbaezoo']
from hbaezoo.api import fit
fit([{recipe!r}], ['Trainer.progress = False', 'Trainer.tensorboard = False'], run_dir={run_dir!r}, overrides={{'steps': {steps}}})
out = {{'rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}
if torch.cuda.is_available():
    out['cuda_mib'] = torch.cuda.max_memory_allocated() / 2**20
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("recipes", nargs="*", default=["hbae_shapes.gin", "set_hbae_shapes.gin", "vae_shapes.gin", "gan_shapes.gin"])
    parser.add_argument("--steps", type=int, default=5)
    record_options(parser)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    peaks = {}
    for recipe in args.recipes:
        code = CHILD.format(recipe=str(REPO / "gin" / recipe), run_dir=tempfile.mkdtemp(), steps=args.steps)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        peak = peaks[recipe] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{recipe:24s} peak RSS {peak['rss_mib']:7.0f} MiB" + (f", CUDA {peak['cuda_mib']:.0f} MiB" if "cuda_mib" in peak else ""))

    write_record(args, "auto", steps=args.steps, peak_mib=peaks)


if __name__ == "__main__":
    main()

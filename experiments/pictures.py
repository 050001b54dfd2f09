"""The pictures of docs/results.md, sampled from the runs behind Tables 1 and 2.

    python experiments/pictures.py [--root runs/ablation]

Each picture is `hbaezoo sample RUN --mode MODE` with the arguments listed here (seed 0), so
`hbaezoo sample` reproduces any one of them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (run under ROOT, mode, file in docs/img, n, chain steps)
PICTURES = [
    ("tables/hbae", "recon", "hbae_shapes_recon.png", 8, 6),
    ("tables/hbae", "uncond", "hbae_shapes_uncond.png", 8, 6),
    ("tables/hbae", "markov", "hbae_shapes_markov.png", 8, 6),
    ("tables/vae", "recon", "vae_shapes_recon.png", 8, 6),
    ("tables/vae", "uncond", "vae_shapes_uncond.png", 8, 6),
    ("tables/gan", "uncond", "gan_shapes_uncond.png", 8, 6),
    ("tables/set_hbae", "set_recon", "set_hbae_shapes_set_recon.png", 6, 6),
    ("tables/set_hbae", "set_uncond", "set_hbae_shapes_set_uncond.png", 6, 6),
    ("tables/set_hbae", "recon", "set_hbae_shapes_recon.png", 8, 6),
    ("tables/set_hbae", "markov", "set_hbae_shapes_markov.png", 8, 6),
    ("tables/set_hbae", "set_complete", "set_hbae_shapes_set_complete.png", 6, 6),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default="runs/ablation")
    ap.add_argument("--runs", nargs="*", help="remake only the pictures of these runs (e.g. tables/hbae)")
    args = ap.parse_args(argv)
    from hbaezoo.sampling import sample_to_file

    for run, mode, name, n, steps in PICTURES:
        if args.runs and run not in args.runs:
            continue
        out = REPO / "docs" / "img" / name
        sample_to_file(Path(args.root) / run, mode, out, n=n, steps=steps, device="cpu")
        print(f"hbaezoo sample {Path(args.root) / run} --mode {mode} --n {n} --steps {steps} --out {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

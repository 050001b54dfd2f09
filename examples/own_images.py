"""Train an HBAE on a folder of your own images, then use the trained run from Python.

    python examples/own_images.py                       # seconds on a CPU: drawn pictures, tiny nets
    python examples/own_images.py --root /data/mydata --resolution 32 --steps 2000 --full-size

Without --root it first draws a small folder of pictures in a temporary folder (two classes,
discs and squares, laid out as torchvision's ImageFolder: <root>/<class>/*.png), so it needs
no download. It trains with `hbaezoo.train` on gin/hbae_folder.gin and `datasets.image_folder`,
loads the run with `hbaezoo.load`, and encodes, reconstructs and samples (docs/api.md).
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import hbaezoo

REPO = Path(__file__).resolve().parents[1]
#: Small nets and batches: a few seconds per step on a CPU instead of minutes.
TINY = ["encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
        "models.hbae.z_dim = 16", "models.hbae.noise_dim = 16", "Trainer.batch_size = 4",
        "Trainer.estimate_images = 16", "Trainer.ema_decay = 0.9"]


def draw_pictures(root: Path, per_class: int = 6, size: int = 24, seed: int = 0) -> Path:
    """root/discs/*.png and root/squares/*.png: coloured shapes on a white ground."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    for shape in ("discs", "squares"):
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = Image.new("RGB", (size, size), "white")
            r, x, y = rng.randint(5, 9), rng.randint(10, size - 10), rng.randint(10, size - 10)
            colour = tuple(rng.randint(0, 200) for _ in range(3))
            box = (x - r, y - r, x + r, y + r)
            (ImageDraw.Draw(image).ellipse if shape == "discs" else ImageDraw.Draw(image).rectangle)(box, fill=colour)
            image.save(root / shape / f"{i:03d}.png")
    return root


def main(argv: list[str] | None = None) -> dict[str, tuple[int, ...]]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="your folder of images (default: draw a small one)")
    ap.add_argument("--run-dir", type=Path, help="where the run goes (default: a temporary folder)")
    ap.add_argument("--resolution", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--full-size", action="store_true", help="the recipe's own widths and batch size")
    args = ap.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="hbaezoo-example-"))
    root = args.root or draw_pictures(scratch / "pictures")
    run_dir = args.run_dir or scratch / "run"
    bindings = [f"datasets.image_folder.root = {str(root)!r}", f"datasets.image_folder.resolution = {args.resolution}",
                "Trainer.num_workers = 0", "Trainer.progress = False", "Trainer.tensorboard = False",
                *([] if args.full_size else TINY)]

    run = hbaezoo.train(REPO / "gin" / "hbae_folder.gin", bindings, run_dir=run_dir, steps=args.steps, device="cpu")
    print(f"trained {run}")

    run = hbaezoo.load(run_dir, device="cpu")  # what a notebook does later with the same folder
    from PIL import Image

    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:4]
    size = (args.resolution, args.resolution)
    pictures = [Image.open(p).convert("RGB").resize(size) for p in files]  # PIL images go in as they are

    shapes = {
        "encode": run.encode(pictures),                  # [B, Z] codes
        "reconstruct": run.reconstruct(pictures, k=3),   # [B, 3, C, H, W]: three draws of z' per picture
        "sample": run.sample(6, seed=0),                 # [6, C, H, W] from the sampling prior
        "sample_sets": run.sample_sets(2, 4, seed=0),    # [2, 4, C, H, W]: four draws from each of two codes
        "markov": run.markov(pictures, steps=2),         # [B, 3, C, H, W]: x, G(E(x)), G(E(G(E(x))))
    }
    shapes = {name: tuple(value.shape) for name, value in shapes.items()}
    for name, shape in shapes.items():
        print(f"{name:12s} {shape}")
    out = run_dir / "example_samples.png"
    run.to_pil(run.sample(1, seed=1))[0].save(out)  # model output [-1, 1] -> PIL pictures
    print(f"wrote {out}")
    return shapes


if __name__ == "__main__":
    main()

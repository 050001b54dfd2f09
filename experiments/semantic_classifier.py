"""How good is the semantic classifier on the embedded shapes? (docs/evaluation.md, "The semantic classifier")

Trains it (or loads it from the cache) on `datasets.shapes` at one resolution, through the
same EvalContext the metrics use, and prints its report: accuracy on the test images, full
agreement on real test sets of K views (the metrics' 125 sets, and 4,000 sets for a
steadier number), accuracy on blurred and on noisy test images, and the training time.

    python experiments/semantic_classifier.py --resolution 32 [--no-cache] [-b "semantic_classifier.epochs = 12"]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--set-size", type=int, default=8)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("-b", "--binding", action="append", default=[])
    args = ap.parse_args(argv)

    import gin
    from torchvision.transforms.v2.functional import gaussian_blur

    from hbaezoo.data.base import to_float, to_uint8
    from hbaezoo.eval.classifier import settings_from_gin, trained_classifier
    from hbaezoo.eval.context import EvalContext
    from hbaezoo.eval.extractors import features_cache_dir
    from hbaezoo.eval.labelling import percent, real_reference, real_sets
    from hbaezoo.registry import DATASETS

    for binding in args.binding:
        gin.parse_config(binding)
    shapes = DATASETS.get("shapes")

    def factory(*, split: str = "train"):
        return shapes(split=split, resolution=args.resolution)

    ctx = EvalContext(model=None, dataset_factory=factory, data=factory().describe(), n=args.n,
                      set_size=args.set_size, cache_dir=None if args.no_cache else features_cache_dir(), progress=False)
    start = time.perf_counter()
    net = trained_classifier(ctx)
    seconds = time.perf_counter() - start
    test = ctx.dataset("test")
    report = {"resolution": args.resolution, "settings": settings_from_gin().as_dict(),
              "classifier": ctx.info["semantic_classifier"], "seconds": round(seconds, 1),
              "torch_threads": torch.get_num_threads(), **real_reference(ctx)}
    report[f"real/coherent_{args.set_size}_of_4000_sets"] = real_sets(ctx, 4000, args.set_size)["coherent"]
    report["test_accuracy_all"] = percent(net.predict(test.images) == test.labels)
    x = to_float(test.images)
    sigma = args.resolution / 32
    report["blurred_accuracy"] = percent(net.predict(to_uint8(gaussian_blur(x, 5, [sigma]))) == test.labels)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    report["noisy_accuracy"] = percent(net.predict(to_uint8(x + 0.1 * noise)) == test.labels)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

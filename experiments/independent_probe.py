"""A second opinion on the few-shot probe: scikit-learn's logistic regression, not the project's.

Loads a trained run, takes the posterior mean of every train and test image (each encoded as
a set of one), and fits `sklearn.linear_model.LogisticRegression` (lbfgs, default L2 strength,
standardised codes) on N random training images per seed; reports held-out accuracy for the
trained encoder and for an untrained twin (the same recipe, fresh weights). Only torch,
scikit-learn and the run's own checkpoint are used: no code from hbaezoo.eval.

    (scikit-learn is a dependency of hbaezoo: priors.gmm fits with it)
    python experiments/independent_probe.py runs/set_hbae_shapes [--sizes 256 2048] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


@torch.no_grad()
def codes(model, images: torch.Tensor, batch: int = 256) -> np.ndarray:
    """uint8 images [N, C, H, W] -> posterior means [N, Z]."""
    out = []
    for s in range(0, len(images), batch):
        x = images[s:s + batch].float() / 127.5 - 1
        out.append(model.encode(x).mean.float())
    return torch.cat(out).numpy()


def accuracy(train_x, train_y, test_x, test_y) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    clf.fit(train_x, train_y)
    return 100.0 * float((clf.predict(test_x) == test_y).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 2048])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args(argv)

    import hbaezoo
    from hbaezoo.assembly import build_model

    run = hbaezoo.load(args.run_dir, device="cpu")
    model, step = run.model, run.step
    train, test = run.dataset("train"), run.dataset("test")
    # The untrained twin: same recipe, weights the training never touched.
    twin = build_model(run.data, seed=12345).eval()
    features = {name: (codes(m, train.images), codes(m, test.images)) for name, m in (("trained", model), ("untrained", twin))}
    y_train, y_test = train.labels.numpy(), test.labels.numpy()
    result = {"run_dir": str(args.run_dir), "step": step, "probe": "sklearn LogisticRegression(lbfgs, C=1), standardised"}
    for name, (f_train, f_test) in features.items():
        for n in args.sizes:
            accs = []
            for seed in range(args.seeds):
                rows = np.random.default_rng(seed).permutation(len(y_train))[:n]
                accs.append(accuracy(f_train[rows], y_train[rows], f_test, y_test))
            result[f"{name}/{n}"] = float(np.mean(accs))
            result[f"{name}/{n}_std"] = float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0
            print(f"{name:9s} n={n:5d}: {np.mean(accs):.1f} ± {result[f'{name}/{n}_std']:.1f} %", flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

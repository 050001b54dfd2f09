"""Where is the object lost between a set and its reconstructions? The same checkpoint, three ways of drawing.

Evaluates a trained run's category metrics (hbaezoo.eval, the run's own semantic classifier) with its
generator drawing

  sampled     as `hbaezoo sample` draws: z' ~ N(0, I), batch norm on its running statistics;
  batch_bn    z' ~ N(0, I), batch norm on each sampling batch's own statistics (as in training):
              do the running statistics, averaged over training batches of mean images and of
              draws, put samples where the generator never trained?
  noise_free  z' = 0, the mean image G(0|z) that R trains on every view: is the object already
              gone from the code and the generator, or only from the noisy draws?
  own_views   (models with inferred views, `regulariser_views`) each element redrawn from its own
              view, G(vᵢ|z), which R trains: a reconstruction, not a draw. Is the object lost in
              the code and the generator, or in where a draw's z' comes from?
  code_views  (the same models) draws whose views come from a density of views *given the code*: a
              Gaussian mixture fitted to the (code, view) pairs of the run's training sets, each draw's
              view taken from its conditional at the draw's code. How much of the gap between drawn
              and own views would a view density that knows the object close?
  set_views   (the same models) the K views of the training set whose code lies nearest: a real set's
              layout of views, borrowed whole, for the same question without a fitted density.

    python experiments/sampling_diagnostics.py runs/ablation/tables/set_hbae --out results/diagnostics/set_hbae.json
    python experiments/sampling_diagnostics.py RUN --modes sampled --metrics recon_agreement --out FILE

Writes one JSON: the command, the run, and each mode's `hbaezoo eval` results; experiments/tables.py
turns the records in results/diagnostics/ into the table in docs/results.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import tempfile
from pathlib import Path

import torch
from einops import rearrange, repeat

from hbaezoo.models.base import as_set

REPO = Path(__file__).resolve().parents[1]
MODES = ("sampled", "batch_bn", "noise_free", "own_views", "code_views", "set_views")
#: Training sets whose (code, views) the code_views and set_views modes read: 8 batches of 32 sets.
FIT_BATCHES, FIT_SETS = 8, 32
METRICS = "set_recon_agreement,recon_agreement"


@torch.no_grad()
def training_pairs(run) -> tuple[torch.Tensor, torch.Tensor]:
    """The codes [S, Z] and views [S, K, N] of S training sets of the run's set size, as its trainer batches them."""
    from hbaezoo.data.batches import BatchPlan, batches

    model, k = run.model, run.data.get("set_size") or 1
    dataset = run.dataset_factory(split="train")
    plan = BatchPlan(dataset.group_ids, batch_size=FIT_SETS, set_size=k, seed=1, small_groups="replace")
    codes, views = [], []
    for batch in batches(dataset, plan, start=0, stop=FIT_BATCHES):
        posterior, element_views = model.encode_views(as_set(batch["x"].to(model.device)))
        codes.append(posterior.mean)
        views.append(element_views)
    return torch.cat(codes), torch.cat(views)


def conditional_sampler(codes: torch.Tensor, views: torch.Tensor, components: int = 10):
    """A Gaussian mixture over (code, view) pairs, codes [S, Z] and views [S, K, N] -> a function z [M, Z] ->
    one view per row drawn from p(v | z) [M, N]: each component's Gaussian conditioned on z, the components
    weighed by how likely z is under each."""
    import numpy as np
    from scipy.stats import multivariate_normal
    from sklearn.mixture import GaussianMixture

    z_dim, k = codes.shape[1], views.shape[1]
    pairs = torch.cat([repeat(codes, "s z -> (s k) z", k=k), rearrange(views, "s k n -> (s k) n")], 1)
    gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-4, random_state=0)
    gmm.fit(pairs.double().cpu().numpy())
    parts = []
    for mean, cov in zip(gmm.means_, gmm.covariances_):
        zz, zv, vv = cov[:z_dim, :z_dim], cov[:z_dim, z_dim:], cov[z_dim:, z_dim:]
        gain = np.linalg.solve(zz, zv)  # [Z, N]
        parts.append((mean[:z_dim], mean[z_dim:], zz, gain, np.linalg.cholesky(vv - zv.T @ gain)))
    rng = np.random.default_rng(0)

    def sample(z: torch.Tensor) -> torch.Tensor:
        at = z.double().cpu().numpy()
        log_w = np.stack([np.log(w) + multivariate_normal(mz, zz, allow_singular=True).logpdf(at)
                          for w, (mz, _, zz, _, _) in zip(gmm.weights_, parts)], 1).reshape(len(at), -1)
        w = np.exp(log_w - log_w.max(1, keepdims=True))
        chosen = [rng.choice(len(parts), p=row / row.sum()) for row in w]
        out = []
        for j, row in zip(chosen, at):
            mz, mv, _, gain, tril = parts[j]
            out.append(mv + (row - mz) @ gain + tril @ rng.standard_normal(len(mv)))
        return torch.as_tensor(np.stack(out), dtype=z.dtype, device=z.device)

    return sample


def nearest_set_sampler(codes: torch.Tensor, views: torch.Tensor):
    """codes [S, Z], views [S, K, N] -> a function (z [B, Z], k) -> the views of the training set nearest each code,
    k of them (cycled if k > K) [B·k, N]."""

    def sample(z: torch.Tensor, k: int) -> torch.Tensor:
        nearest = torch.cdist(z.float(), codes.float()).argmin(1)
        picked = views[nearest][:, torch.arange(k) % views.shape[1]]
        return rearrange(picked, "b k n -> (b k) n").to(z.dtype)

    return sample


def drawing(mode: str):
    """What `mode` changes in a loaded run's model, applied as it is loaded."""

    def change(run) -> None:
        model = run.model
        if mode == "batch_bn":
            for module in model.generator.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.train()
                    module.momentum = 0.0  # batch statistics, running ones left as they are
        elif mode == "noise_free":
            if not getattr(model, "noise_dim", 0):
                raise SystemExit(f"--modes noise_free: {model.display_name} draws no noise z'; leave that mode out.")
            generate = model.generate
            model.generate = lambda z, k=1, noise_scale=1.0, noise=None: generate(z, k, noise_scale=0.0, noise=noise)
        elif mode == "own_views":
            if getattr(model, "views", None) is None:
                raise SystemExit(f"--modes own_views: {model.display_name} infers no views (regulariser_views = 0); "
                                 f"leave that mode out.")

            @torch.no_grad()
            def reconstruct_set(x: torch.Tensor, k: int) -> torch.Tensor:
                """Sets x [B, K, C, H, W] -> each element redrawn from its own view, G(vᵢ|z) [B, K, C, H, W]."""
                x = as_set(x)
                if k != x.shape[1]:
                    raise SystemExit("--modes own_views redraws each element of a set: set metrics that draw more or "
                                     "fewer elements than they give (set_complete) do not apply; leave them out.")
                posterior, views = model.encode_views(x)
                images = model.generate(posterior.mean, k, noise=rearrange(views, "b k n -> (b k) n"))
                return rearrange(images, "(b k) c h w -> b k c h w", k=k)

            @torch.no_grad()
            def reconstruct(x: torch.Tensor, n: int) -> torch.Tensor:
                """Images x [B, C, H, W] -> n copies of each redrawn from its own view [n, B, C, H, W]."""
                if model.views.within_set:
                    raise SystemExit("--modes own_views: with views_within_set a single image, a set of one, has no "
                                     "view of its own; read set metrics only (--metrics set_recon_agreement).")
                return repeat(reconstruct_set(x, 1)[:, 0], "b c h w -> n b c h w", n=n)

            model.reconstruct_set, model.reconstruct = reconstruct_set, reconstruct
        elif mode in ("code_views", "set_views"):
            if getattr(model, "views", None) is None:
                raise SystemExit(f"--modes {mode}: {model.display_name} infers no views (regulariser_views = 0); "
                                 f"leave that mode out.")
            codes, views = training_pairs(run)
            given = conditional_sampler(codes, views) if mode == "code_views" else None
            nearest = nearest_set_sampler(codes, views) if mode == "set_views" else None

            def draw(posterior, k: int) -> torch.Tensor:
                z = posterior.sample()
                views = given(repeat(z, "b z -> (b k) z", k=k)) if given is not None else nearest(z, k)
                return model.generate(z, k, noise=views)

            model.draw = draw

    return change


@contextlib.contextmanager
def loaded_as(mode: str):
    """hbaezoo's run loader, with `mode` applied to the model it returns."""
    from hbaezoo.rundir import loading

    original, change = loading.load, drawing(mode)

    def load(*args, **kwargs):
        run = original(*args, **kwargs)
        change(run)
        return run

    loading.load = load
    try:
        yield
    finally:
        loading.load = original


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--metrics", default=METRICS)
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args(argv)
    from hbaezoo.eval.runner import evaluate

    record = {"command": shlex.join(["python", "experiments/sampling_diagnostics.py", *(argv or sys.argv[1:])]),
              "run_dir": args.run_dir, "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            with loaded_as(mode):
                results = evaluate(args.run_dir, metrics=args.metrics, n=args.n, progress=False,
                                   out=Path(tmp) / f"{mode}.json")
            results.pop("path", None)
            record["modes"][mode] = results
            print(mode, {name: entry.get("values", {}).get("agreement") for name, entry in results["metrics"].items()},
                  flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, sort_keys=True))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where is the object lost between a set and its reconstructions? The same checkpoint, drawn several ways.

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
  code_views  (the same models) the model as `noise_prior = @priors.conditional_gmm` makes it: each
              draw's view from a Gaussian mixture fitted to the (code, view) pairs of the run's training
              sets, conditioned on the draw's code, fitted on the training sets the run's trainer fits
              its estimates on (training itself does not depend on the noise prior). How much of the gap
              between drawn and own views does a view density that knows the object close?
  nearest_views  (the same models) as `noise_prior = @priors.nearest` makes it, fitted on the same sets:
              each draw's view one of the views of the training set whose code lies nearest, at random.
  set_views   (the same models) the K views of the training set whose code lies nearest: a real set's
              layout of views, borrowed whole, for the same question without a fitted density.
  tempered_07, tempered_05  (models whose codes come from a fitted mixture, `priors.gmm`) codes drawn at
              temperature 0.7 or 0.5, each component's spread scaled by it (the truncation trick): do sets
              drawn nearer where the codes are densest agree more on their object, and what does it cost?
  codes_sets1024, codes_sets1024_gmm20, codes_gmm5  (the same models) codes from a mixture fitted again
              after training: on the codes of 1024 training sets (8192 images) where the trainer fits 256
              (`Trainer.estimate_images = 2048`), with the recipe's 10 or with 20 components, or on the
              trainer's sets with 5: is the ex-post density (10 full covariances of a 32-d code from 256
              codes) what draws sets between the objects?
  estimates_8192  every prior the trainer fits (the codes' mixture and, with views, the views' prior) fitted
              again on 8192 training images, as `Trainer.estimate_images = 8192` would have left the last
              checkpoint (the estimates never feed training back).

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

from hbaezoo.models.base import as_set, fit_finite
from hbaezoo.registry import PRIORS

REPO = Path(__file__).resolve().parents[1]
#: The modes that draw codes from the run's fitted mixture at a temperature.
TEMPERATURES = {"tempered_07": 0.7, "tempered_05": 0.5}
#: Training images the refitting modes read, four times the trainer's default `estimate_images`.
MORE_IMAGES = 8192
#: The modes that refit the code mixture after training: training images it reads, components (the recipe's if absent).
REFITS = {"codes_sets1024": {"images": MORE_IMAGES}, "codes_sets1024_gmm20": {"images": MORE_IMAGES, "components": 20},
          "codes_gmm5": {"components": 5}}
MODES = ("sampled", "batch_bn", "noise_free", "own_views", "code_views", "nearest_views", "set_views", *TEMPERATURES,
         *REFITS, "estimates_8192")
#: The modes that draw each view given its code from another noise prior, fitted as the trainer fits the run's.
VIEW_PRIORS = {"code_views": "conditional_gmm", "nearest_views": "nearest"}
METRICS = "set_recon_agreement,recon_agreement"


def training_batches(run, images: int | None = None):
    """The training batches [B, K, C, H, W] the run's trainer fits its estimates on (training.trainer's
    `estimation_batches`, with the Trainer settings the run's config.gin binds), or as many more as `images` asks."""
    import inspect

    from hbaezoo.assembly import trainer_binding
    from hbaezoo.training.trainer import Trainer, estimation_batches

    defaults = inspect.signature(Trainer).parameters
    setting = {name: trainer_binding(name, defaults[name].default) for name in ("seed", "small_groups")}
    fitted_on = estimation_batches(run.dataset_factory(split="train"), set_size=run.data.get("set_size"),
                                   images=images or trainer_binding("estimate_images",
                                                                    defaults["estimate_images"].default),
                                   **setting)
    for batch in fitted_on:
        yield {"x": batch["x"].to(run.model.device)}


@torch.no_grad()
def training_pairs(run) -> tuple[torch.Tensor, torch.Tensor]:
    """The codes [S, Z] and views [S, K, N] of the S training sets `training_batches` gives."""
    codes, views = [], []
    for batch in training_batches(run):
        posterior, element_views = run.model.encode_views(as_set(batch["x"]))
        codes.append(posterior.mean)
        views.append(element_views)
    return torch.cat(codes), torch.cat(views)


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
        elif mode in TEMPERATURES:
            if not hasattr(model.sampling_prior, "temperature"):
                raise SystemExit(f"--modes {mode}: {model.display_name} draws its codes from "
                                 f"{type(model.sampling_prior).__name__}, which has no temperature (priors.gmm has); "
                                 f"leave that mode out.")
            model.sampling_prior.temperature = TEMPERATURES[mode]
        elif mode == "estimates_8192":
            if not model.estimates:
                raise SystemExit(f"--modes {mode}: {model.display_name} fits no prior after training; leave that "
                                 f"mode out.")
            model.estimate(training_batches(run, MORE_IMAGES))
        elif mode in REFITS:
            old = model.sampling_prior
            if not hasattr(old, "components"):
                raise SystemExit(f"--modes {mode}: {model.display_name} draws its codes from {type(old).__name__}, "
                                 f"not a fitted mixture (priors.gmm); leave that mode out.")
            setting = REFITS[mode]
            refit = PRIORS.get("gmm")(z_dim=model.z_dim, components=setting.get("components", old.components),
                                      covariance=old.covariance, reg_covar=old.reg_covar, seed=old.seed)
            with torch.no_grad():
                codes = torch.cat([model.encode(batch["x"]).mean for batch in training_batches(run, setting.get("images"))])
            fit_finite(refit, codes)
            model.sampling_prior = refit.to(model.device)
        elif mode in (*VIEW_PRIORS, "set_views"):
            if getattr(model, "views", None) is None:
                raise SystemExit(f"--modes {mode}: {model.display_name} infers no views (regulariser_views = 0); "
                                 f"leave that mode out.")
            if mode in VIEW_PRIORS:  # the model as `noise_prior = @priors.<that prior>` makes it
                model.views.noise_prior = PRIORS.get(VIEW_PRIORS[mode])(z_dim=model.noise_dim, given_dim=model.z_dim)
                model.views.noise_prior.to(model.device)
                model.estimate(training_batches(run))  # estimate() runs without gradients
                return
            nearest = nearest_set_sampler(*training_pairs(run))

            def draw(posterior, k: int) -> torch.Tensor:
                z = posterior.sample()
                return model.generate(z, k, noise=nearest(z, k))

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

"""Prior gap: how far the encoder's aggregate codes lie from the prior that sampling draws from.

Samples decode codes from the model's sampling prior (`model.prior(m)`); the generator learned
on the encoder's codes. When those fill a thin sub-space far from the prior, samples are
noise however good the reconstructions are. Measured with the project's one MMD
(hbaezoo.components.divergences.mmd: unbiased MMD², WAE's inverse multiquadric kernel and
scales) between m = min(n, size) posterior means of training images (or of training sets of
K views, for a run that trained on sets) and m prior draws:

  mmd_codes_prior   MMD²(codes, prior), averaged over `null_draws` prior draws.
  mmd_prior_prior   the unit: between two independent prior draws of m the unbiased MMD² is
                    zero-mean noise (negative half the time), so one value cannot be a unit;
                    its root mean square over `null_draws` pairs is the estimator's standard
                    deviation when there is no gap.
  gap               mmd_codes_prior / max(mmd_prior_prior, eps): roughly a z-score; |gap| of a
                    few: the codes are indistinguishable from the prior at this m; >> 1: a gap.
  normal/...        the same against N(0, I), so a fitted sampling prior shows whether it closes
                    the gap N(0, I) leaves (identical in distribution while the prior is N(0, I)).
  eig/1..5          the largest eigenvalues of the codes' covariance (N(0, I): all about 1);
  thin_directions   how many of the z_dim eigenvalues are below 1e-2 x the largest: a thin
                    sub-space shows as many.
"""

from __future__ import annotations

import torch

from hbaezoo.components.divergences import mmd
from hbaezoo.errors import CapabilityError, ConfigError
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.fewshot import Codes
from hbaezoo.registry import METRICS

TOP_EIGENVALUES = 5
THIN = 1e-2  # an eigenvalue below THIN x the largest counts as a collapsed direction


def mmd_gap(codes: torch.Tensor, draw, null_draws: int, eps: float) -> dict[str, float]:
    """codes [m, Z] against draw(m) -> [m, Z] samples of a distribution: MMD², its null unit and their ratio."""
    m = len(codes)
    to_codes = torch.stack([mmd(codes, draw(m)) for _ in range(null_draws)]).mean()
    null = torch.stack([mmd(draw(m), draw(m)) for _ in range(null_draws)]).pow(2).mean().sqrt()
    return {"mmd_codes_prior": float(to_codes), "mmd_prior_prior": float(null),
            "gap": float(to_codes) / max(float(null), eps)}


def spectrum(codes: torch.Tensor) -> dict[str, float]:
    """Top eigenvalues of the covariance of codes [m, Z] and the number of thin directions."""
    eigenvalues = torch.linalg.eigvalsh(torch.cov(codes.double().T).reshape(codes.shape[1], codes.shape[1]))
    eigenvalues = eigenvalues.flip(0).clamp_min(0)  # descending; rounding can leave -1e-17
    out = {f"eig/{i + 1}": float(v) for i, v in enumerate(eigenvalues[:TOP_EIGENVALUES])}
    out["thin_directions"] = float((eigenvalues < THIN * eigenvalues[0]).sum())
    return out


@METRICS.register("prior_gap")
@check_kwargs(null_draws=2)
def prior_gap(ctx: EvalContext, *, codes: int | None = None, sets: bool | None = None, null_draws: int = 8,
              eps: float = 1e-8, split: str = "train") -> dict[str, float]:
    """MMD² between the encoder's aggregate codes and the sampling prior, in units of prior-vs-prior noise.

    codes: how many (default min(n, size)); sets: encode training sets of K views (None: when the run
    trained on sets); split: whose codes — 'train' (what a fitted prior was fitted to) or 'test'
    (held out: a prior that only memorised the training codes shows a gap here).
    """
    if split not in ("train", "test"):
        raise ConfigError(f"metrics.prior_gap.split must be 'train' or 'test', got {split!r}.")
    model = ctx.model
    if not callable(getattr(model, "prior", None)):
        raise CapabilityError(f"{getattr(model, 'display_name', type(model).__name__)} has no sampling prior "
                              f"over codes to compare its codes with.")
    if null_draws < 1:
        raise ValueError(f"metrics.prior_gap.null_draws must be at least 1, got {null_draws}")
    m = codes or ctx.n
    k = ctx.set_size if (sets if sets is not None else (ctx.data.get("set_size") or 1) > 1) else 1
    with ctx.seeded("prior_gap/codes"):  # codes are posterior means, but a plugin's encode may draw noise
        index = ctx.set_indices(split, m, k, key="prior_gap") if k > 1 else ctx.subset(split, m, key="prior_gap")
        z = Codes(model, ctx, split)(index).float().to(ctx.device)
    if len(z) < 2:
        raise ValueError(f"prior_gap needs at least two codes, got {len(z)} (train split too small?)")
    with torch.no_grad(), ctx.seeded("prior_gap/prior"):
        prior = mmd_gap(z, lambda size: model.prior(size).mean.float(), null_draws, eps)
        normal = mmd_gap(z, lambda size: torch.randn(size, z.shape[1], device=z.device), null_draws, eps)
    return {**prior, **{f"normal/{key}": value for key, value in normal.items()}, **spectrum(z),
            "codes": float(len(z)), "set_size": float(k), "z_dim": float(z.shape[1])}

"""Within-set diversity: are a generated set's K elements different views, or K near-copies of one?

Real sets (K views of one test object) show different views; a set generator that ignores its
noise draws K copies. For `sets` generated sets (`model.sample_sets`), as many real test sets
and, when the model can, the reconstructions of those real sets (`model.reconstruct_set`),
the mean over sets and over the K(K-1)/2 pairs of a set's elements of LPIPS and of pixel MSE
(hbaezoo.eval.diversity.pairwise: the same LPIPS network, trunk policy and resize as
`diversity`). `ratio` = generated / real: 1 is a real set's spread, 0 copies.
"""

from __future__ import annotations

from hbaezoo.errors import CapabilityError
from hbaezoo.eval.context import EvalContext, check_kwargs
from hbaezoo.eval.diversity import pairwise
from hbaezoo.nn.perceptual import check_trunk
from hbaezoo.registry import METRICS

DISTANCES = ("lpips", "pixel_mse")


def _as_sets(flat, m: int, k: int):
    return flat.view(m, k, *flat.shape[1:])


@METRICS.register("set_diversity")
@check_kwargs(sets=3, set_size=2)
def set_diversity(ctx: EvalContext, *, sets: int = 64, set_size: int | None = None, lpips_size: int = 64,
                  lpips_trunk: str = "auto") -> dict[str, float]:
    """Mean pairwise LPIPS and pixel MSE within generated, real and reconstructed sets; generated / real."""
    check_trunk(lpips_trunk, "metrics.set_diversity.lpips_trunk")
    k = set_size or ctx.set_size
    if k < 2:
        raise CapabilityError(f"set diversity needs sets of at least 2 elements; the set size is {k} "
                              f"(bind metrics.set_diversity.set_size).")
    with ctx.seeded("set_diversity/generated"):
        generated = ctx.batched("sampling sets", sets, lambda s, b: ctx.model.sample_sets(b, k).flatten(0, 1))
    index = ctx.set_indices("test", sets, k, distinct=False, key="set_diversity/real")
    real = _as_sets(ctx.load("test", index.flatten()), sets, k)
    out = {}
    gen_d, real_d = pairwise(ctx, _as_sets(generated, sets, k), lpips_size, lpips_trunk), pairwise(
        ctx, real, lpips_size, lpips_trunk)
    for d in DISTANCES:
        out[f"{d}/generated"], out[f"{d}/real"] = gen_d[d], real_d[d]
        if real_d[d] > 0:  # real sets of one repeated image have no spread to compare with
            out[f"{d}/ratio"] = gen_d[d] / real_d[d]
    try:
        with ctx.seeded("set_diversity/recon"):
            recon = ctx.batched("reconstructing sets", sets, lambda s, b: ctx.model.reconstruct_set(
                ctx.to_model(real[s:s + b]), k).flatten(0, 1))
    except CapabilityError:
        recon = None  # e.g. a cGAN samples sets but has no encoder: only the generated part
    if recon is not None:
        recon_d = pairwise(ctx, _as_sets(recon, sets, k), lpips_size, lpips_trunk)
        for d in DISTANCES:
            out[f"recon/{d}"] = recon_d[d]
            if real_d[d] > 0:
                out[f"recon/{d}_ratio"] = recon_d[d] / real_d[d]
    return {**out, "sets": float(sets), "set_size": float(k)}

"""The HBAE design ablation (docs/results.md): train each variant, evaluate it, keep one record.

Each variant is a recipe plus gin bindings. For every variant this trains
`hbaezoo run RECIPE -b ...` into ROOT/NAME, evaluates it with `hbaezoo eval`, and writes
results/<table>/NAME.json: the commands, wall times, a summary of the training curves
(D(real) − D(fake), losses over the last fifth of training) and the evaluation's
results. `python experiments/tables.py` turns those records into the tables of
docs/results.md, so no number there is typed by hand.

    python experiments/ablation.py --list
    python experiments/ablation.py screen16/paper screen16/detach --table screen16
    python experiments/ablation.py full/set_hbae --table full
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from common import machine  # noqa: E402  (where a run trained, said as the benchmarks say it)

from hbaezoo.files import write_text_atomic  # noqa: E402
from hbaezoo.rundir.layout import RunDir  # noqa: E402

# The paper read literally (Eq. 7/8 and §4.2): E gets gradient through G, R trains E only, as a mean.
PAPER = ["models.set_hbae.encoder_through_generator = True", "models.set_hbae.encoder_through_critic = True",
         "models.set_hbae.regulariser_trains = ('encoder',)",
         "regularisers.l1.reduction = 'mean'", "heads.deterministic.spectral = False",
         "models.set_hbae.code_consistency = 0.0", "models.set_hbae.regulariser_noise = 0.0"]
SCREEN = ["datasets.shapes.resolution = 16"]


M = "models.set_hbae."
DETACH = [M + "encoder_through_generator = False"]  # E gets no gradient through G's fakes
NO_CRITIC = [M + "encoder_through_critic = False"]  # E gets no gradient through D's projection
REG_EG = [M + "regulariser_trains = ('encoder', 'generator')"]


def w(weight: float) -> list[str]:
    return [f"regularisers.l1.weight = {weight}"]


SUM = ["regularisers.l1.reduction = 'sum'"]


def cc(weight: float) -> list[str]:
    return [M + f"code_consistency = {weight}"]


def noise(dim: int) -> list[str]:
    return [M + f"noise_dim = {dim}"]

SN_HEAD = ["heads.deterministic.spectral = True"]
LINEAR = [M + "adversarial = @adversarial.linear()"]

# name -> (recipe, bindings, steps). Screens run Set-HBAE at 16 px for a few hundred steps.
SCREENS = {
    "paper": [],
    "detach": DETACH,
    "reg_eg": REG_EG,
    "detach_reg_eg": DETACH + REG_EG,
    "detach_reg_eg_w10": DETACH + REG_EG + w(10.0),
    "nocritic_detach_reg_eg_w10": NO_CRITIC + DETACH + REG_EG + w(10.0),
    "detach_reg_eg_sum": DETACH + REG_EG + SUM,
    "reg_e_w10": w(10.0),
    "detach_reg_eg_w100": DETACH + REG_EG + w(100.0),
    "detach_reg_eg_w100_noise8": DETACH + REG_EG + w(100.0) + noise(8),
    "detach_reg_eg_w30_cc1": DETACH + REG_EG + w(30.0) + cc(1.0),
    "detach_reg_eg_w10_cc1": DETACH + REG_EG + w(10.0) + cc(1.0),
    "detach_reg_eg_w100_cc1": DETACH + REG_EG + w(100.0) + cc(1.0),
    # (These three ran when code consistency encoded each draw on its own; it now encodes a set's draws as one set.)
    # Around the winner (detach_reg_eg_w100): one choice changed at a time.
    "reg_eg_w100": REG_EG + w(100.0),
    "nocritic_detach_reg_eg_w100": NO_CRITIC + DETACH + REG_EG + w(100.0),
    "detach_reg_e_w100": DETACH + w(100.0),
    "detach_reg_g_w100": DETACH + [M + "regulariser_trains = ('generator',)"] + w(100.0),
    "detach_reg_eg_w100_sn_head": DETACH + REG_EG + w(100.0) + SN_HEAD,
    "detach_reg_eg_w100_linear": DETACH + REG_EG + w(100.0) + LINEAR,
    "detach_reg_eg_w100_linear_sn_head": DETACH + REG_EG + w(100.0) + LINEAR + SN_HEAD,
    "nocritic_detach_reg_eg_w100_linear": NO_CRITIC + DETACH + REG_EG + w(100.0) + LINEAR,
    "detach_reg_eg_w100_beta10": DETACH + REG_EG + w(100.0) + [M + "beta = 10.0"],
    "detach_reg_eg_w100_z64": DETACH + REG_EG + w(100.0) + [M + "z_dim = 64"],
    "detach_reg_eg_w100_draws": DETACH + REG_EG + w(100.0) + [M + "regulariser_noise = 1.0"],
    "detach_reg_eg_w100_draws_beta10": DETACH + REG_EG + w(100.0) + [M + "regulariser_noise = 1.0", M + "beta = 10.0"],
    "sum": SUM,
    "sn_head": SN_HEAD,
}
VARIANTS: dict[str, tuple[str, list[str], int | None]] = {
    f"screen16/{name}": ("gin/set_hbae_shapes.gin", SCREEN + PAPER + extra, 400) for name, extra in SCREENS.items()
}

# Generation (issue 22): the shipped Set-HBAE recipe at 16 px, with what changes where codes are drawn
# from (a prior fitted to the training codes after training) and how R reads a set (matched draws).
GMM = ["models.set_hbae.prior = @priors.gmm"]


# Adam with momentum (the WAE's setting) instead of the GAN habit β₁ = 0, for both groups.
BETAS05 = ["critic/optimizers.adam.betas = (0.5, 0.999)", "generator/optimizers.adam.betas = (0.5, 0.999)"]


def match(share: float) -> list[str]:
    return [M + f"regulariser_match = {share}"]


def adv(weight: float) -> list[str]:
    return [M + f"adversarial_weight = {weight}"]


def draws(per_view: int, matching: str = "covering", model: str = "set_hbae") -> list[str]:
    """Matched R over `per_view` draws per element, paired by `matching` ('covering': each element against its
    nearest draw only, as implicit maximum likelihood estimation does, Li & Malik, 2019)."""
    return [f"models.{model}.matching = '{matching}'", f"models.{model}.match_draws = {per_view}"]


def strength(start: float) -> list[str]:
    """z' through a learned per-dimension strength that starts at `start` (generators.resnet.noise_strength)."""
    return [f"generators.resnet.noise_strength = {start}"]


GENERATION = {
    "shipped": [],
    "gmm": GMM,
    "gmm1": GMM + ["priors.gmm.components = 1"],
    "gmm_match05": GMM + match(0.5),
    "gmm_match1": GMM + match(1.0),
    "gmm_match05_assign": GMM + match(0.5) + [M + "matching = 'assignment'"],
    "gmm_match1_assign": GMM + match(1.0) + [M + "matching = 'assignment'"],
    "gmm_match05_ms1": GMM + match(0.5) + [M + "mode_seeking = 1.0"],
    # Second round, around the shipped recipe (gmm_match05): what limits the shape of a reconstruction.
    "gmm_match05_w300": GMM + match(0.5) + w(300.0),
    "gmm_match05_z64": GMM + match(0.5) + [M + "z_dim = 64"],
    "gmm_match05_nocritic": GMM + match(0.5) + NO_CRITIC,
    "gmm_match05_betas05": GMM + match(0.5) + BETAS05,
    "gmm_match05_nocritic_betas05": GMM + match(0.5) + NO_CRITIC + BETAS05,
    "gmm_match1_nocritic": GMM + match(1.0) + NO_CRITIC,
    # A critic that reads a set's elements jointly: the spread of their features is scored per set.
    "gmm_match05_nocritic_spread": GMM + match(0.5) + NO_CRITIC + ["discriminators.projection.set_spread = True"],
    # Third round, around gmm_match05_nocritic: how loud the critic is beside R for the generator
    # (0: an autoencoder with noise, the bound of this generator and set code), and R's weight without the critic.
    "gmm_match05_nocritic_adv0": GMM + match(0.5) + NO_CRITIC + adv(0.0),
    "gmm_match05_nocritic_adv01": GMM + match(0.5) + NO_CRITIC + adv(0.1),
    "gmm_match05_nocritic_adv03": GMM + match(0.5) + NO_CRITIC + adv(0.3),
    "gmm_match05_nocritic_w300": GMM + match(0.5) + NO_CRITIC + w(300.0),
    "gmm_match05_nocritic_adv2": GMM + match(0.5) + NO_CRITIC + adv(2.0),
    # What the stochastic generator spends on variation: a smaller z', and a wider code.
    "gmm_match05_nocritic_noise8": GMM + match(0.5) + NO_CRITIC + noise(8),
    "gmm_match05_nocritic_noise2": GMM + match(0.5) + NO_CRITIC + noise(2),
    # z' scaled by a learned strength that starts at 0 (StyleGAN's noise inputs): G starts deterministic and takes
    # up z' as far as matched R and the critic ask (the single-image screens: z' costs the HBAE's decoder its shape).
    "gmm_match05_nocritic_strength0": GMM + match(0.5) + NO_CRITIC + strength(0.0),
    # ... and starting at a quarter and at half its drawn scale, since at 0 the draws of a set never parted.
    "gmm_match05_nocritic_strength025": GMM + match(0.5) + NO_CRITIC + strength(0.25),
    "gmm_match05_nocritic_strength05": GMM + match(0.5) + NO_CRITIC + strength(0.5),
    # ... and starting at 0 with mode seeking (Mao et al., 2019) to part a set's draws: the deterministic start that
    # kept the single image's shape, and a term that asks G for as much spread as its z' has.
    "gmm_match05_nocritic_strength0_ms1": GMM + match(0.5) + NO_CRITIC + strength(0.0) + [M + "mode_seeking = 1.0"],
    "gmm_match05_nocritic_strength0_ms01": GMM + match(0.5) + NO_CRITIC + strength(0.0) + [M + "mode_seeking = 0.1"],
    "gmm_match05_nocritic_z64": GMM + match(0.5) + NO_CRITIC + [M + "z_dim = 64"],
    # Tried and withdrawn (never merged): matched R read the very draws the critic scores, one generator
    # pass fewer a phase (results/gen16/shared_draws/: 0.60x -> 0.88x the step speed without matched draws). This row is
    # gmm_match05_nocritic on that code: it collapsed (set-recon 11 %, within-set LPIPS 0.02x). w300 and
    # match1_nocritic also ran on it; their records say so.
    "gmm_match05_nocritic_shared": GMM + match(0.5) + NO_CRITIC,
    # Fourth round, around gmm_match05_nocritic: the GAN habits that sharpen samples without touching the losses.
    # An average of the generator's weights (Trainer.ema_decay; 0.99 is a 100-step horizon, a sixth of a screen), and
    # both learning rates decayed linearly to zero over the second half of training.
    "gmm_match05_nocritic_ema99": GMM + match(0.5) + NO_CRITIC + ["Trainer.ema_decay = 0.99"],
    "gmm_match05_nocritic_lrdecay": GMM + match(0.5) + NO_CRITIC + ["Trainer.schedule = @schedules.linear_decay"],
    # Each element redrawn from its own view: a linear head reads z' from the element's encoder features (pulled
    # towards N(0, I) by an MMD), and a share of R compares the element with G(view|z), instead of with the
    # blurred mean image G(0|z) of all its set's views.
    "gmm_match05_nocritic_views05": GMM + match(0.5) + NO_CRITIC + [M + "regulariser_views = 0.5"],
    "gmm_match05_nocritic_views025": GMM + match(0.5) + NO_CRITIC + [M + "regulariser_views = 0.25"],
    # Faster learning for the same steps: both groups' learning rates doubled (the paper's 2:1 ratio kept).
    "gmm_match05_nocritic_lr2x": GMM + match(0.5) + NO_CRITIC + ["critic/optimizers.adam.lr = 8e-4",
                                                                 "generator/optimizers.adam.lr = 4e-4"],
    # The shipped screen again with another seed: how far two runs of one recipe lie apart, to read the others by.
    "gmm_match05_nocritic_seed1": GMM + match(0.5) + NO_CRITIC + ["Trainer.seed = 1"],
    # Fifth round, around gmm_match05_nocritic: what the set code can hold (an element-wise max over the views,
    # PointNet's pooling, in place of the mean) ...
    "gmm_match05_nocritic_maxpool": GMM + match(0.5) + NO_CRITIC + [M + "pooler = @poolers.max"],
    # ... and what the generator is asked for beyond pixels: a set's draws matched to its views in the critic's
    # features (per-set feature matching), at two weights a decade apart.
    "gmm_match05_nocritic_fm10": GMM + match(0.5) + NO_CRITIC + [M + "feature_matching = 10.0"],
    "gmm_match05_nocritic_fm100": GMM + match(0.5) + NO_CRITIC + [M + "feature_matching = 100.0"],
    # ... and what the generator can draw: twice its width (the encoder's and critic's kept), the decoder being
    # where the object is lost (the noise-free G(0|z) of a set's own code is in class 55 % of the time).
    "gmm_match05_nocritic_gwide64": GMM + match(0.5) + NO_CRITIC + ["generators.resnet.width = 64"],
    # Sixth round, around gmm_match05_nocritic: matched R as implicit maximum likelihood estimation. Each view is
    # compared with its nearest of several draws, and draws no view chose get no R, so z' need not be ignored for a
    # draw to hold the view's shape; and the shipped both-ways matching with more draws to choose from.
    "gmm_match05_nocritic_cover2": GMM + match(0.5) + NO_CRITIC + draws(2),
    "gmm_match05_nocritic_cover4": GMM + match(0.5) + NO_CRITIC + draws(4),
    "gmm_match05_nocritic_near2": GMM + match(0.5) + NO_CRITIC + draws(2, matching="nearest"),
    # ... and an R that asks each draw for the object as the encoder reads it, not for one view's pixels: the
    # set's K draws, encoded as a set, should give its code back (code consistency; round one screened it one
    # draw at a time, by the metrics of then).
    "gmm_match05_nocritic_cc1": GMM + match(0.5) + NO_CRITIC + cc(1.0),
    # ... which at weight 1 read 11 times that run's R over training and collapsed the draws; a hundredth and a tenth.
    "gmm_match05_nocritic_cc001": GMM + match(0.5) + NO_CRITIC + cc(0.01),
    "gmm_match05_nocritic_cc01": GMM + match(0.5) + NO_CRITIC + cc(0.1),
    # Seventh round: every element redrawn from its own inferred view, all of R there (no blurred mean image, no
    # matched draws): a hierarchical autoencoder whose per-element code is pulled to N(0, I), where draws take z'.
    # With the shipped 32-d z', and with a 4-d one that has room for a viewpoint but not for the object.
    "gmm_nocritic_views1": GMM + NO_CRITIC + [M + "regulariser_views = 1.0"],
    "gmm_nocritic_views1_noise4": GMM + NO_CRITIC + [M + "regulariser_views = 1.0"] + noise(4),
    # ... whose draws at sampling take z' from a mixture fitted to the training views, not from N(0, I), which the
    # views never fill (both rows above drew noise off where R trained G: within-set spread 1.1-1.4 x real).
    "gmm_nocritic_views1_vgmm": GMM + NO_CRITIC + [M + "regulariser_views = 1.0", M + "noise_prior = @priors.gmm"],
    "gmm_nocritic_views1_noise4_vgmm": GMM + NO_CRITIC + [M + "regulariser_views = 1.0",
                                                          M + "noise_prior = @priors.gmm"] + noise(4),
    # ... whose draws from their own set's views alone still lost the object's colour: the views held the object and
    # the set code little. Views read from what sets an element apart from its set (its features less the set's mean).
    "gmm_nocritic_views1_noise4_within_vgmm": GMM + NO_CRITIC + [M + "regulariser_views = 1.0",
                                                                  M + "noise_prior = @priors.gmm",
                                                                  M + "views_within_set = True"] + noise(4),
    "gmm_nocritic_views1_within_vgmm": GMM + NO_CRITIC + [M + "regulariser_views = 1.0",
                                                          M + "noise_prior = @priors.gmm",
                                                          M + "views_within_set = True"],
    # ... and the shipped recipe's matched draws beside them, in place of the blurred mean image.
    "gmm_match05_nocritic_views05_noise4_within_vgmm": GMM + match(0.5) + NO_CRITIC + [
        M + "regulariser_views = 0.5", M + "noise_prior = @priors.gmm", M + "views_within_set = True"] + noise(4),
    # ... and, since even each element's own view keeps the object about half the time, what the set code can hold:
    # pooling by attention (the set-attention plugin's Set Transformer PMA) in place of the mean, with one and with
    # four learned queries.
    "gmm_match05_nocritic_attn": GMM + match(0.5) + NO_CRITIC + [M + "pooler = @poolers.attention"],
    "gmm_match05_nocritic_attn4": GMM + match(0.5) + NO_CRITIC + [M + "pooler = @poolers.attention",
                                                                  "poolers.attention.seeds = 4"],
    "gmm_match05_l2sum": GMM + match(0.5) + [M + "regulariser = @regularisers.l2()", "regularisers.l2.weight = 50.0",
                                             "regularisers.l2.reduction = 'sum'"],
}
GEN_STEPS = 600
BEFORE = "experiments/recipes/{}_before_issue22.gin"  # the recipes as they shipped when the screens ran
# The Set-HBAE recipes as they shipped from the second round of screens to the eighth (R half on G(0|z), half on
# matched draws): what the full-length rounds and the semi-supervised screens ran on.
BEFORE_VIEWS = "experiments/recipes/{}_before_views.gin"
SET_HBAE_BEFORE_VIEWS = BEFORE_VIEWS.format("set_hbae_shapes")
VARIANTS.update({f"gen16/{name}": (BEFORE.format("set_hbae_shapes"), SCREEN + extra, GEN_STEPS)
                 for name, extra in GENERATION.items()})
# Is the shape lost for want of steps? The shipped recipe at 16 px, 2.5 times as long.
VARIANTS["gen16/gmm_match05_long"] = (BEFORE.format("set_hbae_shapes"), SCREEN + GMM + match(0.5), 1500)
# More, smaller steps for the same images: 4 sets of 8 a step, twice the steps (the screen's wall time, near enough).
VARIANTS["gen16/gmm_match05_nocritic_batch4"] = (BEFORE.format("set_hbae_shapes"), SCREEN + GMM + match(0.5) + NO_CRITIC
                                                 + ["Trainer.batch_size = 4"], 2 * GEN_STEPS)
VARIANTS["gen16/gmm_match05_nocritic_long"] = (BEFORE.format("set_hbae_shapes"), SCREEN + GMM + match(0.5) + NO_CRITIC, 1500)
# The seventh round's within-set views at the `…_long` screen's 1500 steps: do they gain with steps as the shipped
# one did? Each with a second seed, to read the two by.
WITHIN = GENERATION["gmm_nocritic_views1_noise4_within_vgmm"]
VARIANTS["gen16/gmm_nocritic_views1_noise4_within_vgmm_long"] = (BEFORE.format("set_hbae_shapes"), SCREEN + WITHIN,
                                                                  1500)
VARIANTS["gen16/gmm_nocritic_views1_noise4_within_vgmm_long_seed1"] = (
    BEFORE.format("set_hbae_shapes"), SCREEN + WITHIN + ["Trainer.seed = 1"], 1500)
# Eighth round, at the same 1500 steps: how loud the critic should be once R reconstructs each element from its own view
# (the WAE's plain autoencoder, with no critic, keeps the shape best), and whether the views keep gaining with steps.
VARIANTS.update({f"gen16/gmm_nocritic_views1_noise4_within_vgmm_long_adv{tag}": (
    BEFORE.format("set_hbae_shapes"), SCREEN + WITHIN + adv(weight), 1500) for tag, weight in (("03", 0.3), ("01", 0.1),
                                                                                                  ("0", 0.0))})
# ... the critic louder, and wider (the generator twice as wide bought nothing; the critic judges the shape).
VARIANTS["gen16/gmm_nocritic_views1_noise4_within_vgmm_long_adv2"] = (BEFORE.format("set_hbae_shapes"),
                                                                      SCREEN + WITHIN + adv(2.0), 1500)
DWIDE = ["discriminators.projection.width = 64"]
VARIANTS["gen16/gmm_nocritic_views1_noise4_within_vgmm_long_dwide64"] = (BEFORE.format("set_hbae_shapes"),
                                                                         SCREEN + WITHIN + DWIDE, 1500)
VARIANTS["gen16/gmm_match05_nocritic_long_dwide64"] = (BEFORE.format("set_hbae_shapes"),
                                                       SCREEN + GMM + match(0.5) + NO_CRITIC + DWIDE, 1500)
VARIANTS["gen16/gmm_nocritic_views1_noise4_within_vgmm_steps3000"] = (BEFORE.format("set_hbae_shapes"), SCREEN + WITHIN,
                                                                      3000)
VARIANTS["gen16/gmm_match05_nocritic_long_seed1"] = (BEFORE.format("set_hbae_shapes"),
                                                     SCREEN + GMM + match(0.5) + NO_CRITIC + ["Trainer.seed = 1"], 1500)
# Tenth round, around the shipped recipe (the README job at 16 px and half its steps): single reconstructions, chains
# and set completion read a code off one or two views, where training reads it off all eight. The code read, in a
# share of training steps, off a random part of each set (1 to 7 of its views), and R asking it for the whole set.
# They ran on the recipe as shipped then (float32, 3000 steps), kept as it was when bf16 for 4500 steps replaced it.
BEFORE_BF16 = "experiments/recipes/{}_before_bf16.gin"
PRE_BF16 = BEFORE_BF16.format("set_hbae_shapes")
VARIANTS["gen16/views_nearest_long"] = (PRE_BF16, SCREEN, 1500)
VARIANTS.update({f"gen16/views_nearest_long_subsets{tag}": (PRE_BF16, SCREEN + [M + f"subset_codes = {share}"], 1500)
                 for tag, share in (("05", 0.5), ("1", 1.0))})
# ... and each element's code read alone pulled to its set's (fixed) code, ‖E(xᵢ) − E(x)‖², at two weights a decade
# apart.
VARIANTS.update({f"gen16/views_nearest_long_viewcodes{tag}": (PRE_BF16, SCREEN + [M + f"view_codes = {weight}"], 1500)
                 for tag, weight in (("1", 1.0), ("10", 10.0))})
# ... the baseline and the 1-weight pull again with seed 1: coherent sets differ by 13 to 21 points between two seeds.
VARIANTS["gen16/views_nearest_long_seed1"] = (PRE_BF16, SCREEN + ["Trainer.seed = 1"], 1500)
VARIANTS["gen16/views_nearest_long_viewcodes1_seed1"] = (PRE_BF16, SCREEN + [M + "view_codes = 1.0",
                                                                           "Trainer.seed = 1"], 1500)
# ... and more steps in the same time: bf16 autocast (1.77x the images/s of float32 for this recipe at 32 px on the
# 2-core CPU, docs/performance.md; 1.34x at 16 px), at the screen's 1500 steps (does it train as well?) and at 2700.
BF16 = ["Trainer.amp = 'bf16'"]
VARIANTS["gen16/views_nearest_long_bf16"] = (PRE_BF16, SCREEN + BF16, 1500)
VARIANTS["gen16/views_nearest_bf16_steps2700"] = (PRE_BF16, SCREEN + BF16, 2700)
# Eleventh round, around the recipe in bf16 (the README job at 16 px and 2700 of its 4500 steps, as the tenth round's
# `…_bf16_steps2700`, now with the divergences in float32): what still misses its target is shape in single
# reconstructions, set-recon and chains. R louder beside the critic, at two and four times its weight (and, below, at
# half), and the critic at half its weight; the baseline with two seeds.
VARIANTS["gen16/bf16"] = ("gin/set_hbae_shapes.gin", SCREEN, 2700)
VARIANTS["gen16/bf16_seed1"] = ("gin/set_hbae_shapes.gin", SCREEN + ["Trainer.seed = 1"], 2700)
VARIANTS.update({f"gen16/bf16_l1w{w}": ("gin/set_hbae_shapes.gin", SCREEN + [f"regularisers.l1.weight = {w}.0"], 2700)
                 for w in (200, 400)})
VARIANTS["gen16/bf16_adv05"] = ("gin/set_hbae_shapes.gin", SCREEN + [M + "adversarial_weight = 0.5"], 2700)
# ... the critic at half its weight again with seed 1 (its chains read above both baseline seeds), and R at half.
VARIANTS["gen16/bf16_adv05_seed1"] = ("gin/set_hbae_shapes.gin", SCREEN + [M + "adversarial_weight = 0.5",
                                                                          "Trainer.seed = 1"], 2700)
VARIANTS["gen16/bf16_l1w50"] = ("gin/set_hbae_shapes.gin", SCREEN + ["regularisers.l1.weight = 50.0"], 2700)
# Thirteenth round: R on a Laplacian pyramid (Lap1, `regularisers.laplacian`, 3 levels) in place of the pixel L1, at
# the same weight: an error counts once at every scale it spans, so a corner or edge that is wrong beside the right
# colour costs more than the pixel mean says. Two seeds, beside `gen16/bf16` and `…_seed1`. (Three levels' means sum to
# about twice the pixel L1 at one weight: read it beside `gen16/bf16_l1w200` too.)
LAPLACIAN = [M + "regulariser = @regularisers.laplacian()", "regularisers.laplacian.weight = 100.0"]
VARIANTS["gen16/bf16_laplacian"] = ("gin/set_hbae_shapes.gin", SCREEN + LAPLACIAN, 2700)
VARIANTS["gen16/bf16_laplacian_seed1"] = ("gin/set_hbae_shapes.gin", SCREEN + LAPLACIAN + ["Trainer.seed = 1"], 2700)
# Fourteenth round: the pyramid at half the weight, where its R is about the pixel L1's size at λ = 100, to tell the
# pyramid from a louder R.
VARIANTS["gen16/bf16_laplacian_w50"] = ("gin/set_hbae_shapes.gin",
                                        SCREEN + [M + "regulariser = @regularisers.laplacian()",
                                                  "regularisers.laplacian.weight = 50.0"], 2700)
# Fifteenth round: the encoder taught to read the critic's fakes, each alone, back to the codes that drew them
# (`sleep`, the sleep phase of wake-sleep): a chain's step reads a drawn image, where R teaches the encoder on real
# images only.
VARIANTS.update({f"gen16/bf16_sleep{tag}": ("gin/set_hbae_shapes.gin", SCREEN + [M + f"sleep = {weight}"], 2700)
                 for tag, weight in (("1", 1.0), ("01", 0.1), ("001", 0.01))})
# At 0.01 the chains held their class longer at every step from the second on, beyond the baseline's two seeds; at 0.1
# and 1 the codes collapsed. The README job with it, at full length:
VARIANTS["confirm/set_hbae_sleep001"] = ("gin/set_hbae_shapes.gin", [M + "sleep = 0.01"], None)
# ... and the single-image HBAE recipe with it, unscreened at 16 px (no baseline of the bf16 recipe there), read against
# its three full-length seeds: its chains are its widest miss.
VARIANTS["confirm/hbae_sleep001"] = ("gin/hbae_shapes.gin", ["models.hbae.sleep = 0.01"], None)
# The single-image HBAE recipe has not had the Set-HBAE's tenth round: bf16 autocast (1.52x the images/s of float32
# for this recipe in `amp/hbae_shapes_bf16`) and the steps it buys, 3000 in about the time float32 trains 2000.
# They ran on the recipe as shipped then (float32, 2000 steps), kept as it was when bf16 for 3000 steps replaced it
# in the fourteenth round. Seed 0 of the candidate (`confirm/hbae_bf16_steps3000`) is the recipe as now written: its
# run, `tables/hbae`, reproduced it bit for bit, and the duplicate was dropped.
HBAE_PRE_BF16 = BEFORE_BF16.format("hbae_shapes")
VARIANTS["confirm/hbae_bf16_steps3000_seed1"] = (HBAE_PRE_BF16, BF16 + ["Trainer.seed = 1"], 3000)
# ... and the recipe as shipped (float32, 2000 steps) with seed 1, to read the two bf16 seeds against two of its own;
# seed 0 is its record as the recipe, moved here when bf16 replaced it.
VARIANTS["confirm/hbae_seed0"] = (HBAE_PRE_BF16, [], None)
VARIANTS["confirm/hbae_seed1"] = (HBAE_PRE_BF16, ["Trainer.seed = 1"], None)
# The fourteenth round: the recipe as shipped now (bf16, 3000 steps) with seed 2, a third seed of the adopted recipe.
VARIANTS["confirm/hbae_seed2"] = ("gin/hbae_shapes.gin", ["Trainer.seed = 2"], None)
# The bound a plain autoencoder sets: WAE-MMD, the same encoder and generator, a deterministic decoder,
# 64 images a step as the Set-HBAE's 8 sets of 8.
VARIANTS["gen16/wae"] = ("gin/wae_shapes.gin", SCREEN, GEN_STEPS)
# ... and at full length, 32 px, beside the Set-HBAE's record (the WAE recipe as shipped: 2000 steps of 64 images).
VARIANTS["confirm/wae"] = ("gin/wae_shapes.gin", [], None)
# The third round's candidate (gen16/gmm_match05_nocritic_z64) at full length: the README main job with a 64-d code.
VARIANTS["confirm/set_hbae_z64"] = (SET_HBAE_BEFORE_VIEWS, ["models.set_hbae.z_dim = 64"], None)
# What the README job's budget costs (the fourth round's 16-px `…_long`, at 32 px): the shipped recipe at twice its steps.
VARIANTS["confirm/set_hbae_steps3000"] = (SET_HBAE_BEFORE_VIEWS, [], 3000)
# The fifth round's single-image candidate at full length: the HBAE recipe with z' through a learned strength from 0.
VARIANTS["confirm/hbae_strength0"] = (HBAE_PRE_BF16, strength(0.0), None)
# Does the generator's size stand in the way at 32 px? The README job with a generator twice as wide (the 16-px
# screen `gmm_match05_nocritic_gwide64` could not tell in 600 steps; at 32 px the recipe has stopped gaining by
# 1500 steps). About twice the README job's time: a question for the budget, not a candidate for it.
VARIANTS["confirm/set_hbae_gwide64"] = (SET_HBAE_BEFORE_VIEWS, ["generators.resnet.width = 64"], None)
# The seventh round's candidate at full length: all of R on each element redrawn from its own 4-d view, read from
# what sets it apart from its set; sampling draws z' from a mixture fitted to the training views.
VIEWS_WITHIN = [M + "regulariser_match = 0.0", M + "regulariser_views = 1.0", M + "noise_prior = @priors.gmm",
                M + "views_within_set = True"] + noise(4)
VARIANTS["confirm/set_hbae_views_within"] = (SET_HBAE_BEFORE_VIEWS, VIEWS_WITHIN, None)
# The eighth round's: the same at 3000 steps, which it trains in about the README job's time (its R draws once a
# step where the shipped R draws the mean image and matched draws), as its 16-px screen kept gaining to 3000 steps.
VARIANTS["confirm/set_hbae_views_within_steps3000"] = (SET_HBAE_BEFORE_VIEWS, VIEWS_WITHIN, 3000)
# ... and with the critic twice as wide, which at 16 px put more generated sets in agreement (`…_long_dwide64`).
VARIANTS["confirm/set_hbae_views_within_steps3000_dwide64"] = (SET_HBAE_BEFORE_VIEWS, VIEWS_WITHIN + DWIDE, 3000)
# ... and its second seed, drawing each view given its set's code (`noise_prior = @priors.conditional_gmm`, which
# changes sampling only: the fit is made after training, so training is the same as with priors.gmm).
VARIANTS["confirm/set_hbae_views_within_steps3000_dwide64_cgmm_seed1"] = (
    SET_HBAE_BEFORE_VIEWS, [b for b in VIEWS_WITHIN if "noise_prior" not in b]
    + [M + "noise_prior = @priors.conditional_gmm"] + DWIDE + ["Trainer.seed = 1"], 3000)
# The eighth round's candidate as first shipped (seed 0; training as `…_dwide64`'s, bit for bit), drawing each view
# from the mixture given the code; the ninth round replaced that mixture by nearest-neighbour resampling.
VARIANTS["confirm/set_hbae_views_cgmm"] = (PRE_BF16, [M + "noise_prior = @priors.conditional_gmm"], None)
# The README job as shipped from the ninth round to the tenth (its record moved here when bf16 replaced the recipe),
# with its second seed (its training is `…_dwide64_cgmm_seed1`'s).
VARIANTS["confirm/set_hbae_seed0_nearest"] = (PRE_BF16, [], None)
VARIANTS["confirm/set_hbae_seed1_nearest"] = (PRE_BF16, ["Trainer.seed = 1"], None)
# ... and a third seed, since the first two fall either side of the generated-set targets.
VARIANTS["confirm/set_hbae_seed2_nearest"] = (PRE_BF16, ["Trainer.seed = 2"], None)
# The tenth round's 16-px winner at full length: bf16 autocast buys steps, 5000 in about the time 3000 took in float32
# (its record: 20.7 min alone, where the float32 README job took 17.1). It ran with MMD² summed in bf16, about two
# significant digits (components/divergences.py now upcasts): the same with float32 MMD, at the 4500 steps 20 minutes
# hold, and its second seed.
VARIANTS["confirm/set_hbae_bf16_steps5000"] = (PRE_BF16, BF16, 5000)
VARIANTS["confirm/set_hbae_bf16_steps4500"] = (PRE_BF16, BF16, 4500)
VARIANTS["confirm/set_hbae_bf16_steps4500_seed1"] = (PRE_BF16, BF16 + ["Trainer.seed = 1"], 4500)
VARIANTS["confirm/set_hbae_bf16_steps4500_seed2"] = (PRE_BF16, BF16 + ["Trainer.seed = 2"], 4500)
# ... and its generator's weights averaged over the steps (an EMA, Trainer.ema_decay, as the 64-px recipes keep), which
# sampling and evaluation then draw with. The average does not feed back into training, so the run trains as
# `confirm/set_hbae_bf16_steps4500` does, bit for bit, and `hbaezoo eval --no-ema` reads that run again.
EMA = ["Trainer.ema_decay = 0.999"]
VARIANTS["confirm/set_hbae_bf16_steps4500_ema"] = (PRE_BF16, BF16 + EMA, 4500)
# The twelfth round: codes read off part of each set in half the steps (models/hbae.py, `training_code`) on the recipe
# as shipped. At 16 px (`gen16/views_nearest_long_subsets*`) set and single readings lay 7 points apart and it moved
# neither; at 32 px the README job's lie 13 apart (its seeds 1 and 2: 8 and 10), and a single reconstruction, a chain's
# step and completion read one or two views.
VARIANTS["confirm/set_hbae_subsets05"] = ("gin/set_hbae_shapes.gin", [M + "subset_codes = 0.5"], None)
# ... and the learning rates of both groups decayed linearly to 0 over the second half (as the projection-cGAN paper
# trained; at 16 px for 600 steps, `gmm_match05_nocritic_lrdecay`, it cost set-recon). The EMA of the generator lost the
# readings while it trained bit for bit as the README job (the eleventh round); annealing the rates settles encoder and
# generator together instead of averaging one of them.
VARIANTS["confirm/set_hbae_lrdecay"] = ("gin/set_hbae_shapes.gin", ["Trainer.schedule = @schedules.linear_decay"], None)
# How far two seeds of the README job lie apart at full length, to read the rows above by.
VARIANTS["confirm/set_hbae_seed1"] = (SET_HBAE_BEFORE_VIEWS, ["Trainer.seed = 1"], None)
# The single-image HBAE: a set of one has one view, so matched draws reduce to R on one stochastic draw.
HBAE_GENERATION = {
    "hbae_shipped": [],
    "hbae_gmm": ["models.hbae.prior = @priors.gmm"],
    "hbae_gmm_match05": ["models.hbae.prior = @priors.gmm", "models.hbae.regulariser_match = 0.5"],
    "hbae_gmm_match05_nocritic": ["models.hbae.prior = @priors.gmm", "models.hbae.regulariser_match = 0.5",
                                  "models.hbae.encoder_through_critic = False"],
}
# Fifth round: what, between the WAE's plain autoencoder (recon 47.4 % at 16 px) and the shipped HBAE (35.4 %),
# costs the shape, on the single image where no set code is in the way. First the critic out of E's and G's
# losses (an autoencoder with noise z'), then, one at a time on top, the WAE's choices: no noise, its Adam
# (β = (0.5, 0.999), E at 2e-4), its L2 norm in place of the L1 mean.
HBAE_SHIPPED = ["models.hbae.prior = @priors.gmm", "models.hbae.regulariser_match = 0.5"]
HBAE_ADV0 = HBAE_SHIPPED + ["models.hbae.adversarial_weight = 0.0", "models.hbae.encoder_through_critic = False"]
HBAE_GENERATION.update({
    "hbae_adv0": HBAE_ADV0,
    "hbae_adv0_noise0": HBAE_ADV0 + ["models.hbae.noise_dim = 0"],
    "hbae_adv0_betas05": HBAE_ADV0 + BETAS05 + ["critic/optimizers.adam.lr = 2e-4"],
    "hbae_adv0_l2sum": HBAE_ADV0 + ["models.hbae.regulariser = @regularisers.l2()", "regularisers.l2.weight = 50.0",
                                    "regularisers.l2.reduction = 'sum'"],
})
# What the noise z' costs with the critic on: the shipped HBAE with a narrower z' and with none (a deterministic
# decoder scored by a conditional critic).
HBAE_GENERATION.update({"hbae_noise4": HBAE_SHIPPED + ["models.hbae.noise_dim = 4"],
                        "hbae_noise0": HBAE_SHIPPED + ["models.hbae.noise_dim = 0"],
                        "hbae_strength0": HBAE_SHIPPED + strength(0.0),
                        # How far two seeds lie apart, for the single image: the shipped screen and strength 0, seed 1.
                        "hbae_seed1": HBAE_SHIPPED + ["Trainer.seed = 1"],
                        "hbae_strength0_seed1": HBAE_SHIPPED + strength(0.0) + ["Trainer.seed = 1"]})
# Sixth round: the single image's one view compared with its nearest of several draws (IMLE), not with every draw.
HBAE_GENERATION.update({"hbae_cover4": HBAE_SHIPPED + draws(4, model="hbae"),
                        "hbae_cc1": HBAE_SHIPPED + ["models.hbae.code_consistency = 1.0"]})
# Seventh round: z' through a learned strength that starts small but not at 0 (at 0 the full-length draws of one code
# became one image).
HBAE_GENERATION.update({"hbae_strength025": HBAE_SHIPPED + strength(0.25)})
VARIANTS.update({f"gen16/{name}": (BEFORE.format("hbae_shapes"), SCREEN + extra, GEN_STEPS)
                 for name, extra in HBAE_GENERATION.items()})

FULL_METRICS = "probe,probe_random,recon_agreement,chain_agreement,diversity,fid_gen,fid_recon,recon_mse,set_coherence"
# Full recipe length at 32 px: the candidates the screens picked, then the recipes as shipped.
FULL = {
    "full/set_hbae_w100": ("gin/set_hbae_shapes.gin", PAPER + DETACH + REG_EG + w(100.0)),
    "full/set_hbae_w100_cc1": ("gin/set_hbae_shapes.gin", PAPER + DETACH + REG_EG + w(100.0) + cc(1.0)),
}
VARIANTS.update({name: (recipe, bindings, None) for name, (recipe, bindings) in FULL.items()})

# Tables 1 and 2 (docs/results.md): the recipes exactly as shipped, each with the metrics its model supports.
TABLE1 = "fid_recon,fid_gen,kid_gen,precision_recall,recon_mse,diversity,recon_agreement,chain_agreement,prior_gap"
SETS = ",set_coherence,set_recon_agreement,set_complete,set_diversity"
# Table 2's supervised row at full strength: the Set-HBAE's encoder, fresh, trained on each N labelled images until
# validation accuracy stops improving (early stopping, best weights restored). The metric never reads the run's
# weights (it builds untrained twins from the recipe), so its run trains one step only, to exist. 3 seeds, and a
# step cap of 3000, three times the metric's CPU-budget default, so that early stopping, not the cap, ends every seed
# (the record's `cut_at_max_steps` counts those the cap ended): one seed of all six N is ~5-7 min at 32 px.
SUPERVISED = ["metrics.probe_supervised.kinds = ('image',)", "metrics.probe_supervised.seeds = 3",
              "metrics.probe_supervised.max_steps = 3000"]
TABLE_RUNS = {
    "tables/set_hbae": ("gin/set_hbae_shapes.gin", TABLE1 + SETS + ",probe,probe_random",
                        ["metrics.set_coherence.sets = 48"]),
    "tables/supervised": ("gin/set_hbae_shapes.gin", "probe_supervised", SUPERVISED),
    "tables/hbae": ("gin/hbae_shapes.gin", TABLE1 + ",probe,probe_random", []),
    "tables/vae": ("gin/vae_shapes.gin", TABLE1 + ",probe", []),
    "tables/set_vae": ("gin/set_vae_shapes.gin", "fid_gen,diversity,recon_agreement,probe" + SETS,
                       ["metrics.set_coherence.sets = 48"]),
    "tables/gan": ("gin/gan_shapes.gin", "fid_gen,kid_gen,precision_recall", []),
    "tables/bigan": ("gin/bigan_shapes.gin", TABLE1 + ",probe", []),
}
VARIANTS.update({name: (recipe, [], None) for name, (recipe, _, _) in TABLE_RUNS.items() if name.startswith("tables/")})
VARIANTS["tables/gan"] = ("gin/gan_shapes.gin", [], 1000)
VARIANTS["tables/supervised"] = ("gin/set_hbae_shapes.gin", [], 1)
# Semi-supervised Set-HBAE (paper §3, issue 25) at screen length (16 px, GEN_STEPS): the labels of 1, 5 and 10 % of
# the 480 training objects (5, 24, 48 objects; 60, 288, 576 images), against the unsupervised Set-HBAE and the
# Set-VAE, each probed with as many labelled objects (set codes) or images (image codes) as the fraction holds.
LABEL_FRACTIONS = {"labels01": 0.01, "labels05": 0.05, "labels10": 0.1}
#: (labelled objects, labelled images) each fraction holds: round(f × 480 objects), 12 views per object.
LABELLED = {"labels01": (5, 60), "labels05": (24, 288), "labels10": (48, 576)}
SEMI = {f"semi16/{name}": (BEFORE_VIEWS.format("semi_set_hbae_shapes"), SCREEN + [f"Trainer.labelled_fraction = {f}"])
        for name, f in LABEL_FRACTIONS.items()}
# The classifier's weight γ ten times the recipe's: at γ = 1 the labels left the codes where they were.
SEMI["semi16/labels05_w10"] = (BEFORE_VIEWS.format("semi_set_hbae_shapes"),
                               SCREEN + ["Trainer.labelled_fraction = 0.05", M + "supervised_weight = 10.0"])
SEMI["semi16/unsupervised"] = (SET_HBAE_BEFORE_VIEWS, SCREEN)
SEMI["semi16/set_vae"] = ("gin/set_vae_shapes.gin", SCREEN)
# Head or critic (issue 25, "decide by experiment"): the same 5 % of labels read by the projection critic beside z, as
# a cGAN's critic reads its class, instead of by a classifier on the codes. With the shipped switches the encoder gets
# no gradient from the critic, so also with E trained through G's fakes: the path by which a critic that knows the
# class can ask the codes for it; and that switch alone, unsupervised, to tell the two apart.
CRITIC_LABELS = ["Trainer.labelled_fraction = 0.05", M + "critic_labels = True"]
THROUGH_G = [M + "encoder_through_generator = True"]
SEMI["semi16/critic_labels05"] = (SET_HBAE_BEFORE_VIEWS, SCREEN + CRITIC_LABELS)
SEMI["semi16/critic_labels05_through_g"] = (SET_HBAE_BEFORE_VIEWS, SCREEN + CRITIC_LABELS + THROUGH_G)
SEMI["semi16/unsupervised_through_g"] = (SET_HBAE_BEFORE_VIEWS, SCREEN + THROUGH_G)
VARIANTS.update({name: (recipe, bindings, GEN_STEPS) for name, (recipe, bindings) in SEMI.items()})
SEMI_SIZES = "(5, 24, 48, 60, 288, 576)"
SEMI_EVAL = [f"metrics.probe.sizes = {SEMI_SIZES}", "metrics.probe.seeds = 3", "metrics.set_coherence.sets = 48",
             "metrics.probe_supervised.sizes = (60, 288, 576)", "metrics.probe_supervised.kinds = ('image',)",
             "metrics.probe_supervised.seeds = 3"]
# The README job's full-length variants are read on exactly what its Table 1 row is read on.
for _name in ("confirm/set_hbae_z64", "confirm/set_hbae_steps3000", "confirm/set_hbae_seed1",
              "confirm/set_hbae_gwide64", "confirm/set_hbae_views_within", "confirm/set_hbae_views_within_steps3000",
              "confirm/set_hbae_views_within_steps3000_dwide64",
              "confirm/set_hbae_views_within_steps3000_dwide64_cgmm_seed1", "confirm/set_hbae_views_cgmm",
              "confirm/set_hbae_seed0_nearest", "confirm/set_hbae_seed1_nearest", "confirm/set_hbae_seed2_nearest",
              "confirm/set_hbae_bf16_steps5000",
              "confirm/set_hbae_bf16_steps4500", "confirm/set_hbae_bf16_steps4500_seed1",
              "confirm/set_hbae_bf16_steps4500_seed2", "confirm/set_hbae_bf16_steps4500_ema",
              "confirm/set_hbae_subsets05", "confirm/set_hbae_lrdecay", "confirm/set_hbae_sleep001"):
    TABLE_RUNS[_name] = TABLE_RUNS["tables/set_hbae"]
TABLE_RUNS["confirm/hbae_strength0"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS["confirm/hbae_bf16_steps3000_seed1"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS["confirm/hbae_seed1"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS["confirm/hbae_seed0"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS["confirm/hbae_seed2"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS["confirm/hbae_sleep001"] = TABLE_RUNS["tables/hbae"]
TABLE_RUNS.update({name: (recipe, "probe,fid_gen,set_coherence", SEMI_EVAL) for name, (recipe, _) in SEMI.items()})
# The head-or-critic screens skip FID gen (~2 min of Inception each on the shared CPU): the codes are their question,
# and set_coherence still says what the labels do to generated sets.
for _name in ("semi16/critic_labels05", "semi16/critic_labels05_through_g", "semi16/unsupervised_through_g"):
    TABLE_RUNS[_name] = (SEMI[_name][0], "probe,set_coherence", SEMI_EVAL)
# The supervised baseline given the same labels (image codes) rides with the unsupervised run: it never reads its weights.
TABLE_RUNS["semi16/unsupervised"] = (SET_HBAE_BEFORE_VIEWS, "probe,fid_gen,set_coherence,probe_supervised", SEMI_EVAL)

# The README main job exactly as shipped, re-measured after a change to recipes or models (codes vs untrained twin).
VARIANTS["recheck/set_hbae"] = ("gin/set_hbae_shapes.gin", [], None)  # half its recipe: CPU time was short (docs/results.md)
# Does bf16 autocast train as well as float32 (docs/performance.md)? Same seed, a few hundred steps,
# wall time, loss curves and FID of samples side by side: the check before bf16 becomes a default.
AMP_STEPS = 400
for _recipe in ("hbae_shapes", "set_hbae_shapes"):
    VARIANTS[f"amp/{_recipe}_fp32"] = (f"gin/{_recipe}.gin", ["Trainer.amp = None"], AMP_STEPS)
    VARIANTS[f"amp/{_recipe}_bf16"] = (f"gin/{_recipe}.gin", ["Trainer.amp = 'bf16'"], AMP_STEPS)

SCREEN_METRICS = "probe,probe_random,recon_agreement,diversity"
# The generation screens (gen16/*): what the model draws, and whether its codes still beat the untrained twin.
GEN_SCREEN_METRICS = "prior_gap,set_coherence,set_recon_agreement,recon_agreement,set_complete,set_diversity,probe,probe_random"
# What each generation screen is read on, so that the command a record prints reproduces it.
HBAE_SCREEN_METRICS = "recon_agreement,chain_agreement,prior_gap,probe,probe_random"
AUTOENCODER_SCREEN_METRICS = "recon_agreement,probe,probe_random"


def default_metrics(name: str) -> str:
    """The metrics a variant is evaluated on unless --metrics says otherwise."""
    if name in ("gen16/wae", "confirm/wae"):
        return AUTOENCODER_SCREEN_METRICS
    if name.startswith("gen16/hbae_"):
        return HBAE_SCREEN_METRICS
    if name.startswith("full/"):
        return FULL_METRICS
    if name.startswith(("gen16/views_nearest", "gen16/bf16")):  # the tenth round on reads the chains too
        return GEN_SCREEN_METRICS + ",chain_agreement"
    return GEN_SCREEN_METRICS if name.startswith("gen16/") else SCREEN_METRICS


SCREEN_EVAL = ["metrics.probe.sizes = (256, 2048)", "metrics.probe_random.sizes = (256, 2048)",
               "metrics.probe.seeds = 2", "metrics.probe_random.seeds = 2", "metrics.diversity.inputs = 32"]


def curve_summary(run_dir: RunDir, tail: float = 0.2) -> dict[str, float]:
    """Mean, min and max of each logged scalar over the last `tail` of training."""
    rows = run_dir.read_metrics()
    if not rows:
        return {}
    last = rows[-1]["step"]
    window = [r for r in rows if r["step"] > (1 - tail) * last]
    out: dict[str, float] = {"steps": float(last)}
    for key in sorted({k for r in window for k in r if k not in ("step", "time")}):
        values = [r[key] for r in window if isinstance(r.get(key), (int, float))]
        if values:
            out[f"{key}/mean"] = sum(values) / len(values)
            out[f"{key}/min"], out[f"{key}/max"] = min(values), max(values)
    return out


def run(cmd: list[str]) -> float:
    print("+", shlex.join(cmd), flush=True)
    start = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    return time.time() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("variants", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", default="ablation", help="results/<table>/ receives the records")
    ap.add_argument("--root", default="runs/ablation")
    ap.add_argument("--metrics", default=None, help="default: the variant's own (see default_metrics)")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("-e", "--eval-binding", action="append", default=None)
    ap.add_argument("--reevaluate", action="store_true",
                    help="evaluate an already trained variant again, keeping its record's training part")
    args = ap.parse_args(argv)
    if args.list or not args.variants:
        for name, (recipe, bindings, steps) in VARIANTS.items():
            print(f"{name}: {recipe} {steps} steps; " + "; ".join(bindings))
        return 0
    eval_bindings = SCREEN_EVAL if args.eval_binding is None else args.eval_binding
    hbaezoo = [sys.executable, "-m", "hbaezoo"]
    for name in args.variants:
        recipe, bindings, steps = VARIANTS[name]
        rd = RunDir(Path(args.root) / name)
        run_dir = rd.path
        train = [*hbaezoo, "run", recipe, "--run-dir", str(run_dir)] + (["--steps", str(steps)] if steps else [])
        for b in bindings:
            train += ["-b", b]
        metrics, extra = (TABLE_RUNS[name][1], TABLE_RUNS[name][2]) if name in TABLE_RUNS else (args.metrics or default_metrics(name), eval_bindings)
        # Settings of metrics this evaluation does not run would only be warned about as unused.
        extra = [b for b in extra if not b.startswith("metrics.") or b.split(".")[1] in metrics.split(",")]
        ev = [*hbaezoo, "eval", str(run_dir), "--metrics", metrics, "--n", str(args.n), "--no-progress"]
        for b in extra:
            ev += ["-b", b]
        out = REPO / "results" / args.table / f"{name.replace('/', '__')}.json"
        trained = {"recipe": recipe, "bindings": bindings, "steps": steps, "machine": machine(),
                   "train_command": shlex.join(["hbaezoo", *train[3:]])}
        if args.reevaluate:  # the training already ran and was timed: its record keeps what it says of it
            if not out.is_file():
                raise SystemExit(f"--reevaluate {name}: no record at {out} to take the training part from; "
                                 f"train it first (drop --reevaluate).")
            old = json.loads(out.read_text())
            if old["train_command"] != trained["train_command"]:
                raise SystemExit(f"--reevaluate {name}: the record's run was trained by `{old['train_command']}`, "
                                 f"and the variant now says `{trained['train_command']}`; train it again.")
            trained = {key: old[key] for key in trained} | {"train_seconds": old["train_seconds"]}
        else:
            trained["train_seconds"] = run(train)
        eval_s = run(ev)
        record = {
            "name": name, **trained, "eval_command": shlex.join(["hbaezoo", *ev[3:]]), "eval_seconds": eval_s,
            "curves": curve_summary(rd),
            "eval": json.loads(rd.results.read_text()),
        }
        if "probe" in metrics.split(","):  # a second opinion from scikit-learn (experiments/independent_probe.py)
            probe_file = rd.eval_file("independent_probe.json")
            run([sys.executable, str(REPO / "experiments" / "independent_probe.py"), str(run_dir), "--out", str(probe_file)])
            record["independent"] = json.loads(probe_file.read_text())
        write_text_atomic(out, json.dumps(record, indent=1, sort_keys=True))
        print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

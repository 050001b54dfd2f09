"""KID, precision/recall, the real-vs-real floors, set diversity and the prior gap: each on a case whose
answer is known, and on one where a sign or a swapped argument would show."""

import numpy as np
import pytest
import torch

from hbaezoo.components.posterior import Posterior
from hbaezoo.data.base import to_float
from hbaezoo.errors import CapabilityError
from hbaezoo.eval.features import extract_features
from hbaezoo.eval.fid import fid_from_features
from hbaezoo.eval.floors import train_features
from hbaezoo.eval.kid import kid_from_features
from hbaezoo.eval.precision_recall import knn_radii, precision_recall
from hbaezoo.eval.prior_gap import mmd_gap
from hbaezoo.eval.runner import run_metric
from hbaezoo.eval.toy import toy_context, toy_dataset_factory
from hbaezoo.models.base import Model, as_set
from hbaezoo.registry import METRICS

SHAPE = (3, 16, 16)


def gaussian(n, d=16, seed=0, shift=0.0, scale=1.0):
    return np.random.default_rng(seed).normal(size=(n, d)) * scale + shift


def context(model, *, n=48, objects=6, seed=0):
    """toy_context over a larger toy dataset (4 classes x `objects` objects x 4 views per split)."""
    ctx = toy_context(model, image_shape=SHAPE, n=n, set_size=4, seed=seed)
    ctx.dataset_factory = toy_dataset_factory(SHAPE, 4, objects=objects)
    return ctx


def metric(ctx, name, **kwargs):
    with ctx.seeded(f"metric/{name}"):
        return METRICS.get(name)(ctx, **kwargs)


# -- KID ------------------------------------------------------------------------------------------
def unbiased_polynomial_mmd(x, y):
    """KID written out: unbiased MMD² with k(a, b) = (aᵀb / D + 1)³, equal set sizes."""
    k = lambda a, b: (a @ b.T / x.shape[1] + 1) ** 3  # noqa: E731
    m = len(x)
    off = lambda g: (g.sum() - np.trace(g)) / (m * (m - 1))  # noqa: E731
    return off(k(x, x)) + off(k(y, y)) - 2 * k(x, y).mean()


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    real = gaussian(400)
    same, shifted, far = (kid_from_features(gaussian(400, seed=1, shift=s), real) for s in (0.0, 0.3, 1.0))
    assert abs(same) < 0.02
    assert shifted > 0.2 and far > 10 * shifted


def test_kid_is_clean_fids_subset_average_and_the_one_subset_shortcut_is_exact():
    a, b = gaussian(60, seed=2), gaussian(60, seed=3, shift=0.2)
    assert kid_from_features(a, b) == pytest.approx(unbiased_polynomial_mmd(b, a), rel=1e-9)
    # equal sizes within one subset: clean-fid's 100 subsets are the same sets reordered
    assert kid_from_features(a, b) == pytest.approx(kid_from_features(a, b, subsets=100), rel=1e-9)
    # unequal sizes: random subsets, reproducible from the seed, numpy's global RNG untouched
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    c = gaussian(90, seed=4)
    assert kid_from_features(c, a, seed=5) == kid_from_features(c, a, seed=5) != kid_from_features(c, a, seed=6)
    assert (np.random.get_state()[1] == before).all()


# -- precision and recall -----------------------------------------------------------------------
def test_knn_radius_is_the_distance_to_the_kth_other_point():
    points = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)
    assert knn_radii(points, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(points, 2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_precision_and_recall_are_high_on_one_distribution_and_low_after_a_shift():
    real = gaussian(400)
    same = precision_recall(real, gaussian(400, seed=1))
    shifted = precision_recall(real, gaussian(400, seed=1, shift=1.0))
    assert same["precision"] > 0.6 and same["recall"] > 0.6
    assert shifted["precision"] < same["precision"] - 0.3 and shifted["recall"] < same["recall"] - 0.3


def test_mode_collapse_keeps_precision_and_loses_recall():
    real = gaussian(400)
    collapsed = precision_recall(real, np.repeat(real[:5], 80, axis=0))
    assert collapsed["precision"] == 1.0 and collapsed["recall"] < 0.05
    too_wide = precision_recall(real, gaussian(400, seed=1, scale=3.0))  # the opposite failure
    assert too_wide["precision"] < 0.1 and too_wide["recall"] > 0.9


# -- the metrics on stub generators -------------------------------------------------------------
class ImageGenerator(Model):
    """Samples drawn from a fixed pool of uint8 images [N, C, H, W] (with replacement)."""

    display_name = "stub generator"

    def __init__(self, pool: torch.Tensor) -> None:
        super().__init__(image_shape=SHAPE)
        self.pool = to_float(pool)

    def sample(self, n, per_code):
        pick = torch.randint(len(self.pool), (n,))
        return self.pool[pick].unsqueeze(0).expand(per_code, -1, -1, -1, -1)


def training_images():
    return toy_dataset_factory(SHAPE, 4, objects=6)(split="train").images


def test_samples_of_training_images_score_like_the_floor_and_noise_far_from_it():
    train = training_images()
    like_data = context(ImageGenerator(train))
    noise = context(ImageGenerator(torch.randint(0, 256, (64, *SHAPE), generator=torch.Generator().manual_seed(0),
                                                 dtype=torch.uint8)))
    fid, fid_noise = metric(like_data, "fid_gen"), metric(noise, "fid_gen")
    assert fid["real_floor"] == fid_noise["real_floor"] > 0
    assert fid["fid"] < 3 * fid["real_floor"] < fid_noise["fid"] / 10
    kid, kid_noise = metric(like_data, "kid_gen"), metric(noise, "kid_gen")
    assert kid["kid"] < 3 * abs(kid["real_floor"]) + 0.01 < kid_noise["kid"]
    pr, pr_noise = metric(like_data, "precision_recall"), metric(noise, "precision_recall")
    assert pr["real/precision"] == pr_noise["real/precision"] > 0.5 and pr_noise["real/recall"] > 0.5
    assert pr["precision"] > 0.5 and pr["recall"] > 0.5
    assert pr_noise["precision"] == 0.0 and pr_noise["recall"] == 0.0


def test_a_collapsed_generator_has_precision_without_recall():
    collapsed = context(ImageGenerator(training_images()[:1]))
    pr = metric(collapsed, "precision_recall")
    assert pr["precision"] == 1.0 and pr["recall"] < 0.3 < pr["real/recall"]


def test_the_floor_is_training_images_against_the_reference():
    ctx = context(ImageGenerator(training_images()))
    feats = train_features(ctx)
    assert feats.shape[0] == ctx.n and train_features(ctx) is feats  # extracted once per context
    for split, expected in (("train", True), ("test", False)):
        every = extract_features(ctx.extractor, ctx.dataset(split).images, progress=False)
        nearest = np.sqrt(((feats[:, None] - every[None]) ** 2).sum(-1)).min(1)
        assert (nearest < 1e-9).all() == expected, split
    assert metric(ctx, "fid_gen")["real_floor"] == fid_from_features(feats, ctx.reference_features())


class SetGenerator(Model):
    """Sets of real test views (one object each), or `copies`: one view repeated K times."""

    display_name = "stub set generator"

    def __init__(self, copies: bool, reconstructs: bool = True) -> None:
        super().__init__(image_shape=SHAPE)
        test = toy_dataset_factory(SHAPE, 4, objects=6)(split="test")
        self.images, self.groups, self.copies, self.reconstructs = to_float(test.images), test.group_ids, copies, reconstructs

    def sample_sets(self, n, k):
        objects = torch.randint(int(self.groups.max()) + 1, (n,))
        rows = []
        for g in objects.tolist():
            members = (self.groups == g).nonzero().flatten()
            pick = members[torch.randperm(len(members))[:k]]
            rows.append(self.images[pick[:1].expand(k)] if self.copies else self.images[pick])
        return torch.stack(rows)

    def reconstruct_set(self, x, k):
        if not self.reconstructs:
            return super().reconstruct_set(x, k)
        return x[:, :1].expand(-1, k, -1, -1, -1) if self.copies else x[:, :k]


def test_set_diversity_is_one_for_real_sets_and_zero_for_copies():
    real = metric(context(SetGenerator(copies=False)), "set_diversity", sets=16, set_size=4)
    copies = metric(context(SetGenerator(copies=True)), "set_diversity", sets=16, set_size=4)
    for d in ("lpips", "pixel_mse"):
        assert real[f"{d}/real"] == copies[f"{d}/real"] > 0
        assert 0.8 < real[f"{d}/ratio"] < 1.25 and real[f"{d}/generated"] > 0
        assert copies[f"{d}/ratio"] == 0.0 == copies[f"{d}/generated"]
        assert real[f"recon/{d}_ratio"] == pytest.approx(1.0, abs=1e-6)  # reconstructions = the real sets
        assert copies[f"recon/{d}_ratio"] == 0.0


def test_set_diversity_without_set_reconstructions_or_set_sampling():
    out = metric(context(SetGenerator(copies=False, reconstructs=False)), "set_diversity", sets=4, set_size=3)
    assert "lpips/ratio" in out and not any(key.startswith("recon/") for key in out)
    entry = run_metric(context(ImageGenerator(training_images())), "set_diversity")
    assert entry["status"] == "n/a" and "sample sets" in entry["reason"]


# -- prior gap ----------------------------------------------------------------------------------
class GaussianCodes(Model):
    """Codes N(0, code_scale² I) whatever the image; sampling prior N(0, prior_scale² I)."""

    display_name = "stub encoder"

    def __init__(self, code_scale=1.0, prior_scale=1.0, z_dim=6, rank=None) -> None:
        super().__init__(image_shape=SHAPE)
        self.code_scale, self.prior_scale, self.z_dim, self.rank = code_scale, prior_scale, z_dim, rank or z_dim

    def encode(self, x):
        z = torch.zeros(len(as_set(x)), self.z_dim)
        z[:, :self.rank] = torch.randn(len(z), self.rank) * self.code_scale
        return Posterior(z)

    def prior(self, n):
        return Posterior(torch.randn(n, self.z_dim) * self.prior_scale)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_prior_gap_is_noise_sized_for_codes_from_the_prior_and_large_for_scaled_codes(seed):
    matched = metric(context(GaussianCodes(), n=150, objects=10, seed=seed), "prior_gap")
    scaled = metric(context(GaussianCodes(code_scale=5.0), n=150, objects=10, seed=seed), "prior_gap")
    assert matched["codes"] == 150 and matched["mmd_prior_prior"] > 0
    assert abs(matched["gap"]) < 5 and abs(matched["normal/gap"]) < 5
    assert scaled["gap"] > 50 and scaled["normal/gap"] > 50
    assert scaled["mmd_codes_prior"] > 100 * abs(matched["mmd_codes_prior"])


def test_prior_gap_tells_the_sampling_prior_from_the_standard_normal():
    wide = metric(context(GaussianCodes(code_scale=5.0, prior_scale=5.0), n=150, objects=10), "prior_gap")
    assert abs(wide["gap"]) < 5 and wide["normal/gap"] > 50  # a fitted prior closes the gap N(0, I) leaves


def test_prior_gap_spectrum_shows_a_thin_sub_space():
    full = metric(context(GaussianCodes(z_dim=6), n=100, objects=10), "prior_gap")
    thin = metric(context(GaussianCodes(z_dim=6, rank=2), n=100, objects=10), "prior_gap")
    assert full["thin_directions"] == 0 and 0.5 < full["eig/5"] <= full["eig/1"] < 1.8
    assert thin["thin_directions"] == 4 and thin["eig/2"] > 0.5 and thin["eig/3"] < 1e-6
    assert thin["gap"] > 10  # two live dimensions of six are far from N(0, I)


def test_prior_gap_encodes_sets_for_a_set_run():
    ctx = context(GaussianCodes(), n=100, objects=10)
    ctx.data["set_size"] = 4
    out = metric(ctx, "prior_gap")
    assert out["set_size"] == 4 and out["codes"] == 40  # one set per training object


def test_prior_gap_null_unit_is_a_root_mean_square():
    torch.manual_seed(0)
    out = mmd_gap(torch.randn(50, 3), lambda m: torch.randn(m, 3), null_draws=6, eps=1e-8)
    assert out["mmd_prior_prior"] > 0  # single prior-vs-prior values are negative about half the time
    point_mass = mmd_gap(torch.randn(50, 3), lambda m: torch.zeros(m, 3), null_draws=2, eps=1e-8)
    assert point_mass["mmd_prior_prior"] == 0 and point_mass["gap"] == point_mass["mmd_codes_prior"] / 1e-8


def test_prior_gap_needs_an_encoder_and_a_prior():
    entry = run_metric(context(ImageGenerator(training_images())), "prior_gap")
    assert entry["status"] == "n/a" and "prior" in entry["reason"]

    class PriorOnly(GaussianCodes):
        encode = Model.encode

    with pytest.raises(CapabilityError, match="encode"):
        metric(context(PriorOnly()), "prior_gap")


def test_stub_sets_are_what_they_claim():  # the set diversity tests rely on this
    torch.manual_seed(0)
    views, copies = SetGenerator(copies=False).sample_sets(3, 4), SetGenerator(copies=True).sample_sets(3, 4)
    assert views.shape == copies.shape == (3, 4, *SHAPE)
    assert not torch.equal(views[:, 0], views[:, 1]) and torch.equal(copies[:, 0], copies[:, 3])

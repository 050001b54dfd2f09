"""Sampling priors: a fitted prior lands on the training codes, travels in the checkpoint, and
fitting it never changes training."""

import os

import pytest
import torch
from safetensors.torch import load_file

from hbaezoo.components.divergences import mmd
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.errors import ConfigError
from hbaezoo.registry import PRIORS
from hbaezoo.api import fit
from hbaezoo.rundir.loading import load
from hbaezoo.rundir.checkpoints import checkpoints

RECIPE = "gin/set_hbae_shapes.gin"
CPU = "Trainer.device = 'cpu'"
GMM = ["models.set_hbae.prior = @priors.gmm", "priors.gmm.components = 2"]
NORMAL = ["models.set_hbae.prior = @priors.normal"]


def thin_codes(n: int = 400, z: int = 6) -> torch.Tensor:
    """Codes on a stretched 2-d sub-space of R^z, far from the origin: how trained codes sit."""
    gen = torch.Generator().manual_seed(0)
    basis = torch.randn(2, z, generator=gen)
    return 2.0 + torch.randn(n, 2, generator=gen) * torch.tensor([3.0, 0.5]) @ basis


def test_a_fitted_mixture_closes_the_gap_that_the_standard_normal_leaves():
    codes = thin_codes()
    fitted = PRIORS.get("gmm")(z_dim=6, components=3)
    fitted.fit(codes)
    normal = PRIORS.get("normal")(z_dim=6)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        gap_fitted = float(mmd(codes, fitted.sample(400)))
        gap_normal = float(mmd(codes, normal.sample(400)))
        floor = float(mmd(codes[:200], codes[200:]))
    assert gap_normal > 20 * max(gap_fitted, floor)
    assert gap_fitted < 5 * max(floor, 1e-3)


def test_an_unfitted_mixture_is_the_standard_normal_and_fewer_codes_use_fewer_components():
    prior = PRIORS.get("gmm")(z_dim=4, components=10)
    assert not prior.fitted
    with torch.random.fork_rng():
        torch.manual_seed(0)
        draws = prior.sample(4000)
    assert draws.mean(0).abs().max() < 0.1 and (draws.std(0) - 1).abs().max() < 0.1
    prior.fit(torch.randn(6, 4))
    assert prior.fitted and int((prior.weights > 0).sum()) == 3


@pytest.mark.parametrize("bad", [{"components": 0}, {"covariance": "tied"}, {"reg_covar": 0.0}, {"seed": -1}])
def test_bad_settings_are_clear_errors(bad):
    with pytest.raises(ConfigError, match="priors.gmm"):
        PRIORS.get("gmm")(z_dim=4, **bad)


def test_a_conditional_mixture_draws_where_the_given_value_says():
    """Fitted to pairs (g, x) from two clusters, each with x linear in g, it draws x from the cluster and along the
    line that g picks out; without g it draws from both clusters."""
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(1200, 2, generator=gen) * 0.3 + torch.tensor([3.0, 0.0]).repeat(1200, 1) * torch.tensor(
        [[1.0], [-1.0]]).repeat(600, 1)  # half the rows about (3, 0), half about (-3, 0)
    x = torch.where(g[:, :1] > 0, 5.0 + 2.0 * g[:, 1:], -5.0 - 2.0 * g[:, 1:]) + 0.01 * torch.randn(1200, 1, generator=gen)
    prior = PRIORS.get("conditional_gmm")(z_dim=1, given_dim=2, components=2)
    prior.fit(torch.cat([g, x], 1))
    given = torch.tensor([[3.0, 0.5], [-3.0, 0.5], [3.0, -0.2]]).repeat_interleave(200, 0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        drawn = prior.sample(len(given), given=given)
        marginal = prior.sample(2000)
    assert drawn.shape == (600, 1) and marginal.shape == (2000, 1)
    means = drawn.view(3, 200).mean(1)
    assert torch.allclose(means, torch.tensor([6.0, -6.0, 4.6]), atol=0.1), means
    assert float(drawn.view(3, 200).std(1).max()) < 0.1
    assert 0.3 < float((marginal > 0).float().mean()) < 0.7  # both clusters, no g to choose


def test_a_conditional_mixture_before_its_fit_is_the_standard_normal_and_needs_a_given_size():
    prior = PRIORS.get("conditional_gmm")(z_dim=3, given_dim=2)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        draws = prior.sample(4000, given=torch.full((4000, 2), 7.0))
    assert draws.shape == (4000, 3) and draws.mean(0).abs().max() < 0.1
    with pytest.raises(ValueError, match="given"):
        prior.sample(4, given=torch.zeros(4, 3))
    with pytest.raises(ConfigError, match="given_dim"):
        PRIORS.get("conditional_gmm")(z_dim=3, given_dim=0)


def test_nearest_neighbours_draw_the_points_seen_beside_the_nearest_given_values():
    """Fitted to sets of rows that share a given value (a set's code beside each element's view), a draw at a value
    takes one of the points of the nearest set, and each of them is drawn; without a value, any kept point."""
    gen = torch.Generator().manual_seed(0)
    codes = torch.randn(50, 3, generator=gen) * 5.0
    views = torch.randn(50, 8, 2, generator=gen)
    rows = torch.cat([codes.repeat_interleave(8, 0), views.reshape(400, 2)], 1)
    prior = PRIORS.get("nearest")(z_dim=2, given_dim=3, neighbours=8)
    prior.fit(rows)
    near = codes[[4, 17]].repeat_interleave(400, 0) + 0.01
    with torch.random.fork_rng():
        torch.manual_seed(0)
        drawn = prior.sample(len(near), given=near)
        anywhere = prior.sample(2000)
    for set_index, drawn_here in zip((4, 17), drawn.view(2, 400, 2)):
        seen = (drawn_here[:, None] == views[set_index][None]).all(-1)  # [400, 8]: which of the set's views
        assert seen.any(1).all(), "a draw is not one of the nearest set's views"
        assert seen.sum(0).min() > 20, "some of the nearest set's views are never drawn"
    assert len(torch.unique(anywhere, dim=0)) > 300


def test_nearest_neighbours_keep_a_seeded_subset_within_capacity_and_refuse_bad_input():
    prior = PRIORS.get("nearest")(z_dim=1, given_dim=1, capacity=10)
    with pytest.raises(ValueError, match="given"):
        prior.sample(4, given=torch.zeros(4, 2))  # checked before the fit as after it
    with torch.random.fork_rng():
        torch.manual_seed(0)
        assert prior.sample(4000, given=torch.full((4000, 1), 9.0)).std() > 0.9  # N(0, I) before its fit
    rows = torch.arange(40.0).repeat(2, 1).T
    kept = []
    for seed in (0, 0, 1):
        again = PRIORS.get("nearest")(z_dim=1, given_dim=1, capacity=10, seed=seed)
        again.fit(rows)
        assert int(again.fitted_on) == 10
        kept.append(sorted(again.rows[:, 0].tolist()))
    assert kept[0] == kept[1] != kept[2], "the subset is not the seed's"
    assert kept[0] != list(range(10)), "the subset is the first rows, not a random one"
    with pytest.raises(ValueError, match="rows"):
        prior.fit(torch.zeros(5, 3))
    for bad in ({"neighbours": 0}, {"capacity": 0}, {"given_dim": 0}, {"seed": -1}):
        with pytest.raises(ConfigError, match="priors.nearest"):
            PRIORS.get("nearest")(**{"z_dim": 1, "given_dim": 1, **bad})


def test_nearest_neighbours_draw_only_kept_points_when_fewer_than_capacity_or_neighbours():
    """Three rows in a buffer of 100, 8 neighbours asked for: draws at a given value beside the buffer's unused
    (zero) rows come from the three rows, in the given value's dtype."""
    prior = PRIORS.get("nearest")(z_dim=1, given_dim=1, neighbours=8, capacity=100)
    prior.fit(torch.tensor([[5.0, 1.0], [6.0, 2.0], [7.0, 3.0]]))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        drawn = prior.sample(300, given=torch.zeros(300, 1, dtype=torch.float64))
    assert drawn.dtype == torch.float64
    assert set(drawn[:, 0].tolist()) == {1.0, 2.0, 3.0}


@pytest.mark.slow
def test_the_trainer_fits_the_prior_to_training_codes_without_changing_training(repo_root, tiny, tmp_path):
    recipe = os.path.join(repo_root, RECIPE)
    fit([recipe], [*tiny, CPU, *NORMAL], run_dir=tmp_path / "normal", overrides={"steps": 3})
    fit([recipe], [*tiny, CPU, *GMM], run_dir=tmp_path / "gmm", overrides={"steps": 3})
    a = load_file(checkpoints(tmp_path / "normal" / "checkpoints")[-1] / "model.safetensors")
    b = load_file(checkpoints(tmp_path / "gmm" / "checkpoints")[-1] / "model.safetensors")
    prior_keys = {k for k in b if k.startswith("sampling_prior.")}
    assert prior_keys and set(a) == set(b) - prior_keys
    assert all(torch.equal(a[k], b[k]) for k in a), "fitting the prior changed the trained weights"
    assert int(b["sampling_prior.fitted_on"]) > 0

    loaded = load(tmp_path / "gmm", device="cpu")
    model, data, dataset_factory = loaded.model, loaded.data, loaded.dataset_factory
    dataset = dataset_factory(split="train")
    plan = BatchPlan(dataset.group_ids, batch_size=16, set_size=data["set_size"], seed=5)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        codes = torch.cat([model.encode(b["x"]).mean for b in batches(dataset, plan, start=0, stop=4)])
        drawn, normal = model.prior(256).mean, torch.randn(256, codes.shape[1])
    assert float(mmd(codes, drawn)) < 0.5 * float(mmd(codes, normal))


def test_a_fit_that_fails_warns_and_keeps_training(repo_root, tiny, tmp_path, monkeypatch):
    """A degenerate fit (here: scikit-learn refusing) must not cost the checkpoint or stop the run."""
    from hbaezoo.components import priors

    def refuse(self, codes):
        raise ValueError("Fitting the mixture model failed")

    monkeypatch.setattr(priors.GaussianMixturePrior, "fit", refuse)
    recipe = os.path.join(repo_root, RECIPE)
    fit([recipe], [*tiny, CPU, *GMM], run_dir=tmp_path / "run", overrides={"steps": 2})
    assert checkpoints(tmp_path / "run" / "checkpoints")


def test_a_mixtures_temperature_scales_its_draws_spread_around_the_components():
    """At temperature τ the draws keep the fitted components and their weights, with τ times their spread."""
    torch.manual_seed(0)
    centres = torch.tensor([[-10.0, 0.0], [10.0, 0.0]])
    codes = torch.cat([centres[0] + torch.randn(500, 2), centres[1] + 3 * torch.randn(500, 2)])
    spreads = {}
    for temperature in (1.0, 0.5):
        prior = PRIORS.get("gmm")(z_dim=2, components=2, temperature=temperature)
        prior.fit(codes)
        torch.manual_seed(1)
        draws = prior.sample(20000)
        left, right = draws[draws[:, 0] < 0], draws[draws[:, 0] >= 0]
        assert abs(len(left) / len(draws) - 0.5) < 0.02  # the weights do not change
        assert torch.allclose(left.mean(0), centres[0], atol=0.15) and torch.allclose(right.mean(0), centres[1], atol=0.3)
        spreads[temperature] = (left.std(0), right.std(0))
    for cold, warm in zip(spreads[0.5], spreads[1.0]):
        assert torch.allclose(cold / warm, torch.full((2,), 0.5), atol=0.03)
    for bad in (0.0, -1.0, float("inf"), float("nan"), "1"):
        with pytest.raises(ConfigError, match="temperature"):
            PRIORS.get("gmm")(z_dim=2, temperature=bad)

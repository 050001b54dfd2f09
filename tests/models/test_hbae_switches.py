"""The HBAE's gradient-path and regulariser switches do what docs/results.md says they do."""

import pytest
import torch
from einops import rearrange
from torch import nn

from hbaezoo.components.heads import DeterministicHead
from hbaezoo.components.regularisers import L1Reconstruction, L2Reconstruction, LaplacianReconstruction
from hbaezoo.errors import ConfigError
from hbaezoo.registry import HEADS, MODELS
from hbaezoo.testing import Sizes, tiny_model


def _model(**kwargs):
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes())
    for key, value in kwargs.items():
        setattr(model, key, value)
    model.regulariser = L1Reconstruction()
    return model


def _grad_norm(params) -> float:
    return sum(float(p.grad.abs().sum()) for p in params if p.grad is not None)


@pytest.mark.parametrize("through", [True, False])
def test_encoder_gets_gradient_through_the_generator_only_when_asked(through):
    model = _model(encoder_through_generator=through)
    z = torch.randn(4, model.z_dim, requires_grad=True)
    model.fakes(z, 2).sum().backward()
    assert (z.grad is not None and z.grad.abs().sum() > 0) == through


def test_regulariser_trains_the_parts_it_names():
    x = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    for parts, critic_has, generator_has in [(("encoder",), True, False), (("generator",), False, True),
                                             (("encoder", "generator"), True, True)]:
        model = _model(regulariser_trains={part: 1.0 for part in parts})
        critic_logs = model.critic_loss(x)[1]
        generator_loss, generator_logs = model.generator_loss(x)
        assert ("regulariser" in critic_logs) == critic_has, parts
        assert ("regulariser" in generator_logs) == generator_has, parts
        if generator_has:
            model.zero_grad()
            generator_loss.backward()
            assert _grad_norm(model.generator.parameters()) > 0
            assert _grad_norm(model.encoder_parameters()) == 0, "z is fixed in the generator phase"


def test_generator_phase_regulariser_lowers_the_reconstruction_error():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes(batch=8))
    model.regulariser = L1Reconstruction(weight=100.0)  # dominates the adversarial term
    model.regulariser_trains = {"generator": 1.0}
    x = {"x": torch.rand(8, 3, 16, 16) * 2 - 1}
    opt = torch.optim.Adam(model.generator.parameters(), lr=1e-3)
    (_, generator_phase) = model.phases()
    with torch.no_grad():
        z = model.encode(x["x"]).mean
        before = float((model.decode_mean(z) - x["x"]).abs().mean())
    for _ in range(30):
        opt.zero_grad()
        generator_phase.loss(x)[0].backward()
        opt.step()
    with torch.no_grad():
        after = float((model.decode_mean(z) - x["x"]).abs().mean())
    assert after < 0.9 * before


def test_regulariser_scales_per_part():
    x = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    torch.manual_seed(0)
    one = tiny_model(MODELS.get("hbae"), Sizes(), regulariser_trains=("encoder", "generator"))
    torch.manual_seed(0)
    scaled = tiny_model(MODELS.get("hbae"), Sizes(), regulariser_trains={"encoder": 1.0, "generator": 0.25})
    torch.manual_seed(1)
    a = one.generator_loss(x)[1]["regulariser"]
    torch.manual_seed(1)
    b = scaled.generator_loss(x)[1]["regulariser"]
    assert torch.allclose(b, 0.25 * a)


def test_code_consistency_teaches_the_generator_to_keep_the_code():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes(batch=8), head=HEADS.get("deterministic"), code_consistency=10.0)
    model.regulariser = None
    x = {"x": torch.rand(8, 3, 16, 16) * 2 - 1}
    logs = model.generator_loss(x)[1]
    assert "code_consistency" in logs
    opt = torch.optim.Adam(model.generator.parameters(), lr=2e-3)
    with torch.no_grad():
        z = model.encode(x["x"]).mean
    torch.manual_seed(2)
    before = float(model.code_error(z))
    for _ in range(40):
        opt.zero_grad()
        model.generator_loss(x)[0].backward()
        opt.step()
    torch.manual_seed(2)
    assert float(model.code_error(z)) < 0.8 * before


def test_code_consistency_encodes_a_sets_draws_as_one_set():
    """A set's code pools its views: K draws that are the set's views, in any order, give the code back
    exactly, where any one view alone does not."""
    from einops import rearrange

    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), head=HEADS.get("deterministic"), code_consistency=1.0).eval()
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        z = model.encode(x).mean
        model.generate = lambda z, k: rearrange(x[:, torch.randperm(4)[:k]], "b k c h w -> (b k) c h w")
        assert float(model.code_error(z, 4)) < 1e-8
        assert float(model.code_error(z, 1)) > 1e-4


def test_sleep_teaches_the_encoder_alone_to_read_each_draw_back_to_its_code():
    """`sleep` s adds s·mean ‖E(G(z'|z)) − z‖² to the critic phase, each of the phase's fakes read as a set of one:
    its gradient reaches the encoder and not the generator, and a few encoder steps on it bring drawn images' codes
    back to the codes that drew them."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), head=HEADS.get("deterministic"), sleep=3.0)
    x = {"x": torch.rand(2, 4, 3, 16, 16) * 2 - 1}
    model.eval()  # spectral norm's power iteration would move the parts between the readings below
    with torch.no_grad():
        torch.manual_seed(5)
        loss, logs = model.critic_loss(x)
        model.sleep = 0.0
        torch.manual_seed(5)
        without, _ = model.critic_loss(x)
        model.sleep = 3.0
        torch.manual_seed(5)
        measured = model.measures(x)["critic_objective"]()
        model.sleep = 0.0
        torch.manual_seed(5)
        measured_without = model.measures(x)["critic_objective"]()
        model.sleep = 3.0
    assert float(logs["sleep"]) > 0
    assert float(loss - without) == pytest.approx(float(logs["sleep"]), rel=1e-4)  # the phase adds it as logged
    assert float(measured - measured_without) == pytest.approx(float(logs["sleep"]), rel=1e-4)  # and so does its measure
    model.train()
    loss, _ = model.critic_loss(x)
    model.zero_grad()
    loss.backward()
    assert _grad_norm(model.encoder.parameters()) > 0
    model.eval()
    z = torch.randn(2, model.z_dim, requires_grad=True)
    fakes = model.generate(z, 4)  # as in the critic phase, fakes and codes carry their graphs
    model.zero_grad()
    term = model.fake_terms(z, fakes, 4)["sleep"]
    alone = torch.stack([model.encode(fakes[i:i + 1, None]).mean[0] for i in range(8)])
    expected = 3.0 * (alone - z.repeat_interleave(4, 0)).pow(2).sum(1).mean()
    assert float(term.detach()) == pytest.approx(float(expected.detach()), rel=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # summed in float32 under autocast, as the divergences are
        assert model.sleep_error(z, fakes, 4).dtype == torch.float32
    term.backward()
    assert z.grad is None and all(p.grad is None for p in model.generator.parameters())
    assert _grad_norm(model.encoder.parameters()) > 0
    z, fakes = z.detach(), fakes.detach()
    optimizer = torch.optim.Adam(model.encoder_parameters(), lr=1e-3)
    before = float(model.sleep_error(z, fakes, 4))
    for _ in range(20):
        optimizer.zero_grad()
        model.sleep_error(z, fakes, 4).backward()
        optimizer.step()
    assert float(model.sleep_error(z, fakes, 4)) < 0.5 * before
    model.sleep = 0.0
    assert model.fake_terms(z, fakes, 4) == {}
    with pytest.raises(ConfigError, match="sleep is a weight"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), sleep=-1.0)


def test_unknown_regularised_part_is_a_clear_error():
    with pytest.raises(ConfigError, match="regulariser_trains"):
        tiny_model(MODELS.get("hbae"), Sizes(), regulariser_trains=("decoder",))


@pytest.mark.parametrize("cls", [L1Reconstruction, L2Reconstruction, LaplacianReconstruction])
def test_sum_reduction_is_the_per_image_norm(cls):
    x, y = torch.rand(5, 3, 8, 8), torch.rand(5, 3, 8, 8)
    mean, total = cls(reduction="mean")(x, y), cls(reduction="sum")(x, y)
    assert torch.allclose(total, mean * 3 * 8 * 8)
    with pytest.raises(ConfigError, match="reduction"):
        cls(reduction="max")


def test_laplacian_with_one_level_is_plain_l1():
    x, y = torch.rand(5, 3, 8, 8), torch.rand(5, 3, 8, 8)
    for reduction in ("mean", "sum"):
        assert torch.allclose(LaplacianReconstruction(levels=1, weight=3.0, reduction=reduction)(x, y),
                              L1Reconstruction(weight=3.0, reduction=reduction)(x, y))


def test_laplacian_counts_an_error_once_at_each_scale_it_spans():
    """An offset a (coarse) plus a checkerboard ±a (fine detail) is 2a, 0, 2a, 0 ... per pixel: L1 reads a,
    the pyramid a at each of the two scales, 2a; either error alone is a to both."""
    a, x = 0.25, torch.zeros(2, 3, 8, 8)
    checker = a * (1 - 2 * ((torch.arange(8)[:, None] + torch.arange(8)) % 2)).float().expand(2, 3, 8, 8)
    offset = torch.full_like(x, a)
    lap, l1 = LaplacianReconstruction(levels=3), L1Reconstruction()
    for error, expected in ((checker, a), (offset, a), (checker + offset, 2 * a)):
        assert torch.allclose(lap(x, x + error), torch.tensor(expected))
    assert torch.allclose(l1(x, x + checker + offset), torch.tensor(a))
    assert float(lap(x, x)) == 0.0


def test_laplacian_bad_levels_are_clear_errors():
    for levels in (0, -1, 2.5, True, "3"):
        with pytest.raises(ConfigError, match="levels"):
            LaplacianReconstruction(levels=levels)
    with pytest.raises(ConfigError, match="divisible by 8"):
        LaplacianReconstruction(levels=4)(torch.zeros(1, 3, 12, 12), torch.zeros(1, 3, 12, 12))


def test_spectral_head_bounds_the_code_scale():
    torch.manual_seed(0)
    head = DeterministicHead(in_dim=16, z_dim=8, spectral=True)
    with torch.no_grad():
        head.linear.parametrizations.weight.original.mul_(100.0)
    f = torch.randn(64, 16)
    for _ in range(20):  # power iteration converges during training-mode calls
        z = head(f).mean
    bias = head.linear.bias
    assert ((z - bias).norm(dim=1) <= f.norm(dim=1) * 1.05).all()
    plain = DeterministicHead(in_dim=16, z_dim=8)
    with torch.no_grad():
        plain.linear.weight.mul_(100.0)
    assert ((plain(f).mean - plain.linear.bias).norm(dim=1) > f.norm(dim=1) * 1.05).any()


@pytest.mark.parametrize("matching", ["nearest", "assignment", "covering"])
def test_matched_draws_are_penalised_for_the_views_they_miss_not_for_their_order(matching):
    """R on matched draws: zero when the K draws are the set's K views in any order; positive when
    the draws all copy one view (the others go uncovered) although each draw is then a real view."""
    from einops import rearrange

    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=1.0, matching=matching)
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    z = torch.zeros(2, model.z_dim)
    model.generate = lambda z, k: rearrange(x[:, torch.randperm(4)], "b k c h w -> (b k) c h w")
    assert float(model.reconstruction_penalty(x, z)) == 0.0
    model.generate = lambda z, k: rearrange(x[:, :1].expand(-1, 4, -1, -1, -1), "b k c h w -> (b k) c h w")
    copied = float(model.reconstruction_penalty(x, z))
    assert copied > 0.0
    # The mean-image R cannot tell the two apart: it never looks at the draws.
    model.regulariser_match = 0.0
    assert float(model.reconstruction_penalty(x, z)) > 0.0


def test_inferred_views_let_r_ask_for_each_element_itself():
    """R on inferred views: zero when G(vᵢ|z) redraws each element exactly; the mean image cannot be,
    for a set of different views. The view head exists only where R uses it, and trains with the encoder."""
    from einops import rearrange

    torch.manual_seed(0)
    # regulariser_match named: a recipe parsed earlier in the same process would lend its 0.5 through gin.
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=1.0, regulariser_match=0.0)
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    z = torch.zeros(2, model.z_dim)
    views = torch.arange(8.0)[:, None].expand(8, model.noise_dim).reshape(2, 4, -1)
    lookup = rearrange(x, "b k c h w -> (b k) c h w")

    class Lookup(torch.nn.Module):
        def forward(self, z, noise):  # the element whose view it was given
            return lookup[noise[:, 0].long()]

    model.generator = Lookup()
    assert float(model.reconstruction_penalty(x, z, views)) == 0.0
    model.regulariser_views = 0.0  # all of R on the mean image G(0|z), which is element 0 for every set here
    assert float(model.reconstruction_penalty(x, z, views)) > 0.0
    assert tiny_model(MODELS.get("set_hbae"), Sizes()).views is None
    head = {id(p) for p in model.views.head.parameters()}
    assert head <= {id(p) for p in model.critic_group_parameters()}


def test_inferred_views_read_one_view_per_element_pulled_towards_the_prior():
    torch.manual_seed(0)
    # classifier named: the semi-supervised recipe, parsed earlier in the same process, would lend one through gin.
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.5, beta=1.0, classifier=None)
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    model.eval()  # spectral norm's power iteration would move the encoder between the two reads
    posterior, views = model.encode_views(x)
    model.train()
    assert views.shape == (2, 4, model.noise_dim)
    assert torch.allclose(posterior.mean, model.eval().encode(x).mean)
    model.train()
    # The critic phase pulls the views towards N(0, I) at the codes' β: a sign slip would make it negative.
    def view_divergence(beta: float) -> float:
        model.beta = beta
        torch.manual_seed(1)
        return float(model.eval().condition({"x": x}, terms=True)[1]["view_divergence"])

    assert view_divergence(1.0) > 0.0
    assert view_divergence(3.0) == pytest.approx(3.0 * view_divergence(1.0))


def test_inferred_views_are_pulled_by_mmd_whatever_divergence_the_codes_have():
    from hbaezoo.registry import DIVERGENCES

    torch.manual_seed(0)  # tiny models have a Gaussian head, so KL can read their codes
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.5, divergence=DIVERGENCES.get("kl")(),
                       classifier=None)
    _, terms = model.condition({"x": torch.rand(2, 4, 3, 16, 16) * 2 - 1}, terms=True)
    assert torch.isfinite(terms["view_divergence"]) and torch.isfinite(terms["divergence"])


def test_regulariser_views_beyond_what_matching_leaves_is_a_clear_error():
    with pytest.raises(ConfigError, match="only R trains, through the encoder"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.5, regulariser_trains=("generator",))
    with pytest.raises(ConfigError, match="regulariser_views must be in"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=0.5, regulariser_views=0.75)
    with pytest.raises(ConfigError, match="set one of them"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.5, regulariser_noise=1.0)


def test_views_within_a_set_hold_what_parts_its_elements_not_what_they_share():
    """With `views_within_set` the view head reads each element's features less their set mean: a set of
    copies has every view at the head's bias, and a set's views always average to it."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=1.0, regulariser_match=0.0,
                       views_within_set=True).eval()
    bias = model.views.head.bias.detach()
    copies = (torch.rand(2, 1, 3, 16, 16) * 2 - 1).expand(2, 4, 3, 16, 16)
    assert torch.allclose(model.encode_views(copies)[1], bias.expand(2, 4, -1), atol=1e-5)
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    views = model.encode_views(x)[1]
    assert torch.allclose(views.mean(1), bias.expand(2, -1), atol=1e-5) and views.std(1).min() > 0
    model.views.within_set = False  # the element's own features: the set's share moves its views
    assert not torch.allclose(model.encode_views(copies)[1], bias.expand(2, 4, -1), atol=1e-3)
    with pytest.raises(ConfigError, match="views_within_set"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.0, views_within_set=True)
    model.views.within_set = True
    with pytest.raises(ConfigError, match="a set of one has nothing"):  # single images: every view the bias
        model.encode_views(x[:, :1])


def test_a_fitted_noise_prior_is_where_sampling_draws_take_z_and_training_draws_do_not():
    """With `noise_prior = priors.gmm` the views of the training sets are fitted after training, and the
    model's sampling draws (set-recon, set-uncond, recon) take z' there; training's draws stay N(0, I)."""
    from hbaezoo.registry import PRIORS

    torch.manual_seed(0)
    # regulariser_trains named: a recipe parsed earlier in the same process would lend R to the generator phase
    # through gin, and R there redraws each element from its own view, which is no draw.
    settings = dict(regulariser_views=1.0, regulariser_match=0.0, regulariser_trains=("encoder",),
                    prior=PRIORS.get("gmm"), noise_prior=PRIORS.get("gmm"))
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), **settings)
    with torch.no_grad():  # every view near 5: far from where N(0, I) draws
        model.views.head.weight.mul_(1e-3)
        model.views.head.bias.fill_(5.0)
    given = []
    forward = model.generator.forward
    model.generator.forward = lambda z, noise: given.append(noise) or forward(z, noise)
    x = torch.rand(6, 4, 3, 16, 16) * 2 - 1
    assert model.estimates
    model.eval()
    model.estimate(iter([{"x": x[:3]}, {"x": x[3:]}]))  # batches arrive once, as the trainer hands them
    assert (int(model.sampling_prior.fitted_on), int(model.views.noise_prior.fitted_on)) == (6, 24)
    model.reconstruct_set(x[:2], 3)
    model.sample_sets(2, 3)
    model.reconstruct(x[:2, 0], 2)
    assert len(given) == 3 and all(torch.allclose(n, torch.full_like(n, 5.0), atol=0.1) for n in given)
    given.clear()
    model.train()
    model.generator_loss({"x": x})  # the generator phase's draws
    assert given and all(abs(float(n.mean())) < 0.5 and 0.5 < float(n.std()) < 1.5 for n in given)
    # The fit is part of the model's state: a checkpoint brings it back.
    twin = tiny_model(MODELS.get("set_hbae"), Sizes(), **settings)
    twin.load_state_dict(model.state_dict())
    assert torch.equal(twin.views.noise_prior.means, model.views.noise_prior.means)
    assert int(twin.views.noise_prior.fitted_on) == 24


def test_a_conditional_noise_prior_draws_each_view_given_its_sets_code():
    """With `noise_prior = priors.conditional_gmm` the views are fitted beside their set's code, and a sampling
    draw asks for its view given the code it draws from."""
    from hbaezoo.registry import PRIORS

    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=1.0, regulariser_match=0.0,
                       regulariser_trains=("encoder",), prior=PRIORS.get("gmm"),
                       noise_prior=PRIORS.get("conditional_gmm")).eval()
    x = torch.rand(6, 4, 3, 16, 16) * 2 - 1
    model.estimate(iter([{"x": x[:3]}, {"x": x[3:]}]))
    prior = model.views.noise_prior
    assert int(prior.fitted_on) == 24 and prior.means.shape[1] == model.z_dim + model.noise_dim
    asked, drawn_from = [], []
    sample, generate = prior.sample, model.generate
    prior.sample = lambda n, given=None: asked.append(given) or sample(n, given=given)
    model.generate = lambda z, k=1, **kw: drawn_from.append(z) or generate(z, k, **kw)
    model.reconstruct_set(x[:2], 3)
    assert len(asked) == len(drawn_from) == 1
    assert torch.equal(asked[0], rearrange(drawn_from[0].repeat(1, 3), "b (k z) -> (b k) z", k=3))
    with pytest.raises(ConfigError, match="given nothing"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), prior=PRIORS.get("conditional_gmm"))


def test_a_noise_prior_fitted_without_views_is_a_clear_error():
    from hbaezoo.registry import PRIORS

    with pytest.raises(ConfigError, match="fitted to the inferred views"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.0, noise_prior=PRIORS.get("gmm"))
    plain = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=0.0, prior=PRIORS.get("normal"))
    assert not plain.estimates  # nothing to fit


def test_regulariser_match_outside_zero_to_one_is_a_clear_error():
    with pytest.raises(ConfigError, match="regulariser_match"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=2.0)
    with pytest.raises(ConfigError, match="matching must be one of"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), matching="greedy")
    with pytest.raises(ConfigError, match="set one of them"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=0.5, regulariser_noise=1.0)
    with pytest.raises(ConfigError, match="mode_seeking is a weight"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), mode_seeking=-1.0)


def test_assignment_is_the_cheapest_one_to_one_pairing():
    from itertools import permutations

    from hbaezoo.models.matching import assignment

    cost = torch.rand(5, 4, 4)
    pairing = assignment(cost)
    assert sorted(pairing[0].tolist()) == [0, 1, 2, 3]  # one draw per element
    for c, p in zip(cost, pairing):
        best = min(sum(float(c[i, j]) for i, j in enumerate(perm)) for perm in permutations(range(4)))
        assert abs(sum(float(c[i, j]) for i, j in enumerate(p.tolist())) - best) < 1e-5


def test_copied_draws_cost_more_under_one_to_one_matching_than_nearest():
    """Draws that all copy one view: nearest matching forgives the copies (each is a real view), the
    one-to-one assignment makes K - 1 of them stand for views they are not."""
    from einops import rearrange

    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    z = torch.zeros(2, 6)
    costs = {}
    for matching in ("nearest", "assignment"):
        torch.manual_seed(0)
        model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=1.0, matching=matching)
        model.generate = lambda z, k: rearrange(x[:, :1].expand(-1, 4, -1, -1, -1), "b k c h w -> (b k) c h w")
        costs[matching] = float(model.reconstruction_penalty(x, z))
    assert costs["assignment"] > 1.5 * costs["nearest"]


@pytest.mark.parametrize("matching", ["covering", "nearest", "assignment"])
def test_more_draws_than_views_are_paired_by_the_matching(matching):
    """M = K·match_draws draws, the set's K views among them: covering and the one-to-one assignment find each
    view its own draw (R = 0); both-ways matching also charges the draws beside the views."""
    from einops import rearrange

    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=1.0, matching=matching, match_draws=3)
    asked = []

    def views_among_others(z, m):
        asked.append(m)
        others = torch.rand(2, m - 4, 3, 16, 16) * 2 - 1
        return rearrange(torch.cat([others, x.flip(1)], 1), "b m c h w -> (b m) c h w")

    model.generate = views_among_others
    cost = float(model.reconstruction_penalty(x, torch.zeros(2, model.z_dim)))
    assert asked == [12]
    assert (cost > 0.0) if matching == "nearest" else (cost == 0.0)


def test_a_single_image_is_covered_by_its_nearest_of_several_draws():
    """A set of one: R on the nearest of match_draws draws is zero when any one draw is the image, and with more
    draws to choose from the nearest is nearer."""
    x = torch.rand(8, 1, 3, 16, 16) * 2 - 1
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes(), regulariser_match=1.0, matching="covering", match_draws=4)
    noise = lambda z, m: torch.rand(len(z) * m, 3, 16, 16) * 2 - 1
    model.generate = lambda z, m: torch.cat([noise(z, m).view(len(z), m, 3, 16, 16)[:, :3], x], 1).flatten(0, 1)
    assert float(model.reconstruction_penalty(x, torch.zeros(8, model.z_dim))) == 0.0
    costs = {}
    for per_view in (1, 8):
        model.match_draws = per_view
        model.generate = noise
        torch.manual_seed(0)
        costs[per_view] = float(model.reconstruction_penalty(x.repeat(8, 1, 1, 1, 1), torch.zeros(64, 6)))
    # Uniform images 768 values apart lie about 0.67 apart in mean |·|, the nearest of 8 about 0.02 nearer; the mean
    # over 64 images varies by about 0.002, so the gap cannot come from the draws' luck.
    assert costs[8] < costs[1] - 0.01


@pytest.mark.parametrize("draws", [0, 1.5, "2", True])
def test_match_draws_must_be_a_whole_number_of_draws(draws):
    with pytest.raises(ConfigError, match="match_draws is how many draws per element"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=0.5, match_draws=draws)


@pytest.mark.parametrize("setting", [dict(match_draws=2), dict(matching="covering"), dict(matching="assignment")])
def test_matching_settings_without_matched_r_are_a_clear_error(setting):
    with pytest.raises(ConfigError, match="only act on the matched part of R"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_match=0.0, **setting)


def test_mode_seeking_penalises_a_generator_that_ignores_its_noise():
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), mode_seeking=1.0)
    z = torch.randn(4, model.z_dim)
    varied = float(model.sameness(z))
    forward = model.generator.forward
    model.generator.forward = lambda z, noise: forward(z, torch.zeros_like(noise))
    assert float(model.sameness(z)) > 100 * varied
    model.generator.forward = forward
    assert "mode_seeking" in model.generator_loss({"x": torch.rand(4, 2, 3, 16, 16) * 2 - 1})[1]


def test_feature_matching_is_zero_for_draws_the_critic_sees_as_the_set_and_grows_away_from_it():
    """The gap compares each set's mean critic features with its own draws': the set's own views (in any
    order within the set) cost nothing; the same views given to the other set, or one view copied, cost more."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), feature_matching=1.0, regulariser_trains=(),
                       regulariser_match=0.0)
    model.eval()  # batch norm off the batch, so only the images decide the features
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    z = torch.randn(2, model.z_dim)

    def gap(draws: torch.Tensor) -> float:  # draws [B, K, C, H, W] as generate() lays them out
        model.generate = lambda z, k: rearrange(draws, "b k c h w -> (b k) c h w")
        return float(model.feature_gap(x, z).detach())

    assert gap(x) < 1e-10
    assert gap(torch.stack([s[torch.randperm(4)] for s in x])) < 1e-10
    assert gap(x.flip(0)) > 1e-4  # each set's views drawn for the other set's code
    assert gap(x[:, :1].expand(-1, 4, -1, -1, -1)) > 1e-4
    del model.generate
    model.train()
    assert "feature_matching" in model.generator_loss({"x": x})[1]


def test_feature_matching_needs_a_critic_with_features():
    class Bare(nn.Module):
        def __init__(self, *, image_shape, cond_dim):
            super().__init__()
            self.w = nn.Linear(1, 1)

        def forward(self, x, z):
            return self.w(x.mean((1, 2, 3))[:, None]).squeeze(1)

    with pytest.raises(ConfigError, match="has no `features"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), feature_matching=1.0, discriminator=Bare)
    with pytest.raises(ConfigError, match="feature_matching is a weight"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), feature_matching=-1.0)


def test_adversarial_weight_scales_the_generators_critic_term_only():
    """The generator phase's adversarial term is weighted in its loss; R is not, and the logs stay unweighted."""
    x = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    losses, logs = {}, {}
    for weight in (1.0, 0.5, 0.0):
        model = _model(adversarial_weight=weight, regulariser_trains={"encoder": 1.0, "generator": 1.0})
        torch.manual_seed(1)
        losses[weight], logs[weight] = model.generator_loss(x)
    for weight in (0.5, 0.0):
        assert float(logs[weight]["adv"]) == pytest.approx(float(logs[1.0]["adv"]), rel=1e-5)
        assert float(logs[weight]["regulariser"]) == pytest.approx(float(logs[1.0]["regulariser"]), rel=1e-5)
        weighted = (1.0 - weight) * float(logs[1.0]["adv"])
        assert float(losses[1.0].detach()) - float(losses[weight].detach()) == pytest.approx(weighted, rel=1e-4)


def test_the_logged_adv_is_the_unweighted_loss_while_the_loss_carries_the_weight(monkeypatch):
    """`generator/adv` compares across adversarial_weight: it is the critic's term before the weight."""
    x = {"x": torch.rand(4, 3, 16, 16) * 2 - 1}
    model = _model(adversarial_weight=2.0, regulariser_trains={"encoder": 1.0, "generator": 1.0})
    unweighted = []
    generator = model.adversarial.generator
    monkeypatch.setattr(model.adversarial, "generator",
                        lambda fake: unweighted.append(generator(fake)) or unweighted[-1])
    loss, logs = model.generator_loss(x)
    assert len(unweighted) == 1 and float(unweighted[0].detach()) != 0.0
    assert float(logs["adv"]) == pytest.approx(float(unweighted[0].detach()), rel=1e-6)
    others = sum(float(v) for name, v in logs.items() if name != "adv")
    assert float(loss.detach()) == pytest.approx(2.0 * float(unweighted[0].detach()) + others, rel=1e-5)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf")])
def test_an_adversarial_weight_that_is_no_weight_is_refused(weight):
    with pytest.raises(ConfigError, match="adversarial_weight"):
        tiny_model(MODELS.get("hbae"), Sizes(), adversarial_weight=weight)


def test_an_adversarial_weight_of_zero_needs_another_loss_for_the_generator():
    with pytest.raises(ConfigError, match="no loss at all"):
        tiny_model(MODELS.get("hbae"), Sizes(), adversarial_weight=0.0, regulariser_trains=("encoder",))
    tiny_model(MODELS.get("hbae"), Sizes(), adversarial_weight=0.0, regulariser_trains=("encoder", "generator"))


def test_subset_codes_read_a_training_code_off_part_of_each_set_and_sampling_off_all_of_it():
    """With `subset_codes` p a share p of training steps conditions on the code of m of each set's elements,
    m in 1 … K − 1, the same elements of every set; the other steps, and every code sampling reads, pool all K.
    R still asks that code for every element, each from its view read off the whole set."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), regulariser_views=1.0, regulariser_match=0.0,
                       views_within_set=True, subset_codes=1.0, classifier=None).eval()
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    features = model.element_features(x)
    pooled = []
    pool = model.pooler.forward
    model.pooler.forward = lambda f: pooled.append(f.detach()) or pool(f)
    for _ in range(60):
        code = model.training_code(features).mean
        kept = pooled[-1]
        assert 1 <= kept.shape[1] < 4
        # The pooled rows are the same elements of each set: the code is theirs.
        rows = [int((features[0] - row).abs().sum(1).argmin()) for row in kept[0]]
        assert torch.allclose(kept, features[:, rows]) and len(set(rows)) == len(rows)
        assert torch.allclose(code, model.code(features[:, rows]).mean)
    assert {f.shape[1] for f in pooled} == {1, 2, 3}
    pooled.clear()
    model.encode(x)
    assert pooled[-1].shape[1] == 4, "sampling reads the whole set"
    # The critic phase: R on all 4 elements of each set, from views of the whole set (a set of one has none).
    seen = []
    compare = model.regulariser.forward
    model.regulariser.forward = lambda real, fake: seen.append(real.shape[0]) or compare(real, fake)
    model.condition({"x": x}, terms=True)
    assert seen == [8] and pooled[-1].shape[1] < 4
    model.subset_codes = 0.5
    pooled.clear()
    for _ in range(200):
        model.training_code(features)
    whole = sum(f.shape[1] == 4 for f in pooled)
    assert 60 < whole < 140, whole
    model.subset_codes = 0.0
    pooled.clear()
    model.condition({"x": x}, terms=False)
    assert pooled[-1].shape[1] == 4
    with pytest.raises(ConfigError, match="subset_codes"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), subset_codes=1.5)


def test_view_codes_pull_each_elements_own_code_to_its_sets():
    """`view_codes` w adds w·mean ‖E(xᵢ) − E(x)‖² to the critic phase: zero for a set of copies, positive for a
    set of different views, and its gradient moves the element's code, not the set's (the fixed target)."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("set_hbae"), Sizes(), view_codes=2.0, classifier=None).eval()
    copies = (torch.rand(2, 1, 3, 16, 16) * 2 - 1).expand(2, 4, 3, 16, 16)
    assert float(model.one_view_gap(model.element_features(copies)).detach()) == pytest.approx(0.0, abs=1e-8)
    x = torch.rand(2, 4, 3, 16, 16) * 2 - 1
    features = model.element_features(x).detach()
    alone = torch.stack([model.code(features[:, i:i + 1]).mean for i in range(4)], 1)
    expected = (alone - model.code(features).mean[:, None]).pow(2).sum(-1).mean().detach()
    gap = model.one_view_gap(features).detach()
    assert float(gap) == pytest.approx(float(expected), rel=1e-5) and float(gap) > 0
    _, terms = model.condition({"x": x}, terms=True)
    with torch.no_grad():
        assert float(terms["view_codes"].detach()) == pytest.approx(2.0 * float(model.one_view_gap(model.element_features(x))),
                                                           rel=1e-5)
    # A step on the gap alone brings the element's codes to the set's.
    optimizer = torch.optim.SGD(model.encoder_parameters(), lr=1e-2)
    before = float(model.one_view_gap(model.element_features(x)).detach())
    for _ in range(5):
        optimizer.zero_grad()
        model.one_view_gap(model.element_features(x)).backward()
        optimizer.step()
    assert float(model.one_view_gap(model.element_features(x)).detach()) < before
    model.view_codes = 0.0
    assert "view_codes" not in model.condition({"x": x}, terms=True)[1]
    with pytest.raises(ConfigError, match="view_codes is a weight"):
        tiny_model(MODELS.get("set_hbae"), Sizes(), view_codes=-1.0)

"""Directions of adversarial losses on toy problems; MMD and KL against what they must equal."""

import pytest
import torch
from torch import nn

from hbaezoo.components.divergences import MMD, kl_to_standard_normal, mmd
from hbaezoo.components.posterior import Posterior
from hbaezoo.registry import ADVERSARIAL_LOSSES, MODELS
from hbaezoo.testing import Sizes, check_phase_directions, tiny_model


@pytest.mark.parametrize("name", ADVERSARIAL_LOSSES.names())
def test_one_sgd_step_moves_a_toy_critic_and_generator_the_right_way(name):
    """1-D toy: real data at +1; a linear critic and a shift generator take one step each."""
    loss = ADVERSARIAL_LOSSES.get(name)()
    torch.manual_seed(0)
    real = torch.randn(256, 1) * 0.1 + 1.0
    noise = torch.randn(256, 1) * 0.1
    critic, shift = nn.Linear(1, 1), nn.Parameter(torch.tensor(-1.0))
    fake = (noise + shift).detach()
    before_real, before_fake = critic(real).mean().item(), critic(fake).mean().item()
    opt = torch.optim.SGD(critic.parameters(), lr=0.1)
    loss.critic(critic(real).squeeze(1), critic(fake).squeeze(1)).backward()
    opt.step()
    assert critic(real).mean().item() > before_real, "critic step must raise D on real data"
    assert critic(fake).mean().item() < before_fake, "critic step must lower D on fakes"

    score_before = critic(noise + shift).mean().item()
    gen_opt = torch.optim.SGD([shift], lr=0.1)
    loss.generator(critic(noise + shift).squeeze(1)).backward()
    gen_opt.step()
    assert critic(noise + shift).mean().item() > score_before, "generator step must raise D on its fakes"


@pytest.mark.parametrize("adversarial", ADVERSARIAL_LOSSES.names())
@pytest.mark.parametrize("model", ["hbae", "gan", "cgan", "vae_gan", "bigan"])
def test_real_phases_move_the_game_the_right_way_with_every_adversarial_loss(model, adversarial):
    """The model's own phases, stepped once each: the critic widens D(real) − D(fake) (HBAE: lowers
    −margin + β·MMD + λ·L1), the generator narrows it. Swapping critic(real, fake) or negating a
    generator loss fails here."""
    sizes = Sizes(batch=4, set_size=2, resolution=8, z_dim=4, noise_dim=4, num_classes=3)
    torch.manual_seed(0)
    built = tiny_model(MODELS.get(model), sizes, adversarial=ADVERSARIAL_LOSSES.get(adversarial)())
    batch = {"x": torch.rand(4, 2, 3, 8, 8) * 2 - 1, "y": torch.arange(4) % 3}
    check_phase_directions(model, built, batch)


def test_hbae_phases_with_the_shipped_recipes_switches_move_their_objectives():
    """R on the generator at λ = 100, no encoder gradient through the fakes (gin/hbae_shapes.gin)."""
    from hbaezoo.components.regularisers import L1Reconstruction

    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes(batch=4, set_size=2, resolution=8),
                       regulariser=L1Reconstruction(weight=100.0), regulariser_trains=("encoder", "generator"),
                       encoder_through_generator=False, adversarial=ADVERSARIAL_LOSSES.get("hinge")())
    assert [p.lowers for p in model.phases()] == [("critic_objective",), ("generator_objective",)]
    check_phase_directions("hbae", model, {"x": torch.rand(4, 2, 3, 8, 8) * 2 - 1})


# Each term of the HBAE's phases made to lead in turn (weights far above the adversarial
# term's), with the phase that carries it: a sign slip in that term must fail the check.
# (`sleep` is not here: its target, the code, moves with the encoder it trains, so a step along its gradient need not
# lower it once the code is read again; tests/models/test_hbae_switches.py checks its value, sign and steps.)
LEADING_TERMS = {
    "divergence": ("critic", dict(beta=1e3)),
    "encoder R": ("critic", dict(regulariser_weight=1e3, regulariser_trains=("encoder",))),
    "generator R": ("generator", dict(regulariser_weight=1e3, regulariser_trains=("generator",))),
    "code consistency": ("generator", dict(code_consistency=1e3, regulariser_trains=())),
    "generator R on matched draws": ("generator", dict(regulariser_weight=1e3, regulariser_trains=("generator",),
                                                       regulariser_match=1.0)),
    "encoder R, half on matched draws": ("critic", dict(regulariser_weight=1e3, regulariser_trains=("encoder",),
                                                        regulariser_match=0.5)),
    "mode seeking": ("generator", dict(mode_seeking=1e3, regulariser_trains=())),
    "feature matching": ("generator", dict(feature_matching=1e3, regulariser_trains=())),
    "encoder R on inferred views": ("critic", dict(regulariser_weight=1e4, regulariser_trains=("encoder",),
                                                   regulariser_views=1.0, regulariser_match=0.0)),
    "generator R on inferred views": ("generator", dict(regulariser_weight=1e3, regulariser_views=1.0,
                                                        regulariser_match=0.0,
                                                        regulariser_trains={"encoder": 1e-3, "generator": 1.0})),
    "generator R on assigned draws": ("generator", dict(regulariser_weight=1e3, regulariser_trains=("generator",),
                                                        regulariser_match=1.0, matching="assignment")),
    "generator R on covered draws": ("generator", dict(regulariser_weight=1e3, regulariser_trains=("generator",),
                                                       regulariser_match=1.0, matching="covering", match_draws=3)),
}


def _leading(term: str):
    from hbaezoo.components.regularisers import L1Reconstruction

    _, options = LEADING_TERMS[term]
    options = dict(options)
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("hbae"), Sizes(batch=4, set_size=2, resolution=8),
                       regulariser=L1Reconstruction(weight=options.pop("regulariser_weight", 1.0)), **options)
    return model, {"x": torch.rand(4, 2, 3, 8, 8) * 2 - 1}


@pytest.mark.parametrize("term", LEADING_TERMS)
def test_a_sign_slip_in_any_term_of_the_hbae_phases_fails_the_check(term):
    model, batch = _leading(term)
    check_phase_directions("hbae", model, batch)  # as written: passes
    phase, _ = LEADING_TERMS[term]
    if phase == "critic":
        condition = model.condition

        def slipped(batch, terms):
            z, out = condition(batch, terms)
            key = "divergence" if term == "divergence" else "regulariser"
            return z, {**out, key: -out[key]} if terms else out

        model.condition = slipped
    else:
        generator_terms = model.generator_terms
        model.generator_terms = lambda batch, z: {k: -v for k, v in generator_terms(batch, z).items()}
    with pytest.raises(AssertionError, match=f"step of phase '{phase}' should lower"):
        check_phase_directions("hbae", model, batch)


def test_a_phase_that_moves_its_measure_the_wrong_way_fails_the_check():
    """The check itself can fail: a GAN whose generator loss is negated."""
    torch.manual_seed(0)
    model = tiny_model(MODELS.get("gan"), Sizes(resolution=8))
    real_loss = model.generator_loss
    model.generator_loss = lambda batch: tuple(-t if i == 0 else t for i, t in enumerate(real_loss(batch)))
    batch = {"x": torch.rand(3, 1, 3, 8, 8) * 2 - 1}
    with pytest.raises(AssertionError, match="should lower 'margin'"):
        check_phase_directions("gan", model, batch)


def test_mmd_is_near_zero_for_equal_distributions_and_grows_with_a_shift():
    torch.manual_seed(0)
    a, b = torch.randn(512, 8), torch.randn(512, 8)
    same = mmd(a, b).item()
    assert abs(same) < 5e-3
    values = [mmd(a, b + shift).item() for shift in (0.25, 0.5, 1.0, 2.0)]
    assert values[0] > 5 * abs(same) and values == sorted(values)
    for kernel in ("imq", "rbf"):
        assert mmd(a, b + 1.0, kernel=kernel) > mmd(a, b, kernel=kernel) + 1e-2


def test_mmd_divergence_prefers_codes_that_look_like_the_prior():
    torch.manual_seed(0)
    div = MMD()
    assert div(Posterior(torch.randn(256, 4))) < div(Posterior(torch.randn(256, 4) * 3 + 2))


def test_kl_matches_monte_carlo():
    torch.manual_seed(0)
    mean, logvar = torch.randn(4, 3), torch.randn(4, 3) * 0.5
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(kl_to_standard_normal(mean, logvar), monte_carlo, rtol=0.03, atol=0.01)


def test_divergences_of_half_precision_codes_are_computed_in_float32():
    """Under bf16 autocast the encoder hands over bf16 codes; MMD² of order 0.01 to 1 in bf16 rounds to steps of
    about 1/64 (often to 0). The divergences upcast first, so bf16 codes give the float32 value of those codes."""
    torch.manual_seed(0)
    x, y = torch.randn(64, 32) * 1.1 + 0.1, torch.randn(64, 32)
    xb, yb = x.bfloat16(), y.bfloat16()
    exact = mmd(xb.float(), yb.float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = mmd(xb, yb)
    assert half.dtype == torch.float32 and float(half) == pytest.approx(float(exact), rel=1e-5)
    assert float(exact) > 0.01
    mean, logvar = torch.randn(8, 32).bfloat16(), (0.1 * torch.randn(8, 32)).bfloat16()
    kl = kl_to_standard_normal(mean, logvar)
    assert kl.dtype == torch.float32
    assert torch.allclose(kl, kl_to_standard_normal(mean.float(), logvar.float()))
    double = mmd(x.double(), y.double())  # what is already wider stays so
    assert double.dtype == torch.float64

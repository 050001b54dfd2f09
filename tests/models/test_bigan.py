"""BiGAN: its phases move the game the declared way (and a sign slip in any term fails that check),
the joint critic is what tells pairs apart, and the capabilities the tables need work."""

import pytest
import torch

from hbaezoo.registry import ADVERSARIAL_LOSSES, DISCRIMINATORS, MODELS
from hbaezoo.testing import Sizes, check_model, check_phase_directions, tiny_model

SIZES = Sizes(batch=4, set_size=1, resolution=8, z_dim=4, noise_dim=0)


def joint(**kw):
    return DISCRIMINATORS.get("joint")(width=8, **kw)


def bigan(adversarial="hinge", **overrides):
    torch.manual_seed(0)
    return tiny_model(MODELS.get("bigan"), SIZES, discriminator=joint, noise_dim=0,
                      adversarial=ADVERSARIAL_LOSSES.get(adversarial)(), **overrides)


def batch(k: int = 1):
    torch.manual_seed(1)
    return {"x": torch.rand(4, k, 3, 8, 8) * 2 - 1}


def bigan_with_joint_critic(*, image_shape, num_classes=0, encoder, pooler, head, generator, discriminator=None,
                            adversarial=None, z_dim=4, noise_dim=0):
    """models.bigan with the joint critic in the discriminator slot (tiny_model fills it with the projection one)."""
    return MODELS.get("bigan")(image_shape=image_shape, num_classes=num_classes, encoder=encoder, pooler=pooler,
                               head=head, generator=generator, discriminator=joint, adversarial=adversarial,
                               z_dim=z_dim, noise_dim=noise_dim)


def test_bigan_with_the_joint_critic_passes_the_model_checks():
    check_model(bigan_with_joint_critic, SIZES, name="bigan+joint")


@pytest.mark.parametrize("adversarial", ADVERSARIAL_LOSSES.names())
@pytest.mark.parametrize("k", [1, 3])
def test_bigan_phases_move_the_game_the_right_way(adversarial, k):
    """The critic lowers its loss on (x, E(x)) against (G(z), z); the encoder lowers D(x, E(x)), the generator
    raises D(G(z), z), images and sets alike."""
    check_phase_directions("bigan", bigan(adversarial), batch(k))


@pytest.mark.parametrize("term", ["adv", "encoder_adv"])
def test_a_sign_slip_in_either_players_term_fails_the_check(term):
    model = bigan()
    terms = model.player_terms
    model.player_terms = lambda real, fake: {k: (-v if k == term else v) for k, v in terms(real, fake).items()}
    wanted = "lower 'real_score'" if term == "encoder_adv" else "raise 'fake_score'"
    with pytest.raises(AssertionError, match=f"step of phase 'generator' should {wanted}"):
        check_phase_directions("bigan", model, batch())


def test_a_critic_that_swaps_real_and_fake_fails_the_check():
    model = bigan()
    loss = model.adversarial

    class Swapped:
        def critic(self, real, fake):
            return loss.critic(fake, real)

        generator = staticmethod(loss.generator)

    real_loss = model.critic_loss
    model.critic_loss = lambda b: (lambda out: (Swapped().critic(*model.scores(b, players=False)), out[1]))(real_loss(b))
    with pytest.raises(AssertionError, match="step of phase 'critic' should lower 'critic_objective'"):
        check_phase_directions("bigan", model, batch())


def test_the_joint_critic_scores_the_pair_not_the_image_alone():
    torch.manual_seed(0)
    critic = DISCRIMINATORS.get("joint")(image_shape=(3, 8, 8), cond_dim=4, width=8)
    x, z = torch.rand(5, 3, 8, 8) * 2 - 1, torch.randn(5, 4)
    with torch.no_grad():
        same, other = critic(x, z), critic(x, z.flip(0))
    assert (same - other).abs().max() > 1e-4, "the code must change the score of an image"


def test_bigan_encodes_samples_reconstructs_and_chains():
    model = bigan().eval()
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    assert model.encode(x).mean.shape == (3, 4)
    assert model.encode(x.unsqueeze(1).expand(3, 2, 3, 8, 8)).mean.shape == (3, 4), "set codes for the probe"
    assert model.sample(5, 2).shape == (2, 5, 3, 8, 8)
    assert model.reconstruct(x, 2).shape == (2, 3, 3, 8, 8)
    assert model.markov_chain(x, 2).shape == (3, 3, 3, 8, 8)
    assert model.sample_sets(2, 3).shape == (2, 3, 3, 8, 8)


def test_the_critic_phase_leaves_encoder_and_generator_out_of_its_graph():
    """The critic phase trains D only: no gradient is computed through E or G there."""
    model = bigan()
    loss, _ = model.critic_loss(batch())
    loss.backward()
    assert all(p.grad is None for p in [*model.encoder_parameters(), *model.generator.parameters()])
    assert any(p.grad is not None for p in model.discriminator.parameters())

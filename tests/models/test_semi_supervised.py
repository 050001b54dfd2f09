"""Semi-supervised HBAE / Set-HBAE (paper §3): the labelled fraction is honoured (whole groups, by seed), the
classifier's cross-entropy reads only the labels a batch carries, and its sign matters."""

import json

import pytest
import torch

from hbaezoo.data.base import TensorImageDataset
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.data.labelled import UNLABELLED, labelled_mask
from hbaezoo.errors import ConfigError
from hbaezoo.registry import CLASSIFIERS, MODELS
from hbaezoo.testing import Sizes, check_phase_directions, tiny_model

GROUPS = torch.arange(200).repeat_interleave(5)  # 200 objects of 5 views


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1, 0.5])
def test_the_labelled_fraction_is_a_fraction_of_whole_groups(fraction):
    known = labelled_mask(GROUPS, fraction, seed=0)
    labelled_groups = GROUPS[known].unique()
    assert len(labelled_groups) == round(fraction * 200)
    assert known.sum() == 5 * len(labelled_groups), "a group is labelled in all its views or in none"


def test_the_labelled_groups_depend_on_the_seed_alone():
    assert torch.equal(labelled_mask(GROUPS, 0.1, seed=3), labelled_mask(GROUPS, 0.1, seed=3))
    assert not torch.equal(labelled_mask(GROUPS, 0.1, seed=3), labelled_mask(GROUPS, 0.1, seed=4))
    small = labelled_mask(GROUPS, 0.05, seed=3)
    assert small.sum() > 0 and labelled_mask(GROUPS, 0.001, seed=3).sum() == 5, "a positive fraction labels a group"
    assert labelled_mask(GROUPS, 0.0, seed=3).sum() == 0 and labelled_mask(GROUPS, 1.0, seed=3).all()


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.1", True])
def test_a_bad_fraction_says_what_it_must_be(bad):
    with pytest.raises(ConfigError, match="labelled_fraction .* must be a number in \\[0, 1\\]"):
        labelled_mask(GROUPS, bad, seed=0)


@pytest.mark.parametrize("set_size", [None, 3])
def test_training_batches_carry_only_the_labels_of_labelled_groups(set_size):
    labels = (torch.arange(200) % 7).repeat_interleave(5)
    dataset = TensorImageDataset(torch.zeros(1000, 3, 4, 4, dtype=torch.uint8), labels, GROUPS,
                                 class_names=tuple("abcdefg"))
    known = labelled_mask(GROUPS, 0.1, seed=0)
    plan = BatchPlan(GROUPS, batch_size=16, set_size=set_size, seed=0)
    seen_known = seen_hidden = 0
    for step, batch in enumerate(batches(dataset, plan, start=0, stop=60, known=known)):
        idx = plan.indices(step)
        first = idx if idx.ndim == 1 else idx[:, 0]
        expected = torch.where(known[first], labels[first], torch.full_like(labels[first], UNLABELLED))
        assert torch.equal(batch["y"], expected)
        seen_known += int(known[first].sum())
        seen_hidden += int((~known[first]).sum())
    assert seen_known > 0 and seen_hidden > 5 * seen_known, "about a tenth of the examples keep their label"


def semi(weight: float = 1e3, classifier: str = "linear"):
    """A tiny Set-HBAE read as the recipes read it: point-mass codes, hinge loss (the linear loss lets codes grow)."""
    from hbaezoo.registry import ADVERSARIAL_LOSSES, HEADS

    torch.manual_seed(0)
    return tiny_model(MODELS.get("set_hbae"), Sizes(batch=4, set_size=2, resolution=8), supervised_weight=weight,
                      classifier=CLASSIFIERS.get(classifier), head=HEADS.get("deterministic"),
                      adversarial=ADVERSARIAL_LOSSES.get("hinge")())


def batch(labels=(0, UNLABELLED, 2, 1)):
    torch.manual_seed(1)
    return {"x": torch.rand(4, 2, 3, 8, 8) * 2 - 1, "y": torch.tensor(labels)}


@pytest.mark.parametrize("classifier", CLASSIFIERS.names())
def test_the_supervised_term_moves_the_critic_objective_down_and_a_sign_slip_fails(classifier):
    """With the classifier's cross-entropy leading the critic phase, the phase check passes as written and
    fails once the term's sign is flipped."""
    model = semi(classifier=classifier)
    check_phase_directions("semi set_hbae", model, batch())
    condition = model.condition
    model.condition = lambda b, terms: (lambda z, out: (z, {**out, "supervised": -out["supervised"]} if terms else out))(
        *condition(b, terms))
    with pytest.raises(AssertionError, match="step of phase 'critic' should lower 'critic_objective'"):
        check_phase_directions("semi set_hbae", model, batch())


def test_unlabelled_examples_add_nothing_and_the_classifier_trains_with_the_critic():
    model = semi(weight=1.0)
    assert {id(p) for p in model.classifier.parameters()} <= {id(p) for p in model.param_groups()["critic"]}
    _, out = model.condition(batch((UNLABELLED,) * 4), terms=True)
    assert float(out["supervised"].detach()) == 0.0
    torch.manual_seed(5)
    _, labelled = model.condition(batch((0, 1, 2, 3)), terms=True)
    assert float(labelled["supervised"].detach()) > 0


def test_the_classifier_learns_the_labels_it_is_given():
    """Sixty critic steps on a toy batch with a leading supervised term: its cross-entropy falls and the
    model's own classify() gets the labelled sets right."""
    model = semi(weight=10.0)
    b = batch((0, 1, 2, 3))
    opt = torch.optim.Adam(model.param_groups()["critic"], lr=1e-2)
    (critic, _) = model.phases()
    first = None
    for _ in range(60):
        loss, logs = critic.loss(b)
        first = float(logs["supervised"]) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.condition(b, terms=True)[1]["supervised"].detach()) < 0.5 * first
    assert model.eval().classify(b["x"]).argmax(1).tolist() == [0, 1, 2, 3]


def test_a_classifier_without_labels_or_a_fraction_without_labels_explains():
    with pytest.raises(ConfigError, match="class labels"):
        tiny_model(MODELS.get("hbae"), Sizes(num_classes=0), classifier=CLASSIFIERS.get("linear"))
    with pytest.raises(ConfigError, match="supervised_weight"):
        tiny_model(MODELS.get("hbae"), Sizes(), classifier=CLASSIFIERS.get("linear"), supervised_weight=-1.0)


def test_a_run_records_the_fraction_it_saw(tiny, tmp_path, repo_root):
    from hbaezoo.api import fit

    run_dir = tmp_path / "run"
    fit([f"{repo_root}/gin/semi_set_hbae_shapes.gin"], tiny, run_dir=run_dir, overrides={"steps": 1})
    labelled = json.loads((run_dir / "data.json").read_text())["labelled"]
    assert labelled["fraction"] == 0.05 and labelled["groups"] >= 1


def test_a_fraction_of_labels_on_a_dataset_without_labels_explains(tmp_path):
    from hbaezoo.training.trainer import Trainer

    unlabelled = TensorImageDataset(torch.zeros(8, 3, 8, 8, dtype=torch.uint8), torch.zeros(8), torch.arange(8))
    model = tiny_model(MODELS.get("vae"), Sizes(resolution=8, num_classes=0))
    with pytest.raises(ConfigError, match="hides labels, but the dataset carries none"):
        Trainer(model, unlabelled, tmp_path, batch_size=2, labelled_fraction=0.5, device="cpu", tensorboard=False)


def critic_labelled(**overrides):
    """The tiny Set-HBAE with labels in the critic (the alternative to a head on the codes) and no classifier."""
    from hbaezoo.registry import ADVERSARIAL_LOSSES, HEADS

    torch.manual_seed(0)
    parts = dict(head=HEADS.get("deterministic"), adversarial=ADVERSARIAL_LOSSES.get("hinge")(), classifier=None)
    return tiny_model(MODELS.get("set_hbae"), Sizes(batch=4, set_size=2, resolution=8, num_classes=4), critic_labels=True,
                      **{**parts, **overrides})


def test_critic_labels_widen_the_critic_only_and_read_zero_where_the_label_is_hidden():
    model = critic_labelled()
    assert model.discriminator.cond_dim == model.z_dim + 4 and model.classifier is None
    z = torch.randn(4, model.z_dim)
    cond = model.critic_condition(batch((0, UNLABELLED, 2, 1)), z)
    assert torch.equal(cond[:, :model.z_dim], z)
    assert cond[:, model.z_dim:].tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    model.generate(z, 2)  # G is still given z alone
    plain = semi()
    assert plain.critic_condition(batch(), z) is z, "without critic labels the critic reads z, as before"


def test_critic_labels_pass_the_phase_checks_and_reach_the_critic_for_the_labelled_classes_only():
    """Both phases read the labels: the critic's projection gets gradient in the columns of the classes the
    batch labels and none in another's, and hiding the labels changes both phases' losses."""
    from hbaezoo.registry import DISCRIMINATORS

    b = batch((0, UNLABELLED, 2, 1))
    check_phase_directions("critic-labelled set_hbae", critic_labelled(), b)
    model = critic_labelled(discriminator=lambda **kw: DISCRIMINATORS.get("projection")(width=8, spectral=False, **kw))
    critic, generator = model.phases()
    torch.manual_seed(2)
    loss, _ = critic.loss(b)
    loss.backward()
    label_grad = model.discriminator.project.weight.grad[model.z_dim:].abs().sum(1)  # [classes]
    assert (label_grad[[0, 1, 2]] > 0).all() and label_grad[3] == 0, label_grad
    for phase in (critic, generator):
        torch.manual_seed(3)
        labelled = float(phase.loss(b)[0].detach())
        torch.manual_seed(3)
        assert float(phase.loss(batch((UNLABELLED,) * 4))[0].detach()) != labelled, phase.name


def test_critic_labels_without_classes_explain():
    with pytest.raises(ConfigError, match="critic_labels needs a dataset with class labels"):
        tiny_model(MODELS.get("hbae"), Sizes(num_classes=0), critic_labels=True)
    model = critic_labelled()
    with pytest.raises(ConfigError, match="carry no labels"):
        model.critic_condition({"x": torch.zeros(1)}, torch.zeros(1, model.z_dim))

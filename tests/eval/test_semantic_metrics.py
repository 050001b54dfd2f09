"""The category metrics on "models" whose answer is known: one that returns its inputs, one that
returns noise, one that returns an image of another category.

The labeller is the semantic classifier trained on toy shapes (one shape per category, any
colour), right on nearly every real test image; a metric that compared with the wrong labels,
or with the wrong inputs' labels, fails here.
"""

import pytest
import torch
from einops import rearrange

from hbaezoo.data.base import to_float
from hbaezoo.errors import CapabilityError
from hbaezoo.eval.classifier import ClassifierSettings
from hbaezoo.eval.runner import run_metric
from hbaezoo.eval.toy import toy_context, toy_shapes_factory
from hbaezoo.models.base import Model
from hbaezoo.registry import METRICS, MODELS
from hbaezoo.testing import Sizes, tiny_model
from hbaezoo.errors import ConfigError

SETTINGS = ClassifierSettings(epochs=10, width=8, batch_size=32)
CLASSES, SET_SIZE = 4, 4
SEMANTIC = ("recon_agreement", "chain_agreement", "set_coherence", "set_recon_agreement", "set_complete",
            "class_agreement")


class Stub(Model):
    """A model whose every output is `answer(images)` of its inputs; its 'prior' sets are real test sets."""

    display_name = "stub"

    def __init__(self, answer, sets: torch.Tensor) -> None:
        super().__init__(image_shape=tuple(sets.shape[2:]), num_classes=CLASSES)
        self.answer, self.sets = answer, sets

    def reconstruct(self, x, n):
        return self.answer(x).expand(n, *x.shape)

    def markov_chain(self, x, steps):
        chain = [x]
        for _ in range(steps):
            chain.append(self.answer(chain[-1]))
        return torch.stack(chain)

    def reconstruct_set(self, x, k):
        out = rearrange(self.answer(rearrange(x, "b k c h w -> (b k) c h w")), "(b k) c h w -> b k c h w", b=len(x))
        return out[:, torch.arange(k) % x.shape[1]]  # the set's own views, cycled to k elements

    def sample_sets(self, n, k):
        return self.reconstruct_set(self.sets[torch.arange(n) % len(self.sets)], k)


@pytest.fixture(scope="module")
def data():
    factory = toy_shapes_factory(num_classes=CLASSES, objects=6, views=SET_SIZE)
    test = factory(split="test")
    images = to_float(test.images)
    sets = rearrange(images, "(o k) c h w -> o k c h w", k=SET_SIZE)  # the test split lists objects' views in order
    return factory, test, images, sets


def other_category(test, images):
    """Each image -> a test image of the next category (found by exact match of the input)."""
    first = torch.stack([images[(test.labels == (c + 1) % CLASSES).nonzero()[0, 0]] for c in range(CLASSES)])

    def answer(x):
        match = (x[:, None] - images[None]).abs().flatten(2).amax(2).argmin(1)
        return first[test.labels[match]]

    return answer


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")  # one classifier for every stub: trained once, then loaded


def evaluate(data, cache, answer) -> dict[str, dict[str, float]]:
    factory, test, images, sets = data
    ctx = toy_context(Stub(answer, sets), factory=factory, n=len(test), set_size=SET_SIZE, cache_dir=cache)
    return {name: METRICS.get(name)(ctx, classifier=SETTINGS) for name in SEMANTIC}


@pytest.fixture(scope="module")
def echo(data, cache):
    return evaluate(data, cache, lambda x: x)


def test_outputs_equal_to_their_inputs_score_the_real_accuracy(echo):
    recon = echo["recon_agreement"]
    assert recon["real/accuracy"] >= 90 and recon["real/coherent"] >= 75
    assert recon["agreement"] == recon["real/accuracy"] and recon["fraction_of_real"] == 1.0
    chain = echo["chain_agreement"]
    assert [chain[f"step{t}/agreement"] for t in range(1, 7)] == [recon["real/accuracy"]] * 6
    assert chain["step6/fid"] < 1e-6 and chain["step6/classes"] == chain["real/classes"] == CLASSES
    for name in ("set_recon_agreement", "set_complete"):
        assert echo[name]["agreement"] >= 90 and echo[name]["fraction_of_real"] >= 0.9, name
        assert echo[name]["coherent"] >= 75, name


def test_per_category_agreement_names_each_category_and_what_it_is_taken_for(data, cache, echo):
    names = data[1].class_names
    out = echo["class_agreement"]
    assert sum(out[f"{name}/n"] for name in names) == echo["recon_agreement"]["n"]
    for name in names:  # outputs equal to their inputs: each category as well kept as its real images
        assert out[f"{name}/recon"] == out[f"{name}/real"] >= 75
    shifted = evaluate(data, cache, other_category(data[1], data[2]))["class_agreement"]
    for c, name in enumerate(names):  # every image returned as the next category's: all taken for that one
        assert shifted[f"{name}/recon"] <= 10 and shifted[f"{name}/real"] >= 75
        assert shifted[f"{name}/as/{names[(c + 1) % len(names)]}"] >= 90


def test_real_sets_as_samples_are_as_coherent_as_real_sets(echo):
    out = echo["set_coherence"]
    assert out["coherent"] >= 75 and out["majority_classes"] == CLASSES
    assert abs(out["coherent"] - out["real/coherent"]) <= 25
    assert out["mean_top_probability"] > 1 / CLASSES and out["independent_chance"] < 10
    assert abs(out["mean_top_probability"] - out["real/mean_top_probability"]) < 0.1


def test_noise_keeps_no_category(data, cache):
    out = evaluate(data, cache, lambda x: torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    for name in ("recon_agreement", "set_recon_agreement", "set_complete"):
        assert out[name]["agreement"] <= 50 and out[name]["fraction_of_real"] <= 0.5, name
    assert out["chain_agreement"]["step6/agreement"] <= 50
    assert out["set_coherence"]["majority_classes"] <= 2  # every noise set looks alike


def test_images_of_another_category_agree_with_none(data, cache):
    out = evaluate(data, cache, other_category(data[1], data[2]))
    for name in ("recon_agreement", "set_recon_agreement", "set_complete"):
        assert out[name]["agreement"] <= 10, name
        assert out[name]["real/accuracy"] >= 90, name  # the classifier is fine: the outputs are wrong
    steps = [out["chain_agreement"][f"step{t}/agreement"] for t in range(1, 7)]
    assert all(steps[t - 1] <= 10 for t in (1, 2, 3, 5, 6)) and steps[3] >= 90  # 4 steps of +1: back to the category
    assert out["set_coherence"]["coherent"] >= 75  # still one category per set, only not the input's


def test_set_complete_sees_only_the_given_views(data, cache):
    factory, test, images, sets = data
    seen = []

    def answer(x):
        seen.append(len(x))
        return x

    stub = Stub(answer, sets)
    ctx = toy_context(stub, factory=factory, n=len(test), set_size=SET_SIZE, cache_dir=cache)
    out = METRICS.get("set_complete")(ctx, given=3, sets=5, classifier=SETTINGS)
    assert seen == [5 * 3] and out["set_size"] == SET_SIZE and out["given"] == 3
    with pytest.raises(ConfigError, match="must exceed"):
        METRICS.get("set_complete")(ctx, given=2, set_size=2, classifier=SETTINGS)


@pytest.mark.parametrize("name", ["set_recon_agreement", "set_complete", "recon_agreement", "class_agreement"])
def test_a_model_without_a_set_encoder_is_na_before_any_training(name, monkeypatch):
    from hbaezoo.eval import classifier

    monkeypatch.setattr(classifier, "train_classifier", lambda *a, **k: pytest.fail("trained for nothing"))
    gan = tiny_model(MODELS.get("gan"), Sizes())
    entry = run_metric(toy_context(gan), name)
    assert entry["status"] == "n/a" and "reconstruct" in entry["reason"]


@pytest.mark.parametrize("name", SEMANTIC)
def test_data_without_labels_is_na(name):
    ctx = toy_context(tiny_model(MODELS.get("set_hbae"), Sizes()))
    ctx.data = {**ctx.data, "num_classes": 0}
    with pytest.raises(CapabilityError, match="class labels"):
        METRICS.get(name)(ctx)

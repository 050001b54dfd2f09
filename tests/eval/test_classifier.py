"""The semantic classifier: it learns categories, not label noise; it is trained once per dataset and settings."""

import gin
import pytest
import torch

from hbaezoo.eval import classifier as clf
from hbaezoo.eval.classifier import ClassifierSettings, SemanticClassifier, settings_from_gin, train_classifier
from hbaezoo.eval.toy import toy_context, toy_shapes_factory
from hbaezoo.registry import MODELS
from hbaezoo.testing import Sizes, tiny_model
from hbaezoo.errors import ConfigError

#: Enough steps for the toy shapes (about half a second on one core).
FAST = ClassifierSettings(epochs=10, width=8, batch_size=32)


@pytest.fixture(scope="module")
def shapes():
    factory = toy_shapes_factory(num_classes=6)
    return factory(split="train"), factory(split="test")


def accuracy(net: SemanticClassifier, dataset) -> float:
    return float((net.predict(dataset.images) == dataset.labels).double().mean())


def test_it_learns_shapes_of_any_colour_far_above_chance(shapes):
    train, test = shapes
    net = train_classifier(train.images, train.labels, num_classes=6, settings=FAST)
    assert accuracy(net, test) >= 0.9  # chance: 1/6; test objects have colours and sizes of their own


def test_shuffled_labels_fall_to_chance(shapes):
    train, test = shapes
    shuffled = train.labels[torch.randperm(len(train.labels), generator=torch.Generator().manual_seed(0))]
    net = train_classifier(train.images, shuffled, num_classes=6, settings=FAST)
    assert accuracy(net, test) < 0.35


def test_training_is_deterministic_and_labels_blurred_and_noisy_images_alike(shapes):
    train, test = shapes
    a = train_classifier(train.images, train.labels, num_classes=6, settings=FAST)
    b = train_classifier(train.images, train.labels, num_classes=6, settings=FAST)
    assert torch.equal(a.probabilities(test.images), b.probabilities(test.images))
    from torchvision.transforms.v2.functional import gaussian_blur

    from hbaezoo.data.base import to_float, to_uint8

    x = to_float(test.images)
    blurred = to_uint8(gaussian_blur(x, 5, [0.5]))  # the strongest blur trained at 16 px
    noisy = to_uint8(x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1)))
    assert (a.predict(blurred) == test.labels).double().mean() >= 0.9
    assert (a.predict(noisy) == test.labels).double().mean() >= 0.95


def _context(cache_dir, seed: int = 0):
    model = tiny_model(MODELS.get("set_hbae"), Sizes())
    return toy_context(model, factory=toy_shapes_factory(), cache_dir=cache_dir, seed=seed)


@pytest.fixture
def count_trainings(monkeypatch):
    calls = []
    real = clf.train_classifier

    def counting(*args, **kwargs):
        calls.append(kwargs["settings"])
        return real(*args, **kwargs)

    monkeypatch.setattr(clf, "train_classifier", counting)
    return calls


def test_it_is_trained_once_per_dataset_and_settings_then_read_from_the_cache(tmp_path, count_trainings):
    net = clf.trained_classifier(_context(tmp_path), FAST)
    files = list((tmp_path / "semantic_classifier").glob("*.safetensors"))
    assert len(count_trainings) == 1 and len(files) == 1 and files[0].with_suffix(".json").is_file()
    stamp = files[0].stat().st_mtime_ns

    ctx = _context(tmp_path, seed=5)  # another evaluation (another seed) of the same data
    again = clf.trained_classifier(ctx, FAST)
    assert len(count_trainings) == 1, "a cached classifier was trained again"
    assert "loaded from" in ctx.info["semantic_classifier"] and files[0].stat().st_mtime_ns == stamp
    images = ctx.load("test", torch.arange(8))
    assert torch.equal(net.probabilities(images), again.probabilities(images))
    assert clf.trained_classifier(ctx, FAST) is again  # memoised within one evaluation

    clf.trained_classifier(_context(tmp_path), ClassifierSettings(epochs=2, width=8))  # other settings: another file
    assert len(count_trainings) == 2 and len(list((tmp_path / "semantic_classifier").glob("*.safetensors"))) == 2


def test_other_data_with_the_same_description_gets_its_own_classifier(tmp_path, count_trainings):
    clf.trained_classifier(_context(tmp_path), FAST)
    model = tiny_model(MODELS.get("set_hbae"), Sizes())
    other = toy_context(model, factory=toy_shapes_factory(seed=1), cache_dir=tmp_path)
    assert other.data == _context(tmp_path).data  # same sizes, same class names
    clf.trained_classifier(other, FAST)
    assert len(count_trainings) == 2


def test_a_damaged_cache_file_is_retrained_and_no_cache_dir_writes_nothing(tmp_path, count_trainings):
    clf.trained_classifier(_context(tmp_path), FAST)
    (path,) = (tmp_path / "semantic_classifier").glob("*.safetensors")
    path.write_bytes(b"not a safetensors file")
    clf.trained_classifier(_context(tmp_path), FAST)
    assert len(count_trainings) == 2 and path.stat().st_size > 100

    ctx = _context(None)
    clf.trained_classifier(ctx, FAST)
    assert "not cached" in ctx.info["semantic_classifier"] and len(count_trainings) == 3


def test_settings_come_from_gin_bindings_when_not_given():
    try:
        gin.parse_config("semantic_classifier.epochs = 3\nsemantic_classifier.width = 12")
        settings = settings_from_gin()
    finally:
        gin.clear_config()
    assert type(settings) is ClassifierSettings and (settings.epochs, settings.width) == (3, 12)
    assert settings_from_gin() == ClassifierSettings()
    assert settings_from_gin(FAST) == FAST


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"width": 2.5}, {"noise": -0.1}, {"shift": 0.5}, {"colour": 2}])
def test_bad_settings_say_which(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        ClassifierSettings(**bad)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 16), (3, 32, 32), (3, 64, 64)])
def test_the_network_fits_every_size(shape):
    net = SemanticClassifier(image_shape=shape, num_classes=5, width=4)
    images = torch.randint(0, 256, (3, *shape), dtype=torch.uint8)
    probs = net.probabilities(images)
    assert probs.shape == (3, 5) and torch.allclose(probs.sum(1), torch.ones(3))

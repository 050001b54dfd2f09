"""Tests of the procedural multi-view shapes renderer (tiny sizes: the whole file runs in seconds)."""

import pytest
import torch

from hbaezoo.data.shapes_render import CATEGORIES, render_objects

RES, VIEWS, PER_CAT = 16, 4, 2


@pytest.fixture(scope="module")
def rendered():
    return render_objects(PER_CAT, views=VIEWS, resolution=RES, seed=0)


def _foreground(images: torch.Tensor) -> torch.Tensor:
    """bool [..., H, W]: pixels that differ from the background, a vertical gradient that the
    leftmost column always shows (objects never reach the frame border)."""
    background = images[..., :, :1]
    return (images.int() - background.int()).abs().amax(-3) > 3


def test_categories_are_many_and_unique():
    assert len(CATEGORIES) >= 13
    assert len(set(CATEGORIES)) == len(CATEGORIES)


def test_shapes_dtypes_and_category_major_labels(rendered):
    images, labels = rendered
    n = PER_CAT * len(CATEGORIES)
    assert images.shape == (n, VIEWS, 3, RES, RES) and images.dtype == torch.uint8
    assert labels.shape == (n,) and labels.dtype == torch.int64
    assert labels.tolist() == [c for c in range(len(CATEGORIES)) for _ in range(PER_CAT)]


def test_deterministic_by_seed(rendered):
    images, labels = rendered
    again, labels_again = render_objects(PER_CAT, views=VIEWS, resolution=RES, seed=0)
    assert torch.equal(images, again) and torch.equal(labels, labels_again)
    other, _ = render_objects(PER_CAT, views=VIEWS, resolution=RES, seed=1)
    differs = (images.int() - other.int()).abs().flatten(1).amax(1) > 0
    assert differs.all(), "every object should change with the seed"


def test_independent_of_batch_size_and_reports_progress(rendered):
    images, _ = rendered
    calls = []
    small, _ = render_objects(
        PER_CAT, views=VIEWS, resolution=RES, seed=0, batch_size=7, progress=lambda d, t: calls.append((d, t))
    )
    assert torch.equal(images, small)
    n = PER_CAT * len(CATEGORIES)
    assert calls[-1] == (n, n) and [d for d, _ in calls] == sorted(d for d, _ in calls) and len(calls) == -(-n // 7)


def test_object_does_not_depend_on_object_count(rendered):
    images, _ = rendered
    one, _ = render_objects(1, views=VIEWS, resolution=RES, seed=0)
    first_of_each = images.view(len(CATEGORIES), PER_CAT, *images.shape[1:])[:, 0]
    # bounded, not bit-exact: per-object setup runs on tensors of another length (ulp-level trig)
    assert (one.int() - first_of_each.int()).abs().float().mean() < 0.5


def test_images_are_shaded_not_flat(rendered):
    images, _ = rendered
    assert (images.float().flatten(1).std(1) > 10).all()
    grey = images.float().mean(2)  # [n, views, H, W]
    fg = _foreground(images)
    for obj in range(images.shape[0]):
        values = grey[obj][fg[obj]]
        # shading spreads the brightness of the object's own pixels
        assert values.quantile(0.95) - values.quantile(0.05) > 40, CATEGORIES[obj // PER_CAT]


def test_views_differ(rendered):
    images, _ = rendered
    for obj in images:
        for a in range(VIEWS):
            for b in range(a + 1, VIEWS):
                assert (obj[a].float() - obj[b].float()).abs().mean() > 1.0


def test_foreground_fraction_is_reasonable(rendered):
    images, _ = rendered
    frac = _foreground(images).float().mean((-2, -1))
    assert (frac > 0.06).all() and (frac < 0.8).all(), (frac.min().item(), frac.max().item())
    centre = _foreground(images)[..., RES // 2 - 2 : RES // 2 + 2, RES // 2 - 2 : RES // 2 + 2]
    assert centre.float().mean() > 0.6, "objects are centred in the frame"


def test_categories_have_distinct_silhouettes():
    images, labels = render_objects(2, views=VIEWS, resolution=RES, seed=3)
    masks = _foreground(images).float()
    mean = torch.stack([masks[labels == c].mean((0, 1)) for c in range(len(CATEGORIES))])  # [C, H, W]
    dist = torch.cdist(mean.flatten(1), mean.flatten(1))
    dist.fill_diagonal_(float("inf"))
    assert dist.min() > 0.5, "two categories have near-identical mean silhouettes"


def test_resolutions_and_single_view():
    images, labels = render_objects(1, views=1, resolution=9, seed=5)
    assert images.shape == (len(CATEGORIES), 1, 3, 9, 9) and labels.shape == (len(CATEGORIES),)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(objects_per_category=0), "objects_per_category"),
        (dict(objects_per_category=1, views=0), "views"),
        (dict(objects_per_category=1, resolution=7), "resolution"),
        (dict(objects_per_category=1, resolution=16.0), "resolution"),
        (dict(objects_per_category=1, batch_size=0), "batch_size"),
        (dict(objects_per_category=True), "objects_per_category"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    per_cat = kwargs.pop("objects_per_category")
    with pytest.raises(ValueError, match=message):
        render_objects(per_cat, **kwargs)

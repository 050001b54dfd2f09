"""Folder datasets (CelebA, VGGFace2, ShapeNet renders) on tiny generated layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hbaezoo.data import file_checks
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.data.folders import SPLITS, CelebA, ShapeNet, VGGFace2
from hbaezoo.errors import DataError
from hbaezoo.registry import DATASETS
from hbaezoo.testing import Sizes, check_dataset

R = 8
# Per dataset: the class, a folder its images lie in.
SPECS = {
    "celeba": (CelebA, "img_align_celeba"),
    "vggface2": (VGGFace2, "n000001"),
    "shapenet": (ShapeNet, "02691156/1a04e3eab45ca15dd86060f189eb133"),
}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HBAEZOO_DATA", raising=False)


def build(name, root, **kwargs):
    return SPECS[name][0](root=root, resolution=R, **kwargs)


def example(name, tmp_path, groups=8, per_group=3):
    return SPECS[name][0].make_example(tmp_path / name, groups=groups, per_group=per_group)


def image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png"))


def group_key(ds, i):
    """A group's name, comparable across splits (ids are split-local for VGGFace2 and ShapeNet)."""
    return int(ds.group_ids[i]) if isinstance(ds, CelebA) else str(Path(ds.paths[i].decode()).parent)


# -- building and the contract -------------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_builds_with_right_shapes_and_range(name, tmp_path):
    ds = build(name, example(name, tmp_path))
    assert len(ds) > 0 and ds.image_shape == (3, R, R) and len(ds.group_ids) == len(ds) == len(ds.labels)
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.dtype == torch.float32 and x.shape == (3, R, R)
        assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
        assert 0 <= y < max(ds.num_classes, 1)
    assert ds.skipped == [] and ds.decode_failures == 0
    assert ds.describe()["size"] == len(ds)


@pytest.mark.parametrize("name", SPECS)
def test_registered_part_passes_check_dataset(name):
    factory = DATASETS.get(name)
    kwargs = getattr(factory, "TEST_KWARGS", {})
    assert Path(kwargs["root"]).is_dir() and kwargs == factory.TEST_KWARGS  # made once, reused
    check_dataset(factory, Sizes(), name)
    assert len(factory(split="test", **kwargs)) > 0  # `hbaezoo sample` reads the test split


@pytest.mark.parametrize("name", SPECS)
def test_split_is_disjoint_by_group_complete_and_deterministic(name, tmp_path):
    root = example(name, tmp_path)
    train, test = build(name, root, split="train"), build(name, root, split="test")
    assert len(train) and len(test)
    assert not {group_key(train, i) for i in range(len(train))} & {group_key(test, i) for i in range(len(test))}
    rel = {str(p.relative_to(root)) for p in image_files(root)}
    assert {p.decode() for p in [*train.paths, *test.paths]} == rel
    again = build(name, root, split="train")
    assert (again.paths == train.paths).all() and torch.equal(again.group_ids, train.group_ids)


def test_celeba_groups_and_official_partition(tmp_path):
    root = CelebA.make_example(tmp_path, groups=4, per_group=3)  # identities 1-4: train, train, valid, test
    train = CelebA(root=root, resolution=R)
    assert train.group_ids.tolist() == [1, 1, 1, 2, 2, 2] and train.num_classes == 0 and train.labels.eq(0).all()
    assert CelebA(root=root, resolution=R, split="test").group_ids.tolist() == [3, 3, 3, 4, 4, 4]
    assert len(CelebA(root=root, resolution=R, split="train", valid_split="train")) == 9
    assert len(CelebA(root=root, resolution=R, split="test", valid_split="none")) == 3
    assert CelebA(root=root, resolution=R, groups="image").group_ids.unique().numel() == 6


def test_celeba_without_annotation_files(tmp_path):
    root = CelebA.make_example(tmp_path, groups=10, per_group=2)
    (root / "list_eval_partition.txt").unlink()
    by_identity = CelebA(root=root, resolution=R, split="test", test_fraction=0.5)
    assert by_identity.group_ids.unique().numel() < 10  # identities, split by hash
    (root / "identity_CelebA.txt").unlink()
    test = CelebA(root=root, resolution=R, split="test")  # last 10% by name, each image its own group
    assert [p.decode() for p in test.paths] == ["img_align_celeba/000019.jpg", "img_align_celeba/000020.jpg"]
    assert len(CelebA(root=root, resolution=R)) == 18 and test.group_ids.unique().numel() == 2
    with pytest.raises(DataError, match="identity_CelebA.txt"):
        CelebA(root=root, groups="identity")


def test_celeba_kaggle_layout(tmp_path):
    """Kaggle's copy: img_align_celeba/ nested in itself, the partition as CSV with a header."""
    root = CelebA.make_example(tmp_path, groups=4)
    (root / "img_align_celeba").rename(tmp_path / "inner")
    (root / "img_align_celeba").mkdir()
    (tmp_path / "inner").rename(root / "img_align_celeba" / "img_align_celeba")
    table = (root / "list_eval_partition.txt").read_text().replace(" ", ",")
    (root / "list_eval_partition.txt").unlink()
    (root / "list_eval_partition.csv").write_text("image_id,partition\n" + table)
    ds = CelebA(root=root, resolution=R, split="test")
    assert len(ds) == 6 and ds.paths[0].decode() == "img_align_celeba/img_align_celeba/000007.jpg"


def test_celeba_crops_the_centre_140_pixels(tmp_path):
    root = tmp_path / "celeba"
    pixels = np.zeros((218, 178, 3), np.uint8)
    pixels[39:179, 19:159] = 255  # exactly the standard 140x140 centre crop is white
    (root / "img_align_celeba").mkdir(parents=True)
    Image.fromarray(pixels).save(root / "img_align_celeba" / "000001.png")
    Image.fromarray(pixels).save(root / "img_align_celeba" / "000002.png")
    x, _ = CelebA(root=root, resolution=R)[0]
    assert torch.allclose(x, torch.ones_like(x))


def test_reduced_jpeg_decoding_keeps_the_crop(tmp_path):
    """At low resolution JPEGs decode at a reduced scale; the crop must still be the same region."""
    root = tmp_path / "celeba"
    pixels = np.zeros((218, 178, 3), np.uint8)
    pixels[39:179, 19:159] = 255
    (root / "img_align_celeba").mkdir(parents=True)
    for name in ("000001.jpg", "000002.jpg"):
        Image.fromarray(pixels).save(root / "img_align_celeba" / name, quality=95)
    ds = CelebA(root=root, resolution=32)
    with Image.open(ds.path(0)) as im:
        full = im.convert("RGB").crop((19, 39, 159, 179)).resize((32, 32), Image.Resampling.BICUBIC)
    expected = torch.from_numpy(np.asarray(full)).permute(2, 0, 1).float() / 127.5 - 1
    assert (ds[0][0] - expected).abs().mean() < 0.05


def test_vggface2_labels_are_identities(tmp_path):
    root = example("vggface2", tmp_path)
    for split in ("train", "test"):
        ds = build("vggface2", root, split=split)
        assert torch.equal(ds.labels, ds.group_ids) and ds.num_classes == len(ds.class_names)
        for i in range(len(ds)):
            assert ds.class_names[ds.labels[i]] == Path(ds.paths[i].decode()).parent.name


def test_vggface2_official_split_folders(tmp_path):
    root = VGGFace2.make_example(tmp_path, groups=3, official=True)
    train, test = VGGFace2(root=root, resolution=R), VGGFace2(root=root, resolution=R, split="test")
    assert train.class_names == ("n000001", "n000002") and test.class_names == ("n000030",)
    assert test.paths[0].decode() == "test/n000030/0001_01.jpg"


def test_shapenet_labels_categories_and_composites_on_white(tmp_path):
    ds = build("shapenet", example("shapenet", tmp_path))
    assert ds.class_names == ("airplane", "bench") and ds.num_classes == 2
    for g in ds.group_ids.unique():
        assert ds.labels[ds.group_ids == g].unique().numel() == 1  # one category per object
    for i in range(len(ds)):
        category = Path(ds.paths[i].decode()).parts[0]
        assert ds.class_names[ds.labels[i]] == {"02691156": "airplane", "02828884": "bench"}[category]
    big = ShapeNet(root=tmp_path / "shapenet", resolution=24)
    x, _ = big[0]
    assert torch.equal(x[:, 0, 0], torch.ones(3))  # the transparent border is white


def test_shapenet_rendering_subfolders_and_category_choice(tmp_path):
    root = tmp_path / "r2n2"
    for obj in ("aaaa", "bbbb", "cccc", "dddd"):
        folder = root / "03001627" / obj / "rendering"
        folder.mkdir(parents=True)
        (folder / "renderings.txt").write_text("00.png\n")
        Image.new("RGBA", (12, 12), (255, 0, 0, 255)).save(folder / "00.png")
    (root / "04379243" / "eeee").mkdir(parents=True)
    Image.new("RGBA", (12, 12)).save(root / "04379243" / "eeee" / "00.png")
    chairs = [ShapeNet(root=root, resolution=R, split=s, categories="chair", test_fraction=0.5) for s in SPLITS]
    assert chairs[0].class_names == ("chair",) and sum(len(d) for d in chairs) == 4
    assert all(p.decode().endswith("/rendering/00.png") for d in chairs for p in d.paths)
    with pytest.raises(DataError, match="lamp"):
        ShapeNet(root=root, categories=("lamp",))


# -- errors that say what to do ------------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_missing_root_shows_layout_and_where_it_looked(name, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        build(name, missing)
    message = str(info.value)
    assert str(missing) in message and "does not exist" in message
    assert "<root>/" in message and f"datasets.{name}.root = " in message and "HBAEZOO_DATA" in message
    with pytest.raises(DataError, match="HBAEZOO_DATA is not set"):
        build(name, None)


@pytest.mark.parametrize("name", SPECS)
def test_root_defaults_to_hbaezoo_data(name, tmp_path, monkeypatch):
    SPECS[name][0].make_example(tmp_path / name, groups=8)
    monkeypatch.setenv("HBAEZOO_DATA", str(tmp_path))
    assert build(name, None).root == str(tmp_path / name)
    monkeypatch.setenv("HBAEZOO_DATA", str(tmp_path / "other"))
    with pytest.raises(DataError, match=r"\$HBAEZOO_DATA/"):
        build(name, None)


@pytest.mark.parametrize("name", SPECS)
def test_empty_folder_and_folder_without_images(name, tmp_path):
    root = tmp_path / name
    root.mkdir()
    with pytest.raises(DataError, match="<root>/"):
        build(name, root)
    inner = root / SPECS[name][1]
    inner.mkdir(parents=True)
    (inner / "archive.zip").write_bytes(b"PK")
    (inner / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="only 2 files of other types: 1 .zip, 1 .txt.*unpack"):
        build(name, root)


# -- damaged files -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_zero_byte_corrupt_and_truncated_files_are_skipped(name, tmp_path):
    root = example(name, tmp_path)
    files = image_files(root)
    files[0].write_bytes(b"")
    files[1].write_bytes(np.random.default_rng(0).bytes(500))
    data = files[2].read_bytes()
    files[2].write_bytes(data[: len(data) // 2])
    both = [build(name, root, split=s) for s in ("train", "test")]
    skipped = dict(p for d in both for p in d.skipped)
    assert set(skipped) == {str(f) for f in files[:3]}
    assert skipped[str(files[0])] == "empty file (0 bytes)"
    assert "unreadable" in skipped[str(files[1])] and "unreadable" in skipped[str(files[2])]
    assert sum(len(d) for d in both) == len(files) - 3
    for d in both:
        assert all(torch.isfinite(d[i][0]).all() for i in range(len(d)))


def test_full_verification_and_cached_verdicts(tmp_path, monkeypatch):
    root = example("vggface2", tmp_path)
    first = build("vggface2", root, verify=True)
    monkeypatch.setattr(file_checks, "_check_one", lambda *a: pytest.fail("verdicts were not cached"))
    assert (build("vggface2", root, verify=True).paths == first.paths).all()
    image_files(root)[0].write_bytes(b"")  # a changed file invalidates the cache
    with pytest.raises(pytest.fail.Exception):
        build("vggface2", root, verify=True)


@pytest.mark.parametrize("name", SPECS)
def test_decode_failure_at_getitem_uses_next_member_of_group(name, tmp_path):
    ds = build(name, example(name, tmp_path))
    members = (ds.group_ids == ds.group_ids[0]).nonzero().squeeze(1).tolist()
    assert len(members) >= 2
    data = Path(ds.path(0)).read_bytes()
    Path(ds.path(0)).write_bytes(data[: len(data) // 2])  # truncated after construction
    with pytest.warns(UserWarning, match="cannot decode"):
        x, y = ds[0]
    assert torch.equal(x, ds[members[1]][0]) and y == ds[members[1]][1]
    assert ds.decode_failures == 1 and ds.failed_paths == {ds.path(0)}
    ds[0]  # a known failure is not retried nor counted again
    assert ds.decode_failures == 1


def test_group_with_no_readable_member_falls_back_to_the_next_image(tmp_path):
    root = CelebA.make_example(tmp_path, groups=4)
    ds = CelebA(root=root, resolution=R, groups="image")
    Path(ds.path(2)).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="from another group"):
        x, _ = ds[2]
    assert torch.equal(x, ds[3][0]) and ds.decode_failures == 1


# -- sets through the DataLoader path -------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_sets_larger_than_groups_batch_through_the_dataloader(name, tmp_path):
    ds = build(name, example(name, tmp_path, per_group=2))
    plan = BatchPlan(ds.group_ids, batch_size=2, set_size=3, small_groups="replace")
    assert plan.stats["groups_smaller_than_set_size"] == plan.stats["groups"]
    out = list(batches(ds, plan, start=0, stop=2, num_workers=0))
    assert len(out) == 2
    for batch in out:
        assert batch["x"].shape == (2, 3, 3, R, R) and batch["y"].shape == (2,)


def test_workers_share_the_decode_failure_count(tmp_path):
    ds = build("vggface2", example("vggface2", tmp_path, groups=3, per_group=2))
    Path(ds.path(0)).write_bytes(b"garbage")
    plan = BatchPlan(ds.group_ids, batch_size=len(ds))
    out = list(batches(ds, plan, start=0, stop=1, num_workers=1))
    assert out[0]["x"].shape == (len(ds), 3, R, R) and ds.decode_failures == 1

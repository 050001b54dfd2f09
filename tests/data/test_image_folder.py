"""datasets.image_folder on tiny folders made here: labels, sets, the split within classes, errors, no silent crop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hbaezoo.data.image_folder import ImageFolder
from hbaezoo.errors import DataError

R = 8
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Not inside tmp_path: the tests' image folders are tmp_path itself.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def png(path: Path, colour=(0, 0, 0), size=(12, 12)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def both(root, **kwargs):
    return [ImageFolder(root=root, resolution=R, split=s, **kwargs) for s in ("train", "test")]


def rel(ds) -> list[str]:
    return [p.decode() for p in ds.paths]


def class_of(ds, i) -> str:
    return ds.class_names[ds.labels[i]]


# -- labels ---------------------------------------------------------------------------------------
def test_labels_come_from_class_folder_names_as_torchvision_numbers_them(tmp_path):
    from torchvision.datasets import ImageFolder as TorchImageFolder

    for cls, n in (("zebra", 3), ("ant", 4), ("Moth", 2)):
        for k in range(n):
            png(tmp_path / cls / f"{k}.jpg" if k % 2 else tmp_path / cls / f"{k}.png", (k * 40, 0, 0))
    png(tmp_path / "ant" / "deeper" / "x.png")  # anywhere below a class folder, as torchvision reads it
    train, test = both(tmp_path)
    ours = {f: class_of(d, i) for d in (train, test) for i, f in enumerate(rel(d))}
    theirs = TorchImageFolder(str(tmp_path))
    assert list(train.class_names) == theirs.classes == ["Moth", "ant", "zebra"]
    assert ours == {os.path.relpath(p, tmp_path): theirs.classes[y] for p, y in theirs.samples}
    assert train.num_classes == 3 and train.describe()["split"]["layout"] == "classes"


def test_a_flat_folder_has_no_labels(tmp_path):
    ImageFolder.make_example(tmp_path, classes=0, per_group=5)
    train, test = both(tmp_path)
    assert train.num_classes == 0 and train.class_names == () and train.labels.eq(0).all()
    assert (len(train), len(test)) == (4, 1)
    assert train.group_ids.unique().numel() == 4  # sets = 'none': every image on its own


# -- the split ------------------------------------------------------------------------------------
def test_split_keeps_every_class_in_both_splits_even_at_half(tmp_path):
    """test_fraction = 0.5 holds out half of every class, never whole classes."""
    ImageFolder.make_example(tmp_path, classes=6, per_group=3)
    for fraction in (0.1, 0.5, 0.9):
        train, test = both(tmp_path, test_fraction=fraction)
        assert set(train.labels.tolist()) == set(test.labels.tolist()) == set(range(6))
        assert sorted(rel(train) + rel(test)) == sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.png"))
        assert not set(rel(train)) & set(rel(test))
    train, test = both(tmp_path, test_fraction=0.5)
    assert torch.bincount(test.labels).tolist() == [2] * 6  # round(1.5) = 2 of 3, at most n - 1


def test_split_is_deterministic_and_seeded_by_names_only(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ImageFolder.make_example(a, classes=3, per_group=10, seed=0)
    ImageFolder.make_example(b, classes=3, per_group=10, seed=1)  # other pixels, same names
    assert rel(ImageFolder(root=a, split="test")) == rel(ImageFolder(root=a, split="test"))
    assert rel(ImageFolder(root=a, split="test")) == rel(ImageFolder(root=b, split="test"))
    held = rel(ImageFolder(root=a, split="test", test_fraction=0.3))
    assert len(held) == 9 and len({p.split("/")[0] for p in held}) == 3


def test_the_split_it_made_is_in_the_description(tmp_path):
    ImageFolder.make_example(tmp_path, classes=2, per_group=10)
    png(tmp_path / "lonely" / "only.png")
    (tmp_path / "empty").mkdir()
    train = ImageFolder(root=tmp_path, resolution=R, test_fraction=0.2)
    split = json.loads(json.dumps(train.describe()))["split"]
    assert split["train_images"] == len(train) == 17 and split["test_images"] == 4
    assert "within each class" in split["rule"] and "20%" in split["rule"] and split["test_fraction"] == 0.2
    assert "lonely" in split["train_only"] and "empty" in split["ignored_empty_folders"]
    assert split["crop"] == "center" and split["sets"] == "none"


# -- sets -----------------------------------------------------------------------------------------
def test_sets_class_makes_each_class_one_group(tmp_path):
    ImageFolder.make_example(tmp_path, classes=3, per_group=4)
    for ds in both(tmp_path, sets="class"):
        assert torch.equal(ds.group_ids, ds.labels)


def test_sets_subfolder_with_classes_groups_set_folders_and_holds_out_whole_sets(tmp_path):
    ImageFolder.make_example(tmp_path, classes=2, per_group=3, sets_per_class=4)
    train, test = both(tmp_path, sets="subfolder", test_fraction=0.25)
    for ds in (train, test):
        for g in ds.group_ids.unique():
            folders = {str(Path(p).parent) for p, gi in zip(rel(ds), ds.group_ids) if gi == g}
            assert len(folders) == 1  # one group, one set folder
            assert len([1 for gi in ds.group_ids if gi == g]) == 3
    sets = lambda ds: {str(Path(p).parent) for p in rel(ds)}  # noqa: E731
    assert len(sets(train)) == 6 and len(sets(test)) == 2 and not sets(train) & sets(test)
    assert set(test.labels.tolist()) == {0, 1} and train.class_names == ("class0", "class1")
    assert train.describe()["split"]["test_sets"] == 2


def test_sets_subfolder_without_classes(tmp_path):
    ImageFolder.make_example(tmp_path, classes=0, per_group=2, sets_per_class=5)
    train, test = both(tmp_path, sets="subfolder")
    assert train.num_classes == 0 and train.group_ids.unique().numel() == 4 and test.group_ids.unique().numel() == 1
    assert train.describe()["split"]["layout"] == "sets"


# -- errors ---------------------------------------------------------------------------------------
def test_missing_or_unset_root(tmp_path):
    with pytest.raises(DataError, match=r"(?s)root is not set.*<root>/.*datasets.image_folder.root = "):
        ImageFolder()
    with pytest.raises(DataError, match=f"{tmp_path / 'nowhere'} does not exist"):
        ImageFolder(root=tmp_path / "nowhere")


def test_no_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / "data.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"found no .*images in .*2 files of other types.*unpack"):
        ImageFolder(root=tmp_path)


def test_an_empty_test_split_is_refused_at_training_time(tmp_path):
    for cls in ("a", "b"):
        png(tmp_path / cls / "1.png")
    with pytest.raises(DataError, match="test split of .* would be empty: every class holds a single image.*add"):
        ImageFolder(root=tmp_path, split="train")
    ImageFolder.make_example(tmp_path / "sets", classes=2, per_group=3, sets_per_class=1)
    with pytest.raises(DataError, match="every class holds a single set folder.*sets = 'class'"):
        ImageFolder(root=tmp_path / "sets", sets="subfolder")
    assert len(ImageFolder(root=tmp_path / "sets", sets="class", split="test")) == 2


def test_layouts_that_cannot_be_read_one_way(tmp_path):
    png(tmp_path / "flat" / "1.png")
    png(tmp_path / "flat" / "2.png")
    with pytest.raises(DataError, match="sets = 'class' .* holds its 2 images directly"):
        ImageFolder(root=tmp_path / "flat", sets="class")
    png(tmp_path / "flat" / "sub" / "3.png")
    with pytest.raises(DataError, match="2 images directly and more in the folders sub"):
        ImageFolder(root=tmp_path / "flat")
    png(tmp_path / "mixed" / "setA" / "1.png")
    png(tmp_path / "mixed" / "classB" / "set1" / "1.png")
    with pytest.raises(DataError, match="same depth"):
        ImageFolder(root=tmp_path / "mixed", sets="subfolder")
    with pytest.raises(DataError, match="sets must be one of"):
        ImageFolder(root=tmp_path / "mixed", sets="folder")
    with pytest.raises(DataError, match="crop must be one of"):
        ImageFolder(root=tmp_path / "mixed", crop="centre")


# -- resizing -------------------------------------------------------------------------------------
def ramps(width: int, height: int) -> np.ndarray:
    """Red rises from left to right, green from top to bottom: any crop moves the corners' values."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width).round()[None, :]
    pixels[..., 1] = np.linspace(0, 255, height).round()[:, None]
    return pixels


@pytest.mark.parametrize("crop, size", [("center", (64, 64)), ("none", (96, 48)), ("none", (64, 64))])
def test_no_silent_crop_the_whole_image_comes_back_resized(crop, size, tmp_path):
    for name in ("a.png", "b.png"):
        Image.fromarray(ramps(*size)).save(tmp_path / name)
    x = ImageFolder(root=tmp_path, resolution=16, crop=crop)[0][0]
    assert x.shape == (3, 16, 16)
    assert torch.allclose(x[:2, 0, 0], -torch.ones(2), atol=0.1)
    assert torch.allclose(x[:2, 15, 15], torch.ones(2), atol=0.1)
    # Exactly the whole image resized: VGGFace2's default crop_fraction = 0.8 is off by ~0.2 here.
    whole = Image.fromarray(ramps(*size)).resize((16, 16), Image.Resampling.BICUBIC)
    expected = torch.from_numpy(np.array(whole)).permute(2, 0, 1).float() / 127.5 - 1
    assert (x - expected).abs().max() < 1e-5


def test_center_crop_keeps_the_middle_square_of_a_wide_image(tmp_path):
    pixels = np.zeros((40, 120, 3), np.uint8)
    pixels[:, 40:80] = 255  # only the centre 40 x 40 square is white
    for name in ("a.png", "b.png"):
        Image.fromarray(pixels).save(tmp_path / name)
    x = ImageFolder(root=tmp_path, resolution=R, crop="center")[0][0]
    assert torch.allclose(x, torch.ones_like(x))
    whole = ImageFolder(root=tmp_path, resolution=R, crop="none")[0][0]
    assert whole[:, :, 0].max() < -0.9  # the black left third is in the image


def test_transparent_pixels_are_white(tmp_path):
    for name in ("a.png", "b.png"):
        Image.new("RGBA", (12, 12), (10, 10, 10, 0)).save(tmp_path / name)
    assert torch.allclose(ImageFolder(root=tmp_path, resolution=R)[0][0], torch.ones(3, R, R))


# -- end to end -----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["hbae_folder.gin", "set_hbae_folder.gin"])
def test_folder_recipe_trains_from_the_command_line_without_unused_bindings(recipe, tmp_path):
    root = ImageFolder.make_example(tmp_path / "mydata", classes=2, per_group=5)
    bindings = [f"datasets.image_folder.root = '{root}'", "datasets.image_folder.resolution = 16",
                "encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
                "Trainer.batch_size = 2", "Trainer.num_workers = 0", "Trainer.progress = False",
                "Trainer.tensorboard = False"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1"}
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "hbaezoo", "run", f"gin/{recipe}", "--steps", "2", "--run-dir", str(run_dir),
         *sum((["-b", b] for b in bindings), [])],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "never used" not in result.stderr and "test split: 2 images" in " ".join(result.stderr.split())
    data = json.loads((run_dir / "data.json").read_text())
    assert data["class_names"] == ["class0", "class1"] and data["split"]["test_images"] == 2
    result = subprocess.run(
        [sys.executable, "-m", "hbaezoo", "sample", str(run_dir), "--mode", "recon", "--n", "2",
         "--out", str(tmp_path / "grid.png"), "--device", "cpu"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").is_file()


#: layout: (model, ImageFolder.make_example arguments, extra bindings, sample mode, classes)
LAYOUTS = {
    "classes": ("hbae", {"classes": 3, "per_group": 4}, [], "recon", 3),
    "flat": ("hbae", {"classes": 0, "per_group": 6}, [], "uncond", 0),
    "sets": ("set_hbae", {"classes": 3, "per_group": 3, "sets_per_class": 2},
             ["datasets.image_folder.sets = 'subfolder'", "Trainer.set_size = 2"], "set-recon", 3),
}


@pytest.mark.slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_trains_samples_evaluates_and_loads(layout, tmp_path):
    """<class>/*.png, a flat folder and <class>/<set>/*.png with the bindings README documents, then sample,
    `eval --metrics probe` (every class in its test images) and hbaezoo.load's batch-first methods."""
    import hbaezoo
    from hbaezoo.cli import main

    model, shape, extra, mode, classes = LAYOUTS[layout]
    root = ImageFolder.make_example(tmp_path / "mydata", **shape)
    run_dir = tmp_path / "run"
    bindings = [f"datasets.image_folder.root = '{root}'", "datasets.image_folder.resolution = 16",
                "encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
                f"models.{model}.z_dim = 8", f"models.{model}.noise_dim = 8", "Trainer.batch_size = 2",
                "Trainer.num_workers = 0", "Trainer.progress = False", "Trainer.tensorboard = False",
                "Trainer.estimate_images = 8", *extra]
    assert main(["run", str(REPO / "gin" / f"{model}_folder.gin"), "--steps", "2", "--run-dir", str(run_dir),
                 *sum((["-b", b] for b in bindings), [])]) == 0
    assert main(["sample", str(run_dir), "--mode", mode, "--out", str(tmp_path / "grid.png"), "--device", "cpu"]) == 0
    assert Image.open(tmp_path / "grid.png").size[0] > 16
    assert main(["eval", str(run_dir), "--metrics", "probe", "--n", "16", "--extractor", "random_convnet",
                 "--no-progress", "--device", "cpu", "-b", "metrics.probe.seeds = 1"]) == 0
    probe = json.loads((run_dir / "eval" / "results.json").read_text())["metrics"]["probe"]
    if classes:
        assert probe["status"] == "ok" and probe["values"]["test_classes"] == classes, probe
    else:  # no labels: said plainly, without gin's call lines
        assert probe["status"] == "n/a" and "class labels" in probe["reason"], probe
        assert "In call to" not in probe["reason"] and "0x" not in probe["reason"], probe

    run = hbaezoo.load(run_dir, device="cpu")
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    assert run.data["num_classes"] == classes and run.encode(x).shape == (3, 8)
    assert run.reconstruct(x, k=2).shape == (3, 2, 3, 16, 16)
    assert run.sample(4).shape == (4, 3, 16, 16) and run.sample_sets(2, 3).shape == (2, 3, 3, 16, 16)

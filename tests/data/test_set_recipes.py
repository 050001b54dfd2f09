"""The Set-HBAE and Set-VAE recipes at scale (VGGFace2, ShapeNet) on generated layout folders: two steps
train, bad files and small groups are handled, and a missing folder explains what to do."""

import json
import os

import pytest

from hbaezoo.cli import main
from hbaezoo.data.folders import ShapeNet, VGGFace2

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMALL = ["encoders.resnet.width = 8", "generators.resnet.width = 8", "Trainer.batch_size = 2",
         "Trainer.num_workers = 0", "Trainer.progress = False", "Trainer.tensorboard = False"]
ADVERSARIAL = ["discriminators.projection.width = 8"]  # the Set-HBAE's critic; the Set-VAE has none
LAYOUTS = {"vggface": (VGGFace2, "vggface2", "identity"), "shapenet": (ShapeNet, "shapenet", "object")}
RECIPES = [(model, layout) for model in ("set_hbae", "set_vae") for layout in LAYOUTS]


def args(model: str, dataset: str, *bindings):
    small = [*SMALL, *(ADVERSARIAL if model == "set_hbae" else []), f"datasets.{dataset}.resolution = 16"]
    return sum((["-b", b] for b in [*small, *bindings]), [])


def recipe(model: str, layout: str) -> str:
    return os.path.join(REPO, "gin", f"{model}_{layout}.gin")


@pytest.mark.parametrize("model", ["set_hbae", "set_vae"])
def test_vggface_recipe_trains_on_a_layout_folder_with_bad_files(model, tmp_path, capsys):
    root = VGGFace2.make_example(tmp_path / "vgg", groups=3, per_group=10)
    small = root / "n000099"
    small.mkdir()
    VGGFace2.make_example(tmp_path / "tmp", groups=1, per_group=3)
    for i, jpg in enumerate(sorted((tmp_path / "tmp").rglob("*.jpg"))):
        jpg.rename(small / f"{i:04d}_01.jpg")
    first = sorted(p for p in root.iterdir() if p.is_dir())[0]
    (first / "corrupt.jpg").write_bytes(b"\xff\xd8 not a jpeg at all")
    (first / "empty.jpg").write_bytes(b"")
    run_dir = tmp_path / "run"
    code = main(["run", recipe(model, "vggface"), "--steps", "2", "--run-dir", str(run_dir),
                 *args(model, "vggface2", f"datasets.vggface2.root = '{root}'", "datasets.vggface2.test_fraction = 0.01")])
    out = capsys.readouterr().err
    assert code == 0, out
    skipped = (run_dir / "skipped_files.txt").read_text()
    assert "corrupt.jpg" in skipped and "empty.jpg" in skipped
    plan = json.loads((run_dir / "data.json").read_text())["batch_plan"]
    assert plan["groups_smaller_than_set_size"] >= 1 and plan["small_groups_policy"] == "replace"
    assert "smaller than the set size" in " ".join(out.split())
    assert list((run_dir / "checkpoints").iterdir())


@pytest.mark.parametrize("model", ["set_hbae", "set_vae"])
def test_shapenet_recipe_trains_two_steps_on_a_layout_folder(model, tmp_path, capsys):
    root = ShapeNet.make_example(tmp_path / "shapenet", groups=3, per_group=4)
    run_dir = tmp_path / "run"
    code = main(["run", recipe(model, "shapenet"), "--steps", "2", "--run-dir", str(run_dir),
                 *args(model, "shapenet", f"datasets.shapenet.root = '{root}'")])
    out = capsys.readouterr().err
    assert code == 0, out
    data = json.loads((run_dir / "data.json").read_text())
    assert data["set_size"] == 8 and data["batch_plan"]["small_groups_policy"] == "replace"
    assert list((run_dir / "checkpoints").iterdir())


@pytest.mark.parametrize("model,layout", RECIPES)
def test_set_recipe_without_the_folder_explains_what_to_do(model, layout, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HBAEZOO_DATA", raising=False)
    _, dataset, group = LAYOUTS[layout]
    code = main(["run", recipe(model, layout), "--steps", "1", "--run-dir", str(tmp_path / "run"), *args(model, dataset)])
    out = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "Traceback" not in out
    assert f"datasets.{dataset}.root" in out and group in out.lower()

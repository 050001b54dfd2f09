"""The VGGFace2 Set-HBAE recipe on a generated VGGFace2-layout folder, bad files and a small identity included."""

import json
import os

from hbaezoo.cli import main
from hbaezoo.data.folders import VGGFace2

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECIPE = os.path.join(REPO, "gin", "set_hbae_vggface.gin")
SMALL = ["encoders.resnet.width = 8", "generators.resnet.width = 8", "discriminators.projection.width = 8",
         "datasets.vggface2.resolution = 16", "Trainer.batch_size = 2", "Trainer.num_workers = 0",
         "Trainer.progress = False", "Trainer.tensorboard = False"]


def args(*bindings):
    return sum((["-b", b] for b in [*SMALL, *bindings]), [])


def test_vggface_recipe_trains_on_a_layout_folder_with_bad_files(tmp_path, capsys):
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
    code = main(["run", RECIPE, "--steps", "2", "--run-dir", str(run_dir),
                 *args(f"datasets.vggface2.root = '{root}'", "datasets.vggface2.test_fraction = 0.01")])
    out = capsys.readouterr().err
    assert code == 0, out
    skipped = (run_dir / "skipped_files.txt").read_text()
    assert "corrupt.jpg" in skipped and "empty.jpg" in skipped
    plan = json.loads((run_dir / "data.json").read_text())["batch_plan"]
    assert plan["groups_smaller_than_set_size"] >= 1 and plan["small_groups_policy"] == "replace"
    assert "smaller than the set size" in " ".join(out.split())
    assert list((run_dir / "checkpoints").iterdir())


def test_vggface_recipe_without_the_folder_explains_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HBAEZOO_DATA", raising=False)
    code = main(["run", RECIPE, "--steps", "1", "--run-dir", str(tmp_path / "run"), *args()])
    out = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "Traceback" not in out
    assert "datasets.vggface2.root" in out and "identity" in out.lower()

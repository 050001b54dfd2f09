"""Every recipe in gin/ trains two tiny steps and can be sampled in every mode its model supports.

Parametrised over the folder, so a new recipe is tested the day it is added. Folder
datasets point at the small example folders their classes make for tests.
"""

import glob
import os

import pytest
from PIL import Image

from hbaezoo import config
from hbaezoo.errors import CapabilityError
from hbaezoo.registry import DATASETS, SAMPLERS
from hbaezoo.api import fit
from hbaezoo.sampling import sample_to_file

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
RECIPES = sorted(glob.glob(os.path.join(REPO, "gin", "*.gin")))


def dataset_bindings() -> list[str]:
    out = []
    for part in DATASETS.parts():
        for key, value in dict(getattr(part.original, "TEST_KWARGS", {})).items():
            out.append(f"{part.gin_name}.{key} = {value!r}")
    return out


@pytest.mark.parametrize("recipe", RECIPES, ids=os.path.basename)
def test_recipe_trains_two_steps_and_samples(recipe, tiny, tmp_path):
    run_dir = tmp_path / "run"
    extra = [*tiny, *dataset_bindings()]
    _, logs = fit([recipe], extra, run_dir=run_dir, overrides={"steps": 2})
    assert any(k.endswith("/loss") for k in logs)
    # The recipe itself binds nothing its run ignores (the test's extra bindings cover every part).
    ours = {b.split("=")[0].strip() for b in extra}
    assert [u for u in config.unused_bindings() if u not in ours] == [], "recipe bindings the run never read"
    for name in ("config.gin", "operative.gin", "metrics.jsonl", "data.json"):
        assert (run_dir / name).is_file(), name
    assert "# torch ==" in (run_dir / "operative.gin").read_text()
    assert list((run_dir / "checkpoints").iterdir())
    made = 0
    for mode in SAMPLERS.names():
        out = tmp_path / f"{mode}.png"
        try:
            sample_to_file(run_dir, mode, out, n=2, steps=2, device="cpu")
        except CapabilityError:
            continue
        made += 1
        assert Image.open(out).size[0] > 0
    assert made >= 1

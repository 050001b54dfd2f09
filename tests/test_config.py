"""Recipes share parts through gin `include`, and bindings the built run never reads are reported."""

from pathlib import Path

import gin

from hbaezoo import config
from hbaezoo.run import build_model, recipe

REPO = Path(__file__).resolve().parents[1]


def test_included_files_are_parsed_and_inlined_into_config_gin(tmp_path, monkeypatch):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "common.gin").write_text("Trainer.seed = 7\n")
    (tmp_path / "recipe.gin").write_text("include 'shared/common.gin'\nTrainer.steps = 3\n")
    monkeypatch.chdir(REPO)  # includes resolve next to the recipe, not the working directory
    config.parse([tmp_path / "recipe.gin"])
    assert gin.query_parameter("Trainer.seed") == 7
    text = config.config_text([tmp_path / "recipe.gin"], [])
    assert not [line for line in text.splitlines() if line.startswith("include")] and "Trainer.seed = 7" in text
    (tmp_path / "config.gin").write_text(text)  # a run directory's config.gin stands alone
    config.parse([tmp_path / "config.gin"])
    assert gin.query_parameter("Trainer.seed") == 7


def test_every_shapes_recipe_includes_the_shared_data_settings():
    for recipe_file in sorted((REPO / "gin").glob("*_shapes.gin")):
        assert "include 'shared/shapes.gin'" in recipe_file.read_text(), recipe_file.name


def test_a_binding_for_a_part_the_model_lacks_is_reported_as_unused():
    config.parse([REPO / "gin" / "gan_shapes.gin"], ["encoders.resnet.width = 8", "generators.resnet.width = 4",
                                                     "discriminators.projection.width = 4"])
    model_factory, _ = recipe()
    build_model(model_factory, {"image_shape": (3, 8, 8), "num_classes": 0})
    unused = config.unused_bindings()
    assert "encoders.resnet.width" in unused  # a GAN has no encoder
    assert not any(name.startswith(("generators.", "discriminators.", "models.gan")) for name in unused), unused

"""Recipes share parts through gin `include`, and bindings the built run never reads are reported."""

from pathlib import Path

import gin
import pytest
import torch

from hbaezoo import config, recipe_text
from hbaezoo.errors import ConfigError
from hbaezoo.assembly import build_model

REPO = Path(__file__).resolve().parents[1]


def test_included_files_are_parsed_and_inlined_into_config_gin(tmp_path, monkeypatch):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "common.gin").write_text("Trainer.seed = 7\n")
    (tmp_path / "recipe.gin").write_text("include 'shared/common.gin'\nTrainer.steps = 3\n")
    monkeypatch.chdir(REPO)  # includes resolve next to the recipe, not the working directory
    texts = config.parse([tmp_path / "recipe.gin"])
    assert gin.query_parameter("Trainer.seed") == 7
    text = recipe_text.config_text([tmp_path / "recipe.gin"], [], texts)
    assert not [line for line in text.splitlines() if line.startswith("include")] and "Trainer.seed = 7" in text
    (tmp_path / "config.gin").write_text(text)  # a run directory's config.gin stands alone
    config.parse([tmp_path / "config.gin"])
    assert gin.query_parameter("Trainer.seed") == 7


def test_every_shapes_recipe_includes_the_shared_data_settings():
    """Directly, or through the one shapes recipe it extends (a variant such as the semi-supervised one)."""

    def includes_shared(recipe_file, seen=()) -> bool:
        text = recipe_file.read_text()
        if "include 'shared/shapes.gin'" in text:
            return True
        parents = [REPO / "gin" / line.split("'")[1] for line in text.splitlines()
                   if line.startswith("include '") and line.split("'")[1].endswith("_shapes.gin")]
        return any(p not in seen and includes_shared(p, (*seen, recipe_file)) for p in parents)

    for recipe_file in sorted((REPO / "gin").glob("*_shapes.gin")):
        assert includes_shared(recipe_file), recipe_file.name


def test_a_binding_for_a_part_the_model_lacks_is_reported_as_unused():
    config.parse([REPO / "gin" / "gan_shapes.gin"], ["encoders.resnet.width = 8", "generators.resnet.width = 4",
                                                     "discriminators.projection.width = 4"])
    build_model({"image_shape": (3, 8, 8), "num_classes": 0})
    unused = config.unused_bindings()
    assert "encoders.resnet.width" in unused  # a GAN has no encoder
    assert not any(name.startswith(("generators.", "discriminators.", "models.gan")) for name in unused), unused


def test_an_unscoped_binding_used_inside_scopes_is_not_reported():
    # The trainer builds optimizers only inside the `critic/` and `generator/` scopes.
    config.parse([REPO / "gin" / "gan_shapes.gin"], ["optimizers.adam.betas = (0.0, 0.9)",
                                                     "critic/optimizers.adam.eps = 1e-7",
                                                     "nowhere/optimizers.adam.eps = 1e-6"])
    gin.get_configurable("optimizers.adam")  # resolvable
    with gin.config_scope("critic"):
        with gin.config_scope("inner"):  # gin applies critic/ bindings to nested scopes too
            gin.get_configurable("optimizers.adam")(params=[torch.zeros(1, requires_grad=True)])
    unused = config.unused_bindings()
    assert "optimizers.adam.betas" not in unused and "critic/optimizers.adam.eps" not in unused
    assert "nowhere/optimizers.adam.eps" in unused


def test_an_include_cycle_is_a_clear_error(tmp_path):
    (tmp_path / "a.gin").write_text("include 'b.gin'\n")
    (tmp_path / "b.gin").write_text("include 'a.gin'  # back again\n")
    with pytest.raises(ConfigError, match=r"includes itself.*a\.gin -> b\.gin -> a\.gin"):
        config.parse([tmp_path / "a.gin"])


def test_an_include_gin_would_read_from_elsewhere_is_refused(tmp_path):
    (tmp_path / "x.gin").write_text("Trainer.seed = 7\n")
    (tmp_path / "r.gin").write_text("  include 'x.gin'\n")
    with pytest.raises(ConfigError, match="not on a line of its own"):
        config.parse([tmp_path / "r.gin"])


def test_a_run_made_before_its_recipe_used_includes_still_resumes(tmp_path):
    from hbaezoo.rundir.layout import RunDir

    recipe = REPO / "gin" / "hbae_shapes.gin"
    text = recipe_text.config_text([recipe], [], config.parse([recipe]))
    flat = "\n".join(line for line in text.splitlines() if not line.startswith("#"))  # the same values, laid out otherwise
    (tmp_path / "config.gin").write_text("# an older layout\n" + "\n".join(reversed(flat.splitlines())) + "\n")
    RunDir(tmp_path).check_same_config(text)  # same bindings: resumes
    with pytest.raises(ConfigError, match="different config"):
        RunDir(tmp_path).check_same_config(text + "\nTrainer.seed = 1\n")
    assert not config.same_bindings("Trainer.seed = 0\n", "Trainer.seed = 0\nTrainer.seed = 1\n")  # the later wins


def test_includes_keep_gin_imports_windows_newlines_and_each_file_s_line_numbers(tmp_path):
    (tmp_path / "x.gin").write_text("Trainer.seed = 7\n")
    # gin forgets imports between parses: those above an include still serve the lines below it.
    (tmp_path / "i.gin").write_text("from __gin__ import dynamic_registration\nimport collections\n"
                                    "include 'x.gin'\ncollections.OrderedDict.a = 1\n")
    config.parse([tmp_path / "i.gin"])
    (tmp_path / "w.gin").write_bytes(b"include 'x.gin'\r\nTrainer.steps = 3\r\n")
    config.parse([tmp_path / "w.gin"])
    assert gin.query_parameter("Trainer.seed") == 7 and gin.query_parameter("Trainer.steps") == 3
    (tmp_path / "r.gin").write_text("# c\ninclude 'x.gin'\n\nTrainer.steps = 3\nTrainer.stepz = 4\n")
    with pytest.raises(ConfigError, match=r"stepz(.|\n)*line 5"):
        config.parse([tmp_path / "r.gin"])
    (tmp_path / "b.gin").write_text("include 'x.gin'\nTrainer.steps = 1\n\n  include 'x.gin'\n")
    with pytest.raises(ConfigError, match="line 4: include"):
        config.parse([tmp_path / "b.gin"])

"""Loading a folder that is not a complete run directory says what is missing and what to give instead."""

import pytest

from hbaezoo.errors import CheckpointError
from hbaezoo.rundir.layout import RunDir


def require_says(path, *words):
    with pytest.raises(CheckpointError) as info:
        RunDir(path).require()
    for word in words:
        assert word in str(info.value)


def test_a_complete_run_directory_passes(tmp_path):
    (tmp_path / "config.gin").write_text("")
    (tmp_path / "data.json").write_text("{}")
    RunDir(tmp_path).require()


def test_a_path_that_does_not_exist_is_named_so(tmp_path):
    require_says(tmp_path / "nowhere", "does not exist", "--run-dir", "runs/hbae_shapes")


def test_a_file_is_not_a_run_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    require_says(tmp_path / "f", "is a file", "not a run directory", "--run-dir")


def test_a_folder_of_runs_names_the_runs_inside(tmp_path):
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.gin").write_text("")
    (tmp_path / "not_a_run").mkdir()
    require_says(tmp_path, "neither config.gin nor data.json", "inside it: a, b.", str(tmp_path / "a"))


def test_an_empty_folder_says_which_folder_to_give(tmp_path):
    require_says(tmp_path, "neither config.gin nor data.json", "--run-dir", "runs/hbae_shapes")


def test_config_without_data_says_how_to_get_data_json_back(tmp_path):
    (tmp_path / "config.gin").write_text("")
    require_says(tmp_path, "no data.json", "Run the same `hbaezoo run` command again")


def test_data_without_config_names_the_trainer_from_python(tmp_path):
    (tmp_path / "data.json").write_text("{}")
    require_says(tmp_path, "no config.gin", "hbaezoo.build(recipe, bindings)", "put back")

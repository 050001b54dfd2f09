"""`hbaezoo new-plugin`: every template gives a part that passes its kind's checks; bad input is refused.

Generated code runs only in subprocesses (with the generated `src/` on PYTHONPATH, no
pip install), so its registrations never leak into this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hbaezoo.cli import main
from hbaezoo.errors import HbaezooError
from hbaezoo.scaffold import TEMPLATES, new_plugin

KINDS = sorted(TEMPLATES)

# Imports each generated module, finds its part in the registry by the derived name, checks it.
CHECK_ALL = """
import importlib, json, sys, traceback
from hbaezoo.registry import registry
from hbaezoo.testing import Sizes, check_part

results = {}
for kind, module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
        part = registry(kind).part(module)
        assert part.original.__module__ == module, part.original.__module__
        check_part(kind, part.original, Sizes())
        results[kind] = "ok"
    except Exception:
        results[kind] = traceback.format_exc()
print(json.dumps(results))
"""


def _env(*pythonpath: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env["HBAEZOO_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> dict[str, str]:
    """Scaffold one plugin per kind and check all their parts in one subprocess: kind -> 'ok' or traceback."""
    dest = tmp_path_factory.mktemp("plugins")
    made = {kind: new_plugin(f"scaffolded_{kind}", kind, dest) for kind in KINDS}
    result = subprocess.run(
        [sys.executable, "-c", CHECK_ALL, json.dumps([[kind, f"scaffolded_{kind}"] for kind in KINDS])],
        env=_env(*(path / "src" for path in made.values())), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", KINDS)
def test_generated_part_passes_its_kind_checks(checked, kind):
    assert checked[kind] == "ok", checked[kind]


def test_at_least_the_documented_kinds_have_templates():
    assert set(TEMPLATES) >= {"poolers", "encoders", "divergences", "regularisers", "adversarial", "heads",
                              "generators", "discriminators"}


def test_layout_and_entry_point(tmp_path):
    root = new_plugin("hbaezoo-my-pool", "poolers", tmp_path)
    assert root == tmp_path / "hbaezoo-my-pool"
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == {
        "pyproject.toml", "README.md", "src/hbaezoo_my_pool/__init__.py", "tests/test_hbaezoo_my_pool.py",
    }
    pyproject = (root / "pyproject.toml").read_text()
    assert 'name = "hbaezoo-my-pool"' in pyproject
    assert '[project.entry-points."hbaezoo.plugins"]\nmy_pool = "hbaezoo_my_pool"' in pyproject
    # '-' maps to '_' in the module; the hbaezoo_ prefix is dropped from the part's name.
    assert '@POOLERS.register("my_pool")\nclass MyPoolPooler(' in (root / "src/hbaezoo_my_pool/__init__.py").read_text()
    compile((root / "src/hbaezoo_my_pool/__init__.py").read_text(), "generated", "exec")


def test_generated_test_file_passes_under_pytest(tmp_path):
    root = new_plugin("my_pool", "poolers", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, env=_env(root / "src"), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_refuses_an_existing_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(HbaezooError, match=r"taken already exists; new-plugin never overwrites\. Remove it"):
        new_plugin("taken", "poolers", tmp_path)


def test_refuses_an_unsupported_kind_listing_the_supported_ones(tmp_path):
    with pytest.raises(HbaezooError, match="no template for kind 'datasets'") as info:
        new_plugin("my_data", "datasets", tmp_path)
    assert all(kind in str(info.value) for kind in KINDS)
    with pytest.raises(HbaezooError, match="Did you mean: poolers"):
        new_plugin("my_pool", "pooler", tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["1pool", "my pool", "my.pool", "pool!", "", "class", "_private"])
def test_refuses_names_that_cannot_be_modules(tmp_path, name):
    with pytest.raises(HbaezooError, match="plugin name"):
        new_plugin(name, "poolers", tmp_path)


def test_refuses_names_that_clash_with_a_module_or_a_registered_part(tmp_path):
    with pytest.raises(HbaezooError, match="a module named 'torch' is already importable"):
        new_plugin("torch", "poolers", tmp_path)
    with pytest.raises(HbaezooError, match="poolers 'mean' is already registered"):
        new_plugin("hbaezoo-mean", "poolers", tmp_path)
    assert not any(tmp_path.iterdir())


def test_cli_reports_errors_without_a_traceback(tmp_path, capsys):
    assert main(["new-plugin", "my_pool", "--kind", "poolers", "--dest", str(tmp_path)]) == 0
    assert (tmp_path / "my_pool" / "pyproject.toml").is_file()
    assert main(["new-plugin", "my_pool", "--kind", "poolers", "--dest", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "Traceback" not in err

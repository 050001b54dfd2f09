"""docs/plugins.md runs as written: its marked code blocks form a plugin that lists, builds from gin and tests.

Convention: a fenced block preceded by `<!-- file: PATH -->` is the content of PATH
(relative to a scratch folder). Nothing is installed: subprocesses get the package's
`src/` on PYTHONPATH and load it with `--plugin`, so no registration leaks into this
process. Unmarked `sh` blocks are checked to be valid hbaezoo command lines.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import hbaezoo

from hbaezoo.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "plugins.md"
BLOCK = re.compile(r"(?:^<!-- file: (?P<path>\S+) -->\n)?^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE)

PACKAGE = "hbaezoo-deepsets"
MODULE = "hbaezoo_deepsets"
SOURCE = f"{PACKAGE}/src/{MODULE}/__init__.py"
PYPROJECT = f"{PACKAGE}/pyproject.toml"
TEST = f"{PACKAGE}/tests/test_deepsets.py"
RECIPE = "set_hbae_deepsets.gin"

BUILD_FROM_GIN = f"""
import sys
import hbaezoo.assembly
from hbaezoo import config
from hbaezoo.plugins import load_plugins
from hbaezoo.registry import MODELS

load_plugins(["{MODULE}"])
config.parse([sys.argv[1]])
model_factory, _ = hbaezoo.assembly.factories()
model = model_factory(image_shape=(3, 32, 32))
from {MODULE} import DeepSetsPooler
assert isinstance(model, MODELS.part("set_hbae").original), type(model)
assert isinstance(model.pooler, DeepSetsPooler), type(model.pooler)
assert model.pooler.phi[0].out_features == 128, "poolers.deepsets.hidden was not applied"
print("built", type(model.pooler).__name__)
"""


def blocks() -> list[tuple[str | None, str, str]]:
    """(marked path or None, language, body) of every fenced block, in order."""
    return [(m["path"], m["lang"], m["body"]) for m in BLOCK.finditer(DOC.read_text())]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The doc's marked blocks written out; returns the scratch folder."""
    root = tmp_path_factory.mktemp("doc")
    for path, _, body in blocks():
        if path:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(body)
    return root


def _run(command: list[str], cwd: Path, files: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The hbaezoo under test (a checkout may differ from the installed one) after the plugin's src.
    here = str(Path(hbaezoo.__file__).resolve().parents[1])
    env.update(PYTHONPATH=os.pathsep.join([str(files / PACKAGE / "src"), here]), HBAEZOO_DISABLE_PLUGIN_AUTOLOAD="1",
               COLUMNS="1000")
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_doc_marks_every_file_of_the_example():
    marked = {path: lang for path, lang, _ in blocks() if path}
    assert marked == {SOURCE: "python", PYPROJECT: "toml", RECIPE: "gin", TEST: "python"}


def test_python_blocks_compile_and_toml_blocks_parse():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    for path, lang, body in blocks():
        if lang == "python":
            compile(body, path or "docs/plugins.md", "exec")
        elif lang == "toml":
            tomllib.loads(body)


def test_pyproject_declares_the_module_as_a_plugin(files):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((files / PYPROJECT).read_text())
    assert project["project"]["name"] == PACKAGE
    assert MODULE in project["project"]["entry-points"]["hbaezoo.plugins"].values()
    setuptools = project["tool"]["setuptools"]
    assert setuptools["packages"] == [MODULE]
    assert (files / PACKAGE / setuptools["package-dir"][""] / MODULE / "__init__.py").is_file()


def test_hbaezoo_list_shows_the_docs_pooler(files):
    result = _run([sys.executable, "-m", "hbaezoo", "list", "poolers", "--plugin", MODULE], files, files)
    assert result.returncode == 0, result.stderr
    row = next((line for line in result.stdout.splitlines() if line.split("\t")[0] == "poolers.deepsets"), "")
    assert f"module {MODULE}" in row and "hidden=64" in row, result.stdout


def test_gin_builds_set_hbae_with_the_docs_pooler_by_name(files):
    result = _run([sys.executable, "-c", BUILD_FROM_GIN, str(files / RECIPE)], files, files)
    assert result.returncode == 0, result.stderr
    assert "built DeepSetsPooler" in result.stdout


def test_the_docs_test_block_passes_under_pytest(files):
    result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], files / PACKAGE, files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_shell_blocks_are_valid_hbaezoo_command_lines():
    parser = build_parser()
    commands = 0
    for _, lang, body in blocks():
        if lang != "sh":
            continue
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # leading VAR=value
                words.pop(0)
            if words[:1] == ["hbaezoo"]:
                parser.parse_args(words[1:])  # exits with status 2 on a malformed line
                commands += 1
    assert commands >= 6

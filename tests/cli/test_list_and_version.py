"""Command-line habits: `list` piped is one whole part per line (and JSON on request), `--version`,
and a start-up that imports neither torch nor the evaluation stack before it is needed."""

import json
import os
import subprocess
import sys
from importlib.metadata import version

import pytest

from hbaezoo.registry import all_parts

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]),
       "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "40"}
HEAVY = ("torch", "torchvision", "hbaezoo.eval.parts", "hbaezoo.models", "hbaezoo.data", "lpips", "cleanfid", "matplotlib")


def hbaezoo(*args: str) -> subprocess.CompletedProcess:
    """The CLI with stdout a pipe, as in `hbaezoo list | grep mean`."""
    return subprocess.run([sys.executable, "-m", "hbaezoo", *args], capture_output=True, text=True, env=ENV,
                          cwd=REPO, timeout=600)


def core_parts():
    return [p for p in all_parts() if p.source == "core"]


def test_piped_list_prints_each_part_whole_on_its_own_line():
    result = hbaezoo("list")  # COLUMNS=40: a table would wrap every name
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "\x1b[" not in result.stdout and not any(line.startswith(("┏", "┃", "│", "╭")) for line in lines)
    first = [line.split("\t")[0] for line in lines]
    assert sorted(first) == sorted(p.gin_name for p in core_parts())
    mean = [line for line in lines if "mean" in line.split("\t")[0]]
    assert mean and all(line.split("\t")[0] in {"poolers.mean"} for line in mean), mean
    row = dict(zip(first, (line.split("\t") for line in lines)))["poolers.mean"]
    assert row[1] == "core" and "dim=required" in row[3]


def test_a_reader_that_stops_early_is_no_error():
    # `hbaezoo list | head -1`: the pipe closes while list is still writing.
    proc = subprocess.Popen([sys.executable, "-m", "hbaezoo", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**ENV, "PYTHONUNBUFFERED": "1"}, cwd=REPO)
    assert proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=600) == 0 and "Traceback" not in stderr and "Error" not in stderr, stderr


def test_list_json_names_every_part_with_its_parameters():
    result = hbaezoo("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sorted(r["gin_name"] for r in rows) == sorted(p.gin_name for p in core_parts())
    pooler = next(r for r in rows if r["gin_name"] == "poolers.mean")
    assert pooler["parameters"] == {"dim": None} and pooler["summary"]
    one_kind = json.loads(hbaezoo("list", "datasets", "--json").stdout)
    assert {r["kind"] for r in one_kind} == {"datasets"} and "image_folder" in {r["name"] for r in one_kind}


def test_version_prints_the_installed_version():
    result = hbaezoo("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"hbaezoo {version('hbaezoo')}"


def imported_after(code: str) -> set[str]:
    """The heavy modules in sys.modules after running `code` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(' '.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, cwd=REPO,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    found = set(result.stdout.split())
    return {h for h in HEAVY if h in found}


@pytest.mark.parametrize("code", [
    "import hbaezoo.cli",
    "import hbaezoo.cli; hbaezoo.cli.build_parser()",
    "import hbaezoo.cli, contextlib, io\n"
    "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
    "    hbaezoo.cli.main(['--help'])",
])
def test_cli_start_up_imports_no_torch_and_no_evaluation(code):
    assert imported_after(code) == set()


def test_listing_one_kind_imports_only_that_kind():
    found = imported_after("import hbaezoo.cli, contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n"
                           "    hbaezoo.cli.main(['list', 'poolers'])")
    assert "hbaezoo.eval.parts" not in found and "hbaezoo.models" not in found and "torch" in found


def test_a_registry_loads_its_core_parts_when_asked():
    found = imported_after("from hbaezoo.registry import METRICS\nassert 'fid_gen' in METRICS.names()")
    assert "hbaezoo.eval.parts" in found


def test_a_plugin_registering_first_still_meets_the_core_parts_first():
    """Core parts load lazily; a plugin registering before them must not own them, nor win a name clash."""
    code = '''
from hbaezoo.errors import RegistryError
from hbaezoo.registry import POOLERS, registering_as

with registering_as("plugin demo"):
    POOLERS.register("mine")(type("Mine", (), {}))
    try:
        POOLERS.register("mean")(type("Mean", (), {}))
    except RegistryError as exc:
        clash = str(exc)
print(POOLERS.part("mean").source, POOLERS.part("mine").source, "|", clash)
'''
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=REPO,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    sources, clash = result.stdout.split("|")
    assert sources.split() == ["core", "plugin", "demo"]
    assert clash.index("(core)") < clash.index("(plugin demo)")


def test_a_terminal_still_gets_the_table(monkeypatch):
    import io

    from rich.console import Console

    from hbaezoo import cli

    out = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=out, force_terminal=True, width=160))
    assert cli.main(["list", "poolers"]) == 0
    text = out.getvalue()
    assert "poolers.mean" in text and "┏" in text and "\t" not in text

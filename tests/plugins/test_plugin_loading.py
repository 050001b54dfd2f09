"""hbaezoo.plugins as a user meets it: entry points, broken plugins, the off switch, --plugin, clashes.

Each test runs hbaezoo in a subprocess, so registrations never leak into this process.
Fake distributions are a `*.dist-info` folder (METADATA + entry_points.txt) next to a
module, in a temp dir on PYTHONPATH: importlib.metadata finds them without pip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

POOLER = '''\
import torch
from torch import nn

from hbaezoo.registry import POOLERS


@POOLERS.register("{name}")
class Pooler(nn.Module):
    """A pooler from a test plugin."""

    def __init__(self, *, dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)
'''


def fake_distribution(site: Path, dist: str, entry_name: str, module: str, source: str) -> Path:
    """Write `module.py` and a dist-info declaring it as an hbaezoo plugin; return the module file."""
    site.mkdir(parents=True, exist_ok=True)
    path = site / f"{module}.py"
    path.write_text(source)
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[hbaezoo.plugins]\n{entry_name} = {module}\n")
    return path


def hbaezoo(*args: str, cwd: Path, pythonpath: Path | None = None, script: bool = False,
            **env: str) -> subprocess.CompletedProcess:
    """Run the CLI (`python -m hbaezoo`, or the installed `hbaezoo` script) and capture its output."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD")}
    environ["COLUMNS"] = "1000"  # rich wraps tables and messages at the terminal width
    if pythonpath is not None:
        environ["PYTHONPATH"] = str(pythonpath)
    environ.update(env)
    command = [str(Path(sys.executable).with_name("hbaezoo"))] if script else [sys.executable, "-m", "hbaezoo"]
    return subprocess.run([*command, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)


def row(stdout: str, gin_name: str) -> str:
    """The line of one part ('' if absent): piped, `hbaezoo list` prints one tab-separated part a line."""
    return next((line for line in stdout.splitlines() if line.split("\t")[0] == gin_name), "")


@pytest.fixture(scope="module")
def good_and_broken(tmp_path_factory):
    """`hbaezoo list poolers` with one working and one broken entry-point plugin installed."""
    site = tmp_path_factory.mktemp("site")
    fake_distribution(site, "fake-good", "good", "good_plugin", POOLER.format(name="fake_good"))
    fake_distribution(site, "fake-broken", "broken", "broken_plugin",
                      "raise RuntimeError('boom on purpose: sizes[dim] is wrong')\n")
    return hbaezoo("list", "poolers", cwd=site, pythonpath=site)


def test_entry_point_plugin_part_is_listed_with_its_distribution(good_and_broken):
    assert "plugin fake-good" in row(good_and_broken.stdout, "poolers.fake_good"), good_and_broken.stdout
    assert "core" in row(good_and_broken.stdout, "poolers.mean")


def test_broken_plugin_is_reported_by_name_and_the_others_still_load(good_and_broken):
    assert good_and_broken.returncode == 0, good_and_broken.stderr
    assert "plugin 'broken'" in good_and_broken.stderr
    assert "fake-broken" in good_and_broken.stderr
    # The error text arrives intact, brackets included (rich would eat `[dim]` as markup).
    assert "RuntimeError: boom on purpose: sizes[dim] is wrong" in good_and_broken.stderr
    assert "HBAEZOO_DISABLE_PLUGIN_AUTOLOAD" in good_and_broken.stderr
    assert row(good_and_broken.stdout, "poolers.fake_good")


def test_disable_autoload_env_var_skips_entry_point_plugins(tmp_path):
    fake_distribution(tmp_path, "fake-good", "good", "good_plugin", POOLER.format(name="fake_good"))
    result = hbaezoo("list", "poolers", cwd=tmp_path, pythonpath=tmp_path, HBAEZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0, result.stderr
    assert not row(result.stdout, "poolers.fake_good")
    assert row(result.stdout, "poolers.mean")


def test_plugin_option_loads_a_local_module_from_the_working_directory(tmp_path):
    if not Path(sys.executable).with_name("hbaezoo").is_file():
        pytest.skip("the hbaezoo script is not installed next to this python")
    (tmp_path / "local_parts.py").write_text(POOLER.format(name="local_mean"))
    # The installed script, not `python -m`: only the latter puts the working directory on sys.path itself.
    result = hbaezoo("list", "poolers", "--plugin", "local_parts", cwd=tmp_path, script=True)
    assert result.returncode == 0, result.stderr
    assert "module local_parts" in row(result.stdout, "poolers.local_mean"), result.stdout


def test_plugin_option_with_an_unknown_module_is_a_clear_error(tmp_path):
    result = hbaezoo("list", "--plugin", "no_such_parts", cwd=tmp_path)
    assert result.returncode == 2
    assert "--plugin no_such_parts: cannot import it" in result.stderr
    assert "Traceback" not in result.stderr


def _lines_of(path: Path, text: str) -> set[int]:
    return {i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line}


def test_a_name_registered_by_two_plugins_fails_naming_both_definitions(tmp_path):
    first = fake_distribution(tmp_path, "fake-dup-a", "dup_a", "dup_a", POOLER.format(name="twice"))
    second = fake_distribution(tmp_path, "fake-dup-b", "dup_b", "dup_b", "\n\n" + POOLER.format(name="twice"))
    result = hbaezoo("list", "poolers", cwd=tmp_path, pythonpath=tmp_path)
    assert "poolers 'twice' is registered twice" in result.stderr, result.stderr
    # Entry points load in name order, so dup_a's definition is the first one.
    places = dict(re.findall(r"(dup_[ab]\.py):(\d+)", result.stderr))
    assert places.keys() == {"dup_a.py", "dup_b.py"}, result.stderr
    accepted = "@POOLERS.register", "class Pooler"
    assert int(places["dup_a.py"]) in set().union(*(_lines_of(first, a) for a in accepted))
    assert int(places["dup_b.py"]) in set().union(*(_lines_of(second, a) for a in accepted))
    assert f"{first}:" in result.stderr and f"{second}:" in result.stderr
    assert "plugin 'dup_b'" in result.stderr  # the second plugin is the one skipped
    assert "plugin fake-dup-a" in row(result.stdout, "poolers.twice")


def test_a_typo_in_a_gin_binding_exits_2_with_suggestions_and_no_traceback(tmp_path):
    run_dir = tmp_path / "run"
    result = hbaezoo("run", "gin/hbae_shapes.gin", "-b", "models.hbae.pooler=@poolers.maen", "--steps", "1",
                     "--run-dir", str(run_dir), cwd=REPO, HBAEZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 2, result.stderr
    assert "Did you mean" in result.stderr and "poolers.mean" in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


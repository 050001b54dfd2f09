"""Every package the code imports is declared in pyproject.toml, and what is installed satisfies it.

Imports are read from the source (every `import x` / `from x import`, also those inside
functions), so a new import of an undeclared package fails here, not on a user's machine.
"""

import ast
import importlib
import os
import pkgutil
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import hbaezoo
from hbaezoo.gin_import import GIN_REQUIREMENT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
DEV = [Requirement(r) for r in PROJECT["optional-dependencies"]["dev"]]
# Imports that are not packages on an index: this repository's own code, including the scripts
# of benchmarks/ and experiments/ that tests import from those folders.
LOCAL = {"hbaezoo", "hbaezoo_set_attention", "conftest"} | {
    p.stem for folder in ("benchmarks", "experiments") for p in (REPO / folder).glob("*.py")}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def imported_top_level(folder: Path) -> dict[str, str]:
    """Top-level module name -> first file importing it, for every absolute import under `folder`."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        # `try: import x / except ImportError:` is an optional package (pytest in hbaezoo.testing), not a dependency.
        optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in t.handlers)
            for stmt in t.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    # Modules that live beside the importing files (tests/battery puts its folder on sys.path) are not packages.
    siblings = {p.stem for p in folder.rglob("*.py")}
    return {m: f for m, f in found.items() if m not in sys.stdlib_module_names and m not in LOCAL and m not in siblings}


def undeclared(folder: Path, declared: list[Requirement]) -> list[str]:
    names = {_normal(r.name) for r in declared}
    distributions = packages_distributions()
    missing = []
    for module, where in imported_top_level(folder).items():
        dists = distributions.get(module)
        if not dists and any(_normal(r.name) == _normal(module) and r.marker for r in declared):
            continue  # declared for other Pythons only (tomli before 3.11)
        if not dists:
            missing.append(f"{module} (imported in {where}) is not installed")
        elif not any(_normal(d) in names for d in dists):
            missing.append(f"{module} (imported in {where}) comes from {dists[0]}, which pyproject.toml does not declare")
    return missing


def test_every_package_the_library_imports_is_a_declared_dependency():
    assert undeclared(REPO / "hbaezoo", RUNTIME) == []


def test_every_package_the_tests_import_is_declared():
    assert undeclared(REPO / "tests", RUNTIME + DEV) == []


@pytest.mark.parametrize("requirement", RUNTIME + DEV, ids=str)
def test_the_installed_version_satisfies_the_declared_range(requirement):
    if requirement.marker is not None and not requirement.marker.evaluate():
        pytest.skip(f"not needed here: {requirement.marker}")
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared in pyproject.toml but not installed")
    assert requirement.specifier.contains(installed, prereleases=True), f"{requirement.name} {installed}"


def test_the_gin_config_fix_in_the_missing_gin_error_is_the_declared_range():
    assert Requirement(GIN_REQUIREMENT) in RUNTIME


MODULES = sorted(m.name for m in pkgutil.walk_packages(hbaezoo.__path__, "hbaezoo."))


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports(module):
    if module == "hbaezoo.__main__":
        pytest.skip("runs the CLI when imported; `python -m hbaezoo` is run by tests/cli")
    importlib.import_module(module)


def test_the_module_list_is_complete():
    on_disk = {os.path.splitext(str(p.relative_to(REPO)))[0].replace(os.sep, ".").removesuffix(".__init__")
               for p in (REPO / "hbaezoo").rglob("*.py")}
    assert on_disk == set(MODULES) | {"hbaezoo"}

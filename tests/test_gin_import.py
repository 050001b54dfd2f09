"""Without gin-config, `import hbaezoo` says so, names what `import gin` found, and gives the pip command.

Both cases run a fresh Python without site-packages (`-S`), which is exactly a Python where
gin-config is not installed; hbaezoo's check runs before it imports anything else.
"""

import os
import subprocess
import sys

from hbaezoo.gin_import import GIN_REQUIREMENT

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def import_hbaezoo_without_site_packages(cwd) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    proc = subprocess.run([sys.executable, "-S", "-c", "import hbaezoo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip().splitlines()[-1]


def test_the_recipe_folder_found_as_gin_is_named_with_the_fix():
    # From the repository root `import gin` finds the recipe folder gin/ as a namespace package.
    message = import_hbaezoo_without_site_packages(REPO)
    assert message.startswith("hbaezoo.errors.DependencyError: hbaezoo needs the gin-config package"), message
    assert f"found the folder {os.path.join(REPO, 'gin')} " in message
    assert f"pip install '{GIN_REQUIREMENT}'" in message
    assert "external_configurable" not in message


def test_a_missing_gin_config_is_reported_with_the_fix(tmp_path):
    (tmp_path / "hbaezoo").symlink_to(os.path.join(REPO, "hbaezoo"))  # hbaezoo importable, no gin/ beside it
    message = import_hbaezoo_without_site_packages(tmp_path)
    assert "gin-config package (`import gin`), which is not installed (No module named 'gin')" in message
    assert f"pip install '{GIN_REQUIREMENT}'" in message

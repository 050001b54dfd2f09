import os

import pytest

# Tests never render into the user's cache; one session-wide folder is reused across tests.
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "xdg"))

import hbaezoo  # noqa: E402  (registers core parts)
from hbaezoo.plugins import load_plugins  # noqa: E402

load_plugins()

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


@pytest.fixture
def repo_root() -> str:
    return REPO

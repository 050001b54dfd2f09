import os

import gin
import pytest

# Tests never render into the user's cache; one session-wide folder is reused across tests.
os.environ.setdefault("XDG_CACHE_HOME", os.path.join(os.path.dirname(__file__), "..", ".pytest_cache", "xdg"))

from hbaezoo.plugins import load_plugins
from hbaezoo.registry import load_core

load_core()  # every core part, as a parsed recipe sees them (import hbaezoo no longer imports them)
load_plugins()

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


@pytest.fixture
def repo_root() -> str:
    return REPO


@pytest.fixture(autouse=True)
def _bindings_end_with_their_test():
    """A recipe one test parses must not configure the parts a later test builds on the same worker
    (a later tiny_model(SetHBAE) would take the shipped recipe's views, say)."""
    yield
    gin.clear_config()


# Bindings that shrink any shapes recipe to a few seconds of CPU.
TINY = [
    "datasets.shapes.resolution = 16",
    "datasets.shapes.objects_per_category = 2",
    "datasets.shapes.views = 4",
    "encoders.resnet.width = 8",
    "generators.resnet.width = 8",
    "discriminators.projection.width = 8",
    "discriminators.joint.width = 8",
    "Trainer.batch_size = 4",
    "Trainer.progress = False",
    "Trainer.tensorboard = False",
    "Trainer.log_every = 1",
]


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)

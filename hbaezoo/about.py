"""The installed hbaezoo version, for `hbaezoo.__version__` and the records a run writes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hbaezoo")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

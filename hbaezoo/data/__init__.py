"""Datasets; importing this package registers them."""

from hbaezoo.data import shapes  # noqa: F401
from hbaezoo.data import folders  # noqa: F401

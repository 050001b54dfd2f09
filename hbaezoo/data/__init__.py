"""Datasets; importing this package registers them."""

from hbaezoo.data import (
    folders,  # noqa: F401
    shapes,  # noqa: F401
)

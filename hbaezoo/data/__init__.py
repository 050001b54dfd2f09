"""Datasets; importing this package registers them."""

from hbaezoo.data import folders, shapes  # noqa: F401  (import registers the datasets)

"""Datasets; importing this package registers them."""

from hbaezoo.data import folders, image_folder, shapes  # noqa: F401  (import registers the datasets)

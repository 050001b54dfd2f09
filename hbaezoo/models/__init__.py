"""Model assemblies; importing this package registers them."""

from hbaezoo.models import gan, hbae, vae  # noqa: F401

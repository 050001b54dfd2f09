"""Model assemblies; importing this package registers them."""

from hbaezoo.models import bigan, gan, hbae, vae, vae_gan  # noqa: F401

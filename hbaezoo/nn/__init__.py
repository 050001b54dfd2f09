"""Shared building blocks: residual blocks, conditional batch norm, spectral norm."""

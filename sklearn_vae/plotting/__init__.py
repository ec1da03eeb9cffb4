"""Plotting helpers (matplotlib is imported lazily)."""

from ._latent import LatentSpaceDisplay

__all__ = ["LatentSpaceDisplay"]

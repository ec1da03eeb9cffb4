"""Plotting: scikit-learn style displays (matplotlib is imported lazily)."""

from ._displays import (
    FeatureAttributionDisplay,
    LatentKLDisplay,
    LossCurveDisplay,
    MarginalsDisplay,
)
from ._latent import LatentSpaceDisplay

__all__ = [
    "FeatureAttributionDisplay",
    "LatentKLDisplay",
    "LatentSpaceDisplay",
    "LossCurveDisplay",
    "MarginalsDisplay",
]

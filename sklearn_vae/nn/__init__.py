"""Torch core: modules and losses, free of scikit-learn and skorch."""

from ._losses import (
    bernoulli_log_prob,
    categorical_log_prob,
    gaussian_log_prob,
    kl_per_dimension,
    kl_to_standard_normal,
)
from ._modules import ColumnLayout, VAEModule, VAEOutput

__all__ = [
    "ColumnLayout",
    "VAEModule",
    "VAEOutput",
    "bernoulli_log_prob",
    "categorical_log_prob",
    "gaussian_log_prob",
    "kl_per_dimension",
    "kl_to_standard_normal",
]

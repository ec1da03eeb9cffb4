"""Per-entry log-likelihoods and the KL term (plain torch, no reduction).

Every function returns one value per row (or per row and column); the caller
reduces. Nothing here knows about scikit-learn or skorch.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """Elementwise ``log N(x; mean, exp(logvar))``."""
    return -0.5 * (_LOG_2PI + logvar + (x - mean).square() * torch.exp(-logvar))


def bernoulli_log_prob(x: Tensor, logits: Tensor) -> Tensor:
    """Elementwise ``log Bernoulli(x; sigmoid(logits))`` for x in {0, 1}."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def categorical_log_prob(onehot: Tensor, logits: Tensor) -> Tensor:
    """``log Categorical(onehot; softmax(logits))`` over the last axis.

    A row whose one-hot block is all zeros (a missing entry) gets 0.
    """
    return (onehot * torch.log_softmax(logits, dim=-1)).sum(dim=-1)


def kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu_j, exp(logvar_j)) || N(0, 1))`` of each latent dimension.

    Same shape as ``mu``; the sum over the last axis is
    :func:`kl_to_standard_normal`.
    """
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row, shape ``(n,)``."""
    return kl_per_dimension(mu, logvar).sum(dim=-1)


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log N(z; mu, diag(exp(logvar)))`` summed over the last axis."""
    return gaussian_log_prob(z, mu, logvar).sum(dim=-1)


def standard_normal_log_density(z: Tensor) -> Tensor:
    """``log N(z; 0, I)`` summed over the last axis."""
    return -0.5 * (_LOG_2PI + z.square()).sum(dim=-1)

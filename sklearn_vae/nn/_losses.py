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


class _GaussianRowLogProb(torch.autograd.Function):
    """``sum_j mask_j log N(x_j; mean_j, exp(logvar_j))`` over the last axis.

    One autograd node with a closed-form backward, instead of the dozen
    elementwise kernels (forward and backward) that the expression in
    :func:`gaussian_log_prob` followed by a masked sum records. On wide
    tables those kernels are a large part of a training step.
    """

    @staticmethod
    def forward(ctx, x, mean, logvar, mask):
        inv_var = torch.exp(-logvar)
        diff = mean - x
        scaled = diff * inv_var            # d log p / d mean, up to sign
        quad = diff * scaled               # (x - mean)^2 / var
        n_cols = quad.shape[-1]
        if mask is None:
            # logvar broadcasts over the rows: its sum is one term per row.
            const = logvar.sum(dim=-1) + n_cols * _LOG_2PI
            out = quad.sum(dim=-1).add_(const).mul_(-0.5)
        else:
            out = ((quad + logvar + _LOG_2PI) * mask).sum(dim=-1).mul_(-0.5)
        ctx.save_for_backward(scaled, quad, mask)
        ctx.shapes = (x.shape, mean.shape, logvar.shape)
        return out

    @staticmethod
    def backward(ctx, grad):
        scaled, quad, mask = ctx.saved_tensors
        x_shape, mean_shape, logvar_shape = ctx.shapes
        g = grad.unsqueeze(-1)
        grad_mean = g.neg() * scaled  # the sign on the small factor, not the array
        if mask is not None:
            grad_mean = grad_mean.mul_(mask)
        grad_x = grad_logvar = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_mean.neg().sum_to_size(x_shape)
        if ctx.needs_input_grad[2]:
            if mask is None and len(logvar_shape) == 1:
                # Homoscedastic: d/dlogvar_j = -0.5 sum_rows g (1 - quad_j).
                flat_q = quad.reshape(-1, quad.shape[-1])
                grad_logvar = (grad.reshape(-1) @ flat_q).sub_(grad.sum()).mul_(0.5)
            else:
                term = (1.0 - quad).mul_(g)
                if mask is not None:
                    term = term.mul_(mask)
                grad_logvar = term.mul_(-0.5).sum_to_size(logvar_shape)
        return grad_x, grad_mean.sum_to_size(mean_shape), grad_logvar, None


def gaussian_row_log_prob(x: Tensor, mean: Tensor, logvar: Tensor,
                          mask: Tensor = None) -> Tensor:
    """``log N`` of each observed entry summed over the last axis.

    The same value as ``(gaussian_log_prob(x, mean, logvar) * mask).sum(-1)``
    (``mask`` None: every entry counts), through one autograd node. ``x``,
    ``mask`` and ``logvar`` broadcast against ``mean``, whose shape the
    per-entry terms take.
    """
    return _GaussianRowLogProb.apply(x, mean, logvar, mask)


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

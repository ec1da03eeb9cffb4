"""The VAE as a plain torch module: MLP encoder, MLP decoder, likelihood heads.

A row is encoded as one flat vector laid out ``[continuous | binary | one-hot
categorical blocks]`` (see :class:`ColumnLayout`) plus a mask with one entry
per *column* (1 = observed). Missing entries are filled with 0 by the caller.
The encoder sees ``[x, mask]``; the likelihood counts observed entries only.
"""

import math
import weakref
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._losses import (
    _LOG_2PI,
    bernoulli_log_prob,
    gaussian_log_density,
    gaussian_log_prob,
    gaussian_row_log_prob,
    kl_per_dimension,
    kl_to_standard_normal,
    standard_normal_log_density,
)


class ColumnLayout(NamedTuple):
    """How the columns of a table map onto the flat encoded vector."""

    n_continuous: int = 0
    n_binary: int = 0
    categories: tuple = ()  # number of levels of each categorical column

    @property
    def n_columns(self) -> int:
        return self.n_continuous + self.n_binary + len(self.categories)

    @property
    def n_values(self) -> int:
        return self.n_continuous + self.n_binary + sum(self.categories)

    def value_columns(self) -> Tensor:
        """The column of each encoded value, shape ``(n_values,)`` (a LongTensor)."""
        widths = [1] * (self.n_continuous + self.n_binary) + list(self.categories)
        return torch.repeat_interleave(torch.arange(len(widths)),
                                       torch.tensor(widths, dtype=torch.long))


class VAEOutput(NamedTuple):
    params: Tensor  # decoder output: means, then logits
    mu: Tensor
    logvar: Tensor
    z: Tensor


# Inference only: whether a linear layer gives a row the same output wherever
# the row sits in the batch, per (rows, dtype, device, threads).
_ROW_INVARIANT = weakref.WeakKeyDictionary()


def _identical_rows_agree(layer: nn.Linear, rows: int, dtype, device) -> bool:
    """Whether ``layer`` maps ``rows`` identical rows to identical outputs.

    A GEMM kernel may handle a row differently according to its position in
    a register tile: with MKL on an AVX2 CPU, narrow layers (up to 8
    outputs, an input width not a multiple of 4) round odd and even rows
    differently. Then a row's output depends on where it sits in the batch,
    by about one float32 ulp. A matrix of one repeated row shows it in one
    call (two random rows are tried).
    """
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):
        row = torch.randn(1, layer.in_features, generator=gen).to(device=device, dtype=dtype)
        out = F.linear(row.expand(rows, -1).contiguous(), layer.weight, layer.bias)
        if not torch.equal(out, out[:1].expand_as(out)):
            return False
    return True


def _row_invariant_linear(layer: nn.Linear, h: Tensor) -> Tensor:
    """``layer(h)``, computed so that each row's output is independent of its position.

    The layer's own kernel when a one-time probe at this shape finds it
    row-invariant (the usual case); otherwise this layer runs in float64 and
    its output is rounded back to ``h.dtype`` (the position effect of float64,
    about 1e-16, disappears in that rounding).
    """
    rows = h.numel() // max(1, h.shape[-1])
    key = (rows, h.dtype, h.device, torch.get_num_threads())
    checked = _ROW_INVARIANT.get(layer)
    if checked is None:
        checked = _ROW_INVARIANT.setdefault(layer, {})
    agree = checked.get(key)
    if agree is None:
        agree = checked[key] = _identical_rows_agree(layer, rows, h.dtype, h.device)
    if agree:
        return layer(h)
    bias = None if layer.bias is None else layer.bias.double()
    return F.linear(h.double(), layer.weight.double(), bias).to(h.dtype)


def _inference_forward(seq: nn.Sequential, h: Tensor) -> Tensor:
    """``seq(h)`` for inference (no autograd): row-invariant linears, ReLUs in place."""
    for layer in seq:
        if isinstance(layer, nn.Linear):
            h = _row_invariant_linear(layer, h)
        elif isinstance(layer, nn.ReLU):
            h = h.relu_()
        else:
            h = layer(h)
    return h


def mlp(n_in: int, hidden: tuple, n_out: int, device=None) -> nn.Sequential:
    layers = []
    for width in hidden:
        layers += [nn.Linear(n_in, width, device=device, dtype=torch.float32), nn.ReLU()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out, device=device, dtype=torch.float32))
    return nn.Sequential(*layers)


def _init_linear(layer: nn.Linear, init: str, generator: torch.Generator):
    """Initialize ``layer`` from ``generator`` (never torch's global RNG).

    "default" draws what ``nn.Linear.reset_parameters`` draws (uniform
    weights and biases in +-1/sqrt(fan_in)); "orthogonal" what
    ``nn.init.orthogonal_`` does (QR of a Gaussian matrix, signs fixed by
    the diagonal of R), with zero biases.
    """
    weight, bias = layer.weight, layer.bias
    with torch.no_grad():
        if init == "orthogonal":
            rows, cols = weight.shape
            flat = torch.randn(rows, cols, generator=generator, dtype=weight.dtype)
            if rows < cols:
                flat = flat.T
            q, r = torch.linalg.qr(flat)
            q = q * torch.diagonal(r).sign()
            weight.copy_(q.T if rows < cols else q)
            if bias is not None:
                bias.zero_()
        else:
            bound = 1.0 / math.sqrt(weight.shape[1]) if weight.shape[1] else 0.0
            weight.uniform_(-bound, bound, generator=generator)
            if bias is not None:
                bias.uniform_(-bound, bound, generator=generator)


#: Training on complete data: the encoder's first layer folds the mask of ones
#: into its bias (``VAEModule._first_layer_complete``) when the mask half of its
#: products, rows x columns x width, reaches this; below it, appending the ones
#: costs less (one kernel, where the fold adds four autograd nodes). On one CPU
#: thread, per step: about equal at 128 rows x 300 columns x 64; appending
#: 0.3 ms (13%) faster at 17 rows x 30 columns; folding 8% faster on
#: InternetAds (128 rows x 1555 columns).
_FOLD_MASK_MIN_MACS = 1 << 21


def _capped(s: Tensor, cap: Tensor) -> Tensor:
    """Each entry's surprise ``s = -log p`` with the cap ``a``: ``min(s, a) + log(1 +
    max(0, s - a))`` (see :meth:`VAEModule.column_log_prob`).

    Formed from ``min(s, a)`` so that a far entry loses no precision (``s - (s -
    a)`` in float32 is off by about ``1e-7 s``), and an overflowed surprise
    counts as the largest finite one. Overwrites ``s`` (a temporary of the
    caller's).
    """
    s = s.clamp_(max=torch.finfo(s.dtype).max)
    tail = (s - cap).clamp_(min=0.0).log1p_()
    return torch.minimum(s, cap, out=s).add_(tail)


def _capped_surprise(s: Tensor, cap: Tensor, m: Tensor) -> Tensor:
    """:func:`_capped` summed over the last axis; ``m`` (the mask) keeps missing
    entries at 0. Overwrites ``s``."""
    return _capped(s, cap).mul_(m).sum(dim=-1)


class VAEModule(nn.Module):
    """Gaussian-latent VAE over a mixed-type row.

    Parameters
    ----------
    layout : ColumnLayout
        Number of continuous, binary and categorical columns.
    n_components : int
        Latent dimension.
    hidden_layer_sizes : tuple of int
        Encoder widths; the decoder mirrors them.
    min_variance : float or sequence of float
        Floor on each continuous column's observation variance (one value for
        all, or one per continuous column), so a constant or discrete column
        cannot drive the likelihood to +inf.
    heteroscedastic : bool
        If True the decoder also predicts the observation variance of every
        continuous entry (one more output per continuous column, placed after
        the means and logits), so the noise level can depend on ``z``. If
        False each continuous column has one learned variance.
    init : {"default", "orthogonal"}
        Weight initialization of the linear layers: torch's default, or
        orthogonal weights with zero biases (as in the MIWAE reference code).
    n_conditions : int, default=0
        Width of the conditioning input (a conditional VAE, Sohn et al.,
        2015): a one-hot class label ``cond`` of this width is appended to
        the encoder's input and to the decoder's, so the model learns
        ``p(x | cond)``. 0: an unconditional VAE (``cond`` must be None).
    linear_skip : bool, default=False
        Add a linear path beside each MLP: the posterior mean gets
        ``B (x - offset)`` for a complete row (pPCA's posterior given the
        observed entries for the others, see :meth:`_linear_posterior`) and
        the decoder's means and logits ``W z`` on top of the networks'
        outputs. With :meth:`init_from_pca` the model then starts as
        probabilistic PCA (Tipping and Bishop, 1999), the linear VAE, and
        training only adds the nonlinear part.
    prior_components, prior_classes : int, default=0 and 1
        Room for a latent mixture prior of this many components in all and
        this many rows of class weights (placeholders that ``load_state_dict``
        fills, for rebuilding a saved module); set one with
        :meth:`set_latent_mixture` / :meth:`set_latent_mixtures`. 0:
        ``N(0, I)``.
    generator : torch.Generator or None
        CPU generator the initial weights are drawn from. None uses torch's
        global RNG, as ``nn.Linear`` does; with a generator the global RNG is
        neither read nor advanced, so modules built in several threads at
        once are reproducible.
    """

    def __init__(self, layout, n_components, hidden_layer_sizes, min_variance=1e-3,
                 heteroscedastic=False, init="default", generator=None, n_conditions=0,
                 linear_skip=False, prior_components=0, prior_classes=1):
        super().__init__()
        self.layout = ColumnLayout(*layout)
        self.n_components = int(n_components)
        self.n_conditions = int(n_conditions)
        floor = torch.as_tensor(min_variance, dtype=torch.float32).flatten()
        if floor.numel() not in (1, self.layout.n_continuous) or not bool((floor > 0).all()):
            raise ValueError(
                "min_variance must be a positive float or one positive value per "
                f"continuous column ({self.layout.n_continuous}), got {min_variance!r}."
            )
        floor = floor.expand(self.layout.n_continuous).clone()
        self.heteroscedastic = bool(heteroscedastic)
        n_values, n_columns = self.layout.n_values, self.layout.n_columns
        hidden = tuple(int(h) for h in hidden_layer_sizes)
        self.hidden_layer_sizes = hidden
        n_out = n_values + (self.layout.n_continuous if self.heteroscedastic else 0)
        if init not in ("default", "orthogonal"):
            raise ValueError(f"init must be 'default' or 'orthogonal', got {init!r}.")
        # With a generator, layers are built without drawing (on the meta
        # device), then filled from the generator.
        device = "meta" if generator is not None else None
        n_cond = self.n_conditions
        self.encoder = mlp(n_values + n_columns + n_cond, hidden, 2 * self.n_components, device)
        self.decoder = mlp(self.n_components + n_cond, hidden[::-1], n_out, device)
        self.linear_skip = bool(linear_skip)
        if self.linear_skip:
            # The encoder's linear path maps a complete row (x - offset) to its
            # posterior mean; rows with missing entries are corrected with the
            # precision the decoder's linear path implies (_linear_posterior).
            # The decoder's also sees the condition (a conditional model's
            # class means enter linearly, as in a mixture of pPCAs with one W).
            self.encoder_skip = nn.Linear(n_values, self.n_components, bias=False,
                                          device=device, dtype=torch.float32)
            self.decoder_skip = nn.Linear(self.n_components + n_cond, n_values, bias=False,
                                          device=device, dtype=torch.float32)
        if generator is not None:
            self.to_empty(device="cpu")
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    _init_linear(layer, init, generator)
        elif init == "orthogonal":
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.orthogonal_(layer.weight)
                    nn.init.zeros_(layer.bias)
        # Learned per-column observation variance, initialised at 1 (with
        # heteroscedastic=True, a per-column offset of the decoded variance).
        self.register_buffer("min_variance", floor)
        if self.linear_skip:
            # The point the encoder's linear path measures x from: an offset
            # per encoded value, plus each class's for a conditional model.
            self.skip_offset = nn.Parameter(torch.zeros(n_values))
            if n_cond:
                self.skip_class_offset = nn.Parameter(torch.zeros(n_cond, n_values))
            self.register_buffer("_value_column", self.layout.value_columns(),
                                 persistent=False)
            # Per encoded value: what turns the decoder's linear row into
            # the precision's (1 for a continuous value, whose learned noise
            # divides it; set by init_from_pca for logit outputs).
            self.register_buffer("skip_precision_scale", torch.ones(n_values))
        raw_init = torch.log(torch.expm1((1.0 - floor).clamp(min=1e-6)))
        self.raw_variance = nn.Parameter(raw_init)
        # All categorical blocks are scored at once: their logits are scattered
        # into an (n_categorical, max_levels) grid padded with -inf, so one
        # log_softmax replaces a Python loop of small ops per column.
        cats = self.layout.categories
        width = max(cats, default=0)
        pad = [g * width + i for g, k in enumerate(cats) for i in range(k)]
        group = torch.zeros(sum(cats), len(cats))
        group[torch.arange(sum(cats)), torch.repeat_interleave(
            torch.arange(len(cats)), torch.tensor(cats, dtype=torch.long))] = 1.0
        self.register_buffer("_cat_pad_index", torch.tensor(pad, dtype=torch.long),
                             persistent=False)
        self.register_buffer("_cat_group", group, persistent=False)
        # The prior p(z): N(0, I), or a Gaussian mixture set after training
        # (set_latent_mixture); placeholders of the mixture's shapes when
        # rebuilding a saved module that has one (load_state_dict fills them).
        self.prior_components = 0
        if prior_components:
            m, k = int(prior_components), self.n_components
            self._register_prior(torch.zeros(max(1, int(prior_classes)), m),
                                 torch.zeros(m, k), torch.eye(k).expand(m, k, k))
        # Whether the mixture's precisions are diagonal is read off the loaded
        # buffers, not the placeholders.
        self.register_load_state_dict_post_hook(_prior_loaded)
        # float32 whatever torch's default dtype (set_default_dtype(float64)
        # would build float64 layers for float32 data).
        self.float()

    @torch.no_grad()
    def init_from_pca(self, values: Tensor, cond: Tensor = None, max_rows: int = 20_000,
                      generator=None):
        """Start the model as probabilistic PCA of ``values`` (needs ``linear_skip``).

        ``values`` are encoded training rows (missing entries filled with 0);
        ``cond`` their one-hot labels for a conditional module. Then the
        components are those of the pooled within-class covariance and each
        class's mean enters both linear paths through its label, so ``z``
        starts with what the label does not already say (else the decoder
        would learn to ignore the label).
        With the leading ``n_components`` eigenpairs ``(lambda_j, v_j)`` of
        their covariance and ``sigma^2`` the mean of the other eigenvalues
        (Tipping and Bishop's maximum-likelihood solution), the decoder's
        linear path is ``W = V diag(sqrt(lambda - sigma^2))``, the encoder's
        the posterior mean ``M^-1 W^T (x - m)`` with posterior variance
        ``sigma^2 M^-1`` (exact for this model), and each continuous
        column's observation variance ``sigma^2``. Both networks' output
        layers start at zero weight, so the nonlinear parts grow from the
        linear model instead of from noise. Binary and categorical outputs are logits: their linear
        path is ``W``'s rows divided by the slope of the logit at the
        column's frequency (a first-order change of variables).

        Why: a randomly started VAE switches latent dimensions off early,
        while the reconstruction term is still weak (posterior collapse);
        started from PCA, every dimension PCA would keep carries information
        from the first step, as scikit-learn's ``TSNE(init="pca")``.
        """
        if not getattr(self, "linear_skip", False):
            raise ValueError("init_from_pca needs a module built with linear_skip=True.")
        x = values.detach().to("cpu", torch.float64)
        n_cond = getattr(self, "n_conditions", 0)
        if n_cond and cond is None:
            raise ValueError("A conditional module needs cond (the one-hot labels).")
        onehot = (None if not n_cond
                  else cond.detach().to("cpu", torch.float64).reshape(len(x), n_cond))
        if x.shape[0] > max_rows:
            rows = torch.randperm(x.shape[0], generator=generator)[:max_rows]
            x = x[rows]
            onehot = None if onehot is None else onehot[rows]
        n, d = x.shape
        k = self.n_components
        mean = x.mean(dim=0)
        if onehot is None:
            xc = x - mean
            dof = n - 1
        else:  # class means (the overall mean for a class with no row)
            counts = onehot.sum(dim=0)
            class_mean = (onehot.T @ x) / counts.clamp(min=1.0)[:, None]
            class_mean[counts == 0] = mean
            xc = x - onehot @ class_mean
            dof = n - int((counts > 0).sum())
        cov = xc.T @ xc / max(dof, 1)
        lam, vecs = torch.linalg.eigh(cov)  # ascending
        lam, vecs = lam.flip(0).clamp(min=0.0), vecs.flip(1)
        kk = min(k, d)
        c, b = self.layout.n_continuous, self.layout.n_binary
        sigma2 = float(lam[kk:].sum() / (d - kk)) if d > kk else 0.0
        # The model's noise cannot go below its floor (n_components >= the
        # encoded width leaves no residual: pPCA's sigma^2 would be 0). With
        # no continuous column, the floor is the variance of a binary entry at
        # the most certain probability the logit outputs start at (0.02, see
        # link): the linearized model never predicts an entry more precisely.
        # (1e-6 here made the posterior ~1000x too tight and the precision
        # path of rows with missing entries diverge.)
        sigma2 = max(sigma2, float(self.min_variance.min()) if c else _DISCRETE_NOISE_FLOOR)
        w = torch.zeros(k, dtype=x.dtype)
        w[:kk] = (lam[:kk] - sigma2).clamp(min=0.0).sqrt()
        v = torch.zeros(d, k, dtype=x.dtype)
        v[:, :kk] = vecs[:, :kk]
        lam_k = w.square() + sigma2  # the diagonal of M = W^T W + sigma^2 I
        enc = (w / lam_k)[:, None] * v.T  # M^-1 W^T, (k, d)
        post_logvar = torch.log(sigma2 / lam_k)
        post_logvar[w == 0] = 0.0  # a dimension PCA cannot use: the prior
        dec = v * w[None, :]  # W, (d, k)

        def link(m):  # means to the decoder's outputs: identity, logit, log
            m = m.clone()
            p = m[..., c:].clamp(0.02, 0.98)
            m[..., c : c + b] = torch.log(p[..., :b] / (1 - p[..., :b]))
            m[..., c + b :] = torch.log(p[..., b:])
            return m

        # Logit outputs: divide W's rows by the link's slope at the frequency.
        p = mean[c:].clamp(0.02, 0.98)
        slope = torch.ones(d, dtype=x.dtype)
        slope[c : c + b] = p[:b] * (1 - p[:b])
        slope[c + b :] = p[b:]
        logit_bias = link(mean)
        dec = dec / slope[:, None]
        dt = self.encoder_skip.weight.dtype
        # The encoder's path (see _linear_posterior): B = M^-1 W^T for a
        # complete row; the precision given some entries comes from the
        # decoder's rows, W / slope for a logit output: times slope / sigma
        # gives pPCA's W / sigma (a continuous row is divided by its noise).
        self.encoder_skip.weight.copy_(enc.to(dt))
        scale = torch.ones(d, dtype=x.dtype)
        scale[c:] = slope[c:] / math.sqrt(sigma2)
        self.skip_precision_scale.copy_(scale.to(dt))
        if onehot is None:
            self.skip_offset.copy_(mean.to(dt))
            dec_weight = dec
        else:  # labels: x - m_y in, m_y out (the encoder's offset comes from the label)
            self.skip_offset.zero_()
            self.skip_class_offset.copy_(class_mean.to(dt))
            dec_weight = torch.cat([dec, (link(class_mean) - logit_bias).T], dim=1)
        self.decoder_skip.weight.copy_(dec_weight.to(dt))
        last = self.encoder[-1]
        last.weight.zero_()
        last.bias.zero_()
        last.bias[k:] = post_logvar.to(dt)
        last = self.decoder[-1]
        last.weight.zero_()
        last.bias.zero_()
        last.bias[:d] = logit_bias.to(dt)
        if c and not self.heteroscedastic:  # pPCA's isotropic noise, above the floor
            floor = self.min_variance.to(x.dtype)
            excess = (sigma2 - floor).clamp(min=1e-6)
            self.raw_variance.copy_(torch.log(torch.expm1(excess)).to(dt))
        return self

    # -- the three steps -------------------------------------------------
    def _with_condition(self, h: Tensor, cond) -> Tensor:
        """``h`` with the conditioning input appended (broadcast over leading dims)."""
        if not getattr(self, "n_conditions", 0):  # 0 in modules pickled before it
            if cond is not None:
                raise ValueError("This module is unconditional (n_conditions=0): "
                                 "cond must be None.")
            return h
        if cond is None:
            raise ValueError(f"This conditional module needs cond, a tensor of "
                             f"{self.n_conditions} columns (the one-hot label).")
        cond = cond.to(h.dtype).expand(*h.shape[:-1], cond.shape[-1])
        return torch.cat([h, cond], dim=-1)

    def encode(self, x: Tensor, mask: Tensor = None, cond: Tensor = None, *,
               inference: bool = False):
        """Posterior ``(mu, logvar)`` (given ``cond`` for a conditional module).

        ``mask`` None means every entry is observed (a mask of ones). In
        training the encoder then either appends the ones to ``x`` (one
        kernel, no autograd node) or, when the mask half of its first layer
        would cost at least ``_FOLD_MASK_MIN_MACS`` multiply-adds (a wide
        table), skips the mask columns and adds their weights' row sums to
        its bias instead: the same function and gradients with about half
        the first layer's products.

        ``inference=True`` (no autograd) applies ReLUs in place and makes
        each row's result independent of the other rows of the batch when
        batches keep one shape (see :func:`_row_invariant_linear`).
        """
        n_columns = self.layout.n_columns
        rows = x.numel() // max(1, x.shape[-1])
        if (mask is None and not inference
                and rows * n_columns * self.encoder[0].out_features >= _FOLD_MASK_MIN_MACS):
            h = self.encoder[1:](self._first_layer_complete(x, cond))
        else:
            h = (F.pad(x, (0, n_columns), value=1.0) if mask is None
                 else torch.cat([x, mask], dim=-1))
            h = self._with_condition(h, cond)
            h = _inference_forward(self.encoder, h) if inference else self.encoder(h)
        mu, logvar = h.chunk(2, dim=-1)
        if getattr(self, "linear_skip", False):
            mu, shift = self._linear_posterior(mu, x, mask, cond, inference)
            if shift is not None:
                logvar = logvar + shift
        return mu, logvar.clamp(-15.0, 15.0)

    def _linear_posterior(self, net_mu: Tensor, x: Tensor, mask, cond, inference: bool):
        """Add the encoder's linear path: pPCA's posterior given the observed entries.

        Returns ``(mu, shift)``: the network's ``net_mu`` plus the path's
        posterior mean, and what the path adds to the network's log-variance
        (None when every entry is observed). Training on complete rows takes
        one ``addmm``.
        With ``r = x - offset(cond)``, ``B`` the map of a complete row
        (``mu = B r``: one linear layer, as cheap as a plain linear path)
        and ``P = I + H H^T`` the precision the decoder's linear path implies
        (:meth:`_precision_rows`): a row with only the entries ``o`` observed
        gets ``mu = P_o^-1 P B_o r_o`` and its variances multiplied by
        ``diag(P_o^-1) / diag(P^-1)``, with ``P_o = I + H_o H_o^T``.
        Started from :meth:`init_from_pca` (``B = M^-1 W^T``,
        ``H = W^T / sigma``, the network's log-variance ``log diag(P^-1)``)
        this is probabilistic PCA's exact posterior for any set of missing
        entries, with each dimension's marginal variance: a row with nothing
        observed gets the prior, and ``sample(given=...)`` leaves the
        columns not given as wide as pPCA does. A complete row gives exactly
        ``B r``, with or without a mask.

        ``inference``: complete rows take the linear layer alone; the
        others' precisions and solves run in float64 and are rounded back,
        so a row's result does not depend on the rest of the batch.
        """
        k, d = self.n_components, x.shape[-1]
        shape = net_mu.shape
        x, net_mu = x.reshape(-1, d), net_mu.reshape(-1, k)
        offset = self.skip_offset
        if getattr(self, "n_conditions", 0):
            onehot = self._with_condition(x[..., :0], cond)
            offset = offset + onehot.reshape(-1, onehot.shape[-1]) @ self.skip_class_offset
        r = x - offset
        if mask is None and not inference:
            return torch.addmm(net_mu, r, self.encoder_skip.weight.T).reshape(shape), None
        if mask is None:
            return (net_mu + _row_invariant_linear(self.encoder_skip, r)).reshape(shape), None
        mask = mask.reshape(-1, mask.shape[-1])
        observed = mask.index_select(-1, self._value_column).to(r.dtype)
        r = r * observed
        if not inference:
            mu, shift = self._missing_correction(self.encoder_skip(r), observed, r.dtype)
            return (net_mu + mu).reshape(shape), shift.reshape(shape)
        mu = _row_invariant_linear(self.encoder_skip, r)
        partial = torch.nonzero(~(mask > 0).all(dim=-1))[:, 0]  # rows with a hole
        if len(partial):
            part_mu, part_shift = self._missing_correction(mu[partial], observed[partial],
                                                           torch.float64)
            mu = mu.index_copy(0, partial, part_mu.to(mu.dtype))
            shift = mu.new_zeros(mu.shape).index_copy(0, partial, part_shift.to(mu.dtype))
        mu = (net_mu + mu).reshape(shape)
        return mu, (shift.reshape(shape) if len(partial) else None)

    def _precision_rows(self) -> Tensor:
        """``H``, shape ``(n_components, n_values)``: ``P = I + H H^T``.

        Column ``j`` is the decoder's linear row of value ``j`` over the
        column's noise standard deviation (a continuous value; for a
        heteroscedastic model its noise at the learned offset) or times
        ``skip_precision_scale`` (a logit output): the precision the linear
        part of the decoder implies for ``z``, probabilistic PCA's ``W^T /
        sigma`` at the start.
        """
        k, c = self.n_components, self.layout.n_continuous
        h = self.decoder_skip.weight[:, :k].T * self.skip_precision_scale
        if c:  # the noise at the learned offset (a heteroscedastic model's too)
            var = self._variance_at(self.raw_variance)
            h = torch.cat([h[:, :c] * var.rsqrt(), h[:, c:]], dim=1)
        return h

    def _missing_correction(self, mu: Tensor, observed: Tensor, work):
        """``(P_o^-1 P mu, log diag(P_o^-1) - log diag(P^-1))`` per row, in ``work``.

        The correction is not differentiated (it depends on the decoder's
        parameters only through ``H``): gradients reach ``mu`` through one
        batched matrix product, so training with missing entries costs
        little more than without (differentiating the batched Cholesky
        factorizations doubled a digits fit with 10% of entries missing).
        """
        with torch.no_grad():
            h = self._precision_rows().to(work)  # H, (k, d)
            k = h.shape[0]
            eye = torch.eye(k, dtype=work, device=h.device)
            full = torch.addmm(eye, h, h.T)
            outer = (h[:, None, :] * h[None, :, :]).reshape(k * k, -1)  # h_j h_j^T
            prec = (observed.to(work) @ outer.T).reshape(-1, k, k) + eye
            # P_o^-1 = L^-T L^-1 with P_o = L L^T: its diagonal is the column
            # sums of squares of L^-1 (the same for P).
            inv_l = torch.linalg.solve_triangular(torch.linalg.cholesky_ex(prec)[0],
                                                  eye.expand_as(prec), upper=False)
            full_inv_l = torch.linalg.solve_triangular(torch.linalg.cholesky_ex(full)[0],
                                                       eye, upper=False)
            shift = inv_l.square().sum(dim=-2).log() - full_inv_l.square().sum(dim=-2).log()
        # P_o^-1 P mu, in ``work`` too, differentiable in mu only
        v = (mu.to(work) @ full)[..., None]
        return (inv_l.mT @ (inv_l @ v))[..., 0].to(mu.dtype), shift

    def _first_layer_complete(self, x: Tensor, cond) -> Tensor:
        """The encoder's first linear layer on ``[x, ones, cond]``, without the ones."""
        first = self.encoder[0]
        n_values, n_columns = self.layout.n_values, self.layout.n_columns
        weight = first.weight
        bias = first.bias + weight[:, n_values : n_values + n_columns].sum(dim=1)
        h = F.linear(x, weight[:, :n_values], bias)
        if getattr(self, "n_conditions", 0) or cond is not None:
            cond = self._with_condition(x[..., :0], cond)  # checks it, as for the mask path
            h = h + F.linear(cond, weight[:, n_values + n_columns :])
        return h

    def decode(self, z: Tensor, cond: Tensor = None, *, inference: bool = False) -> Tensor:
        """Decoder outputs at ``z`` (``inference`` as in :meth:`encode`).

        ``cond`` (rows, n_conditions) broadcasts over leading dimensions of
        ``z`` (importance samples).
        """
        h = self._with_condition(z, cond)
        out = _inference_forward(self.decoder, h) if inference else self.decoder(h)
        if getattr(self, "linear_skip", False):
            extra = out.shape[-1] - self.decoder_skip.out_features  # variance outputs
            if not inference and not extra and h.dim() == 2:  # one kernel
                return torch.addmm(out, h, self.decoder_skip.weight.T)
            skip = (_row_invariant_linear(self.decoder_skip, h) if inference
                    else self.decoder_skip(h))
            out = out + (F.pad(skip, (0, extra)) if extra else skip)
        return out

    def forward(self, x: Tensor, mask: Tensor = None, cond: Tensor = None, generator=None,
                decode: bool = True) -> VAEOutput:
        """Encode, draw ``z ~ q(z|x)`` (noise from ``generator``), decode.

        ``mask`` None: every entry observed (see :meth:`encode`).

        ``decode=False`` stops after the posterior (``params`` and ``z`` are
        None): the IWAE bound draws its own ``K`` samples from ``mu`` and
        ``logvar`` and would throw a one-sample decode away.
        """
        mu, logvar = self.encode(x, mask, cond)
        if not decode:
            return VAEOutput(None, mu, logvar, None)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        return VAEOutput(self.decode(z, cond), mu, logvar, z)

    # -- likelihood --------------------------------------------------------
    def observation_logvar(self, params: Tensor = None) -> Tensor:
        """Log-variance of the continuous columns.

        Shape ``(n_continuous,)``, or the shape of the continuous block of
        ``params`` when the model is heteroscedastic (``params`` required).
        """
        if not self.heteroscedastic:
            return torch.log(self._variance_at(self.raw_variance))
        if params is None:
            raise ValueError("A heteroscedastic model needs the decoder outputs.")
        return torch.log(self._variance_at(params[..., self.layout.n_values :]
                                           + self.raw_variance))

    def _variance_at(self, raw: Tensor) -> Tensor:
        """The continuous columns' noise variance at raw value ``raw``: floor + softplus."""
        return self.min_variance + F.softplus(raw)

    def split_params(self, params: Tensor):
        """Return (continuous means, binary logits, list of categorical logits).

        A heteroscedastic model's variance outputs (after these) are left out;
        see :meth:`observation_logvar`.
        """
        c, b = self.layout.n_continuous, self.layout.n_binary
        cats, start = [], c + b
        for k in self.layout.categories:
            cats.append(params[..., start : start + k])
            start += k
        return params[..., :c], params[..., c : c + b], cats

    def column_log_prob(self, x: Tensor, mask: Tensor, params: Tensor,
                        nll_cap: Tensor = None) -> Tensor:
        """Log-likelihood of each observed entry, shape ``(..., n, n_columns)``.

        Missing entries (``mask == 0``) contribute exactly 0; ``mask`` None
        means every entry is observed. Leading batch dimensions of ``params``
        (importance samples) broadcast against ``x``.

        ``nll_cap`` (positive, shape ``(n_columns,)``, column order of the
        layout) softly bounds each entry's surprise ``s = -log p``: beyond
        the cap it grows like its logarithm, ``cap + log(1 + s - cap)``, so
        far values keep their order but one entry cannot outweigh the rest
        of the row by orders of magnitude (a heavy tail, as a Student-t's
        log-density grows like ``log s`` where a Gaussian's grows like ``s``).
        """
        c = self.layout.n_continuous
        parts = []
        if c:
            parts.append(gaussian_log_prob(x[..., :c], params[..., :c],
                                           self.observation_logvar(params)))
            if mask is not None:
                parts[-1] = parts[-1] * mask[..., :c]
        if self.layout.n_binary or self.layout.categories:
            parts.append(self._discrete_log_prob(x, mask, params))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        if nll_cap is not None:
            out = _capped(-out, nll_cap.to(out.dtype)).neg_()
        return out

    def _discrete_log_prob(self, x: Tensor, mask: Tensor, params: Tensor) -> Tensor:
        """:meth:`column_log_prob` of the binary and categorical columns."""
        c, b = self.layout.n_continuous, self.layout.n_binary
        parts = []
        if b:
            logits = params[..., c : c + b]
            parts.append(bernoulli_log_prob(x[..., c : c + b].expand_as(logits), logits))
        if self.layout.categories:
            parts.append(self._categorical_log_prob(
                x[..., c + b :], params[..., c + b : self.layout.n_values]))
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        return out if mask is None else out * mask[..., c:]

    def observed_log_prob(self, x: Tensor, mask: Tensor, params: Tensor) -> Tensor:
        """``log p(x_obs|z)`` per row: :meth:`column_log_prob` summed over columns.

        The training objectives' form: the continuous block goes through
        one fused node (:func:`gaussian_row_log_prob`) rather than per-entry
        terms that are then summed.
        """
        c, b = self.layout.n_continuous, self.layout.n_binary
        out = None
        if c:
            m = None if mask is None else mask[..., :c]
            out = gaussian_row_log_prob(x[..., :c], params[..., :c],
                                        self.observation_logvar(params), m)
        if b or self.layout.categories:
            rest = self._discrete_log_prob(x, mask, params).sum(dim=-1)
            out = rest if out is None else out + rest
        return out

    def _categorical_log_prob(self, onehot: Tensor, logits: Tensor) -> Tensor:
        """``log p`` of every categorical column at once, shape ``(..., n, n_cat)``."""
        cats = self.layout.categories
        width = max(cats)
        shape = logits.shape[:-1]
        grid = logits.new_full((*shape, len(cats) * width), float("-inf"))
        grid = grid.index_copy(-1, self._cat_pad_index, logits)
        log_p = torch.log_softmax(grid.view(*shape, len(cats), width), dim=-1)
        log_p = log_p.view(*shape, len(cats) * width).index_select(-1, self._cat_pad_index)
        return (onehot * log_p) @ self._cat_group.to(log_p.dtype)

    def negative_elbo(self, x: Tensor, mask: Tensor, out: VAEOutput, beta=1.0,
                      free_bits=0.0) -> Tensor:
        """Per-row ``-E_q log p(x_obs|z) + beta * KL``, shape ``(n,)``.

        ``free_bits > 0`` (nats per latent dimension, a training objective
        only; Kingma et al., 2016): a dimension whose KL, averaged over the
        batch, is below ``free_bits`` is charged the constant ``free_bits``
        instead, so the objective no longer pushes it towards the prior
        (the usual cause of collapsed, unused dimensions). Dimensions above
        the floor are charged their KL as usual. The batch mean of the
        result is ``nll + beta * sum_j max(free_bits, mean KL_j)``.
        """
        nll = -self.observed_log_prob(x, mask, out.params)
        if not free_bits:
            return nll + beta * kl_to_standard_normal(out.mu, out.logvar)
        kl = kl_per_dimension(out.mu, out.logvar)
        below = kl.detach().mean(dim=0) < free_bits
        kl = torch.where(below, torch.full_like(kl, float(free_bits)), kl)
        return nll + beta * kl.sum(dim=-1)

    def negative_iwae_bound(self, x: Tensor, mask: Tensor, n_samples: int, beta=1.0,
                            out: VAEOutput = None, generator=None,
                            cond: Tensor = None) -> Tensor:
        """Per-row negative importance-weighted bound (IWAE / MIWAE), shape ``(n,)``.

        ``-log (1/K) sum_k p(x_obs|z_k) p(z_k)^beta / q(z_k|x)^beta`` with
        ``K = n_samples`` fresh draws ``z_k ~ q(z|x)``. Tighter than the ELBO
        (equal to it for ``K = 1``); the objective MIWAE trains on. ``out``
        reuses the posterior parameters of a forward pass; the draws come
        from ``generator`` (torch's global RNG when None).
        """
        if out is None:
            mu, logvar = self.encode(x, mask, cond)
        else:
            mu, logvar = out.mu, out.logvar
        eps = torch.randn((int(n_samples),) + tuple(mu.shape), generator=generator,
                          device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        log_px = self.observed_log_prob(x, mask, self.decode(z, cond))
        log_w = log_px + beta * (
            standard_normal_log_density(z) - gaussian_log_density(z, mu, logvar)
        )
        return math.log(n_samples) - torch.logsumexp(log_w, dim=0)

    def importance_weights(self, x: Tensor, mask: Tensor, eps: Tensor, cond: Tensor = None):
        """IWAE log-weights with shared noise.

        ``eps`` has shape ``(K, n_components)`` and is shared by every row
        (common random numbers), so a row's result does not depend on the
        other rows of the batch.

        Returns
        -------
        log_w : Tensor, shape (K, n)
            ``log p(x_obs|z_k) + log p(z_k) - log q(z_k|x)``.
        col_log_prob : Tensor, shape (K, n, n_columns)
            The per-column terms of ``log p(x_obs|z_k)``.
        params : Tensor, shape (K, n, n_values)
            Decoder outputs at each ``z_k``.
        """
        mu, logvar = self.encode(x, mask, cond)
        z = mu + eps[:, None, :] * torch.exp(0.5 * logvar)
        params = self.decode(z, cond)
        col = self.column_log_prob(x, mask, params)
        log_w = (
            col.sum(dim=-1)
            + self.log_prior(z, cond)
            - gaussian_log_density(z, mu, logvar)
        )
        return log_w, col, params

    def log_importance_weights(self, x: Tensor, mask: Tensor, eps: Tensor,
                               cond: Tensor = None, *,
                               return_params: bool = False,
                               return_columns: bool = False,
                               nll_cap: Tensor = None,
                               return_uncapped: bool = False,
                               encoder_bounds: tuple = None):
        """IWAE log-weights with shared noise, computed for inference.

        The same quantity as ``importance_weights(x, mask, eps)[0]``, shape
        ``(K, n)``, with less work and memory: the latent term uses
        ``(z - mu) / sigma = eps`` exactly, a homoscedastic Gaussian's
        constants are summed once per row instead of once per sample,
        the network runs as in ``encode(..., inference=True)`` (ReLUs in
        place, row-invariant linear layers), and the per-column terms are
        only formed when asked. For ``torch.no_grad`` / ``inference_mode``.

        ``nll_cap`` (shape ``(n_columns,)``, layout column order): each
        observed entry's surprise ``-log p(x_j|z_k)`` beyond ``nll_cap[j]``
        grows like its logarithm, as in :meth:`column_log_prob`;
        ``return_uncapped`` also returns the weights without the cap
        (computed in the same pass).

        ``encoder_bounds`` (``(low, high)``, one value per continuous column):
        the encoder, which proposes the codes, sees each observed continuous
        entry clipped to these bounds; the weights use ``x`` as it is. With
        a cap, a far entry's capped likelihood barely depends on where
        exactly it is, so its posterior is where the clipped entry's is;
        proposing from the unclipped entry drove the codes far out, and the
        latent term then carried the deviation the cap bounds.

        Returns ``log_w``, or ``(log_w, params[, col_log_prob])`` with
        ``return_params`` / ``return_columns``; with ``return_uncapped`` the
        uncapped ``log_w`` comes last.
        """
        layout = self.layout
        c, b, n_values = layout.n_continuous, layout.n_binary, layout.n_values
        if mask is None:
            mask = x.new_ones(*x.shape[:-1], layout.n_columns)
        x_in = x
        if encoder_bounds is not None and c:
            low, high = (t.to(x.dtype) for t in encoder_bounds)
            cont = x[..., :c]
            x_in = torch.cat([torch.where(mask[..., :c] > 0,
                                          torch.maximum(torch.minimum(cont, high), low), cont),
                              x[..., c:]], dim=-1)
        mu, logvar = self.encode(x_in, mask, cond, inference=True)
        z = torch.addcmul(mu, eps[:, None, :], torch.exp(0.5 * logvar))
        if self.prior_components:
            # log p(z) - log q(z|x) = log p(z) + 0.5 * (|eps|^2 + sum(logvar) + k log 2 pi)
            log_w = eps.square().sum(dim=-1)[:, None] + logvar.sum(dim=-1)
            log_w = log_w.add_(self.n_components * _LOG_2PI).mul_(0.5)
            log_w = log_w.add_(self.log_prior(z, cond))
        else:
            # log p(z) - log q(z|x) = 0.5 * (|eps|^2 - |z|^2 + sum(logvar))
            log_w = eps.square().sum(dim=-1)[:, None] - z.square().sum(dim=-1)
            log_w = log_w.add_(logvar.sum(dim=-1)).mul_(0.5)
        latent = None if nll_cap is None else log_w.clone()
        params = self.decode(z, cond, inference=True)
        # capped: the observation terms of the capped weights, summed per row
        # from each entry's capped surprise (_capped_surprise). Subtracting
        # the uncapped sum and adding back what the cap returns would cancel
        # catastrophically in float32 for a far entry (a surprise of 1e14
        # wipes out the rest of the row).
        capped = None
        cap = None if nll_cap is None else nll_cap.to(log_w.dtype)
        if c:
            m = mask[..., :c]
            d = params[..., :c] - x[..., :c]
            if self.heteroscedastic:
                var = F.softplus(params[..., n_values:] + self.raw_variance)
                var = var.add_(self.min_variance)
                d = d.square_().div_(var).add_(var.log_()).mul_(m)
                if cap is not None:  # -log p = 0.5 * (d + log 2 pi) where observed
                    capped = -_capped_surprise((d + _LOG_2PI).mul_(0.5), cap[:c], m)
                log_w -= 0.5 * d.sum(dim=-1)
                log_w -= (0.5 * _LOG_2PI) * m.sum(dim=-1)
            else:
                logvar_x = self.observation_logvar()
                d = d.mul_(m * torch.exp(-0.5 * logvar_x))
                sq = d.square_()
                if cap is not None:  # -log p = 0.5 * (sq + log 2 pi + logvar) where observed
                    capped = -_capped_surprise(
                        torch.add(0.5 * (_LOG_2PI + logvar_x), sq, alpha=0.5), cap[:c], m)
                log_w -= 0.5 * sq.sum(dim=-1)
                log_w -= 0.5 * (m * (_LOG_2PI + logvar_x)).sum(dim=-1)
            del d
        if b:
            logits = params[..., c : c + b]
            nll = F.binary_cross_entropy_with_logits(
                logits, x[..., c : c + b].expand_as(logits), reduction="none")
            m = mask[..., c : c + b]
            nll = nll.mul_(m)
            log_w -= nll.sum(dim=-1)
            if cap is not None:
                term = -_capped_surprise(nll, cap[c : c + b], m)
                capped = term if capped is None else capped + term
        if layout.categories:
            m = mask[..., c + b :]
            cat = self._categorical_log_prob(x[..., c + b :], params[..., c + b : n_values])
            cat = cat * m
            if cap is not None:
                term = -_capped_surprise(-cat, cap[c + b :], m)
                capped = term if capped is None else capped + term
            log_w += cat.sum(dim=-1)
        uncapped = log_w
        if cap is not None:
            # The latent terms plus the capped observation terms: log_w above
            # less its (uncapped) observation terms, which were added last.
            log_w = latent + (capped if capped is not None else 0.0)
        out = (log_w,)
        if return_params or return_columns:
            out += (params,)
        if return_columns:
            out += (self.column_log_prob(x, mask, params, nll_cap=nll_cap),)
        if return_uncapped:
            out += (uncapped,)
        return out[0] if len(out) == 1 else out

    # -- the prior p(z) ---------------------------------------------------------
    #: Components of the latent mixture prior (0: N(0, I)); a class default so
    #: that modules pickled before the mixture existed read as N(0, I).
    prior_components = 0
    _PRIOR_BUFFERS = ("prior_log_weights", "prior_means", "prior_precisions_cholesky",
                      "prior_offset", "prior_log_det", "prior_scale")

    @torch.no_grad()
    def set_latent_mixture(self, weights=None, means=None, precisions_cholesky=None):
        """Make a Gaussian mixture the prior ``p(z)`` of inference; None: ``N(0, I)``.

        ``weights`` (M,), ``means`` (M, k) and ``precisions_cholesky``
        (M, k, k) as :class:`sklearn.mixture.GaussianMixture` (full
        covariances) has them: component ``m``'s precision is ``P_m P_m^T``.
        One mixture for every row; :meth:`set_latent_mixtures` gives each
        class of a conditional model its own.
        """
        self.set_latent_mixtures(
            None if weights is None else [(weights, means, precisions_cholesky)])

    @torch.no_grad()
    def set_latent_mixtures(self, mixtures=None):
        """The prior ``p(z)`` of inference: one Gaussian mixture, or one per class.

        ``mixtures``: None (``N(0, I)``), or a list with one entry for all
        rows or one per condition class (``p(z | y)`` of a conditional
        model), each ``(weights, means, precisions_cholesky)`` as in
        :meth:`set_latent_mixture`, or None for ``N(0, I)``.

        The prior replaces ``N(0, I)`` wherever the model's density or its
        draws are computed (:meth:`log_prior`, :meth:`sample_prior`, the
        importance weights); the training objectives keep ``N(0, I)``, the
        prior the encoder and decoder were fit against (a mixture is an
        ex-post estimate of the codes' aggregate posterior, as in Ghosh et
        al., 2020, "From variational to deterministic autoencoders").
        Stored as buffers (all classes' components in one bank, with a row
        of log-weights per class, ``-inf`` for other classes' components):
        it moves with the module and is in its state dict.
        """
        k = self.n_components
        if mixtures is None or all(m is None for m in mixtures):
            self._register_prior(None)
            return
        if len(mixtures) not in (1, max(1, self.n_conditions)):
            raise ValueError(
                f"set_latent_mixtures takes one mixture, or one per class "
                f"({self.n_conditions}); got {len(mixtures)}.")
        weights, means, precs = [], [], []
        for mix in mixtures:
            if mix is None:  # N(0, I) for this class: one standard component
                mix = (np.ones(1), np.zeros((1, k)), np.eye(k)[None])
            w, mu, prec = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in mix)
            w = w.flatten()
            m = len(w)
            if mu.shape != (m, k) or prec.shape != (m, k, k) or not bool((w > 0).all()):
                raise ValueError(
                    f"A latent mixture needs positive weights (M,), means (M, {k}) and "
                    f"precision Cholesky factors (M, {k}, {k}); got shapes "
                    f"{tuple(w.shape)}, {tuple(mu.shape)}, {tuple(prec.shape)}.")
            weights.append(torch.log(w / w.sum()))
            means.append(mu)
            precs.append(prec)
        log_weights = torch.full((len(mixtures), sum(len(w) for w in weights)), -math.inf,
                                 dtype=torch.float64)
        start = 0
        for c, w in enumerate(weights):
            log_weights[c, start:start + len(w)] = w
            start += len(w)
        self._register_prior(log_weights, torch.cat(means), torch.cat(precs))

    def _register_prior(self, log_weights, means=None, precisions_cholesky=None):
        """Set the prior's buffers (None: ``N(0, I)``) and the derived ones."""
        for name in self._PRIOR_BUFFERS:
            if name in self._buffers:
                del self._buffers[name]
        if log_weights is None:
            self.prior_components = 0
            return
        prec = precisions_cholesky.to(torch.float64)
        means = means.to(torch.float64)
        # Diagonal components first (a stable order otherwise): log_prior takes
        # them in M k operations and the rest in M k^2.
        order = torch.argsort((~_is_diagonal(prec)).to(torch.int8), stable=True)
        prec, means, log_weights = prec[order], means[order], log_weights[:, order]
        diag = torch.diagonal(prec, dim1=-2, dim2=-1)
        tensors = {
            "prior_log_weights": log_weights,
            "prior_means": means,
            "prior_precisions_cholesky": prec,
            "prior_offset": torch.einsum("mk,mkj->mj", means, prec),  # mu_m^T P_m
            "prior_log_det": diag.abs().log().sum(dim=-1),  # log |P_m|
            # Draws: z = mu_m + P_m^-T eps has covariance (P_m P_m^T)^-1.
            "prior_scale": torch.linalg.inv(prec).transpose(-1, -2),
        }
        dtype, device = self.raw_variance.dtype, self.raw_variance.device
        for name, value in tensors.items():
            self.register_buffer(name, value.to(device=device, dtype=dtype))
        self.prior_components = len(means)
        self._note_prior_form()

    #: How many of the latent mixture's first components have a diagonal
    #: precision (``covariance_type="diag"``, or a class's ``N(0, I)``):
    #: :meth:`log_prior` costs ``k`` per code for each of them, ``k^2`` for
    #: the others.
    _prior_n_diagonal = 0

    def _note_prior_form(self):
        diagonal = _is_diagonal(self.prior_precisions_cholesky).tolist()
        self._prior_n_diagonal = next(
            (i for i, d in enumerate(diagonal) if not d), len(diagonal))

    def _prior_log_weights(self, cond):
        """Each row's log-weights over the prior's components (one row for all rows)."""
        weights = self.prior_log_weights
        if weights.shape[0] == 1:
            return weights[0]
        if cond is None:
            raise ValueError("This model's prior is one mixture per class: pass cond.")
        return weights[cond.argmax(dim=-1)]

    def log_prior(self, z: Tensor, cond: Tensor = None) -> Tensor:
        """``log p(z)`` (``log p(z | y)`` per class) over the last axis.

        ``N(0, I)``, or the latent mixture when set. ``z`` has shape
        ``(..., n, k)`` and ``cond`` (one-hot, ``(n, n_conditions)``) gives
        each row's class where the prior is per class.
        """
        if not self.prior_components:
            return standard_normal_log_density(z)
        m, k, d = self.prior_components, self.n_components, self._prior_n_diagonal
        prec, offset = self.prior_precisions_cholesky, self.prior_offset
        quad = []  # |P_m^T z - P_m^T mu_m|^2 per component
        if d:  # diagonal P_m: elementwise
            y = (z[..., None, :] * torch.diagonal(prec[:d], dim1=-2, dim2=-1))
            quad.append(y.sub_(offset[:d]).square_().sum(dim=-1))
        if d < m:
            full = prec[d:].permute(1, 0, 2).reshape(k, (m - d) * k)
            y = (z @ full).view(*z.shape[:-1], m - d, k).sub_(offset[d:])
            quad.append(y.square_().sum(dim=-1))
        log_n = (quad[0] if len(quad) == 1 else torch.cat(quad, dim=-1)).mul_(-0.5)
        log_n += self.prior_log_det - 0.5 * k * _LOG_2PI
        log_n += self._prior_log_weights(cond)
        return torch.logsumexp(log_n, dim=-1)

    def sample_prior(self, n_samples: int, generator=None, dtype=None, device=None,
                     cond: Tensor = None) -> Tensor:
        """``n_samples`` codes from ``p(z)`` (``p(z | y)``), shape ``(n_samples, n_components)``.

        ``N(0, I)``: exactly ``torch.randn`` from ``generator``. The mixture:
        a component per row (``torch.multinomial``), then its Gaussian;
        ``cond`` (one-hot, one row per code) where the prior is per class.
        """
        dtype = self.raw_variance.dtype if dtype is None else dtype
        device = self.raw_variance.device if device is None else device
        shape = (int(n_samples), self.n_components)
        if not self.prior_components:
            return torch.randn(shape, generator=generator, dtype=dtype, device=device)
        weights = self._prior_log_weights(cond).to(torch.float64).exp()
        if weights.dim() == 1:
            comp = torch.multinomial(weights, shape[0], replacement=True, generator=generator)
        else:
            comp = torch.multinomial(weights, 1, generator=generator)[:, 0]
        eps = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        z = self.prior_means.to(dtype)[comp]
        scale = self.prior_scale.to(dtype)
        # Each row's (k, k) factor, a block of rows at a time: at once they
        # would take n k^2 values (4 GB for a million rows at k = 32).
        for start in range(0, shape[0], _PRIOR_DRAW_BLOCK):
            rows = slice(start, start + _PRIOR_DRAW_BLOCK)
            z[rows] += (scale[comp[rows]] @ eps[rows, :, None])[..., 0]
        return z

    # -- generation ----------------------------------------------------------
    def sample_observation(self, params: Tensor, generator=None,
                           logit_offsets: Tensor = None) -> Tensor:
        """Draw an encoded row from ``p(x|z)`` given decoder outputs.

        ``logit_offsets`` (width: binary columns plus categorical levels, in
        the layout's order; broadcast against the rows) are added to the
        binary and categorical logits before drawing: the calibration of
        ``VAETransformer(calibrate_categories=True)``.
        """
        mean, logits, cat_logits = self.split_params(params)
        if logit_offsets is not None:
            b = logits.shape[-1]
            logits = logits + logit_offsets[..., :b]
            shifted, start = [], b
            for logit in cat_logits:
                shifted.append(logit + logit_offsets[..., start:start + logit.shape[-1]])
                start += logit.shape[-1]
            cat_logits = shifted
        parts = []
        if mean.shape[-1]:
            std = torch.exp(0.5 * self.observation_logvar(params))
            noise = torch.randn(mean.shape, generator=generator, device=mean.device,
                                dtype=mean.dtype)
            parts.append(mean + std * noise)
        if logits.shape[-1]:
            parts.append(torch.bernoulli(torch.sigmoid(logits), generator=generator))
        for logit in cat_logits:
            probs = torch.softmax(logit, dim=-1).reshape(-1, logit.shape[-1])
            idx = torch.multinomial(probs, 1, generator=generator).reshape(logit.shape[:-1])
            parts.append(F.one_hot(idx, logit.shape[-1]).to(logit.dtype))
        return torch.cat(parts, dim=-1)


#: init_from_pca's noise variance floor on a table with no continuous column:
#: a Bernoulli entry's variance at probability 0.02 (the link's clamp).
_DISCRETE_NOISE_FLOOR = 0.02 * (1 - 0.02)

#: Rows per block when prior draws are scaled by their components' factors.
_PRIOR_DRAW_BLOCK = 4096


def _is_diagonal(prec):
    """Which of the ``(M, k, k)`` matrices are diagonal, shape ``(M,)``."""
    off = prec - torch.diag_embed(torch.diagonal(prec, dim1=-2, dim2=-1))
    return (off == 0).flatten(1).all(dim=1)


def _prior_loaded(module, incompatible_keys):
    """``load_state_dict`` post-hook: note the loaded latent mixture's form."""
    if module.prior_components:
        module._note_prior_form()

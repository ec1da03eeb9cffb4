"""Shared machinery of the public estimators: parameters, training, inference."""

import copy
import functools
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted, validate_data
from skorch.helper import predefined_split

from ._dask import blockwise
from ._inference import (
    CHUNK_MULTIPLE,
    INFERENCE_MEMORY_BUDGET,
    encoded_blocks,
    module_dtype,
    plan_chunks,
    run_chunks,
    single_cpu_thread,
)
from ._kde import SmoothedPosterior, kernel_rows
from ._prior import (
    MIN_ROWS,
    category_offsets,
    fit_latent_mixture,
    mixture_parameters,
    posterior_draws,
)
from ._schema import (
    CONTINUOUS,
    TabularSchema,
    UnknownCategoryError,
    _as_float,
    _missing,
    _pandas,
    _to_numpy,
    check_tabular,
    is_dataframe,
)
from ._training import (
    BatchIterator,
    DivergenceGuard,
    EarlyStopping,
    EpochProgressBar,
    KLWarmup,
    TensorData,
    VAENet,
    adam,
)
from .nn import VAEModule, kl_per_dimension
from .nn._losses import gaussian_log_density
from .utils import check_device, cpu_threads, draw_seed, torch_generator, user_stacklevel

# Rounds of iterated SIR in ``sample(given=...)`` (see _sample_given): each
# leaves p(z | x_given) invariant, so more come closer at more cost. On a
# 4-D Gaussian (two fits, one column given 2.5 sd out, K = 50), four put the
# draws' mean within 0.09-0.18 conditional sd of the model's own
# conditional, with 0.95-1.01 of its spread (the previous sampler, four
# rounds from the encoder at the completed row: 0.43-0.82, 0.79-0.81).
_GIVEN_ROUNDS = 4


def resample(log_w, params, generator):
    """Sampling-importance-resampling: one of the K decoder outputs per row.

    ``log_w`` (K, rows) are importance log-weights, ``params`` (K, rows, ...)
    the decoder outputs at the K codes; row ``i`` gets ``params[k, i]`` with
    ``k`` drawn with probability ``softmax(log_w[:, i])`` (in float64).
    """
    return params[_pick(log_w, generator), torch.arange(params.shape[1],
                                                         device=params.device)]


def _pick(log_w, generator):
    """For each row (column of ``log_w``, shape (K, rows)), an index drawn with
    probability ``softmax(log_w[:, row])``, in float64."""
    w = torch.softmax(log_w.double(), dim=0).T  # (rows, K)
    return torch.multinomial(w, 1, generator=generator)[:, 0]


def _is_text_array(X):
    """Whether ``X`` (not a DataFrame) holds strings or other objects."""
    if hasattr(X, "format") and hasattr(X, "tocsr"):  # sparse
        return False
    try:
        return np.asarray(X).dtype.kind in "OUS"
    except (TypeError, ValueError):
        return False


def _autograd_on(fit):
    """Train with autograd on, even when called under ``torch.no_grad()`` or
    ``torch.inference_mode()`` (where tensors made for training would be
    inference tensors and backward would fail with torch's "element 0 of
    tensors does not require grad")."""
    @functools.wraps(fit)
    def wrapper(*args, **kwargs):
        with torch.inference_mode(False), torch.enable_grad():
            return fit(*args, **kwargs)
    return wrapper


#: Rows of a text array that :func:`_warn_numeric_text` reads per column.
_NUMERIC_TEXT_ROWS = 2000


def _warn_numeric_text(X):
    """Warn when a text array, taken as a table, has columns of numbers as text.

    A string array whose every entry is a number is converted to floats (as
    scikit-learn does); one that is not is a table, where text is
    categorical, so a single stray string would silently turn the number
    columns into categories with a level per value. Reads the first
    :data:`_NUMERIC_TEXT_ROWS` rows of each column (a hint, at a cost
    independent of the table's length).
    """
    A = np.asarray(X)
    if A.ndim != 2 or A.dtype.kind not in "OUS":
        return
    numeric, stray = [], None
    for j in range(A.shape[1]):
        col = A[:_NUMERIC_TEXT_ROWS, j]  # a look, not a proof: the warning is a hint
        if col.dtype.kind == "O":
            col = col[np.fromiter((isinstance(v, str) for v in col), bool, len(col))]
        try:
            col.astype(np.float64)  # in C: every string of the column a number?
        except (TypeError, ValueError):
            if stray is None:
                stray = (j, str(next(v for v in col if not _parses_as_float(v))))
            continue
        if len(col):
            numeric.append(j)
    if numeric and stray is not None:
        shown = numeric[:10] + (["..."] if len(numeric) > 10 else [])
        warnings.warn(
            f"X is an array of strings with numbers written as text in columns {shown}; "
            f"it could not be read as numbers because column {stray[0]} holds "
            f"{stray[1]!r}, so it is taken as a table where text is categorical: those "
            "columns become categorical, one level per distinct value. To model them "
            "as numbers, fix or drop that value, or pass a DataFrame with numeric "
            "dtypes for them.", UserWarning, stacklevel=user_stacklevel())


def _parses_as_float(v):
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _output_dtype(X):
    """float32 for float32 input (array or all-float32 table), else float64."""
    if is_dataframe(X):
        dtypes = set(X.dtypes.tolist())
        return np.float32 if dtypes == {np.dtype(np.float32)} else np.float64
    dtype = getattr(X, "dtype", None)
    return np.float32 if dtype == np.float32 else np.float64


def _silent(*args, **kwargs):
    """A print that prints nothing (picklable, unlike a lambda)."""


def atomic_fit(fit):
    """Make a ``fit`` method all-or-nothing.

    If ``fit`` raises (an error, a detected divergence, a ``KeyboardInterrupt``),
    the estimator's ``__dict__`` is restored to what it was before the call:
    a refit that fails keeps the previous model, schema and threshold
    together, and a first fit that fails leaves an unfitted estimator
    (:class:`~sklearn.exceptions.NotFittedError`, not a half-set one).
    Training never mutates a fitted ``net_`` in place (a warm start trains a
    copy), so restoring the attribute dict restores the model.
    """
    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = self.__dict__.copy()
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


#: Training rows (a seeded subset of larger tables) the latent diagnostics use.
_DIAGNOSTIC_ROWS = 50_000

#: Burda et al. (2016): a latent dimension is active when the variance of its
#: posterior mean across rows exceeds this.
ACTIVE_UNIT_THRESHOLD = 0.01


def _with_rows_of(load, extra):
    """``load`` for :func:`run_chunks` that also returns ``extra[start:stop]``.

    How a conditional model's one-hot labels travel beside the rows of every
    inference path (``extra=None``: ``load`` unchanged).
    """
    if extra is None:
        return load
    return lambda start, stop: (*load(start, stop), extra[start:stop])


def _latent_diagnostics(module, values, mask, seed, cond=None):
    """Mean KL of each latent dimension, and which dimensions are active.

    Over the training rows (a seeded subset of ``_DIAGNOSTIC_ROWS`` rows of
    larger tables), with the posterior of the trained encoder:
    ``kl[j] = mean_x KL(q(z_j|x) || N(0, 1))`` in nats, and
    ``active[j] = Var_x(E_q[z_j]) > ACTIVE_UNIT_THRESHOLD`` (the active-unit
    statistic of Burda et al., 2016). A collapsed dimension has ``kl ~ 0``:
    its posterior is the prior for every row, so it carries no information.
    """
    n = len(values)
    if n > _DIAGNOSTIC_ROWS:
        rows = np.sort(np.random.RandomState(seed + 6).choice(n, _DIAGNOSTIC_ROWS,
                                                               replace=False))
        values, mask = values[rows], mask[rows]
        cond = None if cond is None else cond[rows]
    kl_sum, mus = 0.0, []
    for mu, logvar in encoded_blocks(module, values, mask, cond):
        kl_sum = kl_sum + kl_per_dimension(mu, logvar).double().sum(dim=0)
        mus.append(mu.double().cpu())
    mu = torch.cat(mus).numpy()
    kl = (kl_sum.cpu().numpy() / max(1, len(values))).astype(np.float64)
    active = mu.var(axis=0) > ACTIVE_UNIT_THRESHOLD if len(mu) > 1 else kl > 0
    return kl, np.asarray(active, dtype=bool)


def _lattice_variance_floor(layout, values, mask):
    """Per-column variance floors: the dequantization noise of discrete columns.

    A Gaussian fitted to a column that takes few distinct values (counts,
    codes, 0/1 flags, image pixels) can shrink its variance towards 0 on the
    lattice of values, and one such column then dominates every score and the
    training objective (a step of one unit costs thousands of nats). Its floor
    is the variance of uniform noise over the column's smallest step between
    distinct training values, ``step^2 / 12`` (in the standardized units the
    network sees), so its contribution stays bounded; continuous columns (tiny
    steps) and constant columns (no step) keep the global floor of 1e-3.
    """
    n_cont = layout.n_continuous
    floor = np.full(n_cont, 1e-3)
    if n_cont and len(values) > 1:
        # The smallest step between distinct observed values of each column:
        # the smallest positive gap of its sorted values (missing entries sort
        # last as NaN and drop out of the comparison).
        cont = np.where(mask[:, :n_cont] > 0, values[:, :n_cont], np.nan)
        gaps = np.diff(np.sort(cont, axis=0), axis=0)
        with np.errstate(invalid="ignore"):
            gaps = np.where(gaps > 0, gaps, np.inf).min(axis=0)
        found = np.isfinite(gaps)
        floor[found] = np.maximum(floor[found],
                                  gaps[found].astype(np.float64) ** 2 / 12.0)
    return floor


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes))
    if sizes.ndim != 1 or not np.issubdtype(sizes.dtype, np.integer) or (sizes <= 0).any():
        raise ValueError(
            "hidden_layer_sizes must be a tuple of positive ints, got "
            f"{hidden_layer_sizes!r}."
        )
    return tuple(int(s) for s in sizes)


class _BaseVAE(BaseEstimator):
    """Parameters, training loop and inference shared by every estimator.

    Subclasses call :meth:`_fit_net` on validated data and use
    :meth:`_encode`, :meth:`_importance` and :meth:`_decode_mean`.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    # -- training ------------------------------------------------------------
    def _make_schema(self):
        return TabularSchema(
            categorical_features=getattr(self, "categorical_features", "from_dtype"),
            handle_unknown=self._handle_unknown(),
            scaling=getattr(self, "scaling", "column"),
        )

    def _handle_unknown(self):
        return getattr(self, "handle_unknown", "error")

    def _resolve_batch_size(self, n_samples):
        """``"auto"``: about 16 steps per epoch, between 16 and 256 rows.

        Small tables need many optimizer steps per epoch or early stopping
        ends training after a handful of updates.
        """
        if self.batch_size == "auto":
            return int(min(256, max(16, n_samples // 16)))
        return int(self.batch_size)

    def _trim_fraction(self):
        return 0.0

    def _train_samples(self):
        """Importance samples of the training objective (1 = the ELBO)."""
        return 1

    def _free_bits(self):
        """Free bits per latent dimension of the training objective (subclass hook)."""
        return 0.0

    def _module_options(self, layout, values, mask):
        """Extra keyword arguments of :class:`VAEModule` (subclass hook).

        ``layout`` is the schema's column layout, ``values`` and ``mask`` the
        encoded training rows (numpy); the schema is not yet set on ``self``.
        Every estimator floors the variance of discrete columns at their
        dequantization noise (:func:`_lattice_variance_floor`).
        """
        return {"min_variance": _lattice_variance_floor(layout, values, mask)}

    def _resolve_max_steps(self, steps_per_epoch, n_values=None):
        """The step budget of this fit (``max_steps``; subclasses may resolve "auto").

        ``n_values`` is the width of an encoded row (what a step costs grows with it).
        """
        return self.max_steps

    #: Start the model as probabilistic PCA with a linear path beside each
    #: network (``VAEModule(linear_skip=True)`` and ``init_from_pca``);
    #: VAETransformer's ``init="pca"``.
    _pca_init = False

    #: Learning-rate multiplier of the observation variances (subclass hook).
    _variance_lr_scale = 1.0

    def _param_groups(self):
        """skorch ``optimizer__param_groups``: the observation variances' own rate.

        Adam moves a parameter by about the learning rate per step whatever
        its gradient's size, and a continuous column's variance lives on a
        log scale: from 1 (the start) down to a floor of 1e-3 is about 7
        units, so at the rate that suits the weights it needs most of a
        short budget's steps before the sharp columns are modelled. A
        larger rate for these few parameters (``_variance_lr_scale``) lets
        them settle as fast as the network fits the means. The group keeps
        its multiplier (``lr_scale``) so a warm start can reapply it.
        """
        scale = float(self._variance_lr_scale)
        if scale == 1.0:
            return []
        return [("raw_variance", {"lr": self.learning_rate_init * scale,
                                  "lr_scale": scale})]

    def _extra_callbacks(self, max_epochs, steps_per_epoch=None, max_steps=None):
        """Extra ``(name, skorch Callback)`` pairs for training (subclass hook).

        ``max_epochs`` is the number of epochs planned (``max_iter`` capped by
        the step budget); ``steps_per_epoch`` the optimizer steps of one full
        epoch, ``max_steps`` the resolved step budget (None: epochs only).
        """
        return []

    #: Whether a fit on rows with no observed entry goes on (VAEImputer:
    #: it drops the empty columns, with SimpleImputer's warning) or raises.
    _fits_unobserved = False

    @_autograd_on
    def _fit_net(self, X, *, schema_input=None, cond=None):
        """Fit the schema and train the network on validated ``X``.

        ``cond``: the one-hot label of every row (float array of shape
        ``(n_samples, n_classes)``) to train a conditional VAE on, or None.

        Sets ``schema_``, ``net_``, ``n_iter_``, ``loss_curve_``,
        ``validation_scores_``, ``best_validation_score_`` and ``_seed``,
        all at the end (:meth:`_commit_fit`): until then everything is built
        in local variables, and a warm start trains a copy of ``net_``, so
        an error or interrupt leaves the estimator as it was.
        """
        hidden = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        device = check_device(self.device)
        continuing = self.warm_start and hasattr(self, "net_")
        if continuing:
            fitted = self.net_.module_
            if (self.n_components, hidden) != (fitted.n_components,
                                               tuple(fitted.hidden_layer_sizes)):
                raise ValueError(
                    f"{type(self).__name__} continues training its fitted network "
                    "(warm_start=True, or partial_fit), which has "
                    f"n_components={fitted.n_components} and hidden_layer_sizes="
                    f"{tuple(fitted.hidden_layer_sizes)}; the parameters now ask for "
                    f"n_components={self.n_components} and hidden_layer_sizes={hidden}. "
                    "Set them back to continue, or call fit with warm_start=False to start over.")
            schema, seed = self.schema_, self._seed
        else:
            source = getattr(self, "_schema_sample", None)  # partial_fit(sample=...)
            if source is None:
                source = X if schema_input is None else schema_input
            schema = self._make_schema().fit(source)
            seed = draw_seed(self.random_state)
        values, mask = schema.encode(X if schema_input is None else schema_input,
                                     handle_unknown=self._handle_unknown())
        if not self._fits_unobserved and not mask.any():
            raise ValueError(
                f"{type(self).__name__}: X has no observed entry (every value of its "
                f"{len(values)} rows is missing), so there is nothing to learn; pass "
                "rows with observed values.")
        n_values = values.shape[1]
        if self._warn_wide_latent and not continuing and self.n_components > n_values:
            warnings.warn(
                f"n_components={self.n_components} is larger than the {n_values} values "
                f"each row encodes to ({schema.layout_.n_columns} columns): the extra "
                "latent dimensions can carry nothing and collapse (see "
                "n_active_components_ after fit). Use a smaller n_components.",
                UserWarning, stacklevel=user_stacklevel())
        if cond is not None:
            cond = np.ascontiguousarray(cond, dtype=values.dtype)
        # No missing entry: train without a mask (the module's complete-data
        # path, the same function at less cost; see VAEModule.encode).
        data = TensorData(torch.from_numpy(values),
                          None if mask.all() else torch.from_numpy(mask),
                          None if cond is None else torch.from_numpy(cond)).to(device)

        n_samples = len(data)
        batch_size = self._resolve_batch_size(n_samples)
        use_valid = self.early_stopping and n_samples >= 2
        train_split = None
        if use_valid:
            n_valid = min(n_samples - 1, max(1, math.ceil(self.validation_fraction * n_samples)))
            perm = torch.randperm(n_samples, generator=torch_generator(seed + 1))
            perm = perm.to(device)
            valid, data = data.subset(perm[:n_valid]), data.subset(perm[n_valid:])
            train_split = predefined_split(valid)

        # The budget counts optimizer steps, not epochs, so a default costs
        # about the same on 3 thousand rows and 3 million: epochs are capped
        # at what the budget allows, and the last one may end early.
        max_epochs = self.max_iter
        steps_per_epoch = max(1, math.ceil(len(data) / batch_size))
        max_steps = self._resolve_max_steps(steps_per_epoch, n_values=n_values)
        if max_steps is not None:
            max_epochs = min(max_epochs, math.ceil(max_steps / steps_per_epoch))

        monitor = "valid_loss" if use_valid else "train_loss"
        callbacks = [
            ("divergence", DivergenceGuard(hint=(
                f"The learning rate (learning_rate_init={self.learning_rate_init}) is "
                f"probably too high: lower it (e.g. to {self.learning_rate_init / 10:g}). "
                "Very heavy-tailed features can also cause it: transform them (e.g. "
                "QuantileTransformer). The estimator was left as it was before fit."
            ))),
            ("kl_warmup", KLWarmup(self.kl_warmup)),
            ("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.n_iter_no_change, threshold=self.tol,
                threshold_mode="abs", lower_is_better=True, load_best=use_valid,
                sink=print if self.verbose and self.verbose > 1 else _silent,
            )),
        ]
        callbacks += self._extra_callbacks(max_epochs, steps_per_epoch=steps_per_epoch,
                                           max_steps=max_steps)
        if self.verbose == 1:  # verbose >= 2: skorch's per-epoch table instead
            callbacks.append(("progress", EpochProgressBar(max_epochs, type(self).__name__)))

        n_done = len(self.net_.history) if continuing else 0
        epoch_seed = seed + 2 + n_done
        if continuing:
            # Plain attributes, not set_params: skorch would re-initialize
            # the module and optimizer that warm_start must keep. A copy, so
            # a failed fit leaves the fitted net untouched.
            net = copy.deepcopy(self.net_)
            net.max_epochs, net.batch_size = max_epochs, batch_size
            net.iterator_train__max_steps = max_steps
            net.train_split, net.beta = train_split, self.beta
            net.n_train_samples = self._train_samples()
            net.free_bits = self._free_bits()
            net.verbose = max(0, int(self.verbose) - 1)
            net.iterator_train__seed = net.noise_seed = epoch_seed
            net.lr = self.learning_rate_init
            for group in net.optimizer_.param_groups:
                group["lr"] = self.learning_rate_init * group.get("lr_scale", 1.0)
                group["weight_decay"] = self.alpha
            net.callbacks = callbacks
            net.initialize_callbacks()
            module = net.module_
        else:
            # Explicit generators (weights here, noise in the net, batch
            # order in the iterator): torch's global RNG is never used, so
            # fits in concurrent threads do not interact.
            module = VAEModule(schema.layout_, self.n_components, hidden,
                               generator=torch_generator(epoch_seed),
                               n_conditions=0 if cond is None else cond.shape[1],
                               linear_skip=self._pca_init,
                               **self._module_options(schema.layout_, values, mask))
            if self._pca_init:
                module.init_from_pca(torch.from_numpy(values),
                                     None if cond is None else torch.from_numpy(cond),
                                     generator=torch_generator(epoch_seed))
            net = VAENet(
                module,
                criterion=torch.nn.Identity,  # unused: get_loss computes the ELBO
                optimizer=adam,
                optimizer__weight_decay=self.alpha,
                optimizer__param_groups=self._param_groups(),
                lr=self.learning_rate_init,
                max_epochs=max_epochs,
                batch_size=batch_size,
                iterator_train=BatchIterator,
                iterator_train__shuffle=True,
                iterator_train__seed=epoch_seed,
                iterator_train__max_steps=max_steps,
                noise_seed=epoch_seed,
                iterator_valid=BatchIterator,
                train_split=train_split,
                callbacks=callbacks,
                beta=self.beta,
                trim_fraction=self._trim_fraction(),
                n_train_samples=self._train_samples(),
                free_bits=self._free_bits(),
                device=device,
                verbose=max(0, int(self.verbose) - 1),
            )
        n_params = sum(p.numel() for p in module.parameters())
        with cpu_threads(device, n_params, batch_size):
            if continuing:
                net.partial_fit(data)
            else:
                net.fit(data)
        self._warn_if_unconverged(net, n_done, max_epochs)
        # Drop what only training needs, so the fitted model pickles small.
        net.train_split = None
        for _, cb in net.callbacks_:
            cb.__dict__.pop("best_model_weights_", None)
        history = net.history
        validation_scores = ([-float(v) for v in history[:, "valid_loss"]]
                             if use_valid else None)
        kl, active = _latent_diagnostics(module, values, mask, seed, cond)
        extra = self._fitted_from_encoding(schema, values, mask)
        if hasattr(self, "prior"):  # VAETransformer: the prior p(z) of inference
            extra["latent_prior_"] = self._fit_latent_prior(net.module_, values, mask, seed,
                                                            cond)
        # sample(n)'s binary and categorical shares, raked to the training rows'.
        extra["_category_offsets"] = (
            category_offsets(net.module_, values, mask, seed + 11, cond)
            if getattr(self, "calibrate_categories", False) else None)
        return self._commit_fit(**extra,
            kl_per_component_=kl, kl_ratio_=kl / kl.sum() if kl.sum() > 0 else np.zeros_like(kl),
            active_components_=active, n_active_components_=int(active.sum()),
            schema_=schema, _seed=seed, net_=net, n_iter_=len(history),
            loss_curve_=[float(v) for v in history[:, "train_loss"]],
            validation_scores_=validation_scores,
            best_validation_score_=max(validation_scores) if use_valid else None,
        )

    def _fit_latent_prior(self, module, values, mask, seed, cond):
        """Fit (``prior="mixture"``) or clear the module's latent mixture; return it.

        A conditional model gets one mixture per class, fitted to that
        class's codes (``p(z | y)``): a list in ``classes_``' order, None
        where a class keeps ``N(0, I)``. See ``_prior.py``.
        """
        if self.prior != "mixture":
            module.set_latent_mixtures(None)
            return None
        if cond is None:
            mixture, _ = fit_latent_mixture(
                posterior_draws(module, values, mask, seed + 7), seed + 7)
            found = [mixture]
        else:
            found = []
            for c in range(cond.shape[1]):
                rows = cond[:, c] > 0
                if rows.sum() < MIN_ROWS:  # (a partial_fit chunk may lack a class)
                    found.append(None)
                    continue
                mixture, _ = fit_latent_mixture(
                    posterior_draws(module, values[rows], mask[rows], seed + 7 + c,
                                    cond[rows]), seed + 7 + c)
                found.append(mixture)
        module.set_latent_mixtures([
            None if gm is None else mixture_parameters(gm) for gm in found])
        return found[0] if cond is None else found

    #: Warn (ConvergenceWarning) when a fit ends on its budget, not on early stopping.
    _warn_unconverged = True
    #: Warn when n_components exceeds the encoded width (a reduction that cannot
    #: reduce); off where a wide latent space is a deliberate default (the
    #: imputer's 8 dimensions on narrow tables).
    _warn_wide_latent = False

    def _warn_if_unconverged(self, net, n_done, max_epochs):
        """``ConvergenceWarning`` when training ran out of budget while improving.

        As scikit-learn's ``MLPClassifier``: a fit that ends on ``max_iter``
        epochs (or the ``max_steps`` budget) before early stopping fired.
        """
        if (not self._warn_unconverged or getattr(self, "_partial", False)
                or len(net.history) - n_done < max_epochs):
            return
        stopper = dict(net.callbacks_).get("early_stopping")
        if stopper is not None and getattr(stopper, "misses_", 0) >= stopper.patience:
            return
        name = type(self).__name__
        if self.max_steps is not None and max_epochs < self.max_iter:
            budget = f"its step budget (max_steps={self.max_steps})"
            fix = "max_steps"
        else:
            budget = f"max_iter={self.max_iter} epochs"
            fix = "max_iter"
        warnings.warn(
            f"{name} stopped after {budget} while the monitored loss was still "
            f"improving by more than tol={self.tol} (early stopping did not fire): the "
            f"model may not have converged. Raise {fix} (or learning_rate_init) for a "
            "converged fit; loss_curve_ and validation_scores_ show the trend.",
            ConvergenceWarning, stacklevel=user_stacklevel())

    #: What one ``partial_fit`` call trains with (see :meth:`partial_fit`).
    _PARTIAL_FIT = {"warm_start": True, "early_stopping": False, "max_iter": 1,
                    "max_steps": None}

    def partial_fit(self, X, y=None, *, sample=None, classes=None):
        """Train one pass over ``X``, continuing from the current model.

        scikit-learn's incremental convention (as ``MLPRegressor`` and
        ``IncrementalPCA``): the first call on an unfitted estimator fits the
        schema (column kinds, scaling, categories) from this chunk, or from
        ``sample`` when given, and builds the network; every call then makes
        one pass (``ceil(n_rows / batch_size)`` optimizer steps) over the
        chunk's rows in a seeded random order, with the optimizer's state
        carried over between calls. A later chunk with a category the schema
        has not seen is an error, as in ``transform`` (or treated as missing
        with ``handle_unknown="ignore"``): fit the schema on a ``sample`` that
        covers every category (e.g. a random sample of the whole table, or a
        few rows per category) when the first chunk does not.

        No validation split and no early stopping (the caller decides when to
        stop, e.g. by the trend of ``loss_curve_``), no step budget
        (``max_steps``) and no ``ConvergenceWarning``; ``n_iter_`` counts the
        passes made, ``loss_curve_`` has one entry per pass. ``fit`` starts
        over (unless ``warm_start=True``); ``partial_fit`` after ``fit``
        continues from the fitted model. The latent diagnostics
        (``kl_per_component_`` ...), the latent mixture prior of
        ``VAETransformer(prior="mixture")`` and, for
        :class:`VAEOutlierDetector`, the threshold ``offset_`` are recomputed
        on each call's chunk.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            A chunk of training rows (NaN marks a missing entry); the same
            columns in every call.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels of a conditional ``VAETransformer``; ignored otherwise.
        sample : {array-like, DataFrame} or None, default=None
            Rows with ``X``'s columns to fit the schema from on the first call
            (its categories and the scaling of its columns; it is not trained
            on). Ignored once the estimator is fitted, so the same ``sample``
            may be passed on every call.
        classes : array-like or None, default=None
            A conditional ``VAETransformer``'s classes, all of them, as in
            ``SGDClassifier.partial_fit``: needed on the first call when its
            chunk lacks some (the first call fixes ``classes_``: ``None``
            takes the chunk's own); ignored on later calls (which may have
            any of them) and by unconditional models. ``class_prior_`` counts
            the rows of every chunk so far.

        Returns
        -------
        self : object
        """
        snapshot = self.__dict__.copy()  # a failed call leaves the estimator as it was
        saved = {name: getattr(self, name) for name in self._PARTIAL_FIT}
        first = not hasattr(self, "net_")
        self.__dict__.update(self._PARTIAL_FIT)
        self._partial = True
        try:
            if first and sample is not None:
                checked = self._validate_input(sample, reset=True)
                columns = (self.n_features_in_, getattr(self, "feature_names_in_", None))
                self._validate_input(X, reset=True)
                if (self.n_features_in_ != columns[0] or not np.array_equal(
                        getattr(self, "feature_names_in_", None), columns[1])):
                    names = columns[1].tolist() if columns[1] is not None else columns[0]
                    raise ValueError(
                        f"sample must have the columns of X; it has {names}, X has "
                        f"{getattr(self, 'feature_names_in_', self.n_features_in_)}.")
                self._schema_sample = checked
            if first and classes is not None:
                self._partial_classes = classes
            return self.fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        finally:
            self.__dict__.update(saved)
            self.__dict__.pop("_partial", None)
            self.__dict__.pop("_schema_sample", None)
            self.__dict__.pop("_partial_classes", None)

    def _commit_fit(self, **fitted):
        """Set the fitted attributes of a training run, all at once."""
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    # -- inference -------------------------------------------------------------
    # Every inference path runs the module as trained (float32, on its own
    # device) on fixed-size chunks of rows under a memory budget; see
    # ``_inference.py`` for why that makes results batch-invariant.
    _inference_budget = INFERENCE_MEMORY_BUDGET  # bytes; see _inference.py

    @property
    def module_(self):
        """The trained :class:`~sklearn_vae.nn.VAEModule` (lives on ``net_.device``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    @property
    def n_components_(self):
        """Latent dimensions of the fitted model (``n_components`` at the last fit).

        Every method after fit uses this, not the ``n_components`` parameter:
        ``set_params(n_components=...)`` on a fitted model takes effect at the
        next fit, as for PCA.
        """
        check_is_fitted(self, "net_")
        return self.net_.module_.n_components

    def _live_module(self):
        """The trained module and its device: what every inference path runs.

        No copy and no change of dtype or mode: inference runs in the
        module's own dtype (float32) and batch invariance comes from the
        fixed-size chunks (see ``_inference.py``). The module has no dropout
        or batch norm, so its train/eval mode does not matter.
        """
        module = self.net_.module_
        return module, next(module.parameters()).device

    def _inference_module(self):
        """A float64 copy of the module, for code that feeds it float64 tensors.

        The estimator's own inference no longer uses it (see
        :meth:`_live_module`); kept so that such callers, e.g. tests that
        recompute a score by hand in float64, keep working.
        """
        module = copy.deepcopy(self.net_.module_).double()
        return module, next(module.parameters()).device

    def _shared_noise(self, device, dtype=torch.float64):
        """The K latent noise vectors shared by every row (common random numbers).

        Drawn in float64 from the fitted seed, then cast to ``dtype`` (the
        inference paths pass the module's dtype).
        """
        gen = torch_generator(self._seed + 3)
        eps = torch.randn(self.n_importance_samples, self.n_components_,
                          generator=gen, dtype=torch.float64)
        return eps.to(device=device, dtype=dtype)

    def _chunks(self, n, per_row=1):
        """Slices of at most ``budget / per_row`` rows, multiples of 64 rows.

        Kept for callers that loop over rows themselves; the inference paths
        of this class use :func:`~sklearn_vae._inference.run_chunks`.
        """
        step = max(1, self._inference_budget // 2 // max(1, 4 * per_row))
        step = max(CHUNK_MULTIPLE, step // CHUNK_MULTIPLE * CHUNK_MULTIPLE)
        return [slice(i, min(n, i + step)) for i in range(0, n, step)]

    def _missing_mask(self, X):
        """Boolean (n_samples, n_features): which entries of validated ``X`` are missing.

        Missing as given (NaN, None, ``pd.NA``), not as the encoder reads
        them: a level unseen in fit, encoded as missing under
        ``handle_unknown="ignore"``, and a value in a column never observed
        in fit are observed entries, which an imputer keeps (as
        SimpleImputer keeps what is not missing).
        """
        if not self.schema_.tabular_:
            return np.isnan(X)
        columns = ((X.iloc[:, j] for j in range(X.shape[1])) if is_dataframe(X)
                   else (np.asarray(X)[:, j] for j in range(np.shape(X)[1])))
        return np.column_stack([_missing(_to_numpy(col)) for col in columns])

    def _encoded_loader(self, X, *, with_jacobian=False):
        """``load(start, stop)`` for :func:`run_chunks`: encode a block of rows.

        Encodes ``X`` block by block (float32 values and mask, float64
        log-Jacobian), so the whole input is never held encoded in float64.
        """
        frame = is_dataframe(X)
        handle_unknown = self._handle_unknown()

        def load(start, stop):
            rows = X.iloc[start:stop] if frame else X[start:stop]
            return self.schema_.encode(rows, dtype=np.float32, log_jacobian=with_jacobian,
                                       handle_unknown=handle_unknown)

        return load

    def _run_encoded(self, X, fn, *, n_samples_k=1, columns=True, with_jacobian=False,
                     k_blocking=False, cond=None):
        """Encode ``X`` by blocks and apply ``fn(values, mask[, jac])`` by chunks.

        See :func:`~sklearn_vae._inference.run_chunks`; ``fn`` gets
        ``k_block`` as a keyword when ``k_blocking``, and ``cond`` (the
        chunk's rows of the one-hot label array ``cond``) when one is given.
        """
        module, device = self._live_module()
        dtype = module_dtype(module)
        chunk, k_block, block = plan_chunks(
            module, n_samples_k, device, budget=self._inference_budget,
            columns=columns, k_blocking=k_blocking)
        if k_blocking:
            inner = fn

            def fn(*tensors, **kwargs):
                return inner(*tensors, k_block=k_block, **kwargs)

        dtypes = (dtype, dtype) + ((torch.float64,) if with_jacobian else ())
        if cond is not None:
            # The condition travels as one more chunked input, handed to fn by name.
            inner_fn = fn

            def fn(*tensors):
                return inner_fn(*tensors[:-1], cond=tensors[-1])

            dtypes = dtypes + (dtype,)
        load = _with_rows_of(self._encoded_loader(X, with_jacobian=with_jacobian), cond)
        with single_cpu_thread(device), torch.inference_mode():
            return run_chunks(load, X.shape[0], fn, chunk=chunk, block=block,
                              device=device, dtypes=dtypes)

    def _encode(self, X, cond=None):
        """Posterior mean ``E[z|x]`` of each row, float64 array (float32 precision)."""
        return self._posterior_codes(X, cond=cond)[0]

    def _decode_mean(self, Z, cond=None):
        """Decoder point prediction at latent ``Z``, in the user's units."""
        module, device = self._live_module()
        dtype = module_dtype(module)
        Z = np.asarray(Z, dtype=np.float64)
        chunk, _, block = plan_chunks(module, 1, device, budget=self._inference_budget)

        def fn(z, cond_chunk=None):
            params = module.decode(z, cond_chunk, inference=True)
            mean, logits, cat_logits = module.split_params(params)
            return (mean, torch.sigmoid(logits),
                    *[torch.softmax(logit, dim=-1) for logit in cat_logits])

        load = _with_rows_of(lambda start, stop: (Z[start:stop],), cond)
        with single_cpu_thread(device), torch.inference_mode():
            if not len(Z):  # no chunk to run: the decoder on zero rows
                mean, prob, *cat_probs = (t.cpu().numpy() for t in fn(
                    torch.zeros((0, Z.shape[1]), dtype=dtype, device=device),
                    None if cond is None else torch.zeros(
                        (0, cond.shape[1]), dtype=dtype, device=device)))
            else:
                mean, prob, *cat_probs = run_chunks(
                    load, len(Z), fn, chunk=chunk, block=block, device=device,
                    dtypes=(dtype, dtype))
        return self.schema_.decode(mean, prob, cat_probs)

    def _importance(self, X, reduce, *, with_jacobian=False, need_columns=True,
                    need_params=True, cond=None, capped=True, uncapped=False):
        """Run the IWAE pass over ``X`` in fixed-size chunks.

        ``reduce(log_w, col_log_prob, params, values, mask)`` gets torch
        tensors for one chunk (on the module's device, its dtype; ``log_w``
        of shape ``(K, chunk)``) and returns a tensor or numpy array, or a
        tuple of them, with one leading entry per row; results are
        concatenated over chunks along axis 0 and returned as numpy arrays.
        Returning tensors (not ``.cpu().numpy()``) lets a GPU run a whole
        block without a host sync. ``log_w`` and ``col_log_prob`` are in the
        ENCODED units. With ``with_jacobian=True`` reduce gets a sixth
        argument: the per-entry log-Jacobian ``(chunk, n_columns)`` (float64,
        layout order, 0 where missing) that converts them to the user's
        units. ``need_columns=False`` passes ``col_log_prob=None`` and
        ``need_params=False`` passes ``params=None``, which saves memory and
        time; with both False the K samples may be split into several passes
        of the network to stay within the memory budget.

        Each chunk has the same number of rows (padded with all-missing rows
        at the end), so a row's result does not depend on the other rows.
        ``cond``: the one-hot label of each row, for a conditional model.

        Each entry's ``-log p(x_j|z)`` is capped at :meth:`_entry_nll_cap`
        (nothing is, where that is None, as in the transformer and the
        imputer) unless ``capped=False``; ``uncapped=True`` hands ``reduce``
        the uncapped ``log_w`` as the keyword ``uncapped`` as well.
        """
        module, device = self._live_module()
        dtype = module_dtype(module)
        eps = self._shared_noise(device, dtype)
        k_blocking = not (need_columns or need_params)
        cap = self._entry_nll_cap() if capped else None
        bounds = None
        if cap is not None:
            cap = torch.as_tensor(cap, dtype=dtype, device=device)
            bounds = self._encoder_bounds()
            if bounds is not None:
                bounds = tuple(torch.as_tensor(b, dtype=dtype, device=device)
                               for b in bounds)
        options = dict(nll_cap=cap, return_uncapped=uncapped, encoder_bounds=bounds)

        def fn(v, m, jac=None, k_block=None, cond=None):
            if k_blocking:
                parts = [module.log_importance_weights(v, m, eps[k:k + k_block], cond,
                                                       **options)
                         for k in range(0, len(eps), k_block)]
                if uncapped:
                    log_w = torch.cat([p[0] for p in parts])
                    plain = torch.cat([p[1] for p in parts])
                else:
                    log_w = torch.cat(parts)
                col = params = None
            else:
                log_w, params, *rest = module.log_importance_weights(
                    v, m, eps, cond, return_params=True, return_columns=need_columns,
                    **options)
                plain = rest.pop() if uncapped else None
                col = rest[0] if rest else None
                params = params if need_params else None
            args = (log_w, col, params, v, m) + ((jac,) if with_jacobian else ())
            return reduce(*args, uncapped=plain) if uncapped else reduce(*args)

        return self._run_encoded(X, fn, n_samples_k=self.n_importance_samples,
                                 columns=need_columns, with_jacobian=with_jacobian,
                                 k_blocking=k_blocking, cond=cond)

    def _log_likelihood(self, X, cond=None, *, capped=True, uncapped=False):
        """IWAE estimate of log p(x_obs) per row, in the user's units.

        Network in float32 on fixed-size chunks; the log-sum-exp over the K
        samples and the log-Jacobian sum in float64. ``capped=False`` leaves
        out the entry cap (see :meth:`_entry_nll_cap`); ``uncapped=True``
        returns ``(capped, uncapped)`` estimates from one pass.
        """
        log_k = math.log(self.n_importance_samples)

        def estimate(log_w, jac):
            return torch.logsumexp(log_w.double(), dim=0) - log_k + jac.sum(dim=-1)

        def reduce(log_w, col, params, v, m, jac, **plain):
            if uncapped:
                return estimate(log_w, jac), estimate(plain["uncapped"], jac)
            return estimate(log_w, jac)

        return self._importance(X, reduce, with_jacobian=True, need_columns=False,
                                need_params=False, cond=cond, capped=capped,
                                uncapped=uncapped)

    def _entry_nll_cap(self):
        """Upper bound on each entry's ``-log p(x_j|z)`` in scores (layout order), or None.

        Subclass hook: the outlier detector bounds every column's share of
        its scores; the transformer and the imputer report the plain
        likelihood.
        """
        return None

    def _encoder_bounds(self):
        """``(low, high)`` of the encoder's continuous inputs in capped scores, or None.

        Subclass hook (see ``encoder_bounds`` of
        :meth:`~sklearn_vae.nn.VAEModule.log_importance_weights`): the outlier
        detector proposes codes from entries clipped to their training range.
        """
        return None

    def _fitted_from_encoding(self, schema, values, mask):
        """Extra fitted attributes computed from the encoded training rows (hook)."""
        return {}

    def _log_likelihood_per_column(self, X, cond=None, *, capped=True):
        """Split the IWAE estimate into one additive term per user column.

        With self-normalized weights ``w_k = softmax(log_w)``::

            log p(x) ~= logsumexp(log_w) - log K
                      = sum_j sum_k w_k log p(x_j|z_k)              (column terms)
                        + sum_k w_k [log p(z_k) - log q(z_k|x)]
                        + H(w) - log K                             (latent term)

        Column ``j`` gets its posterior-weighted log-likelihood (plus its
        log-Jacobian: the entry's own, which varies along the column for a
        quantile-normalized column); the latent term, which belongs to no
        column, is shared equally among the row's observed columns. Rows sum
        to the total (in float64, the same total as :meth:`_log_likelihood`).
        """
        log_k = math.log(self.n_importance_samples)

        def reduce(log_w, col, params, v, m, jac):
            log_w = log_w.double()
            total = torch.logsumexp(log_w, dim=0) - log_k
            w = torch.softmax(log_w, dim=0).to(col.dtype)  # (K, n)
            per_col = (w[..., None] * col).sum(dim=0).double()  # (n, n_columns)
            latent = total - per_col.sum(dim=-1)
            n_obs = m.sum(dim=-1).double().clamp(min=1.0)
            return per_col + m.double() * (latent / n_obs)[:, None] + jac

        return self.schema_.to_user_columns(
            self._importance(X, reduce, with_jacobian=True, need_params=False, cond=cond,
                             capped=capped))

    def _posterior_codes(self, X, cond=None):
        """Means and standard deviations (float64) of ``q(z | x)`` for validated rows ``X``.

        ``q(z | x, y)`` when conditional (``cond``: the rows' one-hot labels).
        """
        module, _ = self._live_module()

        def fn(v, m, cond=None):
            return module.encode(v, m, cond, inference=True)

        out = self._run_encoded(X, fn, cond=cond)
        if out is None:  # no rows
            return np.empty((0, self.n_components_)), np.empty((0, self.n_components_))
        mu, logvar = out
        return mu.astype(np.float64), np.exp(0.5 * logvar.astype(np.float64))

    def _posterior_draws(self, X, cond=None, random_state=None):
        """One draw ``z ~ q(z | x)`` (``q(z | x, y)`` when conditional) per row of ``X``.

        ``X`` is validated input; returns a float64 array (n_samples, n_components).
        """
        mu, sd = self._posterior_codes(X, cond=cond)
        rng = np.random.RandomState(draw_seed(random_state))
        return mu + rng.standard_normal(mu.shape) * sd

    def _prior_codes(self, n_samples, seed, label=None):
        """``n_samples`` codes from the prior (float64 numpy array), from ``seed``.

        The draws of :meth:`sample`: ``module.sample_prior`` (``N(0, I)``, or
        the latent mixture of ``prior="mixture"``, class ``label``'s for a
        conditional model), which scales mixture draws a block of rows at a time.
        """
        module, device = self._live_module()
        cond = None
        if label is not None and getattr(self, "classes_", None) is not None:
            cond = torch.as_tensor(self._condition(label, int(n_samples), "sample"),
                                   device=device)
        with torch.inference_mode():
            z = module.sample_prior(int(n_samples), torch_generator(seed, device=device),
                                    dtype=module_dtype(module), device=device, cond=cond)
        return z.cpu().numpy().astype(np.float64)

    def _sample(self, n_samples, random_state, cond=None, z=None):
        """Rows drawn from ``p(x | z)`` at ``z ~ p(z)`` (or at the given ``z``)."""
        seed = draw_seed(random_state)
        module, device = self._live_module()
        dtype = module_dtype(module)
        gen = torch_generator(seed, device=device)
        chunk, _, block = plan_chunks(module, 1, device, budget=self._inference_budget)
        offsets = None
        with single_cpu_thread(device), torch.inference_mode():
            if z is None:  # N(0, I): torch.randn; or the latent mixture (prior="mixture")
                z = module.sample_prior(
                    n_samples, gen, dtype=dtype, device=device,
                    cond=None if cond is None else torch.as_tensor(cond, device=device))
                # Prior draws only: codes of real rows' posteriors have their shares.
                if getattr(self, "_category_offsets", None) is not None:
                    offsets = torch.as_tensor(self._category_offsets, dtype=dtype,
                                              device=device)
            else:
                z = torch.as_tensor(z, dtype=dtype, device=device)

            def draw(zc, c=None):
                shift = None
                if offsets is not None:
                    shift = offsets[0] if c is None else offsets[c.argmax(dim=-1)]
                return module.sample_observation(module.decode(zc, c, inference=True),
                                                 generator=gen, logit_offsets=shift)

            draws = run_chunks(
                _with_rows_of(lambda start, stop: (z[start:stop],), cond), n_samples,
                draw, chunk=chunk, block=block, device=device, dtypes=(dtype, dtype),
                pad=False)
        return self.schema_.decode_sample(draws)

    # -- input validation -----------------------------------------------------
    def _validate_input(self, X, *, reset):
        """Validate ``X`` for fit (``reset=True``) or inference (``reset=False``).

        Every public method goes through here, so the accepted input types are
        defined in one place. NaN (and None / ``pd.NA`` in a DataFrame) marks
        a missing entry; inf is an error.

        Returns a float32/float64 ndarray for numeric arrays (the model's
        schema then standardizes every column), or the input itself, checked,
        for tables: a pandas DataFrame (any supported column dtypes), or an
        object / string array (when numeric conversion fails). Once fitted,
        the kind of the training input decides (a model fit on a table takes
        tables or arrays of the same columns).
        """
        if reset:
            tabular = is_dataframe(X)
        else:
            schema = getattr(self, "schema_", None)
            tabular = schema is not None and schema.tabular_
        if not tabular:
            try:
                checked = validate_data(self, X, dtype=[np.float64, np.float32],
                                        ensure_all_finite="allow-nan", reset=reset)
            except ValueError:
                # Strings in an array (no DataFrame): take it as a table.
                if not (reset and _is_text_array(X)):
                    raise
                _warn_numeric_text(X)
            else:
                if get_config()["assume_finite"] and np.isinf(checked).any():
                    # Checked anyway: an inf would surface as an eigh failure or
                    # a divergence blamed on the learning rate.
                    raise ValueError(
                        "Input X contains infinity; NaN marks a missing entry, "
                        "infinity is not allowed (set_config(assume_finite=True) "
                        "skips scikit-learn's check, not this one).")
                return checked
        return self._validate_table(X, reset=reset)

    def _validate_table(self, X, *, reset):
        if not is_dataframe(X):
            # The shape first: validate_data below counts features without it
            # (a 1-D row read as "0 features", a 3-D array as its second axis).
            if hasattr(X, "format") and hasattr(X, "tocsr"):
                raise TypeError(
                    "Sparse data was passed for X, but dense data is required. Use "
                    "'.toarray()' to convert to a dense numpy array.")
            array = np.asarray(X)
            if array.ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {array.ndim}D array instead. Reshape your "
                    "data either using array.reshape(-1, 1) if your data has a single "
                    "feature or array.reshape(1, -1) if it contains a single sample."
                )
        # Names (a polars frame's too) and n_features.
        validate_data(self, X, skip_check_array=True, reset=reset)
        if not is_dataframe(X):
            X = array if array.dtype.kind in "iufb" else array.astype(object)
        if X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 "
                "is required."
            )
        if X.shape[1] < 1:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                "is required."
            )
        check_tabular(X)
        return X

    def _validate_for_inference(self, X):
        check_is_fitted(self)
        return self._validate_input(X, reset=False)

    # -- shared public methods ----------------------------------------------

    @blockwise("rows")
    def score_samples(self, X):
        """Log-likelihood of each row under the model, in the input's units.

        An importance-weighted (IWAE) estimate of ``log p(x)`` with
        ``n_importance_samples`` draws shared by all rows, so the result is
        deterministic and does not depend on which other rows are passed.
        Continuous columns contribute a log-density in their original units
        (the log-Jacobian of the internal scaling or quantile-to-normal map
        of each entry is included), so values compare with
        :meth:`sklearn.decomposition.PCA.score_samples`; binary and
        categorical columns contribute log-probabilities. Missing entries
        (NaN, None) are marginalized out: the score of a row with missing
        entries is the log-likelihood of its observed part.

        Cost and precision: the network runs ``n_importance_samples`` (K)
        decoder passes per row in float32, on chunks of a fixed number of
        rows (so each row gets the same bits whatever else is passed, on
        one CPU thread); the log-sum-exp over the K samples is taken in
        float64. Rows are encoded and processed block by block within a
        working-memory budget of about 256 MiB on top of the input and the
        returned array. A smaller K is proportionally faster and gives a
        looser (lower) estimate of ``log p(x)``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher is more likely (more normal).
        """
        X = self._validate_for_inference(X)
        return self._log_likelihood(X)

    @blockwise("columns", width=lambda est: est.n_features_in_)
    def score_samples_per_feature(self, X):
        """Each column's additive share of :meth:`score_samples`.

        Column ``j`` of a row gets the posterior-weighted log-likelihood of
        that entry (with its log-Jacobian); the latent (prior vs posterior)
        term, which belongs to no single column, is shared equally among the
        row's observed columns. Missing entries get 0. Each row sums to
        ``score_samples`` of that row, so the most negative entries show
        which columns make the row unlikely. Categorical columns contribute
        log-probabilities, continuous ones log-densities in their own units.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        contributions : ndarray or DataFrame of shape (n_samples, n_features)
            Columns in the order of the input's columns: a DataFrame with the
            training column names (and the index of ``X`` when it is a
            DataFrame) when the model was fit on a DataFrame, else an ndarray.
        """
        X = self._validate_for_inference(X)
        return self._per_feature_output(X, self._log_likelihood_per_column(X))

    def _per_feature_output(self, X, values):
        """``values`` (n_samples, n_features) as a DataFrame when fit on one."""
        if not getattr(self.schema_, "is_frame_", False):
            return values
        import pandas as pd

        index = X.index if is_dataframe(X) else None
        return pd.DataFrame(values, columns=list(self.schema_.columns_), index=index)

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of ``X`` (see :meth:`score_samples`).

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        can select hyperparameters without a ``scoring``.
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None, *, y=None, given=None,
               posterior_of=None, bandwidth="auto", return_y=False):
        """Draw rows from the generative model.

        ``z ~ p(z)``, then the decoder's distribution ``p(x|z)`` including
        its observation noise (not only its mean, which would be narrower than
        the data). The prior ``p(z)`` is ``N(0, I)``, or for
        ``VAETransformer``'s default ``prior="mixture"`` a Gaussian mixture
        fitted to the training rows' codes (per class for a conditional
        model), which keeps prior codes out of the holes between the codes
        the decoder was trained on. With ``VAETransformer``'s default
        ``calibrate_categories=True`` the binary and categorical columns of
        these prior draws are drawn with logit offsets, fitted after
        training, that give them the training rows' shares of each level
        (per class for a conditional model). For the closest synthetic copy
        of a table pass the table as ``posterior_of`` (below).

        With ``posterior_of`` (usually the training table), the codes come
        instead from the *aggregate posterior* of those rows, the mixture of
        their posteriors ``q(z | x)``: the distribution of codes the decoder
        was trained on. A fitted VAE's aggregate posterior is not exactly
        ``N(0, I)`` (it never is with ``beta < 1``, and the KL term only
        pulls it towards the prior), and prior codes that fall where no
        training row put its code decode to rows unlike the data. Each code
        is drawn from the posterior of a row picked at random (with
        replacement), widened by a kernel (``bandwidth``) so that the rows
        drawn are new rows and not near-copies of the ones passed. The rows
        are only encoded: nothing of them is stored in the model.

        On Adult (``benchmarks/bench_synth.py``: ``n_components=32``,
        ``beta=0.5``, 2 seeds) codes from ``N(0, I)`` give KS 0.033, TVD
        0.041, a pairwise gap of 0.047 and an efficacy ratio of 0.964; from
        the default mixture prior with ``calibrate_categories=True`` 0.019,
        0.011, 0.027 and 0.971 (DCR 1.33);
        ``posterior_of`` at the default ``bandwidth="auto"`` 0.017, 0.023,
        0.020 and 0.974, with the rows'
        median distance to their closest training row (DCR) at 1.17, beyond
        real held-out rows' 0.90; ``bandwidth=0`` 0.011, 0.015, 0.015 and
        0.981, but DCR 0.38: rows much nearer single training rows than new
        real rows would be. Choosing the bandwidth costs seconds on large
        tables (4.5 to 5 s for Adult's 26,048 rows, against 0.3 s with 0).

        With ``given``, rows are drawn from ``p(x_rest | x_given)`` instead:
        "rows like these, with ``sex == "Female"`` and ``age == 30``". Each
        row's code is drawn from ``p(z | x_given)`` by iterated
        sampling-importance-resampling: the given entries are encoded (the
        rest masked as missing); in each of four rounds the current code and
        ``n_importance_samples`` fresh codes from ``q(z | x_given)`` and as
        many from the prior ``p(z)`` are weighted by ``p(x_given | z) p(z)``
        over their proposal's density, and one is kept by its weight; the
        other columns are then drawn from ``p(x | z)``. Each round leaves
        ``p(z | x_given)`` exactly invariant, and the prior's codes cover the
        modes and tails the encoder misses. The given entries are returned
        exactly as given. No
        rejection sampling: rare values cost no more than common ones, but
        the draws are only as good as the model's fit around them (values
        far outside the training data are extrapolations).

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            Seeds the draw; ``None`` uses fresh entropy and leaves the
            global RNGs alone.
        y : array-like of shape (n_samples,), scalar or None, default=None
            Only for a model fit with ``conditional=True``: the class of each
            row to draw (``x ~ p(x | y)``), or one class for all of them.
            None draws the classes in their training proportions
            (``class_prior_``) from the same ``random_state``. An
            unconditional model accepts only None.
        given : dict, array-like, DataFrame or None, default=None
            The entries to condition on. A dict ``{column: value}`` fixes
            those columns in every row (keys are the training column names
            when fit on a DataFrame, integer positions otherwise). A table of
            the training columns (one row, repeated, or ``n_samples`` rows),
            with NaN / None where a value is to be drawn, fixes entries row
            by row. Values are checked as in ``transform`` (wrong columns),
            and more strictly: a level the model was not fit on is an error
            even with ``handle_unknown="ignore"`` (as a missing entry, the
            condition would be dropped), and so is a fractional value for an
            integer column. Given entries come back in their column's
            training dtype. None: unconditional draws, as above.
        posterior_of : array-like, DataFrame or None, default=None
            Rows with the training columns whose posterior codes to draw
            from instead of the prior, as above; ``n_samples`` may differ
            from their number. Rows with NaN are encoded from their observed
            entries, which is only reliable for a model that saw missing
            entries in training (an encoder trained on complete rows has
            never seen a mask). A conditional model takes one class, ``y=c``,
            and rows of that class (they are encoded given ``c``):
            ``sample(n, y=c, posterior_of=X[labels == c])``. Not together
            with ``given``. None: prior codes.
        bandwidth : "auto" or float >= 0, default="auto"
            With ``posterior_of`` only: how much each row's posterior is widened.
            Row ``i``'s kernel has, in each code dimension, the standard
            deviation ``bandwidth * r_i / sqrt(n_components)`` times that
            dimension's spread over the rows, ``r_i`` being the distance from
            the row's code (scaled by the spreads) to its 10th-nearest other
            row's: narrow where rows are dense (a common combination of
            categories), wide around a row alone in its region (the row most
            at risk of being reproduced), as in variable-bandwidth kernel
            density estimation. "auto" picks the bandwidth that gives the
            rows' own codes the best leave-one-out likelihood under the
            others' widened posteriors (on up to 10,000 of the rows). On six
            small tables (``benchmarks/bench_sample_codes.py``, 12 fits) it
            was the best bandwidth for held-out rows' codes or one grid step
            (a factor 2 ** 0.25) above it in 11, two steps above in one.
            0 draws each row's posterior as it is (faithful marginals, rows
            close to single rows: for augmentation, not for sharing). A
            table of more than 50,000 rows is smoothed from 50,000 of them.
        return_y : bool, default=False
            Only for a model fit with ``conditional=True``: also return each
            row's class, ``(X, y)``, as :meth:`GaussianMixture.sample
            <sklearn.mixture.GaussianMixture.sample>` returns its components.
            With ``y=None`` these are the classes drawn from ``class_prior_``
            (a labelled synthetic training set in one call); otherwise ``y``
            as ``n_samples`` labels of ``classes_``' dtype.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            In the units and types of the training data: a DataFrame with the
            training columns' names, order and dtypes when fit on a DataFrame
            (integer columns rounded, categories only among those seen in
            training), a float64 ndarray otherwise. A column with no
            observed value in training comes back missing, as it was.
        y : ndarray of shape (n_samples,)
            Only with ``return_y=True``: each row's class.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        n_samples = int(n_samples)
        conditional = getattr(self, "classes_", None) is not None
        if not conditional and y is not None:
            raise ValueError(
                f"This {type(self).__name__} is unconditional: sample takes no y. "
                "Fit VAETransformer(conditional=True) with fit(X, y) to sample rows "
                "of a given class.")
        if return_y and not conditional:
            raise ValueError(
                f"sample: return_y=True returns each row's class, but this "
                f"{type(self).__name__} is unconditional (it has no classes). Fit "
                "VAETransformer(conditional=True) with fit(X, y) to draw labelled rows.")
        auto = isinstance(bandwidth, str) and bandwidth == "auto"
        if not auto and (isinstance(bandwidth, bool) or not isinstance(bandwidth, Real)
                         or not 0 <= bandwidth < math.inf):
            raise ValueError(
                f"sample: bandwidth must be 'auto' or a float >= 0 (a multiple of each "
                f"row's neighbour radius; 0 draws each row's posterior as it is), got "
                f"{bandwidth!r}.")
        if posterior_of is not None:
            X = self._sample_posterior_of(posterior_of, n_samples, random_state,
                                          y=y, given=given, bandwidth=bandwidth)
            if return_y:
                return X, self.classes_[self._condition(y, n_samples, "sample").argmax(1)]
            return X
        if not auto:
            raise ValueError(
                f"sample: bandwidth={bandwidth!r} smooths the codes of posterior_of; "
                "without posterior_of the codes come from the prior. Pass posterior_of "
                "(usually the training rows) or leave bandwidth at 'auto'.")
        partial = None if given is None else self._partial_rows(given, n_samples)
        if not conditional:
            if partial is not None:
                return self._sample_given(partial, random_state)
            return self._sample(n_samples, random_state)
        seed = draw_seed(random_state)
        if y is None:
            rng = np.random.RandomState(seed)
            y = self.classes_[rng.choice(len(self.classes_), n_samples, p=self.class_prior_)]
        cond = self._condition(y, n_samples, "sample")
        if partial is not None:
            X = self._sample_given(partial, seed + 1, cond=cond)
        else:
            X = self._sample(n_samples, seed + 1, cond=cond)
        return (X, self.classes_[cond.argmax(axis=1)]) if return_y else X

    def _sample_posterior_of(self, rows, n_samples, random_state, *, y, given, bandwidth):
        """``sample(posterior_of=rows)``: codes of random rows' posteriors, then ``p(x|z)``."""
        if given is not None:
            raise ValueError(
                "sample: pass given (condition on some columns) or posterior_of (draw "
                "codes from these rows' posteriors), not both.")
        # (sample has refused y for an unconditional model.)
        if getattr(self, "classes_", None) is not None and (y is None or np.ndim(y) != 0):
            raise ValueError(
                "sample: with posterior_of, a conditional model draws one class at a "
                "time, from rows of that class (they are encoded given it, as in fit): "
                "sample(n, y=c, posterior_of=X[labels == c]).")
        X = self._validate_for_inference(rows)
        n_rows = _num_samples(X)
        rng = np.random.RandomState(draw_seed(random_state))
        pick = rng.randint(0, n_rows, n_samples)
        eps = np.random.RandomState(draw_seed(rng)).standard_normal(
            (n_samples, self.n_components_))
        sample_rng = copy.deepcopy(rng)  # _sample draws as before bandwidths existed
        select_seed = draw_seed(rng)
        cond = self._condition(y, n_samples, "sample")
        if bandwidth == 0:  # each picked row's posterior as it is: only those are encoded
            mu, sd = self._posterior_codes(_safe_indexing(X, pick), cond=cond)
            z = mu + eps * sd
        else:
            # The kernel's mixture: every row, or 50,000 of a larger table.
            members = kernel_rows(n_rows, select_seed)
            if len(members) < n_rows:
                pick = rng.randint(0, len(members), n_samples)
            codes = SmoothedPosterior(
                *self._posterior_codes(_safe_indexing(X, members),
                                       cond=self._condition(y, len(members), "sample")),
                select_seed)
            z = codes.draw(pick, codes.select() if bandwidth == "auto" else bandwidth, eps)
        return self._sample(n_samples, sample_rng, cond=cond, z=z)

    def _partial_rows(self, given, n_samples):
        """``given`` as ``n_samples`` validated rows, missing where a value is to be drawn."""
        schema = self.schema_
        names = getattr(self, "feature_names_in_", None)
        if isinstance(given, dict):
            columns = [str(c) for c in names] if names is not None else None
            index = {}
            for key in given:
                if columns is not None and isinstance(key, str) and key in columns:
                    index[key] = columns.index(key)
                elif (columns is None and isinstance(key, Integral)
                      and not isinstance(key, bool) and 0 <= key < self.n_features_in_):
                    index[key] = int(key)
                else:
                    known = (f"the training columns {columns}" if columns is not None
                             else f"column positions 0..{self.n_features_in_ - 1}")
                    raise ValueError(
                        f"sample: given has a key {key!r} that is not a column of this "
                        f"model; keys must be {known}.")
            if schema.is_frame_:
                pd = _pandas()
                key_of = {j: key for key, j in index.items()}
                data = {}
                for j, spec in enumerate(schema.specs_):
                    continuous = spec.kind == CONTINUOUS
                    if j in key_of:
                        value = given[key_of[j]]
                        col = pd.Series([value] * n_samples, dtype=object)
                        if continuous:  # numeric columns stay numeric
                            try:
                                col = pd.to_numeric(col, errors="raise")
                            except (TypeError, ValueError):
                                raise ValueError(
                                    f"sample: given[{key_of[j]!r}] = {value!r} is not a "
                                    f"number; column {names[j]!r} is numeric "
                                    f"({spec.dtype}).") from None
                    elif continuous:
                        col = np.full(n_samples, np.nan)
                    else:
                        col = pd.Series([None] * n_samples, dtype=object)
                    data[names[j]] = col
                rows = pd.DataFrame(data, columns=list(names))
            elif schema.tabular_:
                rows = np.full((n_samples, self.n_features_in_), None, dtype=object)
                for key, j in index.items():
                    rows[:, j] = given[key]
            else:
                rows = np.full((n_samples, self.n_features_in_), np.nan)
                for key, j in index.items():
                    try:
                        rows[:, j] = float(given[key])
                    except (TypeError, ValueError):
                        raise ValueError(
                            f"sample: given[{key!r}] = {given[key]!r} is not a number; "
                            "this model was fit on a numeric array.") from None
            rows = self._validate_for_inference(rows)
        else:
            rows = self._validate_for_inference(given)
            if len(rows) == 1 and n_samples != 1:
                take = np.zeros(n_samples, dtype=np.intp)
                rows = rows.iloc[take] if is_dataframe(rows) else rows[take]
            elif len(rows) != n_samples:
                raise ValueError(
                    f"sample: given must be a dict, one row, or n_samples={n_samples} "
                    f"rows; got {len(rows)} rows.")
        self._check_given(rows)
        return rows

    def _check_given(self, rows):
        """Errors for given entries the model cannot return or condition on.

        A level the model was not fit on is an error whatever
        ``handle_unknown`` says (treated as missing, the condition would be
        dropped without a word), and so is a fractional value for an integer
        column (the returned column would no longer be integer).
        """
        schema = self.schema_
        if not schema.tabular_:
            return
        try:
            schema.encode(rows, handle_unknown="error")
        except UnknownCategoryError as exc:
            raise ValueError(
                f"sample: given has {exc.values} in column {exc.column!r}, a level this "
                f"model was not fit on (known: {exc.known}), so it cannot draw rows with "
                "it. Give a known level, or leave the column out of given to draw "
                "it.") from None
        if not schema.is_frame_:
            return
        for j, spec in enumerate(schema.specs_):
            if spec.kind != CONTINUOUS or getattr(spec.dtype, "kind", "f") not in "iu":
                continue
            values = _as_float(rows.iloc[:, j], rows.columns[j])
            bad = values[~np.isnan(values) & (values != np.round(values))]
            if len(bad):
                raise ValueError(
                    f"sample: given has {float(bad[0])!r} in column {rows.columns[j]!r}, which "
                    f"holds integers ({spec.dtype}); give a whole number.")

    def _sample_given(self, rows, random_state, cond=None):
        """Draw the missing entries of ``rows`` from ``p(x_missing | x_observed)``.

        A code from ``p(z | x_given)``, then the missing entries from
        ``p(x | z)``. The code: iterated sampling-importance-resampling
        (i-SIR), :data:`_GIVEN_ROUNDS` rounds, each weighing the current code
        and fresh candidates from an even mixture of the encoder at the given
        entries and the prior (``p(x_given | z) p(z) / proposal``) and
        keeping one by its weight. A round leaves ``p(z | x_given)`` exactly
        invariant, so more rounds only come closer to it; the prior in the
        proposal (defensive importance sampling) covers the modes and tails
        the encoder, trained on complete rows, misses when it sees a few
        entries. Fresh codes for every row (repeated rows get independent
        draws); the observed entries are returned as given.
        """
        seed = draw_seed(random_state)
        module, device = self._live_module()
        k = self.n_importance_samples
        value_column = module.layout.value_columns().to(device)
        state = {}

        def fn(v, m, cond=None):
            if "gen" not in state:
                state["gen"] = torch_generator(seed, device=device)
            gen = state["gen"]
            rows = torch.arange(v.shape[0], device=v.device)
            mu, logvar = module.encode(v, m, cond, inference=True)
            z_now = params_now = None
            for _ in range(_GIVEN_ROUNDS):
                eps = torch.randn((k,) + tuple(mu.shape), generator=gen, dtype=mu.dtype,
                                  device=mu.device)
                from_prior = module.sample_prior(
                    k * len(v), gen, dtype=mu.dtype, device=mu.device,
                    cond=None if cond is None else cond.repeat(k, 1)).reshape(eps.shape)
                z = [mu + eps * torch.exp(0.5 * logvar), from_prior]
                if z_now is not None:  # the current code competes with the fresh ones
                    z.insert(0, z_now[None])
                z = torch.cat(z)
                log_prior = module.log_prior(z, cond)
                log_proposal = torch.logaddexp(gaussian_log_density(z, mu, logvar),
                                               log_prior) - math.log(2.0)
                params = module.decode(z, cond, inference=True)
                chosen = _pick(module.column_log_prob(v, m, params).sum(dim=-1)
                               + log_prior - log_proposal, gen)
                z_now, params_now = z[chosen, rows], params[chosen, rows]
            observed = m[:, value_column] > 0
            return torch.where(observed, v,
                               module.sample_observation(params_now, generator=gen))

        draws = self._run_encoded(rows, fn, n_samples_k=2 * k + 1, cond=cond)
        out = self.schema_.decode_sample(draws)
        observed = ~self._missing_mask(rows)
        for j in np.flatnonzero(observed.any(axis=0)):
            sel = np.flatnonzero(observed[:, j])
            if is_dataframe(out):  # the given values, in the training column's dtype
                name = out.columns[j]
                column = out[name].to_numpy(dtype=object, copy=True)
                column[sel] = rows.iloc[sel, j].to_numpy()
                out[name] = _pandas().Series(column, index=out.index).astype(
                    out[name].dtype)
            else:
                out[sel, j] = rows[sel, j]
        return out

    def _condition(self, y, n_rows, where):
        """One-hot float32 array of the labels ``y`` for a conditional model.

        None for an unconditional model (``y`` is then ignored, as by PCA).
        A scalar ``y`` is one class for all ``n_rows`` rows. Errors name the
        problem: no ``y``, wrong length, labels not seen in ``fit``.
        """
        classes = getattr(self, "classes_", None)
        if classes is None:
            return None
        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"This {name} was fit with conditional=True: {where} needs y, the "
                f"class label of each row (one of classes_={classes.tolist()}).")
        y = np.asarray(y)
        if y.ndim == 0:
            y = np.full(n_rows, y.item(), dtype=object)
        elif y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != n_rows:
            raise ValueError(
                f"{where}: y must hold one class label per row ({n_rows}), got shape "
                f"{y.shape}.")
        index = {c: i for i, c in enumerate(classes.tolist())}
        codes = np.fromiter((index.get(v, -1) for v in y.tolist()), dtype=np.int64,
                            count=len(y))
        if (codes < 0).any():
            unseen = list(dict.fromkeys(v for v, c in zip(y.tolist(), codes) if c < 0))
            raise ValueError(
                f"{where}: y has labels not seen in fit: {unseen[:5]}"
                f"{' ...' if len(unseen) > 5 else ''}; this model knows "
                f"classes_={classes.tolist()}."
                + (" In cross-validation this means a training fold lacked the "
                   "class: the default cv of GridSearchCV / cross_val_score is an "
                   "unshuffled KFold for this model (it is not a classifier), so pass "
                   "cv=StratifiedKFold(...)." if where in ("score_samples", "score")
                   else ""))
        onehot = np.zeros((len(y), len(classes)), dtype=np.float32)
        onehot[np.arange(len(y)), codes] = 1.0
        return onehot

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

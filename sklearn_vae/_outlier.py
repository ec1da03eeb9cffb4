"""VAEOutlierDetector: anomaly scores from the VAE (IsolationForest's twin)."""

import hashlib
import math
import sys
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import OutlierMixin, _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _num_samples, check_is_fitted

from ._base import _BaseVAE, atomic_fit
from ._dask import blockwise, is_dask_collection


def medcouple(x, max_samples=2000, random_state=0):
    """Medcouple of ``x``: a robust measure of skewness in [-1, 1].

    The median over pairs ``x_i <= med <= x_j`` of
    ``((x_j - med) - (med - x_i)) / (x_j - x_i)`` (Brys, Hubert & Struyf,
    2004): 0 for a symmetric sample, negative when the lower tail is the
    longer one. Computed exactly (O(m^2)) on at most ``max_samples`` values,
    drawn without replacement with ``random_state`` when ``x`` is larger.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) > max_samples:
        x = np.random.default_rng(random_state).choice(x, max_samples, replace=False)
    med = np.median(x)
    lower, upper = x[x <= med], x[x >= med]
    width = upper[None, :] - lower[:, None]
    skew = (upper[None, :] - med) - (med - lower[:, None])
    kernel = np.divide(skew, width, out=np.zeros_like(skew), where=width > 0)
    return float(np.median(kernel))


def adjusted_lower_fence(scores, random_state=0):
    """Lower fence of the skewness-adjusted boxplot (Hubert & Vandervieren, 2008).

    ``Q1 - 1.5 * exp(-3 MC) * IQR`` when the medcouple ``MC`` is negative
    (a long lower tail), ``Q1 - 1.5 * exp(-4 MC) * IQR`` otherwise. For
    symmetric scores it is Tukey's fence; for the long lower tail of
    log-likelihoods it widens, so the tail of the normal rows is not
    flagged.
    """
    q1, q3 = np.percentile(scores, [25.0, 75.0])
    mc = medcouple(scores, random_state=random_state)
    factor = math.exp(-3.0 * mc) if mc < 0 else math.exp(-4.0 * mc)
    return float(q1 - 1.5 * factor * (q3 - q1))


def _fingerprint(X):
    """SHA-256 digest of the content of ``X`` (an ndarray or a DataFrame), or None.

    Equal digests mean equal shape, dtypes, column names and values (NaNs
    included; an object cell's type too, as pandas hashes it by ``str``), so
    equal scores. None for anything else (the caller then
    computes instead of looking up).
    """
    digest = hashlib.sha256()
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        digest.update(f"{X.dtype.str}{X.shape}".encode())
        digest.update(memoryview(np.ascontiguousarray(X)).cast("B"))
        return digest.hexdigest()
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(X, pd.DataFrame):
        try:
            rows = pd.util.hash_pandas_object(X, index=False).to_numpy()
        except TypeError:  # unhashable cells
            return None
        digest.update(repr((X.shape, list(map(str, X.columns)),
                            list(map(str, X.dtypes)))).encode())
        digest.update(memoryview(np.ascontiguousarray(rows)).cast("B"))
        # pandas hashes object cells by str(): the int 1 and the string "1"
        # collide, but the model tells them apart (a category it knows, or not).
        # A column's inferred kind ("string", "integer", ...: one C-level scan)
        # tells them apart; only a column of mixed kinds pays for per-cell types.
        for j in np.flatnonzero([dtype.kind == "O" for dtype in X.dtypes]):
            col = X.iloc[:, j]
            kind = pd.api.types.infer_dtype(col, skipna=True)
            digest.update(kind.encode())
            if kind.startswith("mixed"):
                kinds = col.map(lambda v: type(v).__qualname__)
                digest.update(memoryview(np.ascontiguousarray(
                    pd.util.hash_pandas_object(kinds, index=False).to_numpy())).cast("B"))
        return digest.hexdigest()
    return None


def _labels(decision):
    """+1 where ``decision >= 0``, else -1 (a NaN score is never an inlier)."""
    is_inlier = np.ones(decision.shape[0], dtype=int)
    is_inlier[~(decision >= 0)] = -1
    return is_inlier


class VAEOutlierDetector(OutlierMixin, _BaseVAE):
    """Unsupervised anomaly detection with a variational autoencoder.

    Follows :class:`~sklearn.ensemble.IsolationForest`'s contract:
    :meth:`score_samples` is higher for more normal rows,
    ``decision_function(X) = score_samples(X) - offset_`` is negative for
    outliers, and :meth:`predict` returns +1 for inliers and -1 for outliers.
    Fit it on the (unlabelled, possibly contaminated) data, then score the
    same or new rows.

    The default score is the model's log-likelihood of the row, ``log p(x)``,
    an importance-weighted (IWAE) estimate with ``n_importance_samples``
    noise draws shared by every row (common random numbers), so scores are
    deterministic and a row's score does not depend on the other rows passed.
    :meth:`score_samples_per_feature` splits each row's score into one
    additive term per column, to see *why* a row was flagged. Rows with
    missing entries (NaN) are scored on their observed entries.

    Training data usually contains the anomalies one is looking for. With
    ``trim_fraction > 0`` the highest-loss fraction of each mini-batch is
    left out of the gradient once ``trim_warmup`` epochs have passed, so the
    model fits the bulk of the data and not its outliers.

    Parameters
    ----------
    contamination : "auto" or float, default="auto"
        Expected proportion of outliers in the training data; sets
        ``offset_``, the threshold :meth:`predict` uses.

        - float in (0, 0.5]: ``offset_`` is the ``contamination`` quantile
          of the training scores, so that fraction of the training rows
          is flagged (as in :class:`~sklearn.ensemble.IsolationForest`).
        - "auto": the lower fence of the skewness-adjusted boxplot of the
          training scores (Hubert & Vandervieren, 2008):
          ``Q1 - 1.5 * exp(-3 MC) * IQR``, where ``Q1``/``Q3`` are the
          quartiles, ``IQR = Q3 - Q1`` and ``MC`` the medcouple, a robust
          skewness (negative for a long lower tail). A row is flagged when
          its score is unusually low compared with the spread of the bulk
          of the training scores. With ``entry_cap``, the fence is set on
          the uncapped scores (whose long tail is what the fence reads; the
          capped tail is compressed and would move it) and ``offset_`` is
          the capped scores' quantile at the share of rows below it: the
          same share of training rows is flagged, ranked by the capped
          score. Log-likelihoods have no fixed scale and a
          long lower tail even without anomalies: Tukey's plain fence
          (``MC = 0``) flagged 2-4 times the true rate on the benchmark's
          tuning sets (17% of a set with 4.5% anomalies); the adjusted fence
          widens with the skew and flagged close to the true rate on sets
          with up to 10% anomalies (per-set figures in
          ``benchmarks/results/anomaly.md``). It cannot find a majority-like
          share of anomalies (over about 20%): pass a float then.
    anomaly_score : {"likelihood", "elbo", "reconstruction"}, \
            default="likelihood"
        What :meth:`score_samples` returns (higher = more normal).

        - "likelihood": IWAE estimate of ``log p(x)`` in the input's units
          (the tightest of the three).
        - "elbo": the evidence lower bound ``E_q[log p(x|z)] - KL(q||p)``
          estimated with the same shared draws; ranks rows like
          "likelihood".
        - "reconstruction": minus the squared reconstruction error of the
          row (standardized units) from the posterior mean of its code, the
          score of a plain autoencoder and of PyOD's VAE. It ignores the
          learned per-column noise and the latent prior: about as good
          where anomalies lie off the data's manifold (Ionosphere, vowels),
          much worse where the per-column variances matter (annthyroid,
          thyroid, Wilt).

        Compared on the 12 tuning sets of ``benchmarks/bench_anomaly.py``
        with the earlier defaults (learning rate 1e-3, 200 epochs): mean
        ROC-AUC 0.878 (likelihood), 0.878 (elbo), 0.810 (reconstruction).
    entry_cap : "auto", float > 0 or None, default="auto"
        Soft bound on how much one entry can lower a row's score, so that no
        single column dominates it (a column whose values sit on one spike,
        with a few far away, otherwise costs a far row thousands of nats
        where the other columns cost a few). An entry's surprise
        ``s = -log p(x_j | z)`` (in the encoded units, per importance sample)
        counts as ``s`` up to the column's cap ``a`` and as
        ``a + log(1 + s - a)`` beyond it: far values keep their order, but
        grow like a log, as under a heavy-tailed (Student-t-like) density.
        Applies to "likelihood" and "elbo" scores and to
        :meth:`score_samples_per_feature`; training is unchanged. With a
        cap the codes are proposed from each continuous entry clipped to
        its training range, so the latent term does not carry a far
        entry's deviation either (rows within the range are scored as
        without the clip; see ``docs/outlier.md``).

        - "auto": ``a = log(n + 1) + log(width)``, the surprise of a value
          drawn, with probability ``1 / (n + 1)`` (``n`` training rows),
          uniformly over the column's training range (standardized units,
          at least 2) or among a discrete column's levels: beyond that, an
          entry is as well explained by "an arbitrary value" as by the
          model. About 8 nats on 400 rows, 12-17 on large tables.
        - float: the same cap ``a`` (nats) for every column.
        - None: the plain likelihood.
    n_components : int, default=2
        Size of the latent space.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    beta : float, default=1.0
        Weight of the KL term (``beta``-VAE). 1 gives the true ELBO.
    kl_warmup : int, default=0
        Number of epochs over which the KL weight ramps linearly up to
        ``beta``. 0 disables warm-up.
    trim_fraction : float in [0, 0.5), default=0.1
        Fraction of the highest-loss rows of each mini-batch left out of the
        loss after ``trim_warmup`` epochs (validation batches alike, so
        early stopping monitors the same objective): robustness to
        anomalies in the training data. 0 trains on every row. On the
        benchmark's tuning sets it raised the mean ROC-AUC from 0.841 to
        0.878 (earlier defaults: learning rate 1e-3, 200 epochs).
    trim_warmup : int, default=10
        Epochs trained on every row before trimming starts, so the rows
        trimmed are those the model finds unusual, not those that a fresh
        network happens to fit badly. When the step budget allows few epochs
        (large tables), trimming starts after a quarter of the planned
        epochs instead, and when it allows a single epoch (above about
        142,000 rows with the defaults, or ``max_iter=1``) after a quarter
        of that epoch's planned steps, so it always happens (in earlier
        versions a single-epoch fit never trimmed).
    max_iter : int, default=200
        Maximum number of epochs.
    max_steps : int, "auto" or None, default="auto"
        Training budget in optimizer steps (mini-batches), over all epochs:
        training stops after ``max_iter`` epochs or ``max_steps`` steps,
        whichever comes first (the last epoch may end early), so the cost of
        a fit stops growing with the rows. "auto": three epochs, at least
        300 steps and at most 3000 (with the default batch of 128 and 10%
        held out: 300 steps up to about 14,000 rows, three passes over the
        training rows up to about 142,000, 3000 steps above, so about
        384,000 rows seen at most). The 300 steps were chosen on the
        benchmark's tuning group (at most 7,200 rows); on tables grown from
        those sets to 20,000-100,000 rows (``benchmarks/bench_anomaly_rows.py``)
        a fixed budget undertrained, and three epochs beat one (mean ROC-AUC
        0.874 vs 0.765 at 50,000 rows, 0.859 vs 0.800 at 100,000), two and
        five. On wide rows every step count shrinks with the width: beyond
        64 encoded values (the widest tuning table) by ``64 / n_values``,
        to no less than 100 steps, one epoch and a 1000-step cap (a step
        costs about ``n_values`` times more; on tuning tables widened to
        85-604 columns with quantile indicators,
        ``benchmarks/bench_anomaly_wide.py``, the mean ROC-AUC was 0.801
        with the shrunk floor vs 0.796 with 300 steps, 0.80 s vs 1.36 s per
        fit). None: epochs only. The continuous columns' variances are
        trained at 30 times ``learning_rate_init``: Adam moves a parameter by about its
        rate per step, and a variance that must fall from 1 to a floor of
        1e-3 travels about 7 units on its log scale, which at the weights'
        rate took most of a 1000-step budget. At the higher rate it settles
        in a few tens of steps (benchmark tuning group, mean ROC-AUC: 0.864
        with 1000 steps before, 0.890 with 300 steps now).
    batch_size : int, default=128
        Rows per mini-batch (all rows when there are fewer).
    learning_rate_init : float, default=1e-2
        Adam's learning rate. Higher than the other estimators' 1e-3: with a
        budget of ``max_steps`` steps, 1e-3 left the model far from converged
        on tables of a few thousand rows (benchmark tuning group: mean
        ROC-AUC 0.823 at 1e-3 vs 0.879 at 1e-2, 1000 steps).
    alpha : float, default=1e-4
        L2 penalty (Adam's ``weight_decay``).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when their
        negative ELBO has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are restored. When False (or with a single
        row) the training loss is monitored instead.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss (nats per row) that counts as
        an improvement.
    n_importance_samples : int, default=10
        Importance samples ``K`` of the IWAE estimate (and of the ELBO score).
        Scoring costs about ``K`` decoder passes per row. Anomalies differ
        from normal rows by many nats while the estimate's error at
        ``K = 10`` is a fraction of a nat: on the 12 tuning sets of
        ``benchmarks/bench_anomaly.py`` (2 seeds) the mean ROC-AUC was
        0.864, 0.865, 0.865, 0.864 at ``K`` = 5, 10, 20, 50. Raise it for
        a tighter ``log p(x)`` itself (e.g. to compare models).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train. "auto" uses CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds weight init, batch order, the validation split and the noise.
        The global numpy and torch RNGs are left untouched.
        (scikit-learn's glossary: "random_state".)
    verbose : int, default=0
        1 shows a progress bar over epochs with the loss, which leaves a
        one-line summary; 2 prints skorch's per-epoch table instead.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` instead
        of starting afresh (the input scaling of the first fit is kept).
        ``n_components`` and ``hidden_layer_sizes`` must be those of the
        fitted network (as for ``partial_fit``); a change is an error.
    categorical_features : "from_dtype", None, or array-like of str, int or \
            bool of shape (n_categorical,) or (n_features,), default="from_dtype"
        Which columns are categorical, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`:
        "from_dtype" takes DataFrame columns of category, object or string
        dtype (an array of strings that are not all numbers is such a table:
        its string columns are categorical, even those of numbers written
        as text, which a warning names); an array-like gives column names,
        indices or a boolean mask;
        None makes every column numeric. Bool columns are binary either way
        (unless None). Categorical columns with exactly two levels get a
        Bernoulli likelihood.
    handle_unknown : {"error", "ignore"}, default="error"
        A category not seen during ``fit`` met by ``transform`` or
        ``score_samples``: "error" raises, "ignore" treats the entry as
        missing (marginalized out), as :class:`~sklearn.preprocessing.OneHotEncoder`.

    Attributes
    ----------
    offset_ : float
        Threshold on :meth:`score_samples`: ``decision_function`` is
        ``score_samples - offset_``. Computed from the training scores with
        the ``anomaly_score`` set at fit time (see ``contamination``).
    entry_cap_ : ndarray of shape (`n_features_in_`,) or None
        Each column's cap ``a`` on one entry's surprise (nats, encoded
        units; see ``entry_cap``); None when ``entry_cap=None``.
    net_ : skorch.NeuralNet
        The trained skorch net (its ``history`` holds the per-epoch log).
    module_ : VAEModule
        The trained torch module.
    n_components_ : int
        Latent dimensions of the fitted model. Every method after ``fit``
        uses it: ``set_params(n_components=...)`` on a fitted model takes
        effect at the next fit, as for :class:`~sklearn.decomposition.PCA`.
    schema_ : TabularSchema
        The fitted column encoding (means and scales).
    n_iter_ : int
        Number of epochs run.
    kl_per_component_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension's posterior from the
        prior (nats) over the training rows; near 0 marks a collapsed
        dimension. See :class:`VAETransformer`.
    kl_ratio_ : ndarray of shape (n_components,)
        ``kl_per_component_`` over its sum.
    active_components_ : ndarray of shape (n_components,), dtype=bool
        Dimensions whose posterior mean varies across training rows
        (variance above 0.01).
    n_active_components_ : int
        Number of active dimensions.
    loss_curve_ : list of float
        Training negative ELBO (nats per row, trimmed rows excluded) after
        each epoch.
    validation_scores_ : list of float or None
        Validation ELBO (higher is better) after each epoch, when early
        stopping used a validation split.
    best_validation_score_ : float or None
        Best of ``validation_scores_``. Like ``loss_curve_`` it is in nats
        per row of the standardized (encoded) data: not on ``score``'s
        scale, which is the mean log-likelihood in the input's own units
        (it adds the log-Jacobian of the input scaling) estimated with IWAE
        (tighter than the ELBO).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string
        column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based anomaly detection.
    sklearn.neighbors.LocalOutlierFactor : Density-ratio anomaly detection.
    VAETransformer : The same model as a transformer (latent codes).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_vae import VAEOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> X[0] = [8.0, -8.0, 8.0]  # a planted outlier
    >>> det = VAEOutlierDetector(contamination=0.01, max_iter=20,
    ...                          random_state=0).fit(X)
    >>> int(det.predict(X)[0])
    -1
    >>> bool(det.score_samples(X)[0] < np.median(det.score_samples(X)))
    True
    >>> det.score_samples_per_feature(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **_BaseVAE._parameter_constraints,
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0, 0.5, closed="right"),
        ],
        "anomaly_score": [StrOptions({"likelihood", "elbo", "reconstruction"})],
        "entry_cap": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither"), None],
        "trim_fraction": [Interval(Real, 0, 0.5, closed="left")],
        "trim_warmup": [Interval(Integral, 0, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
    }

    def __init__(
        self,
        contamination="auto",
        *,
        anomaly_score="likelihood",
        entry_cap="auto",
        n_components=2,
        hidden_layer_sizes=(64, 64),
        beta=1.0,
        kl_warmup=0,
        trim_fraction=0.1,
        trim_warmup=10,
        max_iter=200,
        max_steps="auto",
        batch_size=128,
        learning_rate_init=1e-2,
        alpha=1e-4,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        n_importance_samples=10,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        categorical_features="from_dtype",
        handle_unknown="error",
    ):
        self.contamination = contamination
        self.anomaly_score = anomaly_score
        self.entry_cap = entry_cap
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.trim_fraction = trim_fraction
        self.trim_warmup = trim_warmup
        self.max_iter = max_iter
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_importance_samples = n_importance_samples
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown

    # -- training ----------------------------------------------------------
    def _trim_fraction(self):
        return self.trim_fraction

    #: The variances' learning-rate multiplier (see ``max_steps`` in the docstring).
    _variance_lr_scale = 30.0
    #: "auto" budget: at least this many steps, at most the cap.
    _AUTO_STEPS = (300, 3000)
    #: "auto" budget: at least this many epochs (between the floor and the cap).
    _AUTO_EPOCHS = 3

    #: "auto" on wide rows: every step count of the rule (floor, epochs, cap)
    #: shrinks by ``_AUTO_WIDTH / n_values`` beyond _AUTO_WIDTH encoded values
    #: (the widest tuning table), to no less than _AUTO_WIDE_STEPS steps, one
    #: epoch and a 1000-step cap.
    _AUTO_WIDTH = 64
    _AUTO_WIDE_STEPS = 100
    _AUTO_WIDE_CAP = 1000

    def _resolve_max_steps(self, steps_per_epoch, n_values=None):
        if self.max_steps != "auto":
            return self.max_steps
        low, high = self._AUTO_STEPS
        epochs = self._AUTO_EPOCHS
        if n_values is not None and n_values > self._AUTO_WIDTH:
            shrink = self._AUTO_WIDTH / n_values
            low = max(self._AUTO_WIDE_STEPS, round(low * shrink))
            epochs = max(1.0, epochs * shrink)
            high = max(min(high, self._AUTO_WIDE_CAP), round(high * shrink))
        return int(min(high, max(low, math.ceil(epochs * steps_per_epoch))))

    def _extra_callbacks(self, max_epochs, steps_per_epoch=None, max_steps=None):
        from ._training import TrimWarmup

        # Trim after trim_warmup epochs, or a quarter of the planned epochs when
        # the step budget allows few (large tables). When it allows one epoch
        # at most (tables above about 142,000 rows, or max_iter=1), trimming
        # starts after a quarter of that epoch's planned steps instead: an
        # epoch-count warm-up would never end, and the model would be fit to
        # the outliers it should leave out.
        if max_epochs <= 1 and steps_per_epoch is not None:
            planned = steps_per_epoch
            if max_steps is not None:
                planned = min(planned, max_steps)
            return [("trim_warmup", TrimWarmup(self.trim_fraction,
                                               steps=max(1, math.ceil(planned / 4))))]
        warmup = min(self.trim_warmup, max(1, math.ceil(max_epochs / 4)))
        return [("trim_warmup", TrimWarmup(self.trim_fraction, warmup))]

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Train the VAE on ``X`` and set the threshold ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, anomalies included; NaN marks a missing entry.
        y : None
            Ignored.

        Returns
        -------
        self : VAEOutlierDetector
        """
        self._fit_and_score(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit_predict(self, X, y=None):
        """Fit on ``X`` and return +1 (inlier) / -1 (outlier) for its rows.

        The same labels as ``fit(X).predict(X)``, at the cost of one scoring
        pass instead of two: ``fit`` scores the training rows to set the
        threshold, and scores do not depend on the batch they are computed
        in, so those scores are reused (a table above the threshold's
        subsample of 50,000 rows is scored again in full).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, anomalies included; NaN marks a missing entry.
        y : None
            Ignored.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        scores = self._fit_and_score(X)
        if scores is None or is_dask_collection(X):  # dask: predict's lazy result
            return self.predict(X)
        return _labels(scores - self.offset_)

    def _fit_and_score(self, X):
        """``fit``'s work; returns the training scores when every row was scored."""
        reset = not (self.warm_start and hasattr(self, "net_"))
        X = self._validate_input(X, reset=reset)
        self._fit_net(X)
        scores, plain = self._threshold_scores(X)
        if not np.isfinite(scores).all():
            raise FloatingPointError(
                f"{int((~np.isfinite(scores)).sum())} training rows got a non-finite "
                f"anomaly score (anomaly_score={self.anomaly_score!r}), so no threshold "
                "can be set. Check the training data for extreme values, or use "
                "anomaly_score='likelihood'."
            )
        if self.contamination == "auto":
            # The fence is set on the uncapped log-likelihoods, whose tail
            # shows how many rows stand out; that share of the lowest (capped)
            # scores is flagged. A capped score's compressed tail would move
            # the fence (see the docstring).
            fence = adjusted_lower_fence(plain, random_state=self._seed + 4)
            share = float(np.mean(plain < fence))
            if plain is scores or np.array_equal(plain, scores):  # the cap never bound
                self.offset_ = fence
            else:
                self.offset_ = (float(np.percentile(scores, 100.0 * share)) if share > 0
                                else float(np.min(scores)))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        complete = len(scores) == _num_samples(X)
        digest = _fingerprint(X) if complete else None
        self._score_cache = (None if digest is None else
                             (np.shape(X), self._score_key(), digest, scores.copy()))
        return scores if complete else None

    def _score_key(self):
        """What besides the data :meth:`score_samples` depends on: the parameters
        and the entry cap (a copy with ``entry_cap_`` changed scores anew)."""
        cap = getattr(self, "entry_cap_", None)
        return (self.anomaly_score, self.n_importance_samples,
                None if cap is None else np.asarray(cap, dtype=np.float64).tobytes())

    def _cached_scores(self, X):
        """``fit``'s scores of its training rows when ``X`` holds exactly those rows.

        ``fit`` scores every training row to set ``offset_`` (tables up to
        ``_threshold_rows``), and the scores are a deterministic function of
        each row, so ``fit(X)`` followed by ``score_samples(X)`` or
        ``predict(X)`` need not score ``X`` again. The check is a SHA-256 of
        the validated input's content (after a shape check), about 1% of a
        scoring pass; None when there is nothing to reuse.
        """
        cache = getattr(self, "_score_cache", None)
        if cache is None or np.shape(X) != cache[0] or self._score_key() != cache[1]:
            return None
        if _fingerprint(X) != cache[2]:
            return None
        return cache[3].copy()

    # The threshold needs the training scores' quantiles, not every score:
    # above this many rows it is set on a random subset of this size (the
    # standard error of a quantile's rank there is below 0.0022), which
    # saves a full scoring pass of a large table inside ``fit``.
    _threshold_rows = 50_000
    # The step budget is the detector's design (ROC-AUC stops improving before
    # convergence of the ELBO; docs/performance.md), not a sign of a bad fit.
    _warn_unconverged = False

    def _threshold_scores(self, X):
        """Anomaly scores of the training rows (a seeded subset of large tables).

        Returns ``(scores, uncapped)``: the scores, and for
        ``contamination="auto"`` the same rows' scores without ``entry_cap_``
        (the very array where no cap applies), which the fence is set on.
        """
        n = _num_samples(X)
        if n > self._threshold_rows:
            rng = np.random.RandomState(self._seed + 5)
            rows = np.sort(rng.choice(n, self._threshold_rows, replace=False))
            X = _safe_indexing(X, rows)
        if self.contamination != "auto" or self._entry_nll_cap() is None:
            scores = self._anomaly_scores(X)
            return scores, scores
        if self.anomaly_score == "likelihood":  # both from one pass
            return self._log_likelihood(X, uncapped=True)
        return self._anomaly_scores(X), self._anomaly_scores(X, capped=False)

    def _fitted_from_encoding(self, schema, values, mask):
        """``entry_cap_``: each column's bound on one entry's ``-log p`` (nats)."""
        layout = schema.layout_
        if self.entry_cap is None:
            return {"entry_cap_": None, "_entry_range": None}
        # Each continuous column's observed range (encoded units): capped
        # scores propose codes from entries clipped to it (_encoder_bounds).
        c = layout.n_continuous
        entry_range = None
        if c:
            observed = mask[:, :c] > 0
            cont = values[:, :c]
            seen = observed.any(axis=0)
            high = np.where(seen, np.where(observed, cont, -np.inf).max(axis=0), 0.0)
            low = np.where(seen, np.where(observed, cont, np.inf).min(axis=0), 0.0)
            entry_range = np.stack([low, high]).astype(np.float64)
        if self.entry_cap != "auto":
            return {"entry_cap_": np.full(schema.n_features_, float(self.entry_cap)),
                    "_entry_range": entry_range}
        # -log of the density of a value drawn, with probability 1 / (n + 1),
        # uniformly over the column's observed range (encoded units, at least
        # 2: the narrowest range of a unit-variance column), or uniformly
        # among a discrete column's levels.
        width = np.full(layout.n_columns, 2.0)
        if c:
            width[:c] = np.maximum(entry_range[1] - entry_range[0], 2.0)
        width[c + layout.n_binary :] = layout.categories  # binary columns: 2 levels
        cap = math.log(len(values) + 1.0) + np.log(width)
        return {"entry_cap_": schema.to_user_columns(cap[None, :])[0],
                "_entry_range": entry_range}

    def _encoder_bounds(self):
        entry_range = getattr(self, "_entry_range", None)  # None in files saved before it
        return None if entry_range is None else (entry_range[0], entry_range[1])

    def _entry_nll_cap(self):
        cap = getattr(self, "entry_cap_", None)
        if cap is None or self.anomaly_score == "reconstruction":
            return None
        return np.asarray(cap, dtype=np.float64)[self.schema_.layout_order_]

    # -- scores ------------------------------------------------------------
    def _anomaly_scores(self, X, capped=True):
        """The chosen score; ``capped=False``: without ``entry_cap_``."""
        if self.anomaly_score == "likelihood":
            return self._log_likelihood(X, capped=capped)
        return self._anomaly_scores_per_column(X, layout_order=True,
                                               capped=capped).sum(axis=1)

    def _anomaly_scores_per_column(self, X, layout_order=False, capped=True):
        """Per-column terms of the chosen score (user order unless asked)."""
        if self.anomaly_score == "likelihood":
            return self._log_likelihood_per_column(X, capped=capped)
        if self.anomaly_score == "elbo":
            per_col = self._elbo_per_column(X, capped=capped)
        else:
            per_col = self._reconstruction_per_column(X)
        return per_col if layout_order else self.schema_.to_user_columns(per_col)

    def _elbo_per_column(self, X, capped=True):
        """K-sample ELBO (shared noise) split into columns, layout order.

        ``mean_k log p(x_j|z_k)`` (+ log-Jacobian) per column; the latent
        term ``mean_k [log p(z_k) - log q(z_k|x)]`` (minus the KL) is shared
        equally among the row's observed columns.
        """
        def reduce(log_w, col, params, v, m, jac):
            per_col = col.mean(dim=0).double()
            latent = log_w.double().mean(dim=0) - per_col.sum(dim=-1)
            n_obs = m.sum(dim=-1).double().clamp(min=1.0)
            return per_col + m.double() * (latent / n_obs)[:, None] + jac

        return self._importance(X, reduce, with_jacobian=True, need_params=False,
                                capped=capped)

    def _reconstruction_per_column(self, X):
        """Minus the squared error of each column, decoded at ``E[z|x]``.

        Continuous columns: squared error in standardized units; binary and
        categorical columns: the Brier score of the decoded probabilities.
        Missing entries give 0. Layout order.
        """
        module, _ = self._live_module()
        layout = module.layout
        c, b = layout.n_continuous, layout.n_binary

        def fn(v, m):
            mu, _ = module.encode(v, m, inference=True)
            mean, logits, cat_logits = module.split_params(module.decode(mu, inference=True))
            parts = [(v[:, :c] - mean) ** 2, (v[:, c:c + b] - torch.sigmoid(logits)) ** 2]
            start = c + b
            for logit in cat_logits:
                k = logit.shape[-1]
                err = (v[:, start:start + k] - torch.softmax(logit, dim=-1)) ** 2
                parts.append(err.sum(dim=-1, keepdim=True))
                start += k
            return -torch.cat(parts, dim=-1).double() * m.double()

        out = self._run_encoded(X, fn)
        return np.empty((0, layout.n_columns)) if out is None else out

    @blockwise("rows")
    def score_samples(self, X):
        """Anomaly score of each row: higher is more normal.

        The quantity named by ``anomaly_score``: by default the IWAE
        estimate of ``log p(x)`` in the input's units, with noise shared by
        all rows, so the result is deterministic and does not depend on
        which other rows are passed. Missing entries (NaN) are left out:
        the score of a row with NaNs is that of its observed part. A
        detector fit on complete rows estimates it less well (its encoder
        never saw a missing entry), so such rows can be flagged more often
        than complete ones; fit on rows with missing entries, or raise
        ``n_importance_samples``, when the rows to score have them (see
        ``docs/outlier.md``, "Missing values").

        ``fit`` scores its training rows to set ``offset_`` (all of them up
        to 50,000 rows); passed exactly those rows again (an equal array or
        DataFrame, checked by a hash of the content), this returns those
        scores instead of computing them a second time, so
        ``fit(X).score_samples(X)`` and ``predict(X)`` cost one scoring pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Higher is more normal.
        """
        X = self._validate_for_inference(X)
        cached = self._cached_scores(X)
        return self._anomaly_scores(X) if cached is None else cached

    @blockwise("columns", width=lambda est: est.n_features_in_)
    def score_samples_per_feature(self, X):
        """Each column's additive share of :meth:`score_samples`.

        Explains a row's score: each row sums to ``score_samples`` of that
        row (for the chosen ``anomaly_score``), so the most negative
        entries name the columns that make the row look anomalous.

        - "likelihood" / "elbo": column ``j`` gets the posterior-weighted
          log-likelihood of its entry (with its log-Jacobian); the latent
          term, which belongs to no column, is shared equally among the
          row's observed columns.
        - "reconstruction": minus the squared error of the entry.

        Missing entries get 0.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        contributions : ndarray or DataFrame of shape (n_samples, n_features)
            A DataFrame with the training column names (and the index of
            ``X`` when it is a DataFrame) when the detector was fit on a
            DataFrame, else an ndarray.
        """
        X = self._validate_for_inference(X)
        return self._per_feature_output(X, self._anomaly_scores_per_column(X))

    @blockwise("rows")
    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    @blockwise("rows", dtype=lambda X: np.int64)
    def predict(self, X):
        """+1 for inliers, -1 for outliers (``decision_function < 0``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return _labels(self.decision_function(X))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the rows of ``X``.

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        can compare hyperparameters on held-out (mostly normal) rows.
        """
        return float(np.mean(self.score_samples(X)))


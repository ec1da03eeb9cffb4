"""VAETransformer: the VAE as a scikit-learn transformer (PCA's twin)."""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import _BaseVAE, _output_dtype, atomic_fit
from ._dask import blockwise
from ._schema import _MAX_ENCODED, _missing, is_dataframe
from .utils import saturating_cast, user_stacklevel
from .utils._compat import _check_feature_names_in


class VAETransformer(TransformerMixin, _BaseVAE):
    """Variational autoencoder as a scikit-learn transformer.

    A nonlinear, probabilistic counterpart of :class:`~sklearn.decomposition.PCA`:
    ``transform`` maps rows to the posterior mean of their latent code,
    ``inverse_transform`` decodes latent codes back to the input space,
    ``score_samples`` gives each row's log-likelihood and ``sample`` draws new
    rows. Takes numeric arrays or pandas DataFrames of mixed types: each
    column gets its own likelihood, Gaussian for continuous columns (with a
    learned variance with a floor: 1e-3 in standardized units, and for a
    column on a lattice of values (counts, pixels, codes) the variance of
    uniform noise over its smallest step, so a discrete column cannot make
    the likelihood explode), Bernoulli for binary columns (bool, or two
    levels) and softmax for categorical columns (category, object or string
    dtype, or those named in ``categorical_features``). Continuous columns
    are standardized when every column is numeric (arrays and DataFrames alike); in a mixed table
    they go through a quantile-to-normal map, robust to heavy tails and
    spikes. A model fit on a DataFrame decodes
    (``inverse_transform``, ``sample``) to a DataFrame with the same columns,
    dtypes and categories. Missing entries (NaN, None, ``pd.NA``) are allowed:
    the model trains and scores on the observed entries.

    Trained with Adam through skorch, on a GPU when ``device="auto"`` finds one.

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent space.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    beta : float, default=1.0
        Weight of the KL term (``beta``-VAE). 1 gives the true ELBO.
    kl_warmup : int, default=0
        Number of epochs over which the KL weight ramps linearly up to
        ``beta``. 0 disables warm-up.
    free_bits : float, default=0.0
        Free bits, in nats per latent dimension (Kingma et al., 2016): a
        dimension whose KL, averaged over the mini-batch, is below
        ``free_bits`` is charged ``free_bits`` instead, so the KL term stops
        pushing it onto the prior. Without it, from ``init="random"``, the
        KL term switches latent dimensions off (posterior collapse):
        ``n_components=10`` on digits kept 8 active dimensions on average;
        see ``kl_per_component_`` and ``n_active_components_`` (the default
        ``init="pca"`` kept all of them). 0.5 kept every dimension active and made
        the codes better features at ``n_components`` of 5 and more (digits
        ``k=20`` LogisticRegression accuracy 0.940 vs 0.914), but it makes
        ``sample`` worse (Adult, ``n_components=32``: synthetic-row F1 0.459
        vs 0.634, mean KS 0.093 vs 0.040), so it is off by default: set it
        when the codes are the product. Early stopping
        (``validation_scores_``) monitors the same objective; ``score`` and
        ``score_samples`` are the true log-likelihood either way. See
        ``docs/reduction.md``.
    max_iter : int, default=200
        Maximum number of epochs.
    max_steps : int or None, default=10_000
        Training budget in optimizer steps (mini-batches), over all epochs:
        training stops after ``max_iter`` epochs or ``max_steps`` steps,
        whichever comes first (the last epoch may end early), so the cost of
        a fit stops growing with the number of rows. The default does not
        bind below about 14,000 rows (200 epochs of ``0.9 n / 256`` steps at
        batch 256, with 10% held out for early stopping)
        and caps a fit at roughly 30 s on one CPU thread above that (about
        2.5 million rows seen at batch 256). None: epochs only.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch (all rows when there are fewer). "auto" uses
        ``min(256, max(16, n_samples // 16))``: about 16 optimizer steps per
        epoch, so small tables get enough updates before early stopping.
    learning_rate_init : float, default=1e-3
        Adam's learning rate. At 1e-3 a default fit on tables of a few
        hundred to a few thousand rows often runs all ``max_iter`` epochs
        with its held-out ELBO still improving: it is not converged, so
        early stopping cannot fire. 3e-3 converged faster and to an equal or
        better held-out ELBO, but its codes were worse features
        (``benchmarks/bench_reduce.py``, 3 seeds: digits ``k=10``
        LogisticRegression accuracy 0.853 vs 0.896, diabetes ``k=5`` Ridge
        R^2 0.303 vs 0.383), so the default stays at 1e-3.
    alpha : float, default=1e-4
        L2 penalty (Adam's ``weight_decay``).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when their
        negative ELBO has not improved by ``tol`` for ``n_iter_no_change``
        epochs; the best weights are restored. When False (or with a single
        row) the training loss is monitored instead.
    validation_fraction : float, default=0.1
        Fraction of rows held out for early stopping.
    n_iter_no_change : int, default=20
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum decrease of the monitored loss (nats per row) that counts as
        an improvement.
    n_importance_samples : int, default=50
        Importance samples ``K`` of the IWAE estimate in ``score_samples``.
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
    conditional : bool, default=False
        Learn ``p(x | y)`` from ``fit(X, y)``: a conditional VAE (Sohn et
        al., 2015) whose encoder and decoder also take the one-hot class
        label. ``y`` holds class labels, as a classifier's (ints, strings,
        ...). Then ``sample(n, y=labels)`` draws rows of the given classes,
        ``score_samples(X, y)`` gives ``log p(x | y)``, and ``transform``,
        ``inverse_transform`` and ``score`` take the rows' labels as ``y``
        too (their latent codes are given the class). Labels not seen in
        ``fit`` are an error. False: ``y`` is ignored, as by PCA.
        See ``docs/conditional.md``.
    init : {"pca", "random"}, default="pca"
        How the network starts, as :class:`~sklearn.manifold.TSNE`'s
        ``init``. "pca": as probabilistic PCA of the encoded training rows
        (Tipping and Bishop, 1999): encoder and decoder each get a linear
        path beside their network, set to pPCA's posterior and loading
        matrix (a conditional model's class means enter through the label),
        the networks' output layers start at zero and each continuous
        column's observation variance at pPCA's noise variance (the mean of
        the other eigenvalues). A row with missing entries gets pPCA's
        posterior given its observed entries (with the precision the
        decoder's linear path implies as training goes on), so it is wider
        where less is known. Training then adds the nonlinear part to a
        model that already uses every dimension PCA would keep.
        "random": torch's random start, on which the KL term switches
        dimensions off (posterior collapse).
        Chosen on the tuning tables of ``benchmarks/bench_reduce_tuning.py``
        (2 seeds): every latent dimension stayed active (the random start
        collapsed 23 and 28 of 71), the codes were better features (mean
        downstream score 0.510, level with PCA's, vs 0.482), the held-out
        log-likelihood better (-35.8 vs -37.0 nats; PCA -39.9) and fits no
        slower (1.7 s vs 2.2 s). See ``docs/reduction.md`` for the report
        tables.
    scaling : {"column", "shared"}, default="column"
        How the continuous columns of all-numeric input are standardized:
        each by its own standard deviation ("column"), or all by one shared
        scale, the root mean square of their standard deviations ("shared").
        The model's likelihood gives every column its own noise variance, so
        it does not care which; the PCA start and the training path do, and
        with them the codes as features. "shared" keeps the columns' relative
        scales as raw-data PCA does, for tables whose columns share one unit
        (pixels, spectra, sensor arrays): on ``load_digits`` at
        ``n_components=10`` (3 seeds) LogisticRegression on the codes scored
        0.934 ± 0.005 (PCA 0.942 ± 0.012, "column" 0.904 ± 0.009) at a
        held-out log-likelihood of -124.1 nats per row ("column" -109.5, PCA
        -160.5; both VAE figures with ``prior="normal"``: "column" gives
        -107.0 with the default mixture prior). Not for columns in different
        units: on breast cancer it scored 0.939 instead of 0.977 at
        ``n_components=10``, with 5 of the 10 dimensions active. An error on
        mixed tables (their continuous columns get a quantile-to-normal map
        instead).
    prior : {"mixture", "normal"}, default="mixture"
        The prior ``p(z)`` of the fitted model, what ``sample(n)`` draws
        codes from and what ``score_samples`` integrates over. Training is
        the same either way (against ``N(0, I)``, the VAE's objective).
        "normal": ``N(0, I)``. "mixture": after training, a Gaussian mixture
        is fitted to one posterior draw of each training row's code (of
        10,000 rows of larger tables), the codes the decoder was trained on,
        which never fill ``N(0, I)`` exactly; prior codes then land where
        rows were encoded instead of in holes between them. Its form and size
        (full covariances with 1 to 16 components, or diagonal ones with 2 to
        128, as many as the codes can fit) are chosen on a fifth of the codes
        held out from its fit, with ``N(0, I)`` itself a candidate, so a model
        whose codes already are ``N(0, I)`` keeps it. A conditional model gets one
        mixture per class, fitted to that class's codes: ``p(z | y)``. The
        choice of the default was made on six small tables
        (``benchmarks/bench_sample_codes.py``, 2 seeds), where the mixture
        raised the held-out log-likelihood in 11 of 12 fits (mean -5.84 to
        -5.23 nats per row) and lowered the synthetic columns' mean KS from
        0.148 to 0.137, at 0.01 to 0.12 s per fit; checked on Adult, which
        it was not chosen on (see ``docs/conditional.md``).
    calibrate_categories : bool, default=True
        Only for tables with binary or categorical columns, and only for
        ``sample(n)``'s prior draws (not ``posterior_of``, ``given``,
        densities or codes). A smooth prior puts some codes between the tight
        groups that a categorical column's levels form, where the decoder
        gives neighbouring levels, so a large level's draws leak to its
        neighbours. With True, the binary logits and categorical levels get
        offsets, fitted after training, that make the draws' share of each
        level match the training rows' (per class for a conditional model):
        the decoder's probabilities at prior codes (twice as many as the
        rows, 1,000 to 20,000) are raked (iterative proportional fitting on
        each column's margin) to within 0.001. It changes the shares, not
        which levels go together given the code. Chosen on bank marketing
        (``benchmarks/bench_synth.py --table campaign``, 2 seeds), where it
        lowered the conditional rows' mean TVD from 0.016 to 0.008 and left
        KS and pairwise error as they were (macro-F1 ratio 0.985 to 0.981);
        checked on Adult (see ``docs/conditional.md``). False draws from the
        decoder's probabilities as they are.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained skorch net (its ``history`` holds the per-epoch log).
    module_ : VAEModule
        The trained torch module.
    n_components_ : int
        Latent dimensions of the fitted model. Every method after ``fit``
        uses it: ``set_params(n_components=...)`` on a fitted model takes
        effect at the next fit, as for :class:`~sklearn.decomposition.PCA`.
    schema_ : TabularSchema
        The fitted column encoding: ``schema_.feature_kinds_`` gives the kind
        ("continuous", "binary" or "categorical") of each input column.
    n_iter_ : int
        Number of epochs run.
    kl_per_component_ : ndarray of shape (n_components,)
        Mean KL divergence of each latent dimension's posterior from the
        prior, in nats, over the training rows (a seeded 50,000-row subset of
        larger tables): how much information each dimension carries, the
        VAE's analogue of PCA's ``explained_variance_``. Near 0: a collapsed
        dimension, whose code is the prior for every row. Dimensions are not
        sorted (``transform`` returns them in the network's order).
    kl_ratio_ : ndarray of shape (n_components,)
        ``kl_per_component_`` over its sum: the share of the code's
        information in each dimension, the analogue of PCA's
        ``explained_variance_ratio_``.
    active_components_ : ndarray of shape (n_components,), dtype=bool
        Active latent dimensions: the variance of the posterior mean across
        training rows exceeds 0.01 (the active-unit statistic of Burda et
        al., 2016). Inactive dimensions of ``transform`` are near-constant.
    n_active_components_ : int
        Number of active dimensions. Fewer than ``n_components``: the extra
        dimensions carry nothing; a smaller ``n_components`` would do, or
        ``free_bits`` keeps them in use (see ``docs/reduction.md``).
    classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``fit`` (sorted), with ``conditional=True``
        only.
    class_prior_ : ndarray of shape (n_classes,)
        Fraction of the training rows in each class, with
        ``conditional=True`` only: ``sample`` draws classes from it when
        given no ``y``.
    latent_prior_ : GaussianMixture, list or None
        With ``prior="mixture"``: the fitted
        :class:`~sklearn.mixture.GaussianMixture` of the codes (None where
        the held-out codes chose ``N(0, I)``); for a conditional model a list
        with one per class of ``classes_``. None with ``prior="normal"``.
    loss_curve_ : list of float
        Training negative ELBO (nats per row) after each epoch.
    validation_scores_ : list of float or None
        Validation ELBO (higher is better; with ``free_bits`` applied) after
        each epoch, when early stopping used a validation split.
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
    sklearn.decomposition.PCA : Linear counterpart.
    sklearn.decomposition.FactorAnalysis : Linear Gaussian latent model.
    VAEImputer : Missing-value imputation with the same model.
    VAEOutlierDetector : Anomaly scores from the same model.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_vae import VAETransformer
    >>> X, _ = load_iris(return_X_y=True)
    >>> vae = VAETransformer(n_components=2, max_iter=5, random_state=0)
    >>> vae.fit_transform(X).shape
    (150, 2)
    >>> vae.inverse_transform(vae.transform(X[:3])).shape
    (3, 4)
    >>> vae.sample(5, random_state=0).shape
    (5, 4)

    Mixed-type tables come back with their own types:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [23, 35, 51, 44] * 10,
    ...                    "city": ["Paris", "Oslo", "Oslo", "Rome"] * 10,
    ...                    "member": [True, False, True, True] * 10})
    >>> vae = VAETransformer(max_iter=5, random_state=0).fit(df)
    >>> vae.schema_.feature_kinds_.tolist()
    ['continuous', 'categorical', 'binary']
    >>> vae.sample(3, random_state=0).dtypes.equals(df.dtypes)
    True
    """

    #: Parameter values for files saved before these parameters existed (what
    #: those models do): N(0, I) as the prior, no category calibration.
    _LEGACY_PARAMS = {"prior": "normal", "calibrate_categories": False}

    _parameter_constraints: dict = {
        **_BaseVAE._parameter_constraints,
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "conditional": ["boolean"],
        "init": [StrOptions({"pca", "random"})],
        "scaling": [StrOptions({"column", "shared"})],
        "prior": [StrOptions({"mixture", "normal"})],
        "calibrate_categories": ["boolean"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(64, 64),
        beta=1.0,
        kl_warmup=0,
        free_bits=0.0,
        max_iter=200,
        max_steps=10_000,
        batch_size="auto",
        learning_rate_init=1e-3,
        alpha=1e-4,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        n_importance_samples=50,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        categorical_features="from_dtype",
        handle_unknown="error",
        conditional=False,
        init="pca",
        scaling="column",
        prior="mixture",
        calibrate_categories=True,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
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
        self.conditional = conditional
        self.init = init
        self.scaling = scaling
        self.prior = prior
        self.calibrate_categories = calibrate_categories

    _warn_wide_latent = True  # n_components is a reduction target, as PCA's

    def _free_bits(self):
        return float(self.free_bits)

    @property
    def _pca_init(self):
        return self.init == "pca"

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Train the VAE on ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; NaN (None, ``pd.NA``) marks a missing entry.
        y : array-like of shape (n_samples,) or None, default=None
            Class labels to condition on, with ``conditional=True``
            (required then); ignored otherwise.

        Returns
        -------
        self : VAETransformer
        """
        continuing = self.warm_start and hasattr(self, "net_")
        X = self._validate_input(X, reset=not continuing)
        if not self.conditional:
            if continuing and getattr(self, "classes_", None) is not None:
                raise ValueError("warm_start cannot turn a conditional model into an "
                                 "unconditional one: fit a new estimator.")
            self.__dict__.pop("classes_", None)
            self.__dict__.pop("class_prior_", None)
            return self._fit_net(X)
        if continuing and getattr(self, "classes_", None) is None:
            raise ValueError("warm_start cannot turn an unconditional model into a "
                             "conditional one: fit a new estimator.")
        y = self._check_labels(X, y)
        partial = getattr(self, "_partial", False)
        labels = np.unique(y)
        given = getattr(self, "_partial_classes", None)  # partial_fit's first classes=
        if continuing:
            classes = self.classes_
            # fit with warm_start counts this fit's rows; partial_fit every chunk's
            # (a model saved before the counts existed: its prior as one chunk's worth)
            counts = getattr(self, "_class_counts", None) if partial else None
            if partial and counts is None:
                counts = self.class_prior_ * len(y)
        else:
            classes = labels if given is None else np.unique(column_or_1d(given))
            counts = None
            if len(classes) < 2:
                warnings.warn(
                    f"conditional=True with a single class in y ({classes.tolist()}): "
                    "the model learns p(x | y) of that class only, and sample, score "
                    "and transform refuse any other label. In cross-validation, pass "
                    "cv=StratifiedKFold(...) so that every training fold has every "
                    "class.", UserWarning, stacklevel=user_stacklevel())
        known = set(classes.tolist())
        unseen = [c for c in labels.tolist() if c not in known]
        if unseen:
            if not continuing:  # only partial_fit's classes= can miss a chunk's label
                which, how = "not in classes", "classes must list every class"
            elif partial:
                which, how = "not among classes_", (
                    "the first partial_fit call fixes them: pass every class to it, "
                    "partial_fit(X, y, classes=...)")
            else:
                which, how = "not among classes_", (
                    "warm_start keeps the classes of the first fit: fit a new "
                    "estimator (warm_start=False) to add classes")
            raise ValueError(f"{'partial_fit' if partial else 'fit'}: y has labels "
                             f"{unseen[:5]} that are {which}={classes.tolist()}; {how}.")
        self.classes_ = classes
        cond = self._condition(y, len(y), "fit")  # one-hot rows: their sums count classes
        counts = cond.sum(axis=0, dtype=np.float64) + (0.0 if counts is None else counts)
        self._class_counts, self.class_prior_ = counts, counts / counts.sum()
        return self._fit_net(X, cond=cond)

    def _check_labels(self, X, y):
        """Validated class labels of a conditional fit (1-d, no missing label)."""
        if y is None:
            raise ValueError(
                "conditional=True learns p(x | y): fit needs y, the class label of each "
                "row, as in fit(X, y).")
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"y has {len(y)} labels for {X.shape[0]} rows of X.")
        if _missing(y).any():  # NaN, None, pd.NA, NaT
            raise ValueError("y has missing labels (NaN/None): conditional=True needs a "
                             "class for every row.")
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            if kind.startswith("continuous"):
                hint = ("Bin a continuous target (e.g. with KBinsDiscretizer) to condition "
                        "on it.")
            elif kind == "unknown":
                hint = ("Its labels cannot be read as classes: mixed types (e.g. 1 and "
                        "'a') or other objects. Give every label one type (e.g. "
                        "y.astype(str)).")
            else:
                hint = "Give one class label per row."
            raise ValueError(
                f"conditional=True needs class labels in y (binary or multiclass), got a "
                f"{kind!r} target. {hint}")
        return y

    def fit_transform(self, X, y=None):
        """Fit to ``X`` (and ``y`` with ``conditional=True``), then :meth:`transform`.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or None, default=None
            Class labels with ``conditional=True``; ignored otherwise.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        return self.fit(X, y).transform(X, y)

    @blockwise("columns", width=lambda est: est.n_components_, dtype=_output_dtype)
    def transform(self, X, y=None):
        """Posterior mean of the latent code of each row (deterministic).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or None, default=None
            With ``conditional=True``, the class of each row (required: the
            encoder is ``q(z | x, y)``); ignored otherwise.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            float32 for float32 input, float64 otherwise.
        """
        X = self._validate_for_inference(X)
        cond = self._condition(y, X.shape[0], "transform")
        return self._encode(X, cond).astype(_output_dtype(X), copy=False)

    @blockwise("rows")
    def score_samples(self, X, y=None):
        """Log-likelihood of each row, ``log p(x)`` (``log p(x | y)`` when conditional).

        See :meth:`_BaseVAE.score_samples` for how it is estimated; with
        ``conditional=True``, ``y`` (required) gives each row's class.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or None, default=None
            Class labels with ``conditional=True``; ignored otherwise.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        X = self._validate_for_inference(X)
        return self._log_likelihood(X, self._condition(y, X.shape[0], "score_samples"))

    @blockwise("columns", width=lambda est: est.n_features_in_)
    def score_samples_per_feature(self, X, y=None):
        """Each column's additive share of :meth:`score_samples`.

        See :meth:`_BaseVAE.score_samples_per_feature`; ``y`` as in
        :meth:`score_samples`.
        """
        X = self._validate_for_inference(X)
        cond = self._condition(y, X.shape[0], "score_samples_per_feature")
        return self._per_feature_output(X, self._log_likelihood_per_column(X, cond))

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (``y``: class labels when conditional).

        Higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        can select hyperparameters without a ``scoring``.
        """
        return float(np.mean(self.score_samples(X, y)))

    def inverse_transform(self, X, y=None):
        """Decode latent codes to the decoder's mean, in the input's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of :meth:`transform`.
        y : array-like of shape (n_samples,), scalar or None, default=None
            With ``conditional=True``, the class to decode each code as
            (required; a scalar for all rows); ignored otherwise.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, `n_features_in_`)
            A DataFrame with the training columns' names, dtypes and
            categories when fit on a DataFrame (the most probable category,
            the decoded value rounded for integer columns), indexed as ``X``
            when the codes are a DataFrame (``set_output(transform="pandas")``).
        """
        check_is_fitted(self)
        Z = np.asarray(X)
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects an array of shape (n_samples, "
                f"{self.n_components_}) (the latent codes), got shape {Z.shape}."
            )
        Z = check_array(Z, dtype=[np.float64, np.float32], ensure_min_samples=0,
                        input_name="latent codes")
        dtype = Z.dtype
        # Codes beyond the encoder's clipping bound are far outside the N(0, I)
        # prior; clipping them keeps the decoder's output finite.
        Z = np.clip(Z.astype(np.float64), -_MAX_ENCODED, _MAX_ENCODED)
        decoded = self._decode_mean(Z, self._condition(y, len(Z), "inverse_transform"))
        if self.schema_.tabular_:
            if is_dataframe(decoded) and is_dataframe(X):
                decoded.index = X.index  # codes of a pandas output keep their rows'
            return decoded
        return saturating_cast(decoded, dtype)

    def get_feature_names_out(self, input_features=None):
        """Names of the latent features: ``vae0``, ``vae1``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"vae{i}" for i in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

"""VAEOversampler: imbalanced-learn over-sampling with a conditional VAE (SMOTE's twin).

Needs the optional ``imbalanced-learn`` package (``pip install
"sklearn-vae[imbalanced]"``); the rest of sklearn_vae does not.
"""

import warnings
from numbers import Integral

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, validate_data

from ._schema import _as_float, _missing, as_int_objects, is_dataframe
from ._transformer import VAETransformer
from .utils import draw_seed

_MAX_SEED = np.iinfo(np.int32).max


class VAEOversampler(BaseOverSampler):
    """Over-sample minority classes with rows drawn from a conditional VAE.

    An :mod:`imblearn` sampler with :class:`~imblearn.over_sampling.SMOTE`'s
    contract: ``fit_resample(X, y)`` returns the original rows followed by
    new rows of the classes ``sampling_strategy`` asks for. The new rows come
    from a conditional :class:`VAETransformer` (``conditional=True``) fit on
    all of ``X`` and ``y``, so every class shares one model of the table and
    a minority class borrows the structure of the others.

    With ``sampling="interpolate"`` (default) each new row of class ``k`` is
    SMOTE done in the model's latent space: the latent code lies at a random
    point of the segment between the codes (posterior means given ``k``) of
    a random real row of class ``k`` and of one of its ``k_neighbors``
    nearest neighbours of that class, and is decoded given ``k`` (the
    decoder's mean; ``observation_noise=True`` draws from ``p(x | z, k)``
    instead). Like SMOTE it spreads new rows between real minority rows,
    but along the model's learned structure instead of straight lines in
    the input space, and it draws every column from its own output:
    categorical columns of a DataFrame stay categorical (something SMOTE
    needs SMOTENC for), integer columns stay integers.
    ``sampling="posterior"`` draws the code of a random real row of the
    class from the encoder's posterior ``q(z | x, k)`` instead (new rows stay
    near single real rows), ``sampling="prior"`` from the model's prior
    (``estimator_.sample(n, y=k)``: rows of the class as the model sees it as
    a whole, less tied to the rows at hand).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many rows of which class to add, exactly as in
        :class:`~imblearn.over_sampling.SMOTE` ("auto": every class but the
        majority up to the majority's count).
    random_state : int, RandomState instance or None, default=None
        Seeds which rows are picked and every draw, and the VAE's training
        when ``estimator`` leaves its ``random_state`` at None. None draws
        fresh entropy and leaves numpy's global RNG alone, as every
        estimator of the package does (``SMOTE`` uses the global one).
    estimator : VAETransformer or None, default=None
        The model to fit (cloned; ``conditional=True`` is set on the clone).
        Its parameters can be grid-searched as ``estimator__n_components``
        and so on, once an estimator is given (with None there is none to
        set them on: pass ``estimator=VAETransformer(...)``, as for
        ``BaggingClassifier``). None uses ``VAETransformer(n_components=min(8,
        n_features), init="random", max_steps=1000, batch_size=128,
        learning_rate_init=3e-3)`` (the start it was tuned and measured
        with), with ``prior="normal"`` unless ``sampling="prior"`` (the
        codes' mixture serves prior draws only) and
        ``calibrate_categories=False`` (its offsets serve ``sample(n)`` only,
        which the oversampler does not call): the step budget of
        :class:`VAEOutlierDetector`, so a fit costs about the same on 500 and
        50,000 rows (seconds on one CPU thread, where SMOTE takes
        milliseconds); the budget is the design, so the
        ``ConvergenceWarning`` of a fit that ends on it is not shown. On the
        tuning tasks of ``benchmarks/bench_imbalanced.py`` it scored about as
        the full default ``VAETransformer`` training at a third of the time.
    sampling : {"interpolate", "posterior", "prior"}, default="interpolate"
        Where new rows' latent codes come from (see above). On the tuning
        tasks of ``benchmarks/bench_imbalanced.py`` "interpolate" beat
        "posterior" on mean AP and minority F1 with both classifiers
        (LogisticRegression F1 0.800 vs 0.777, SMOTE 0.794).
    observation_noise : bool, default=False
        Draw each new row from ``p(x | z, y)`` (True) or take the decoder's
        mean at ``z`` (False: the most probable category, the rounded value
        of an integer column). The observation variance is one per column,
        shared by all classes, so the noise spreads a small, tight class
        into the others: on the tuning tasks of
        ``benchmarks/bench_imbalanced.py`` it lowered LogisticRegression's
        mean AP from 0.867 to 0.839 and minority F1 from 0.777 to 0.709.
    k_neighbors : int, default=5
        Neighbours of ``sampling="interpolate"``, as SMOTE's (fewer when the
        class has fewer rows; a class of one row is repeated); unused otherwise.
    residuals : bool, default=True
        With ``sampling="interpolate"`` (and no observation noise), add to
        each decoded row the same interpolation of its two real rows'
        residuals (real row minus the decoder's mean at its code), in the
        continuous columns, and give binary and categorical columns the value
        of one of the two real rows (the neighbour's with probability ``t``,
        the new row's position on the segment). The decoder's mean is
        smoother than the data, so without residuals the new rows are narrower
        than the real ones (median per-column standard deviation 0.45-0.91 of
        the real minority rows' on cardio, thyroid, vowels, Wilt and Pima;
        0.92-0.98 with them), and every new row gets the decoder's most
        probable category (on Adult's minority class, mean categorical TVD
        from the real minority rows 0.143 without, 0.018 with; SMOTENC
        0.123: ``benchmarks/bench_oversample_mixed.py``). Where the decoder is
        linear a new row's continuous part is exactly SMOTE's; its curvature
        bends the segment along the learned structure, and each value stays
        between its two real rows' values, as SMOTE's does. So a value both
        share (the zero of a mostly-zero column, a level of a float-coded
        discrete column) is kept; before this bound, no new row kept it, and
        a tree could tell the new rows from the real ones (on the tuning tasks
        HistGradientBoosting's minority F1 rose from 0.872 / 0.880 to 0.885 /
        0.884 with it, seeds 0 / 1).
    balanced_fit : bool, default=True
        Fit the VAE on the rows with every class repeated (at random, with
        replacement) up to the largest class's count, so each class's
        ``p(x | y)`` gets as much of the training as the majority's (under the
        default step budget the fit costs the same). ``estimator_`` is then
        fit on these rows, not on ``X`` as given.

        On the tuning tasks of ``benchmarks/bench_imbalanced.py`` (seeds 0
        and 1) the two together beat both off on all six means with seed 0
        and five of six with seed 1
        (HistGradientBoosting minority F1 0.876 / 0.876 vs 0.870 / 0.867,
        balanced accuracy 0.929 / 0.929 vs 0.916 / 0.913; LogisticRegression
        minority F1 0.795 / 0.787 vs 0.793 / 0.791).

    Attributes
    ----------
    estimator_ : VAETransformer
        The fitted conditional VAE.
    sampling_strategy_ : dict
        Number of rows added per class (from imblearn's
        ``check_sampling_strategy``).
    n_features_in_ : int
        Number of features seen in ``fit_resample``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit_resample``, when ``X`` has string names.

    See Also
    --------
    imblearn.over_sampling.SMOTE : Interpolation between minority neighbours.
    imblearn.over_sampling.SMOTENC : SMOTE for tables with categorical columns.
    VAETransformer : The model behind it (``conditional=True``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_vae import VAEOversampler, VAETransformer
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> np.bincount(y)
    array([269,  31])
    >>> sampler = VAEOversampler(estimator=VAETransformer(max_iter=5), random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y_res)
    array([269, 269])
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "estimator": [HasMethods(["fit", "sample", "set_params"]), None],
        "sampling": [StrOptions({"interpolate", "posterior", "prior"})],
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "observation_noise": ["boolean"],
        "residuals": ["boolean"],
        "balanced_fit": ["boolean"],
        "random_state": ["random_state"],
    }

    # The default model's training budget (``estimator=None``); benchmarks vary it.
    _DEFAULT_BUDGET = {"max_steps": 1000, "batch_size": 128, "learning_rate_init": 3e-3}

    def __init__(self, *, sampling_strategy="auto", random_state=None, estimator=None,
                 sampling="interpolate", observation_noise=False, k_neighbors=5,
                 residuals=True, balanced_fit=True):
        super().__init__(sampling_strategy=sampling_strategy)
        self.k_neighbors = k_neighbors
        self.random_state = random_state
        self.estimator = estimator
        self.sampling = sampling
        self.observation_noise = observation_noise
        self.residuals = residuals
        self.balanced_fit = balanced_fit

    def _check_X_y(self, X, y):
        # Mixed-type DataFrames and NaN are the VAE's to validate: only the
        # shape and the feature names are checked here, as RandomOverSampler.
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if not is_dataframe(X):
            X = check_array(X, dtype=None, ensure_all_finite=False)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _make_estimator(self, rng, n_features):
        if self.estimator is None:
            est = VAETransformer(n_components=max(1, min(8, n_features)), init="random",
                                 prior="mixture" if self.sampling == "prior" else "normal",
                                 calibrate_categories=False, **self._DEFAULT_BUDGET)
        else:
            est = clone(self.estimator)
        params = {"conditional": True}
        if est.get_params().get("random_state", None) is None:
            params["random_state"] = int(rng.randint(_MAX_SEED))
        return est.set_params(**params)

    def _fit_resample(self, X, y):
        # None: fresh entropy, not numpy's global RandomState (which every
        # estimator of the package leaves alone).
        rng = (np.random.RandomState(draw_seed(None)) if self.random_state is None
               else check_random_state(self.random_state))
        est = self._make_estimator(rng, X.shape[1])
        with warnings.catch_warnings():
            if self.estimator is None:  # the default's step budget is by design
                warnings.simplefilter("ignore", ConvergenceWarning)
            if self.balanced_fit:
                idx = _balanced_index(y, rng)
                est.fit(X.iloc[idx] if is_dataframe(X) else X[idx], y[idx])
            else:
                est.fit(X, y)
        frame = is_dataframe(X)
        new_X, new_y = [], []
        for label, n_new in self.sampling_strategy_.items():
            if n_new <= 0:
                continue
            seed = int(rng.randint(_MAX_SEED))
            rows = self._draw(est, X, y, label, n_new, seed, frame)
            new_X.append(rows)
            new_y.append(np.full(n_new, label, dtype=y.dtype))
        self.estimator_ = est
        if not new_X:
            return X, y
        if frame:
            import pandas as pd

            X_res = pd.concat([X, *new_X], ignore_index=True)
        else:
            X = np.asarray(X)
            if X.dtype.kind in "iub":  # integer arrays stay integer: rounded draws,
                # within each column's range in X (a uint8 -1 would wrap to 255)
                lo, hi = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
                new_X = [np.clip(np.rint(np.asarray(r, dtype=np.float64)), lo, hi)
                         for r in new_X]
            if X.dtype.kind in "fiub":
                new_X = [r.astype(X.dtype) for r in new_X]  # float32 stays float32
            elif X.dtype.kind in "US":
                # Strings stay strings, as RandomOverSampler's: levels drawn
                # from the rows, numbers (of numbers written as text) written
                # out; the result widens to the longest (no truncation).
                new_X = [np.asarray(r, dtype=object).astype(X.dtype.kind) for r in new_X]
            X_res = np.concatenate([X, *new_X])
            if X.dtype.kind not in "fiubUS":
                X_res = X_res.astype(object, copy=False)
        return X_res, np.concatenate([y, *new_y])

    def _draw(self, est, X, y, label, n_new, seed, frame):
        """``n_new`` new rows of class ``label`` (input format, before dtype fixes)."""
        cond = est._condition(label, n_new, "fit_resample")
        detail = None  # what _add_residuals needs, from _interpolated_codes
        if self.sampling == "prior":
            z = est._prior_codes(n_new, seed, label)
        elif self.sampling == "interpolate":
            z, detail = self._interpolated_codes(est, X, y, label, n_new, seed, frame)
        else:
            members = np.flatnonzero(y == label)
            pick = members[np.random.RandomState(seed).randint(len(members), size=n_new)]
            picked = est._validate_for_inference(X.iloc[pick] if frame else X[pick])
            z = est._posterior_draws(picked, cond, random_state=seed)
        if self.observation_noise:
            return est._sample(n_new, seed + 1, cond=cond, z=z)
        rows = est._decode_mean(z, cond)
        if detail is not None:
            rows = _add_residuals(rows, *detail)
        return rows

    def _interpolated_codes(self, est, X, y, label, n_new, seed, frame):
        """SMOTE in the latent space: between a row's code and a neighbour's of its class."""
        from sklearn.neighbors import NearestNeighbors

        members = np.flatnonzero(y == label)
        rows = est._validate_for_inference(X.iloc[members] if frame else X[members])
        cond = est._condition(label, len(members), "fit_resample")
        Z = est._encode(rows, cond)
        rs = np.random.RandomState(seed)
        base = rs.randint(len(members), size=n_new)
        k = min(self.k_neighbors, len(members) - 1)
        if k < 1:  # a single row: nothing to interpolate with
            other, t = base, np.zeros((n_new, 1))
        else:
            neighbours = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(
                Z, return_distance=False)[:, 1:]
            other = neighbours[base, rs.randint(k, size=n_new)]
            t = rs.uniform(size=(n_new, 1))
        z = Z[base] + t * (Z[other] - Z[base])
        detail = None
        if self.residuals and not self.observation_noise:
            # What the model does not reproduce of each real row, for _add_residuals.
            recon = est._decode_mean(Z, cond)
            detail = (est.schema_, rows, recon, base, other, t, seed + 1, X)
        return z, detail

    def _more_tags(self):  # imblearn < 0.13 (sklearn < 1.6) tags
        return {"X_types": ["2darray", "dataframe", "string"], "allow_nan": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = False
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


def _balanced_index(y, rng):
    """Row indices with every class repeated up to the largest class's count."""
    classes, counts = np.unique(y, return_counts=True)
    parts = []
    for c, n in zip(classes, counts):
        members = np.flatnonzero(y == c)
        parts.append(members)
        if n < counts.max():
            parts.append(members[rng.randint(n, size=counts.max() - n)])
    return np.sort(np.concatenate(parts))


def _clip_to(values, observed):
    """``values`` clipped to the range of the non-missing ``observed`` entries."""
    observed = observed[~np.isnan(observed)]
    return values if not len(observed) else np.clip(values, observed.min(), observed.max())


def _between(values, a, b):
    """``values`` clipped, entry by entry, to the interval between ``a`` and ``b``.

    Where either end is missing (NaN) the value is left as it is.
    """
    lo, hi = np.minimum(a, b), np.maximum(a, b)  # NaN where either is NaN
    return np.where(np.isnan(lo), values, np.clip(values, lo, hi))


def _bent(decoded, parent, recon, base, other, t):
    """A continuous column's new values: the decoded ones plus their two real rows'
    interpolated residuals (``parent - recon``), bounded by those rows' values."""
    res = np.nan_to_num(parent - recon)
    return _between(decoded + (1 - t) * res[base] + t * res[other], parent[base], parent[other])


def _add_residuals(rows, schema, real, recon, base, other, t, seed, X):
    """Decoded interpolations, given back the detail of their two real rows.

    ``rows``: the decoder's mean at the interpolated codes; ``real`` and
    ``recon``: the class's real rows and the decoder's mean at their codes;
    new row ``i`` lies at ``t[i]`` from real row ``base[i]`` to ``other[i]``.
    Continuous columns get ``(1 - t) r[base] + t r[other]`` added, ``r = real
    - recon``: where the decoder is linear that is exactly SMOTE's row, and
    its curvature bends the segment along the learned structure. Binary and
    categorical columns take the value of one of the two real rows (the
    second with probability ``t``), so the class keeps its mix of categories
    instead of every new row getting the most probable one.

    Each continuous value is then clipped to the interval between its two
    real rows' values, as SMOTE's always is: the curvature bends the row
    inside that box, never out of it. Without this, a value both rows share
    (the zero of a mostly-zero column, a level of a float-coded discrete
    column) became a slightly different one in every new row, and a tree
    could tell the new rows from the real ones by it (cardio: a
    HistGradientBoosting two-sample AUC of 1.00, real vs new minority rows;
    0.44 with the clip, SMOTE 0.39). A missing entry of a real row contributes
    no residual, no value (the decoded one stays) and no bound. Integer
    columns are also clipped to their range in ``X`` (all classes), for the
    values with a missing end, so a count stays non-negative and an unsigned
    column cannot wrap around.
    """
    n_new = len(base)
    t = t.reshape(-1)
    source = np.where(np.random.RandomState(seed).uniform(size=n_new) < t, other, base)
    continuous = schema.feature_kinds_ == "continuous"
    if not is_dataframe(rows):
        real, recon = np.asarray(real), np.asarray(recon)
        numeric = real.dtype.kind in "fiub"
        X = np.asarray(X)
        integer = X.dtype.kind in "iu"
        rows = np.array(rows, dtype=np.float64 if numeric else object)
        for j in range(rows.shape[1]):
            if continuous[j]:
                values = _bent(_as_float(rows[:, j], j), _as_float(real[:, j], j),
                               _as_float(recon[:, j], j), base, other, t)
                rows[:, j] = _clip_to(values, _as_float(X[:, j], j)) if integer else values
                if getattr(schema.specs_[j], "integral", False):  # ints of an object array
                    rows[:, j] = as_int_objects(values)
            else:
                picked = real[source, j]
                missing = _missing(picked)
                rows[~missing, j] = picked[~missing]
        return rows
    import pandas as pd

    rows = rows.copy()
    for j, col in enumerate(rows.columns):
        dtype = rows[col].dtype
        if continuous[j]:
            values = _bent(_as_float(rows[col], col), _as_float(real[col], col),
                           _as_float(recon[col], col), base, other, t)
            if pd.api.types.is_integer_dtype(dtype):
                values = np.rint(_clip_to(values, _as_float(X[col], col)))
            rows[col] = pd.Series(values, index=rows.index).astype(dtype)
        else:
            picked = real[col].iloc[source].reset_index(drop=True)
            picked.index = rows.index
            rows[col] = picked.where(picked.notna(), rows[col]).astype(dtype)
    return rows

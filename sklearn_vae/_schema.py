"""Tabular schema: column kinds, encoding to (values, mask), decoding back.

The schema is the only place that knows how a user's columns map onto the
model's flat encoded row (see :class:`sklearn_vae.nn.ColumnLayout`):

- ``encode(X)`` -> ``(values, mask)``: values laid out ``[continuous | binary |
  one-hot categorical]`` with missing entries filled by 0, and a mask with
  one entry per column in that same layout order (1 = observed).
  ``encode(X, log_jacobian=True)`` also returns the per-entry log-Jacobian
  ``log |d encoded / d x|`` (shape ``(n, n_columns)``, layout order, 0 for
  missing entries and for binary / categorical columns), which turns a
  log-density of the encoded value into one in the user's units.
- ``decode(...)`` / ``decode_sample(...)`` map model outputs back to the
  user's units, column order and types (a DataFrame when fit on one).
- ``layout_order_`` lists, for each layout column, the index of the user's
  column it came from; ``to_user_columns`` undoes that order.

Column kinds
------------
- continuous (Gaussian): numeric columns. Numeric arrays are standardized
  (``(x - mean_) / scale_``, constant log-Jacobian ``-log scale_``), as
  before. DataFrame columns go through a *quantile-to-normal* map: a
  monotone piecewise-linear function through the points ``(q_i,
  Phi^-1(F_n(q_i)))`` at up to 1000 empirical quantiles ``q_i`` (``F_n`` is
  the mid-rank empirical CDF), extended linearly beyond the observed range.
  Heavy tails (capital gain), spikes (91% zeros) and several modes become a
  roughly standard normal marginal that a Gaussian head can model, the map
  is a bijection of the real line whose derivative is piecewise constant,
  so the log-Jacobian of each entry is exact and cheap: ``score_samples``
  stays an honest log-density in the original units. Decoding uses the
  empirical quantile function, which equals the inverse map except that
  values shared by many rows (a spike at 0, integers) are produced exactly
  and decoded values stay in the training range.
- binary (Bernoulli): bool columns and categorical columns with exactly two
  observed levels.
- categorical (softmax): category / object / string columns (or those named
  by ``categorical_features``), levels = the values seen in training.

NaN, None and ``pd.NA`` mark missing entries (mask 0) in every column.

Both continuous maps work over the whole float64 range (statistics and knots
on an exact power-of-two rescaling; a constant column encodes to exactly 0),
encoded values are clipped to +-1e12 scale units (an absurd entry at
inference stays finite through the network), and decoded values saturate at
the float64 range instead of overflowing to inf.
"""

import numbers
import sys

import numpy as np
from scipy.special import ndtr, ndtri

from .nn import ColumnLayout

CONTINUOUS, BINARY, CATEGORICAL = "continuous", "binary", "categorical"

_SPARSE = "pandas sparse columns are not supported"
_UNSUPPORTED_HINT = (
    "Convert it to numbers (e.g. a datetime to a timestamp or its parts, a complex "
    "number to its real and imaginary parts), to strings, or drop it before fitting "
    "(e.g. with a ColumnTransformer)."
)


class UnknownCategoryError(ValueError):
    """A categorical entry holds a level the schema was not fit on.

    ``column``, ``values`` (the unknown levels, up to 10) and ``known`` (the
    fitted levels, as text) let a caller word the error for its own context.
    """

    def __init__(self, message, *, column, values, known):
        super().__init__(message)
        self.column, self.values, self.known = column, values, known


def _pandas():
    return sys.modules.get("pandas")


def is_dataframe(X):
    """Whether ``X`` is a pandas DataFrame (without importing pandas)."""
    pd = _pandas()
    return pd is not None and isinstance(X, pd.DataFrame)


# -- column dtypes ---------------------------------------------------------------

def _dtype_family(dtype):
    """One of "numeric", "bool", "category", "object", or an error message."""
    pd = _pandas()
    if pd is not None:
        api = pd.api.types
        if isinstance(dtype, pd.CategoricalDtype):
            return "category"
        if isinstance(dtype, pd.SparseDtype):
            return _SPARSE
        if isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype)):
            return f"dtype {dtype} is not supported"
        if api.is_datetime64_any_dtype(dtype) or api.is_timedelta64_dtype(dtype):
            return f"dtype {dtype} (dates and durations) is not supported"
        if api.is_complex_dtype(dtype):
            return f"complex dtype {dtype} is not supported"
        if api.is_bool_dtype(dtype):
            return "bool"
        if api.is_numeric_dtype(dtype):
            return "numeric"
        if api.is_object_dtype(dtype) or api.is_string_dtype(dtype):
            return "object"
        return f"dtype {dtype} is not supported"
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "bool"
    if dtype.kind in "iuf":
        return "numeric"
    if dtype.kind == "c":
        return f"complex dtype {dtype} is not supported"
    if dtype.kind in "mM":
        return f"dtype {dtype} (dates and durations) is not supported"
    if dtype.kind in "OUS":
        return "object"
    return f"dtype {dtype} is not supported"


def _is_missing_scalar(v):
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN, NaT
    except (TypeError, ValueError):
        pd = _pandas()
        return pd is not None and v is pd.NA


def _object_content(values, name):
    """Check the entries of an object column; return "numeric" or "text".

    Raises a TypeError naming the column for nested objects (list, dict,
    ...), complex numbers and dates.
    """
    kinds = {type(v) for v in values}
    text = False
    for t in kinds:
        if t is type(None) or issubclass(t, (str, bytes)):
            text = text or t is not type(None)
            continue
        if issubclass(t, (bool, np.bool_)):
            text = True
            continue
        if issubclass(t, numbers.Complex) and not issubclass(t, numbers.Real):
            raise TypeError(
                f"Column {name!r} contains complex numbers, which are not supported. "
                + _UNSUPPORTED_HINT
            )
        if issubclass(t, numbers.Real):
            continue
        pd = _pandas()
        if pd is not None and (t is type(pd.NA) or t is type(pd.NaT)):
            continue
        if t.__module__ in ("datetime", "pandas._libs.tslibs.timestamps",
                            "pandas._libs.tslibs.timedeltas", "pandas._libs.tslibs.period"):
            raise TypeError(
                f"Column {name!r} contains {t.__name__} objects (dates and durations), "
                "which are not supported. " + _UNSUPPORTED_HINT
            )
        raise TypeError(
            f"Column {name!r} contains {t.__name__} objects; every entry must be a "
            "string, a number, a bool or missing (nested objects such as lists or "
            "dicts are not supported). Flatten or drop the column before fitting."
        )
    return "text" if text else "numeric"


def check_tabular(X):
    """Check every column of a DataFrame (or object array) is supported.

    Returns the list of column families ("numeric", "bool", "category",
    "object"). Raises ``TypeError`` naming the column otherwise, and
    ``ValueError`` for infinite values in numeric columns.
    """
    families = []
    for j, (name, col) in enumerate(_iter_columns(X)):
        label = name if name is not None else j
        fam = _dtype_family(col.dtype)
        if fam not in ("numeric", "bool", "category", "object"):
            if fam == _SPARSE:  # its values are numbers already: only the storage differs
                raise TypeError(f"Column {label!r}: {fam}. Make the frame dense first: "
                                "X.sparse.to_dense() (or X.astype(float)).")
            raise TypeError(f"Column {label!r}: {fam}. {_UNSUPPORTED_HINT}")
        values = _to_numpy(col)
        if fam == "object":
            _object_content(values, label)
        elif fam == "category":
            _object_content(np.asarray(col.cat.categories, dtype=object), label)
        elif fam == "numeric":
            with np.errstate(invalid="ignore"):
                finite = np.asarray(col.astype("float64") if hasattr(col, "astype")
                                    else values, dtype=np.float64)
            if np.isinf(finite).any():
                raise ValueError(
                    f"Input X contains infinity in column {label!r}; NaN marks a "
                    "missing entry, infinity is not allowed."
                )
        families.append(fam)
    return families


def _iter_columns(X):
    if is_dataframe(X):
        for j, name in enumerate(X.columns):
            yield name, X.iloc[:, j]
    else:
        X = np.asarray(X)
        for j in range(X.shape[1]):
            yield None, X[:, j]


def _to_numpy(col):
    return col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)


def _missing(values):
    """Boolean mask of missing entries of a 1-d numpy array."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(len(values), dtype=bool)
    pd = _pandas()
    if pd is not None:
        return np.asarray(pd.isna(values), dtype=bool)
    return np.fromiter((_is_missing_scalar(v) for v in values), bool, len(values))


def _as_float(col, label):
    """A numeric column (numpy, nullable or object of numbers) as float64 + NaN."""
    pd = _pandas()
    if pd is not None and isinstance(col, pd.Series):
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            return col.to_numpy(dtype=np.float64, na_value=np.nan)
        values = col.to_numpy()
    else:
        values = np.asarray(col)
        if values.dtype.kind in "iufb":
            return values.astype(np.float64)
    missing = _missing(values)
    out = np.full(len(values), np.nan)
    try:
        out[~missing] = np.asarray(values[~missing], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        bad = [v for v in values[~missing] if not isinstance(v, numbers.Real)][:5]
        raise ValueError(
            f"Column {label!r} is continuous (numeric in training) but contains "
            f"non-numeric values {bad!r}."
        ) from exc
    return out


# -- continuous transforms ------------------------------------------------------

# Encoded continuous values are clipped to +-_MAX_ENCODED (in units of the
# column's scale). Training data never reaches it (standardized values stay
# within sqrt(n_samples)); at inference it keeps a row with an absurd entry
# (1e200 in a column of unit scale) finite through the network, whose squares
# and sums would otherwise overflow to inf and NaN: such a row gets a very low,
# finite score instead.
_MAX_ENCODED = 1e12
_FLOAT_MAX = np.finfo(np.float64).max


def _clip_encoded(y):
    return np.clip(y, -_MAX_ENCODED, _MAX_ENCODED)


def _pow2_exponent(x):
    """``e`` with ``max |x| / 2**e`` in [1, 2) (0 when ``x`` is empty or all 0).

    Dividing by a power of two is exact (``np.ldexp``), so statistics of
    ``x / 2**e`` scaled back by ``2**e`` are those of ``x``, without the
    overflow of squaring 1e155 or the underflow of squaring 1e-300.
    """
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    return int(np.frexp(m)[1]) - 1 if m > 0 else 0


def _standardize(x, mean, scale):
    """``(x - mean) / scale``, overflow-safe, clipped to +-_MAX_ENCODED."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = (x - mean) / scale
        overflow = np.isinf(y) & np.isfinite(x)  # x - mean beyond the float64 range
        if overflow.any():
            y = np.where(overflow, x / scale - mean / scale, y)
    return _clip_encoded(y)


def _unstandardize(y, mean, scale):
    """``y * scale + mean``, saturated at the float64 range instead of inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = y * scale + mean
        overflow = ~np.isfinite(x) & np.isfinite(y)
        if overflow.any():  # y * scale overflows though the sum may not
            x = np.where(overflow, (y * (0.5 * scale) + 0.5 * mean) * 2.0, x)
    return np.clip(x, -_FLOAT_MAX, _FLOAT_MAX)


class _Standard:
    """``(x - mean) / scale``; constant log-Jacobian ``-log scale``.

    Robust over the whole float64 range: the statistics are computed on
    ``x / 2**e`` (an exact rescaling to magnitudes in [1, 2)), so values at
    1e155 do not overflow when squared and values at 1e-300 do not underflow;
    the mean gets one correction pass (``mean += mean(x - mean)``). A column
    is constant only when all its observed values are equal: then
    ``mean`` is that value exactly (so training rows encode to exactly 0,
    whatever its magnitude) and ``scale`` is 1, as in
    :class:`~sklearn.preprocessing.StandardScaler`. Any spread, however
    small relative to the values, is standardized.
    """

    def fit(self, x):
        x = x[~np.isnan(x)]
        self.spread = not (len(x) == 0 or x.min() == x.max())
        if not self.spread:  # never observed, or constant
            self.mean, self.scale = (float(x[0]) if len(x) else 0.0), 1.0
            return self
        e = _pow2_exponent(x)
        y = np.ldexp(x, -e)
        mean = y.mean()
        mean += (y - mean).mean()
        std = np.sqrt(np.mean(np.square(y - mean)))
        self.mean = float(np.ldexp(mean, e))
        # A spread between subnormals can round to 0 when scaled back.
        self.scale = max(float(np.ldexp(std, e)), float(np.nextafter(0.0, 1.0)))
        return self

    @classmethod
    def fit_columns(cls, X):
        """One fitted transform per column of the 2-D float array ``X``.

        :meth:`fit` vectorized over columns (NaN marks a missing entry): the
        same power-of-two rescaling, mean with one correction pass and
        population standard deviation, summed in a different order (results
        agree to rounding).
        """
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        observed = ~missing if missing.any() else None  # None: every entry observed
        if observed is None:
            count = np.full(X.shape[1], X.shape[0])
            low, high = X.min(axis=0, initial=np.inf), X.max(axis=0, initial=-np.inf)
        else:
            count = observed.sum(axis=0)
            low = np.where(observed, X, np.inf).min(axis=0, initial=np.inf)
            high = np.where(observed, X, -np.inf).max(axis=0, initial=-np.inf)
        spread = (count > 0) & (low < high)
        biggest = np.where(spread, np.maximum(np.abs(low), np.abs(high)), 0.0)
        e = np.where(biggest > 0, np.frexp(biggest)[1] - 1, 0)
        with np.errstate(over="ignore"):
            factor = np.exp2(-e.astype(np.float64))  # exact powers of two
        if np.all((factor > 0) & np.isfinite(factor)):
            Y = X * factor  # exact, as np.ldexp (which is several times slower)
        else:  # |e| beyond the normal exponents (subnormal columns)
            Y = np.ldexp(X, -e)

        def column_sum(A):
            return (A if observed is None else np.where(observed, A, 0.0)).sum(axis=0)

        n = np.maximum(count, 1)
        mean = column_sum(Y) / n
        mean = mean + column_sum(Y - mean) / n
        std = np.sqrt(column_sum(np.square(Y - mean)) / n)
        # Never observed (0), constant (that value, exactly) or spread.
        means = np.where(spread, np.ldexp(mean, e), np.where(count > 0, low, 0.0))
        # A spread between subnormals can round to 0 when scaled back.
        scales = np.where(spread, np.maximum(np.ldexp(std, e), np.nextafter(0.0, 1.0)), 1.0)
        out = []
        for m, sc, sp in zip(means.tolist(), scales.tolist(), spread.tolist()):
            t = cls.__new__(cls)
            t.mean, t.scale, t.spread = m, sc, sp
            out.append(t)
        return out

    def forward(self, x):
        return _standardize(x, self.mean, self.scale)

    def inverse(self, y):
        return _unstandardize(y, self.mean, self.scale)

    def log_jacobian(self, x):
        return np.full(x.shape, -np.log(self.scale))


class _QuantileNormal:
    """Monotone piecewise-linear map to normal scores (see the module docstring).

    Knots ``(knots_x, knots_y)``: up to ``max_knots`` empirical quantiles
    (every distinct value when there are fewer), ``knots_y = Phi^-1`` of the
    mid-rank empirical CDF, so ties (atoms such as a spike at 0) map to the
    middle of their probability mass. At least ``points_per_knot`` rows per
    segment on average, so the implied density is not a noisy 1-NN estimate.
    Linear beyond the first / last knot, with the slope of the end segment.
    On a knot the log-Jacobian is the mean of the two adjacent log-slopes
    (the derivative is one-sided there; this matters for discrete columns,
    whose values all sit on knots).

    Decoding (``inverse``) uses the empirical quantile function instead of
    the exact inverse: a knot holding ``k`` tied rows owns a band of
    probability ``k / n`` (around its mid-rank level) that decodes to that
    value exactly, and levels between bands interpolate linearly between the
    knots. For columns without ties this is the inverse of ``forward`` up
    to ``O(1/n)``; for spikes and integer columns, decoded and sampled values
    land on values seen in training (a 91% spike at 0 stays exactly 0)
    instead of being smeared over the gap to the next value. Decoded values
    stay within the training range, as with
    :class:`~sklearn.preprocessing.QuantileTransformer`.
    """

    def __init__(self, max_knots=1000, points_per_knot=10):
        self.max_knots = max_knots
        self.points_per_knot = points_per_knot

    def fit(self, x):
        xs = np.sort(x[~np.isnan(x)])
        n = len(xs)
        uniq = np.unique(xs)
        # Knots of extreme magnitude (beyond 2**+-64) are kept divided by
        # 2**exponent, an exact rescaling, so differences and slopes between
        # them neither overflow (1e308) nor underflow (1e-300).
        self.exponent = 0
        if len(uniq) < 2:  # constant or never observed: shift only (slope 1)
            c = float(uniq[0]) if n else 0.0
            d = max(1.0, float(np.spacing(abs(c))))  # c + 1 == c beyond 2**53
            self.knots_x = np.array([c - d, c]) if c > 0 else np.array([c, c + d])
            self.knots_y = np.array([-d, 0.0]) if c > 0 else np.array([0.0, d])
            self.band_x, self.band_lo, self.band_hi = np.array([c]), np.zeros(1), np.ones(1)
        else:
            e = _pow2_exponent(xs)
            if not -64 <= e <= 64:
                self.exponent = e
                xs, uniq = np.ldexp(xs, -e), np.ldexp(uniq, -e)
            n_knots = int(min(self.max_knots, max(10, n // self.points_per_knot)))
            if len(uniq) <= n_knots:
                knots = uniq
            else:
                q = np.quantile(xs, np.linspace(0.0, 1.0, n_knots), method="inverted_cdf")
                knots = np.unique(np.concatenate([q, xs[[0, -1]]]))
            left = np.searchsorted(xs, knots, side="left")
            right = np.searchsorted(xs, knots, side="right")
            self.knots_x = knots
            self.knots_y = ndtri((left + right) / (2.0 * n))
            self.band_x, self.band_lo, self.band_hi = knots, left / n, right / n
        self.log_slopes_ = np.log(np.diff(self.knots_y) / np.diff(self.knots_x))
        return self

    def _scaled(self, x):
        e = getattr(self, "exponent", 0)
        if not e:
            return x
        with np.errstate(over="ignore"):
            return np.ldexp(x, -e)

    @staticmethod
    def _interp(v, kv, kw, log_slopes):
        out = np.interp(v, kv, kw)
        s_lo, s_hi = np.exp(log_slopes[0]), np.exp(log_slopes[-1])
        lo, hi = v < kv[0], v > kv[-1]
        out[lo] = kw[0] + (v[lo] - kv[0]) * s_lo
        out[hi] = kw[-1] + (v[hi] - kv[-1]) * s_hi
        return out

    def forward(self, x):
        with np.errstate(over="ignore", invalid="ignore"):
            y = self._interp(self._scaled(x), self.knots_x, self.knots_y, self.log_slopes_)
        return _clip_encoded(y)

    def inverse(self, y):
        """Empirical quantile function at ``Phi(y)`` (snaps to tied values)."""
        p = ndtr(y)
        bx, lo, hi = self.band_x, self.band_lo, self.band_hi
        i = np.minimum(np.searchsorted(hi, p, side="left"), len(bx) - 1)
        prev = np.maximum(i - 1, 0)
        gap = lo[i] - hi[prev]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.clip((p - hi[prev]) / gap, 0.0, 1.0)
        between = bx[prev] + t * (bx[i] - bx[prev])
        x = np.where((p >= lo[i]) | (gap <= 0), bx[i], between)
        e = getattr(self, "exponent", 0)
        return np.ldexp(x, e) if e else x

    def log_jacobian(self, x):
        e = getattr(self, "exponent", 0)
        x = self._scaled(x)
        kx, ls = self.knots_x, self.log_slopes_ - e * np.log(2.0)
        last = len(ls) - 1
        j = np.searchsorted(kx, x, side="left")
        on_knot = (j < len(kx)) & (kx[np.minimum(j, len(kx) - 1)] == x)
        left = ls[np.clip(j - 1, 0, last)]
        right = ls[np.clip(j, 0, last)]
        return np.where(on_knot, 0.5 * (left + right), left)


# -- the schema ---------------------------------------------------------------

class _Column:
    """How one user column is encoded."""

    def __init__(self, index, name, kind, dtype, family):
        self.index, self.name, self.kind = index, name, kind
        self.dtype, self.family = dtype, family
        self.label = name if name is not None else index
        self.transform = None  # continuous
        self.levels = None  # binary / categorical: object or numeric array

    @property
    def n_values(self):
        return 1 if self.kind != CATEGORICAL else len(self.levels)


def _sorted_levels(values):
    uniq = list(dict.fromkeys(values.tolist()))
    try:
        return sorted(uniq)
    except TypeError:  # mixed types: a stable, type-aware order
        return sorted(uniq, key=lambda v: (type(v).__name__, str(v)))


class TabularSchema:
    """Column kinds, encoding and decoding of a table.

    Parameters
    ----------
    categorical_features : "from_dtype", None, or array-like of str, int or bool
        Which columns are categorical, as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    handle_unknown : {"error", "ignore"}
        What to do with a category not seen in training (at encode): raise,
        or treat the entry as missing.
    continuous : {"auto", "standard", "quantile"}
        Transform of continuous columns. "auto" quantile-normalizes them in
        mixed tables (with a binary or categorical column) and standardizes
        all-numeric input (arrays and DataFrames alike).
    scaling : {"column", "shared"}
        With standardized columns: each column divided by its own standard
        deviation ("column"), or every continuous column by one shared scale,
        the root mean square of the columns' standard deviations ("shared":
        for columns that share one unit, such as pixels). "shared" is an
        error on a table whose continuous columns get the quantile map.
    """

    def __init__(self, categorical_features="from_dtype", handle_unknown="error",
                 continuous="auto", scaling="column"):
        self.categorical_features = categorical_features
        self.handle_unknown = handle_unknown
        self.continuous = continuous
        self.scaling = scaling

    # -- fit -----------------------------------------------------------------
    def _categorical_mask(self, names, n_features, families):
        spec = self.categorical_features
        if spec is None:
            mask = np.zeros(n_features, dtype=bool)
        elif isinstance(spec, str):
            if spec != "from_dtype":
                raise ValueError(
                    f"categorical_features={spec!r} is not supported; use 'from_dtype', "
                    "None, or an array-like of column names, indices or a boolean mask."
                )
            mask = np.asarray([f in ("category", "object") for f in families], dtype=bool)
        else:
            spec = np.asarray(spec)
            if spec.ndim != 1:
                raise ValueError("categorical_features must be 1-dimensional.")
            mask = np.zeros(n_features, dtype=bool)
            if spec.size == 0:
                pass
            elif spec.dtype.kind == "b":
                if spec.size != n_features:
                    raise ValueError(
                        f"categorical_features is a boolean mask of length {spec.size}, "
                        f"but X has {n_features} features."
                    )
                mask = spec.copy()
            elif spec.dtype.kind in "iu":
                bad = spec[(spec < -n_features) | (spec >= n_features)]
                if bad.size:
                    raise ValueError(
                        f"categorical_features contains invalid indices {bad.tolist()}; "
                        f"X has {n_features} features."
                    )
                mask[spec] = True
            elif spec.dtype.kind in "OU":
                if names is None or not all(isinstance(n, str) for n in names):
                    raise ValueError(
                        "categorical_features names columns, but X has no string column "
                        "names (pass a DataFrame, or use indices or a boolean mask)."
                    )
                lookup = {n: j for j, n in enumerate(names)}
                missing = [s for s in spec.tolist() if s not in lookup]
                if missing:
                    raise ValueError(
                        f"categorical_features names {missing} which are not columns of X."
                    )
                mask[[lookup[s] for s in spec.tolist()]] = True
            else:
                raise ValueError(
                    "categorical_features must be 'from_dtype', None, or an array-like of "
                    f"str, int or bool; got dtype {spec.dtype}."
                )
        return mask

    def fit(self, X):
        tabular = is_dataframe(X) or np.asarray(X).dtype.kind not in "iufb"
        self.is_frame_ = is_dataframe(X)
        self.tabular_ = tabular
        if tabular:
            families = check_tabular(X)
            self.columns_ = list(X.columns) if self.is_frame_ else None
            self.dtypes_ = (list(X.dtypes) if self.is_frame_ else
                            [np.dtype(object)] * np.asarray(X).shape[1])
        else:
            X = np.asarray(X, dtype=np.float64) if np.asarray(X).dtype.kind != "f" else X
            families = ["numeric"] * X.shape[1]
            self.columns_ = None
            self.dtypes_ = [X.dtype] * X.shape[1]
        self.n_features_ = len(families)
        cols = list(_iter_columns(X))
        names = self.columns_
        cat = self._categorical_mask(names, self.n_features_, families)
        # Columns with no observed training value: decoded as missing (the
        # model knows nothing of them), not as numbers made up around 0.
        self.empty_columns_ = (np.flatnonzero(np.isnan(X).all(axis=0)) if not tabular
                               else np.asarray([j for j, (_, col) in enumerate(cols)
                                                if _missing(_to_numpy(col)).all()],
                                               dtype=np.intp))

        specs = []
        for j, ((name, col), fam) in enumerate(zip(cols, families)):
            label = name if name is not None else j
            if fam == "object" and isinstance(self.categorical_features, str):
                # from_dtype: text is categorical, an object column of numbers is not.
                cat[j] = _object_content(_to_numpy(col), label) == "text"
            elif fam == "object" and not cat[j]:
                if _object_content(_to_numpy(col), label) == "text":
                    raise ValueError(
                        f"Column {label!r} holds strings but is not listed in "
                        "categorical_features; add it there (or use "
                        "categorical_features='from_dtype')."
                    )
            if fam == "category" and not cat[j]:
                raise ValueError(
                    f"Column {label!r} has a category dtype but is not listed in "
                    "categorical_features; add it there (or use "
                    "categorical_features='from_dtype')."
                )
            if fam == "bool" and self.categorical_features is not None:
                spec = _Column(j, name, BINARY, self.dtypes_[j], fam)
                spec.levels = np.array([False, True], dtype=object)
            elif cat[j]:
                spec = _Column(j, name, CATEGORICAL, self.dtypes_[j], fam)
                values = _to_numpy(col)
                observed = values[~_missing(values)]
                if fam == "category":
                    seen = set(observed.tolist())
                    levels = [c for c in col.cat.categories.tolist() if c in seen]
                else:
                    levels = _sorted_levels(observed)
                if not levels:
                    raise ValueError(
                        f"Categorical column {label!r} has no observed value in the "
                        "training data; drop it or give it values."
                    )
                spec.levels = np.empty(len(levels), dtype=object)
                spec.levels[:] = levels
                if len(levels) == 2:
                    spec.kind = BINARY
            else:
                spec = _Column(j, name, CONTINUOUS, self.dtypes_[j], fam)
                # A numeric array's columns are fitted together below.
                spec.values = _as_float(col, label) if tabular else None
                if fam == "object" and not self.is_frame_:
                    # An object array's column of ints decodes to ints (a
                    # DataFrame's integer dtype does the same through _cast_series).
                    values = _to_numpy(col)
                    observed = values[~_missing(values)]
                    spec.integral = len(observed) > 0 and all(
                        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                        for v in observed.tolist())
            specs.append(spec)

        # "auto": mixed tables (a binary or categorical column beside the numeric
        # ones) get the quantile-to-normal map, built for their skewed amounts;
        # all-numeric input is standardized, so a DataFrame and its .to_numpy()
        # give the same model.
        method = self.continuous
        if method == "auto":
            mixed = any(s.kind != CONTINUOUS for s in specs)
            method = "quantile" if mixed else "standard"
        continuous = [spec for spec in specs if spec.kind == CONTINUOUS]
        if not tabular and method == "standard" and continuous:
            # One vectorized pass over the numeric columns (a wide array has
            # thousands), the same statistics as _Standard.fit column by column.
            block = X[:, [spec.index for spec in continuous]]
            for spec, transform in zip(continuous, _Standard.fit_columns(block)):
                spec.__dict__.pop("values")
                spec.transform = transform
        shared_scale = getattr(self, "scaling", "column") == "shared"
        if shared_scale and method != "standard":
            raise ValueError(
                "scaling='shared' divides standardized continuous columns by one "
                "scale, but this table has binary or categorical columns, whose "
                "continuous columns go through a quantile-to-normal map instead. "
                "Use scaling='column' (the default) for mixed tables.")
        for spec in continuous:
            if "values" in spec.__dict__:
                values = spec.__dict__.pop("values")
                if values is None:
                    values = _as_float(X[:, spec.index], spec.index)
                spec.transform = (_QuantileNormal() if method == "quantile"
                                  else _Standard()).fit(values)
        if shared_scale and continuous:
            # One unit for every column: the root mean square of the spread
            # columns' standard deviations (constant columns have none).
            spread = [s.transform.scale for s in continuous if s.transform.spread]
            if spread:
                shared = float(np.sqrt(np.mean(np.square(spread))))
                for spec in continuous:
                    spec.transform.scale = shared

        order = [s for kind in (CONTINUOUS, BINARY, CATEGORICAL) for s in specs if s.kind == kind]
        self.specs_ = specs
        self._ordered = order
        self.layout_order_ = np.asarray([s.index for s in order], dtype=np.intp)
        self.layout_ = ColumnLayout(
            n_continuous=sum(s.kind == CONTINUOUS for s in specs),
            n_binary=sum(s.kind == BINARY for s in specs),
            categories=tuple(s.n_values for s in order if s.kind == CATEGORICAL),
        )
        self.feature_kinds_ = np.asarray([s.kind for s in specs], dtype=object)
        # Fast path: a numeric array, every column standardized.
        self._all_standard = (not tabular and all(
            s.kind == CONTINUOUS and isinstance(s.transform, _Standard) for s in specs))
        if self._all_standard:
            self.mean_ = np.array([s.transform.mean for s in specs])
            self.scale_ = np.array([s.transform.scale for s in specs])
        return self

    # -- encode ---------------------------------------------------------------
    def _codes(self, spec, col, handle_unknown):
        """Level index of each entry (-1 = missing) of a binary/categorical column."""
        values = _to_numpy(col)
        missing = _missing(values)
        levels = spec.levels
        codes = np.full(len(values), -1, dtype=np.intp)
        lookup = {v: i for i, v in enumerate(levels.tolist())}
        obs = np.flatnonzero(~missing)
        try:
            found = np.fromiter((lookup.get(v, -1) for v in values[obs].tolist()),
                                np.intp, len(obs))
        except TypeError:  # unhashable entries
            found = np.full(len(obs), -1, dtype=np.intp)
        unknown = obs[found < 0]
        if len(unknown):
            if handle_unknown == "error":
                bad = _sorted_levels(values[unknown])
                shown = bad[:10] + (["..."] if len(bad) > 10 else [])
                known = (f"{levels.tolist()[:10]}"
                         f"{'...' if len(levels) > 10 else ''}")
                raise UnknownCategoryError(
                    f"Found unknown categories {shown} in column {spec.label!r} during "
                    f"transform (known: {known}). Set handle_unknown='ignore' "
                    "to treat them as missing.", column=spec.label, values=shown,
                    known=known)
        codes[obs] = found
        return codes

    def encode(self, X, dtype=np.float32, *, log_jacobian=False, handle_unknown=None):
        """Return ``(values, mask)`` as arrays of ``dtype``.

        ``handle_unknown`` overrides the schema's own setting ("error" or
        "ignore": an unknown category becomes a missing entry).

        With ``log_jacobian=True`` also return the float64 array of shape
        ``(n, n_columns)`` (layout order) of ``log |d encoded / d x|`` of each
        observed entry (0 for missing entries and discrete columns).
        """
        empty = getattr(self, "empty_columns_", ())
        if self._all_standard and not is_dataframe(X):
            X = np.asarray(X, dtype=np.float64)
            mask = ~np.isnan(X)
            if len(empty):  # never observed in fit: the model knows nothing of them
                mask[:, empty] = False
            values = np.where(mask, _standardize(X, self.mean_, self.scale_), 0.0)
            # Row-major whatever the input's order (a DataFrame's values and
            # many .npz arrays are column-major), as the general path below
            # builds it: rows are what batches and inference chunks slice.
            out = (np.ascontiguousarray(values, dtype=dtype),
                   np.ascontiguousarray(mask, dtype=dtype))
            if log_jacobian:
                out += (np.where(mask, -np.log(self.scale_), 0.0),)
            return out
        columns = [col for _, col in _iter_columns(X)]
        if len(columns) != self.n_features_:
            raise ValueError(
                f"X has {len(columns)} features, but the schema was fit on "
                f"{self.n_features_}."
            )
        n = len(columns[0]) if columns else 0
        layout = self.layout_
        values = np.zeros((n, layout.n_values), dtype=np.float64)
        mask = np.zeros((n, layout.n_columns), dtype=np.float64)
        jac = np.zeros((n, layout.n_columns), dtype=np.float64) if log_jacobian else None
        start = 0
        for c, spec in enumerate(self._ordered):
            col = columns[spec.index]
            if spec.index in empty:
                # Never observed in fit: an entry here is read as missing (the
                # network's weights for the column never trained on a value).
                start += spec.n_values
                continue
            if spec.kind == CONTINUOUS:
                x = _as_float(col, spec.label)
                obs = ~np.isnan(x)
                if np.isinf(x[obs]).any():
                    raise ValueError(
                        f"Input X contains infinity in column {spec.label!r}."
                    )
                values[obs, start] = spec.transform.forward(x[obs])
                if log_jacobian:
                    jac[obs, c] = spec.transform.log_jacobian(x[obs])
            else:
                codes = self._codes(spec, col, handle_unknown or self.handle_unknown)
                obs = codes >= 0
                if spec.kind == BINARY:
                    values[obs, start] = codes[obs]
                else:
                    values[np.flatnonzero(obs), start + codes[obs]] = 1.0
            mask[:, c] = obs
            start += spec.n_values
        out = values.astype(dtype, copy=False), mask.astype(dtype, copy=False)
        return out + (jac,) if log_jacobian else out

    @property
    def log_jacobian_(self):
        """Per-column constant log-Jacobian, only for a standardized numeric array.

        Kept for code written before per-entry Jacobians; use
        :meth:`log_jacobian` (or ``encode(..., log_jacobian=True)``) instead.
        """
        if not getattr(self, "_all_standard", False):
            raise AttributeError(
                "log_jacobian_ is only defined when every column is standardized; the "
                "log-Jacobian of this schema varies by entry: use log_jacobian(X)."
            )
        return -np.log(self.scale_)

    def log_jacobian(self, X):
        """Per-entry ``log |d encoded / d x|``, shape ``(n, n_columns)``, layout order."""
        return self.encode(X, np.float64, log_jacobian=True)[2]

    # -- decode ---------------------------------------------------------------
    def _assemble(self, decoded):
        """Per-column decoded arrays (layout order) -> the user's container."""
        by_user = [None] * self.n_features_
        for spec, arr in zip(self._ordered, decoded):
            by_user[spec.index] = (spec, arr)
        if not self.is_frame_:
            if not self.tabular_:
                return np.column_stack([np.asarray(a, dtype=np.float64) for _, a in by_user])
            out = np.empty((len(by_user[0][1]), self.n_features_), dtype=object)
            for j, (spec, a) in enumerate(by_user):
                out[:, j] = as_int_objects(a) if getattr(spec, "integral", False) else a
            return out
        pd = _pandas()
        data = {}
        for j, (spec, arr) in enumerate(by_user):
            data[j] = _cast_series(pd, arr, spec)
        frame = pd.DataFrame(data)
        frame.columns = self.columns_
        return frame

    def _decode_continuous(self, spec, y, user=None):
        if spec.index in getattr(self, "empty_columns_", ()):
            return np.full(len(y), np.nan)  # never observed in training
        if not getattr(spec.transform, "spread", True):  # constant in training
            return np.full(len(y), spec.transform.mean)
        if user is not None:  # already in the user's units
            return np.asarray(user, dtype=np.float64)
        return spec.transform.inverse(np.asarray(y, dtype=np.float64))

    def _unstandardized(self, y):
        """The fast path's decoded array (a numeric array, every column standardized).

        A column constant in training decodes to that value exactly: its
        scale is 1 in its own units, so the decoder's noise (a variance
        floor of 1e-3) would otherwise come back as ~0.03 of those units
        around it, whatever their size.
        """
        out = _unstandardize(y, self.mean_, self.scale_)
        constant = [j for j, spec in enumerate(self.specs_)
                    if not getattr(spec.transform, "spread", True)]
        if constant:
            out[:, constant] = self.mean_[constant]
        empty = getattr(self, "empty_columns_", None)
        if empty is not None and len(empty):
            out[:, empty] = np.nan
        return out

    def decode(self, cont_mean, binary_prob=None, cat_probs=(), user_continuous=None):
        """Point values in the user's units and types from decoder outputs.

        Continuous: the inverse transform of the Gaussian mean (its median in
        the user's units, where the transform is not linear), or the values
        ``user_continuous[c]`` (user units) for the continuous columns ``c``
        (layout order) it has; binary: the more probable level; categorical:
        the most probable level. Inputs are in layout order.
        """
        cont_mean = np.asarray(cont_mean, dtype=np.float64)
        if self._all_standard:
            return self._unstandardized(cont_mean)
        user_continuous = user_continuous or {}
        decoded, ib, ic = [], 0, 0
        for c, spec in enumerate(self._ordered):
            if spec.kind == CONTINUOUS:
                decoded.append(self._decode_continuous(spec, cont_mean[:, c],
                                                       user_continuous.get(c)))
            elif spec.kind == BINARY:
                idx = (np.asarray(binary_prob)[:, ib] > 0.5).astype(np.intp)
                decoded.append(spec.levels[idx])
                ib += 1
            else:
                decoded.append(spec.levels[np.asarray(cat_probs[ic]).argmax(axis=1)])
                ic += 1
        return self._assemble(decoded)

    def decode_sample(self, values):
        """User rows from encoded draws of ``p(x|z)`` (layout ``[cont | bin | one-hot]``)."""
        values = np.asarray(values, dtype=np.float64)
        if self._all_standard:
            return self._unstandardized(values)
        decoded, start = [], 0
        for spec in self._ordered:
            if spec.kind == CONTINUOUS:
                decoded.append(self._decode_continuous(spec, values[:, start]))
            elif spec.kind == BINARY:
                decoded.append(spec.levels[(values[:, start] > 0.5).astype(np.intp)])
            else:
                block = values[:, start:start + spec.n_values]
                decoded.append(spec.levels[block.argmax(axis=1)])
            start += spec.n_values
        return self._assemble(decoded)

    def to_user_columns(self, per_column):
        """Reorder a ``(n, n_columns)`` array from layout order to the user's."""
        out = np.empty_like(per_column)
        out[:, self.layout_order_] = per_column
        return out


def as_int_objects(values):
    """Decoded values of an object array's column of ints: rounded Python ints
    (NaN stays NaN)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = np.nan
    seen = ~np.isnan(values)
    out[seen] = [int(v) for v in np.rint(values[seen]).tolist()]
    return out


def _cast_series(pd, arr, spec):
    """A decoded column as a Series of the training column's dtype."""
    dtype = spec.dtype
    if spec.kind == CONTINUOUS:
        arr = np.asarray(arr, dtype=np.float64)
        kind = getattr(dtype, "kind", "f")
        if kind in "iu":
            info = np.iinfo(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
            arr = np.clip(np.rint(arr), info.min, info.max)
        elif spec.family == "bool":  # categorical_features=None: bool as 0/1
            arr = arr > 0.5
        elif spec.family == "object":
            return pd.Series(arr, dtype=object)
        return pd.Series(arr).astype(dtype)
    if spec.family == "bool":
        return pd.Series(arr.astype(bool)).astype(dtype)
    if spec.family == "category":
        return pd.Series(pd.Categorical(arr, dtype=dtype))
    if spec.family == "numeric":
        return pd.Series(np.asarray(arr.tolist())).astype(dtype)
    return pd.Series(arr, dtype=object).astype(dtype)

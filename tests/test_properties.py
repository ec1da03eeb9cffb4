"""Property-based tests (hypothesis): never a silent NaN, inf or wrong label.

Random shapes, column magnitudes across the float64 (or float32) range,
constant, empty, subnormal and near-overflow columns, NaN patterns and
dtypes (float32, float64, int64, mixed DataFrames) go through fit /
transform / score_samples / inverse_transform / sample / predict of all
three estimators. Every output must be finite where
the inputs are (NaN only ever marks a missing entry), or the call must raise
a ValueError / TypeError with a message. Deterministic: ``derandomize=True``
and no example database, so every run tests the same examples.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

# sklearn's finiteness check sums the input: near 1.8e308 the sum overflows
# and it warns (then checks element-wise). Not this package's warning.
pytestmark = pytest.mark.filterwarnings(
    "ignore:invalid value encountered in reduce:RuntimeWarning:numpy")

TINY = dict(hidden_layer_sizes=(4,), max_iter=2, n_importance_samples=4, random_state=0)
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
KINDS = ("normal", "normal", "normal", "constant", "empty", "extreme", "subnormal")


@st.composite
def tables(draw, max_rows=30, max_cols=4):
    """A 2-D float array with columns of random kinds and magnitudes, and NaNs."""
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    n = draw(st.integers(1, max_rows))
    p = draw(st.integers(1, max_cols))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == np.int64:  # no NaN; magnitudes up to 1e18
        high = [10 ** draw(st.integers(0, 18)) for _ in range(p)]
        return np.column_stack([rng.integers(-h, h, size=n, endpoint=True) for h in high])
    max_exp = 300 if dtype == np.float64 else 35
    cols = []
    for _ in range(p):
        kind = draw(st.sampled_from(KINDS))
        scale = 10.0 ** draw(st.integers(-max_exp, max_exp))
        center = draw(st.sampled_from([0.0, 1.0, -1.0])) * 10.0 ** draw(
            st.integers(-max_exp, max_exp))
        if kind == "normal":
            col = center + scale * rng.normal(size=n)
        elif kind == "constant":
            col = np.full(n, center)
        elif kind == "empty":
            col = np.full(n, np.nan)
        elif kind == "extreme":  # near the largest finite value, both signs
            col = rng.choice([-0.99, -0.5, 0.0, 0.5, 0.99], size=n) * np.finfo(dtype).max
        else:  # subnormal: a few units of the smallest positive float
            col = rng.integers(-3, 4, size=n) * np.finfo(dtype).smallest_subnormal
        cols.append(col)
    X = np.column_stack(cols).astype(dtype)
    frac = draw(st.sampled_from([0.0, 0.0, 0.2, 0.5]))
    X[rng.uniform(size=X.shape) < frac] = np.nan
    return X


def _fit_or_clear_error(est, X):
    """Fit, or check the refusal is a ValueError/TypeError with a message."""
    try:
        return est.fit(X)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


def _finite(a):
    return bool(np.isfinite(np.asarray(a, dtype=np.float64)).all())


def _float_dtype(X):
    """The dtype outputs keep: float32 for float32 input, float64 otherwise."""
    return np.float32 if X.dtype == np.float32 else np.float64


@settings(max_examples=50, **SETTINGS)
@given(X=tables())
def test_transformer_outputs_are_finite(X):
    vae = _fit_or_clear_error(VAETransformer(**TINY), X)
    if vae is None:
        return
    Z = vae.transform(X)
    assert Z.shape == (len(X), 2) and Z.dtype == _float_dtype(X) and _finite(Z)
    assert _finite(vae.score_samples(X))
    X_back = vae.inverse_transform(Z)
    # A column never observed in fit decodes as missing, as its training rows
    # were (the model knows nothing of it); every other entry is finite.
    empty = np.isnan(np.asarray(X, dtype=np.float64)).all(axis=0)
    assert X_back.shape == X.shape and X_back.dtype == _float_dtype(X)
    drawn = vae.sample(3, random_state=0)
    for out in (X_back, drawn):
        assert _finite(out[:, ~empty]) and np.isnan(out[:, empty]).all()
    assert _finite(vae.score_samples_per_feature(X))


@settings(max_examples=40, **SETTINGS)
@given(X=tables())
def test_imputer_fills_every_hole_with_a_finite_value(X):
    imp = _fit_or_clear_error(VAEImputer(n_train_samples=2, **TINY), X)
    if imp is None:
        return
    Xt = imp.transform(X)
    X = X.astype(_float_dtype(X))
    empty = np.isnan(X).all(axis=0)
    assert Xt.shape == (len(X), int((~empty).sum())) and Xt.dtype == X.dtype
    assert _finite(Xt)
    observed = ~np.isnan(X[:, ~empty])
    np.testing.assert_array_equal(Xt[observed], X[:, ~empty][observed])
    assert _finite(imp.score_samples(X))
    drawn = imp.sample(3, random_state=0)
    assert _finite(drawn[:, ~empty]) and np.isnan(drawn[:, empty]).all()


@settings(max_examples=40, **SETTINGS)
@given(X=tables(), contamination=st.sampled_from(["auto", 0.1]),
       anomaly_score=st.sampled_from(["likelihood", "elbo", "reconstruction"]))
def test_detector_threshold_scores_and_labels_are_sound(X, contamination, anomaly_score):
    det = _fit_or_clear_error(
        VAEOutlierDetector(contamination=contamination, anomaly_score=anomaly_score,
                           **TINY), X)
    if det is None:
        return
    assert np.isfinite(det.offset_)
    scores = det.score_samples(X)
    assert _finite(scores)
    labels = det.predict(X)
    assert set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels == -1, det.decision_function(X) < 0)


@settings(max_examples=30, **SETTINGS)
@given(X=tables(max_rows=8), X_new=tables(max_rows=5))
def test_new_rows_of_any_magnitude_score_finite(X, X_new):
    # Rows far outside the training data (1e300 for a column of scale 1e-300).
    p = min(X.shape[1], X_new.shape[1])
    dtype = _float_dtype(X)
    big = np.finfo(dtype).max
    X, X_new = X[:, :p], np.clip(X_new[:, :p].astype(np.float64), -big, big).astype(dtype)
    vae = _fit_or_clear_error(VAETransformer(**TINY), X)
    if vae is None:
        return
    assert _finite(vae.transform(X_new))
    assert _finite(vae.score_samples(X_new))


@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_mixed_dataframes_round_trip_finite(data):
    pd = pytest.importorskip("pandas")
    X = data.draw(tables(max_rows=10, max_cols=2)).astype(np.float64)
    n = len(X)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    df = pd.DataFrame({f"x{j}": X[:, j] for j in range(X.shape[1])})
    df["color"] = pd.Series(rng.choice(["red", "green", "blue"], size=n), dtype=object)
    df["flag"] = rng.random(n) < 0.5
    df["count"] = pd.array(rng.integers(-5, 5, size=n), dtype="Int64")
    if data.draw(st.booleans()):
        df.loc[rng.random(n) < 0.3, "color"] = None
        df.loc[rng.random(n) < 0.3, "count"] = pd.NA
    numeric = [c for c in df.columns if c.startswith("x") or c == "count"]
    vae = _fit_or_clear_error(VAETransformer(**TINY), df)
    if vae is not None:
        assert _finite(vae.transform(df))
        assert _finite(vae.score_samples(df))
        sampled = vae.sample(3, random_state=0)
        seen = [c for c in numeric if df[c].notna().any()]  # the others decode as missing
        assert _finite(sampled[seen].astype("float64"))
        assert sampled[[c for c in numeric if c not in seen]].isna().all().all()
        assert list(sampled.columns) == list(df.columns)
    imp = _fit_or_clear_error(VAEImputer(n_train_samples=2, keep_empty_features=True,
                                         **TINY), df)
    if imp is not None:
        out = imp.transform(df)
        assert not out.isna().any().any()
        assert _finite(out[numeric].astype("float64"))
    det = _fit_or_clear_error(VAEOutlierDetector(**TINY), df)
    if det is not None:
        assert np.isfinite(det.offset_) and _finite(det.score_samples(df))

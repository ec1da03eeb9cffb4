"""Issue 11, "never silently wrong": one regression test per reported case.

Each test names the case it checks (``case N``); docs/reliability.md lists
what is guaranteed and points here.
"""

import numpy as np
import pytest

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)
IMPUTE = dict(n_train_samples=2, n_importance_samples=10)


def _planted(scale, n=200, p=3, seed=0):
    """Standard normal rows times ``scale``, row 0 moved 50 sigma out."""
    X = np.random.default_rng(seed).normal(size=(n, p))
    X[0] = 50.0
    return X * scale


# -- case 1: values above ~1e154 ------------------------------------------------

def test_case1_huge_values_two_rows():
    X = np.array([[3.4e154], [-1.6e155]])
    vae = VAETransformer(**FAST).fit(X)
    assert np.isfinite(vae.schema_.scale_).all()
    Z = vae.transform(X)
    assert Z[0, 0] != Z[1, 0]
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(Z)).all()
    assert np.isfinite(vae.sample(5, random_state=0)).all()


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_case1_huge_values_every_estimator(scale):
    X = _planted(scale)
    vae = VAETransformer(**FAST).fit(X)
    np.testing.assert_allclose(vae.schema_.scale_ / scale, (X / scale).std(axis=0))
    assert np.ptp(vae.transform(X), axis=0).min() > 0
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(vae.transform(X))).all()
    assert np.isfinite(vae.sample(50, random_state=0)).all()

    X_missing = X.copy()
    X_missing[1:20, 1] = np.nan
    filled = VAEImputer(**FAST, **IMPUTE).fit_transform(X_missing)
    assert np.isfinite(filled).all()
    assert np.abs(filled[1:20, 1]).max() < 10 * scale

    det = VAEOutlierDetector(contamination=0.01, **{**FAST, "max_iter": 10}).fit(X)
    assert np.isfinite(det.offset_)
    assert det.predict(X)[0] == -1


def test_case1_near_the_float64_limit_saturates_instead_of_inf():
    X = np.array([[-1.7e308], [1.7e308], [0.0], [1e308]])
    vae = VAETransformer(**FAST).fit(X)
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(vae.transform(X))).all()
    assert np.isfinite(vae.sample(100, random_state=0)).all()
    # float32 in, float32 out: decoded values saturate at the float32 range.
    X32 = np.array([[-3.4e38], [3.4e38], [0.0]], dtype=np.float32)
    vae = VAETransformer(**FAST).fit(X32)
    out = vae.inverse_transform(vae.transform(X32))
    assert out.dtype == np.float32 and np.isfinite(out).all()


# -- case 2: spread below ~2e-15 -------------------------------------------------

@pytest.mark.parametrize("scale", [1e-16, 1e-100, 1e-300])
def test_case2_tiny_spread_is_scaled_not_constant(scale):
    X = _planted(scale)
    vae = VAETransformer(**FAST).fit(X)
    np.testing.assert_allclose(vae.schema_.scale_ / scale, (X / scale).std(axis=0))
    assert np.ptp(vae.transform(X), axis=0).min() > 0
    assert np.isfinite(vae.score_samples(X)).all()

    X_missing = X.copy()
    X_missing[1:20, 1] = np.nan
    filled = VAEImputer(**FAST, **IMPUTE).fit_transform(X_missing)
    assert np.abs(filled[1:20, 1]).max() < 10 * scale

    det = VAEOutlierDetector(contamination=0.01, **{**FAST, "max_iter": 10}).fit(X)
    assert det.predict(X)[0] == -1


def test_case2_spread_tiny_relative_to_the_mean():
    # 1e10 + noise at 1e-3: a 1e-13 relative spread is still a spread.
    rng = np.random.default_rng(0)
    X = 1e10 + rng.normal(size=(100, 2)) * 1e-3
    vae = VAETransformer(**FAST).fit(X)
    assert (vae.schema_.scale_ > 1e-4).all() and (vae.schema_.scale_ < 1e-2).all()
    assert np.ptp(vae.transform(X), axis=0).min() > 0


# -- case 3: constant columns of any magnitude ---------------------------------

@pytest.mark.parametrize("value", [1e30, 1e40, -1e300, 1e-300])
@pytest.mark.parametrize("n_samples", [7, 50, 100])
def test_case3_constant_column_encodes_to_zero(value, n_samples):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.full(n_samples, value), rng.normal(size=n_samples)])
    values, _ = VAETransformer(**FAST)._make_schema().fit(X).encode(X)
    assert (values[:, 0] == 0).all()
    vae = VAETransformer(**FAST).fit(X)
    assert vae.schema_.mean_[0] == value and vae.schema_.scale_[0] == 1.0
    scores = vae.score_samples(X)
    assert np.isfinite(scores).all() and np.abs(scores).max() < 100


def test_case3_constant_column_in_a_mixed_table():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"big": np.full(60, 1e30), "tiny_const": np.full(60, 1.7e308),
                       "x": rng.normal(size=60), "c": rng.choice(["a", "b", "c"], 60)})
    vae = VAETransformer(**FAST).fit(df)
    scores = vae.score_samples(df)
    assert np.isfinite(scores).all() and np.abs(scores).max() < 100
    sampled = vae.sample(5, random_state=0)
    assert (sampled["big"] == 1e30).all() and (sampled["tiny_const"] == 1.7e308).all()


# -- case 5: an extreme entry at inference -----------------------------------

@pytest.mark.parametrize("anomaly_score", ["likelihood", "elbo", "reconstruction"])
@pytest.mark.parametrize("value", [1e200, -1e300, 1.7e308])
def test_case5_extreme_entry_is_scored_finite_and_flagged(anomaly_score, value):
    X = np.random.default_rng(0).normal(size=(200, 4))
    det = VAEOutlierDetector(anomaly_score=anomaly_score, **FAST).fit(X)
    X_test = X[:3].copy()
    X_test[0, 0] = value
    scores = det.score_samples(X_test)
    assert np.isfinite(scores).all()
    assert scores[0] < scores[1:].min()
    assert det.predict(X_test)[0] == -1
    assert np.isfinite(det.score_samples_per_feature(X_test)).all()


def test_case5_nan_score_is_never_an_inlier(monkeypatch):
    X = np.random.default_rng(0).normal(size=(50, 2))
    det = VAEOutlierDetector(**FAST).fit(X)
    det.offset_ = 0.5
    monkeypatch.setattr(det, "score_samples", lambda X: np.array([np.nan, 0.0, 1e9]))
    assert det.predict(X[:3]).tolist() == [-1, -1, 1]


def test_case5_extreme_entry_through_transformer_and_imputer():
    X = np.random.default_rng(0).normal(size=(100, 3))
    vae = VAETransformer(**FAST).fit(X)
    X_test = X[:2].copy()
    X_test[0, 1] = 1e300
    assert np.isfinite(vae.transform(X_test)).all()
    assert np.isfinite(vae.score_samples(X_test)).all()
    X_missing = X_test.copy()
    X_missing[0, 0] = np.nan
    imp = VAEImputer(**FAST, **IMPUTE).fit(X)
    assert np.isfinite(imp.transform(X_missing)).all()


def test_inverse_transform_rejects_non_finite_codes():
    X = np.random.default_rng(0).normal(size=(30, 3))
    vae = VAETransformer(**FAST).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        vae.inverse_transform(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="infinity"):
        vae.inverse_transform(np.array([[np.inf, 0.0]]))
    assert np.isfinite(vae.inverse_transform(np.array([[1e300, -1e300]]))).all()


# -- case 9: keep_empty_features on a DataFrame ----------------------------------

def test_case9_keep_empty_features_fills_zero_on_a_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 1] = np.nan
    X[0, 0] = np.nan
    imp = VAEImputer(keep_empty_features=True, **FAST, **IMPUTE)
    array_out = imp.fit_transform(X)
    assert (array_out[:, 1] == 0).all()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    frame_out = imp.fit_transform(df)
    assert (frame_out["b"] == 0).all()
    np.testing.assert_allclose(frame_out.to_numpy(), array_out)
    # Mixed table: an empty nullable integer / boolean column gets 0 / False.
    df["flag"] = pd.array([None] * 40, dtype="boolean")
    df["count"] = pd.array([None] * 40, dtype="Int64")
    df["color"] = ["red", "blue"] * 20
    out = imp.fit_transform(df)
    assert (out["b"] == 0).all() and (out["count"] == 0).all()
    assert (~out["flag"]).all() and out["flag"].dtype == df["flag"].dtype
    dropped = VAEImputer(**FAST, **IMPUTE).fit_transform(df)
    assert list(dropped.columns) == ["a", "c", "color"]


# -- case 10: devices -------------------------------------------------------------

@pytest.mark.parametrize("device, match", [
    ("mps", "device='mps' is not supported.*float64"),
    ("meta", "device='meta' is not supported"),
    ("xpu", "only CPU and CUDA"),
])
def test_case10_unsupported_device_names_the_fix(device, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    for est in (VAETransformer(device=device, **FAST), VAEImputer(device=device, **FAST),
                VAEOutlierDetector(device=device, **FAST)):
        with pytest.raises(ValueError, match=match):
            est.fit(X)

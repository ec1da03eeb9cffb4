"""Mixed-type tables: pandas in and out, per-column likelihoods, synthetic rows."""

import datetime

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_vae import VAETransformer  # noqa: E402

FAST = dict(max_iter=3, hidden_layer_sizes=(16,), random_state=0, n_importance_samples=10)


def make_frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "amount": rng.lognormal(8.0, 1.5, n) * (rng.random(n) < 0.4),
        "city": pd.Series(rng.choice(["Oslo", "Rome", "Lima"], n), dtype="str"),
        "grade": pd.Categorical(rng.choice(["b", "a", "c"], n),
                                categories=["c", "b", "a", "unused"], ordered=True),
        "member": rng.random(n) < 0.3,
        "sex": pd.Series(rng.choice(["F", "M"], n), dtype=object),
        "visits": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "ratio": rng.normal(size=n).astype(np.float32),
    })


@pytest.fixture(scope="module")
def df():
    return make_frame()


@pytest.fixture(scope="module")
def fitted(df):
    return VAETransformer(**FAST).fit(df)


def test_vae_transformer_kinds_from_dtype(fitted):
    assert fitted.schema_.feature_kinds_.tolist() == [
        "continuous", "continuous", "categorical", "categorical", "binary", "binary",
        "continuous", "continuous",
    ]
    assert fitted.n_features_in_ == 8
    assert list(fitted.feature_names_in_) == list(make_frame().columns)


def check_same_table(out, df):
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns)
    assert out.dtypes.equals(df.dtypes)  # incl. the category set and its order
    for c in ["city", "grade", "sex"]:
        assert set(out[c].dropna().astype(object)) <= set(df[c].dropna().astype(object))
    assert "unused" not in set(out["grade"].astype(object))
    assert (out["age"] == np.round(out["age"])).all()
    # Quantile decoding stays within the training range.
    assert out["age"].between(df["age"].min(), df["age"].max()).all()
    assert out["amount"].min() >= 0


def test_vae_transformer_dataframe_round_trip(fitted, df):
    Z = fitted.transform(df)
    assert Z.shape == (len(df), 2) and Z.dtype == np.float64
    check_same_table(fitted.inverse_transform(Z), df)


def test_vae_transformer_dataframe_sample(fitted, df):
    out = fitted.sample(200, random_state=0)
    check_same_table(out, df)
    assert len(out) == 200
    assert out.equals(fitted.sample(200, random_state=0))
    # A 60% spike at 0 is decoded to exactly 0, not smeared over the gap.
    assert 0.3 < (out["amount"] == 0).mean() < 0.9


def test_vae_transformer_numeric_array_unchanged():
    X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    vae = VAETransformer(**FAST).fit(X)
    assert vae.schema_.feature_kinds_.tolist() == ["continuous"] * 3
    np.testing.assert_allclose(vae.schema_.mean_, X.astype(np.float64).mean(axis=0))
    Xr = vae.inverse_transform(vae.transform(X))
    assert isinstance(Xr, np.ndarray) and Xr.dtype == np.float32 and Xr.shape == X.shape
    assert isinstance(vae.sample(4, random_state=0), np.ndarray)


def test_vae_transformer_object_array_of_strings():
    rng = np.random.default_rng(0)
    X = np.empty((60, 2), dtype=object)
    X[:, 0] = rng.normal(size=60)
    X[:, 1] = rng.choice(["u", "v", "w"], 60)
    vae = VAETransformer(**FAST).fit(X)
    assert vae.schema_.feature_kinds_.tolist() == ["continuous", "categorical"]
    out = vae.sample(10, random_state=0)
    assert isinstance(out, np.ndarray) and out.dtype == object
    assert set(out[:, 1]) <= {"u", "v", "w"}


def test_vae_transformer_per_feature_sums_to_score_samples(fitted, df):
    X = df.head(20).copy()
    X.loc[0, "city"] = None
    X.loc[1, "amount"] = np.nan
    X.loc[2, "visits"] = pd.NA
    X.loc[3, "grade"] = np.nan
    total = fitted.score_samples(X)
    per_frame = fitted.score_samples_per_feature(X)
    # Fit on a DataFrame: a DataFrame with the training columns and X's index.
    assert list(per_frame.columns) == list(df.columns)
    assert per_frame.index.equals(X.index)
    per = per_frame.to_numpy()
    assert per.shape == (20, 8)
    np.testing.assert_allclose(per.sum(axis=1), total, rtol=1e-10, atol=1e-9)
    assert per[0, 2] == 0 and per[1, 1] == 0 and per[2, 6] == 0 and per[3, 3] == 0
    # Categorical / binary contributions are log-probabilities (<= 0) before the
    # shared latent term: a likely category scores above an unlikely one.
    assert np.isfinite(per).all()


def test_vae_transformer_score_depends_on_rows_not_batch(fitted, df):
    full = fitted.score_samples(df)
    np.testing.assert_allclose(fitted.score_samples(df.iloc[[5]]), full[[5]], rtol=1e-7)


@pytest.mark.parametrize("spec", [
    ["city", "grade", "sex", "visits"],
    [2, 3, 5, 6],
    np.array([0, 0, 1, 1, 0, 1, 1, 0], dtype=bool),
])
def test_vae_transformer_categorical_features_explicit(df, spec):
    vae = VAETransformer(**FAST, categorical_features=spec).fit(df)
    kinds = vae.schema_.feature_kinds_.tolist()
    assert kinds[2:4] == ["categorical", "categorical"] and kinds[5] == "binary"
    assert kinds[6] == "categorical"  # a numeric column made categorical
    out = vae.sample(50, random_state=0)
    assert out["visits"].dtype == df["visits"].dtype
    assert set(out["visits"].dropna()) <= set(df["visits"].dropna())


@pytest.mark.parametrize("spec, match", [
    (["nope"], r"names \['nope'\] which are not columns"),
    ([12], "invalid indices"),
    (np.ones(3, dtype=bool), "boolean mask of length 3"),
    (["grade", "sex"], "Column 'city' holds strings but is not listed"),
])
def test_vae_transformer_categorical_features_invalid(df, spec, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**FAST, categorical_features=spec).fit(df)


def test_vae_transformer_handle_unknown(fitted, df):
    X = df.head(4).copy()
    X["city"] = X["city"].astype(object)
    X.loc[1, "city"] = "Paris"
    with pytest.raises(ValueError, match=r"unknown categories \['Paris'\] in column 'city'"):
        fitted.transform(X)
    with pytest.raises(ValueError, match="unknown categories"):
        fitted.score_samples(X)

    ignoring = VAETransformer(**FAST, handle_unknown="ignore").fit(df)
    missing = X.copy()
    missing.loc[1, "city"] = None
    np.testing.assert_allclose(ignoring.score_samples(X), ignoring.score_samples(missing))
    np.testing.assert_allclose(ignoring.transform(X), ignoring.transform(missing))
    assert ignoring.score_samples_per_feature(X).iloc[1, 2] == 0


def test_vae_transformer_set_output_pandas(df):
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(df)
    Z = vae.transform(df.iloc[10:15])
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["vae0", "vae1"]
    assert list(Z.index) == list(range(10, 15))
    assert list(vae.get_feature_names_out()) == ["vae0", "vae1"]


def test_vae_transformer_in_column_transformer_and_pipeline(df):
    y = (df["age"] > 45).to_numpy()
    ct = ColumnTransformer([
        ("vae", VAETransformer(**FAST), ["amount", "city", "grade", "member"]),
        ("num", StandardScaler(), ["age"]),
    ]).set_output(transform="pandas")
    pipe = make_pipeline(ct, LogisticRegression()).fit(df, y)
    assert pipe.predict(df).shape == (len(df),)
    assert list(ct.get_feature_names_out()) == ["vae__vae0", "vae__vae1", "num__age"]


def test_vae_transformer_grid_search_on_mixed_data(df):
    search = GridSearchCV(VAETransformer(**FAST), {"n_components": [1, 2]}, cv=2)
    search.fit(df)
    assert search.best_params_["n_components"] in (1, 2)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("column, match", [
    (pd.date_range("2020-01-01", periods=6), r"Column 'bad'.*dates and durations"),
    (pd.to_timedelta(np.arange(6), unit="D"), r"Column 'bad'.*dates and durations"),
    (np.arange(6) + 1j, r"Column 'bad'.*complex"),
    (pd.Series([[1, 2]] * 6, dtype=object), r"Column 'bad' contains list objects"),
    (pd.Series([{"a": 1}] * 6, dtype=object), r"Column 'bad' contains dict objects"),
    (pd.Series([datetime.date(2020, 1, 1)] * 6, dtype=object),
     r"Column 'bad' contains date objects"),
    (pd.arrays.SparseArray(np.arange(6.0)),
     r"Column 'bad': pandas sparse .* X.sparse.to_dense\(\)"),
])
def test_vae_transformer_unsupported_dtypes(column, match):
    X = pd.DataFrame({"ok": np.arange(6.0), "bad": column})
    with pytest.raises(TypeError, match=match):
        VAETransformer(**FAST).fit(X)


def test_vae_transformer_dataframe_validation(fitted, df):
    with pytest.raises(ValueError, match="infinity in column 'amount'"):
        VAETransformer(**FAST).fit(df.assign(amount=np.inf))
    with pytest.raises(ValueError, match="The feature names should match"):
        fitted.transform(df.rename(columns={"age": "AGE"}))
    with pytest.raises(ValueError, match="X has 7 features, but VAETransformer is expecting 8"):
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            fitted.transform(df.drop(columns="age").to_numpy())
    with pytest.raises(ValueError, match="non-numeric values"):
        fitted.transform(df.head(3).assign(age=["x", "y", "z"]))


@pytest.mark.parametrize("kind", ["gaussian", "lognormal"])
def test_vae_transformer_density_is_honest_in_original_units(kind):
    """exp(score_samples) of a 1-column model integrates to ~1 in the user's units."""
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, 400) if kind == "gaussian" else rng.lognormal(0.0, 1.0, 400)
    vae = VAETransformer(n_components=1, hidden_layer_sizes=(8,), max_iter=40,
                         random_state=0, n_importance_samples=20,
                         early_stopping=False).fit(pd.DataFrame({"x": x}))
    lo, hi = (x.min() - 5, x.max() + 5)
    grid = np.linspace(lo, hi, 4001)
    density = np.exp(vae.score_samples(pd.DataFrame({"x": grid})))
    mass = density.sum() * (grid[1] - grid[0])
    assert 0.9 < mass < 1.1
    if kind == "gaussian":  # close to the true log-density on average
        true = -0.5 * np.log(2 * np.pi * 4.0) - (x - 3.0) ** 2 / 8.0
        assert abs(vae.score(pd.DataFrame({"x": x})) - true.mean()) < 0.3


def test_columns_never_observed_in_training_decode_as_missing():
    """A column with no observed training value (float, object or Int64): sample
    and inverse_transform give it missing values, not numbers made up around 0
    (floats in an object column); the other columns are unaffected. Saved too."""
    import io

    from sklearn_vae import load, save

    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.randn(100), "zf": np.nan,
                       "zo": pd.Series([None] * 100, dtype=object),
                       "zi": pd.array([None] * 100, dtype="Int64"),
                       "c": rng.choice(["a", "b", "c"], 100)})
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=5,
                         random_state=0).fit(df)
    buffer = io.BytesIO()
    save(vae, buffer)
    for model in (vae, load(io.BytesIO(buffer.getvalue()))):
        for out in (model.sample(20, random_state=0),
                    model.inverse_transform(model.transform(df.iloc[:5]))):
            assert out.dtypes.equals(df.dtypes)
            assert out[["zf", "zo", "zi"]].isna().all().all()
            assert out["x"].notna().all() and out["c"].isin(["a", "b", "c"]).all()

    X = rng.randn(100, 3)
    X[:, 1] = np.nan
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=5,
                         random_state=0).fit(X)
    for out in (vae.sample(20, random_state=0), vae.inverse_transform(vae.transform(X))):
        assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, [0, 2]]).all()


def test_values_in_a_column_never_observed_in_fit_are_read_as_missing():
    """The network's weights for a never-observed column never trained on a value:
    a value there at transform time is read as missing (codes and scores as if it
    were NaN), and an imputer keeps it (keep_empty_features) as SimpleImputer does."""
    from sklearn_vae import VAEImputer

    rng = np.random.RandomState(0)
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, n_components=2, random_state=0)
    X = rng.normal(size=(80, 3))
    X[:, 1] = np.nan
    df = pd.DataFrame({"a": X[:, 0], "z": X[:, 1], "c": rng.choice(["u", "v"], 80)})
    for train, new in ((X, X.copy()), (df, df.copy())):
        filled = new.copy()
        if isinstance(filled, np.ndarray):
            filled[:, 1] = 5.0
        else:
            filled["z"] = 5.0
        vae = VAETransformer(**kw).fit(train)
        np.testing.assert_array_equal(vae.transform(filled), vae.transform(new))
        np.testing.assert_array_equal(vae.score_samples(filled), vae.score_samples(new))
        imp = VAEImputer(keep_empty_features=True, **kw).fit(train)
        out = imp.transform(filled)
        column = out[:, 1] if isinstance(out, np.ndarray) else out["z"].to_numpy()
        assert (column.astype(float) == 5.0).all()

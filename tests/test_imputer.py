"""Behaviour of VAEImputer."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_vae import VAEImputer

from .conftest import low_rank_with_missing

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), n_components=2, n_train_samples=2,
            n_importance_samples=10, random_state=0)


@pytest.fixture(scope="module")
def low_rank_fit():
    X, X_missing = low_rank_with_missing()
    imp = VAEImputer(n_components=2, hidden_layer_sizes=(32,), max_iter=60, batch_size=64,
                     n_train_samples=5, early_stopping=False, random_state=0)
    return imp.fit(X_missing), X, X_missing


def test_vae_imputer_recovers_low_rank_structure_better_than_mean(low_rank_fit):
    imp, X, X_missing = low_rank_fit
    missing = np.isnan(X_missing)
    Xt = imp.transform(X_missing)
    rmse = np.sqrt(np.mean((Xt[missing] - X[missing]) ** 2))
    mean = SimpleImputer().fit_transform(X_missing)
    rmse_mean = np.sqrt(np.mean((mean[missing] - X[missing]) ** 2))
    assert rmse < 0.6 * rmse_mean


def test_vae_imputer_keeps_observed_entries_and_is_deterministic(low_rank_fit):
    imp, _, X_missing = low_rank_fit
    Xt = imp.transform(X_missing)
    observed = ~np.isnan(X_missing)
    assert np.array_equal(Xt[observed], X_missing[observed])
    assert not np.isnan(Xt).any()
    np.testing.assert_array_equal(imp.transform(X_missing), Xt)
    # A row's imputation does not depend on the other rows passed with it.
    np.testing.assert_allclose(imp.transform(X_missing[5:6]), Xt[5:6], rtol=1e-12)


def test_vae_imputer_all_missing_row_gets_prior_prediction(low_rank_fit):
    imp, _, X_missing = low_rank_fit
    X_new = np.vstack([np.full((2, X_missing.shape[1]), np.nan), X_missing[:3]])
    Xt = imp.transform(X_new)
    assert np.isfinite(Xt).all()
    np.testing.assert_allclose(Xt[0], Xt[1])


def test_vae_imputer_sample_posterior_seeded_by_random_state(low_rank_fit):
    _, _, X_missing = low_rank_fit
    X_small = X_missing[:80]
    missing = np.isnan(X_small)
    draws = [VAEImputer(sample_posterior=True, **{**FAST, "random_state": seed})
             .fit_transform(X_small) for seed in (0, 0, 1)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0][missing], draws[2][missing])
    for Xt in draws:
        assert np.array_equal(Xt[~missing], X_small[~missing])
        assert np.isfinite(Xt).all()
    mean = VAEImputer(**FAST).fit_transform(X_small)
    assert not np.allclose(mean[missing], draws[0][missing])


def test_vae_imputer_sample_posterior_draws_from_the_fitted_model(low_rank_fit):
    imp, X, X_missing = low_rank_fit
    missing = np.isnan(X_missing)
    mean = imp.transform(X_missing)
    draw = imp.set_params(sample_posterior=True).transform(X_missing)
    imp.set_params(sample_posterior=False)
    # A draw follows the structure (correlates with the truth) and scatters
    # around the conditional mean by about the learned observation noise.
    assert np.corrcoef(draw[missing], X[missing])[0, 1] > 0.25
    # The decoder predicts each entry's noise variance: take it at each row's
    # posterior mean and average it over the missing entries of a column.
    module, _ = imp._inference_module()
    with torch.no_grad():
        params = module.decode(torch.from_numpy(imp._encode(X_missing)))
        noise_var = module.observation_logvar(params).exp().numpy()
    resid = (draw - mean) / imp.schema_.scale_
    ratio = np.array([resid[missing[:, j], j].std()
                      / np.sqrt(noise_var[missing[:, j], j].mean()) for j in range(6)])
    assert np.all((ratio > 0.7) & (ratio < 1.6)), ratio


def test_vae_imputer_numeric_missing_values():
    _, X_missing = low_rank_with_missing(n=60)
    X_code = np.where(np.isnan(X_missing), -1.0, X_missing)
    a = VAEImputer(**FAST).fit_transform(X_missing)
    b = VAEImputer(missing_values=-1, **FAST).fit_transform(X_code)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="NaN"):
        VAEImputer(missing_values=-1, **FAST).fit(X_missing)
    with pytest.raises(ValueError, match="infinity"):
        VAEImputer(**FAST).fit(np.where(np.isnan(X_missing), np.inf, X_missing))


def test_vae_imputer_empty_feature_follows_keep_empty_features():
    _, X_missing = low_rank_with_missing(n=60)
    X_missing[:, 2] = np.nan
    with pytest.warns(UserWarning, match=r"Skipping features without any observed "
                                         r"values: \[2\]\. They are dropped"):
        dropped = VAEImputer(**FAST).fit(X_missing)
    Xt = dropped.transform(X_missing)
    assert Xt.shape == (60, 5) and np.isfinite(Xt).all()
    assert list(dropped.get_feature_names_out()) == ["x0", "x1", "x3", "x4", "x5"]
    kept = VAEImputer(keep_empty_features=True, **FAST).fit(X_missing)
    Xk = kept.transform(X_missing)
    assert Xk.shape == (60, 6)
    assert np.all(Xk[:, 2] == 0)
    assert len(kept.get_feature_names_out()) == 6
    # Nothing observed at all: every column dropped (SimpleImputer's (n, 0)), said.
    with pytest.warns(UserWarning, match=r"values: \[0, 1, 2, 3, 4, 5\]"):
        assert VAEImputer(**FAST).fit_transform(np.full((20, 6), np.nan)).shape == (20, 0)


def test_vae_imputer_add_indicator():
    _, X_missing = low_rank_with_missing(n=60)
    X_missing[:, 0] = np.arange(60.0)  # fully observed column: no indicator
    imp = VAEImputer(add_indicator=True, **FAST).fit(X_missing)
    Xt = imp.transform(X_missing)
    assert Xt.shape == (60, 6 + 5)
    np.testing.assert_array_equal(Xt[:, 6:], np.isnan(X_missing[:, 1:]))
    names = imp.get_feature_names_out()
    assert list(names[6:]) == [f"missingindicator_x{i}" for i in range(1, 6)]


def test_vae_imputer_set_output_pandas_and_float32():
    pd = pytest.importorskip("pandas")
    _, X_missing = low_rank_with_missing(n=60)
    df = pd.DataFrame(X_missing, columns=list("abcdef"))
    out = VAEImputer(**FAST).set_output(transform="pandas").fit_transform(df)
    assert list(out.columns) == list("abcdef") and not out.isna().any().any()
    assert VAEImputer(**FAST).fit_transform(X_missing.astype(np.float32)).dtype == np.float32


def test_vae_imputer_in_pipeline_and_grid_search():
    X, y = make_classification(n_samples=80, n_features=5, random_state=0)
    X[np.random.RandomState(0).uniform(size=X.shape) < 0.2] = np.nan
    pipe = make_pipeline(VAEImputer(**FAST), LogisticRegression())
    search = GridSearchCV(pipe, {"vaeimputer__n_components": [1, 2]}, cv=2).fit(X, y)
    assert search.best_params_["vaeimputer__n_components"] in (1, 2)
    assert search.predict(X).shape == (80,)


def test_vae_imputer_errors():
    _, X_missing = low_rank_with_missing(n=40)
    with pytest.raises(NotFittedError):
        VAEImputer(**FAST).transform(X_missing)
    with pytest.raises(InvalidParameterError, match="n_train_samples"):
        VAEImputer(n_train_samples=0).fit(X_missing)
    with pytest.raises(InvalidParameterError, match="missing_values"):
        VAEImputer(missing_values="?").fit(X_missing)
    imp = VAEImputer(**FAST).fit(X_missing)
    with pytest.raises(ValueError, match="features"):
        imp.transform(X_missing[:, :3])


def test_vae_imputer_floors_the_variance_of_discrete_columns():
    # A column on the lattice 0, 2, 4 keeps at least the variance of uniform noise over
    # one step ((2 / std)^2 / 12, standardized), measured on its observed entries;
    # the continuous column keeps the global 1e-3.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), 2.0 * rng.integers(0, 3, 200)])
    X[rng.random(200) < 0.2, 1] = np.nan
    imp = VAEImputer(max_iter=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    floor = imp.module_.min_variance.numpy()
    np.testing.assert_allclose(floor, [1e-3, (2.0 / np.nanstd(X[:, 1])) ** 2 / 12],
                               rtol=1e-5)


def test_transform_input_type_may_differ_from_fit():
    """Fit on a DataFrame, transform an array (or the reverse): the imputed table in
    the type passed, as sklearn's imputers (with its feature-name warning only);
    it crashed on ``.iloc`` / column indexing."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"f": rng.normal(size=60), "g": rng.normal(size=60),
                       "c": rng.choice(list("abc"), 60).astype(object)})
    df.loc[:9, "f"] = np.nan
    df.loc[10:12, "c"] = None
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, n_components=2, random_state=0)
    on_frame = VAEImputer(**kw).fit(df)
    with pytest.warns(UserWarning, match="feature names"):
        as_array = on_frame.transform(df.to_numpy())
    expected = on_frame.transform(df)
    assert isinstance(as_array, np.ndarray) and as_array.shape == df.shape
    np.testing.assert_array_equal(as_array[:, 2], expected["c"].to_numpy())
    np.testing.assert_allclose(as_array[:, :2].astype(float), expected[["f", "g"]])
    on_array = VAEImputer(**kw).fit(df.to_numpy())
    with pytest.warns(UserWarning, match="feature names"):
        as_frame = on_array.transform(df)
    assert as_frame.dtypes.equals(df.dtypes) and not as_frame.isna().any().any()
    np.testing.assert_array_equal(as_frame.to_numpy(), on_array.transform(df.to_numpy()))


def test_missing_values_pd_na_is_nan_and_a_number_needs_numeric_input():
    """missing_values=pd.NA (which the parameter check admits) imputes as np.nan
    does (it failed with "Input X contains NaN"); a numeric placeholder on a table
    with text columns is an error that says how to mark missing entries instead
    (it failed with "could not convert string to float")."""
    pd = pytest.importorskip("pandas")
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, n_components=2, random_state=0)
    df = pd.DataFrame({"a": pd.array([1, 2, None, 4] * 15, dtype="Int64"),
                       "b": pd.array(np.linspace(0, 1, 60), dtype="Float64")})
    via_na = VAEImputer(missing_values=pd.NA, **kw).fit_transform(df)
    pd.testing.assert_frame_equal(via_na, VAEImputer(**kw).fit_transform(df))
    mixed = pd.DataFrame({"f": np.r_[-1.0, np.arange(59.0)], "c": ["x", "y"] * 30})
    with pytest.raises(ValueError, match=r"missing_values=-1 works on numeric input only, "
                                         r"but columns \['c'\] are not numeric.*"
                                         r"X.replace\(-1, np.nan\)"):
        VAEImputer(missing_values=-1, **kw).fit(mixed)
    out = VAEImputer(missing_values=-1, **kw).fit_transform(mixed[["f"]].assign(g=1.0))
    assert isinstance(out, np.ndarray) and out[0, 0] != -1  # as IterativeImputer


def test_indicator_columns_under_a_global_pandas_output():
    """sklearn.set_config(transform_output="pandas") reached the inner
    MissingIndicator: its frame, indexed 0..n-1, was re-indexed onto a test
    split's index and every indicator became NaN."""
    pd = pytest.importorskip("pandas")
    import sklearn
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(60, 3), columns=list("abc"))
    X.loc[::4, "b"] = np.nan
    X_train, X_test = train_test_split(X, random_state=0)
    imp = VAEImputer(hidden_layer_sizes=(16,), max_iter=5, n_components=2,
                     add_indicator=True, random_state=0).fit(X_train)
    with sklearn.config_context(transform_output="pandas"):
        out = imp.transform(X_test)
        arr = VAEImputer(hidden_layer_sizes=(16,), max_iter=5, add_indicator=True,
                         random_state=0).fit_transform(X.to_numpy())
    assert out["missingindicator_b"].tolist() == X_test["b"].isna().tolist()
    np.testing.assert_array_equal(np.asarray(arr)[:, -1], X["b"].isna().to_numpy())


def test_observed_entries_are_returned_as_given_even_unseen_levels():
    """handle_unknown="ignore": an unseen level is left out of the model's view
    but it is observed: returned as given, not imputed, not indicated (it was
    replaced by an imputed level and flagged missing)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"g": rng.choice(["a", "b", "c"], 200).astype(object),
                      "x": rng.normal(size=200)})
    X.loc[rng.uniform(size=200) < 0.2, "g"] = None
    imp = VAEImputer(handle_unknown="ignore", add_indicator=True, **FAST).fit(X)
    out = imp.transform(pd.DataFrame({"g": ["zzz", None, "a"], "x": [0.0, 0.0, np.nan]}))
    assert out["g"].iloc[0] == "zzz" and out["g"].iloc[1] in ("a", "b", "c")
    assert out["missingindicator_g"].tolist() == [False, True, False]
    assert np.isfinite(out["x"]).all()


def test_keep_empty_features_on_a_string_column():
    """A pandas string column with no observed value is kept, filled with 0 as the
    other empty columns are (as object: a string column cannot hold 0); it raised
    a TypeError."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"x": np.r_[np.nan, rng.normal(size=59)],
                      "s": pd.array([pd.NA] * 60, dtype="string")})
    with pytest.warns(UserWarning, match="Skipping features"):
        assert list(VAEImputer(**FAST).fit_transform(X).columns) == ["x"]
    out = VAEImputer(keep_empty_features=True, **FAST).fit_transform(X)
    assert (out["s"] == 0).all() and np.isfinite(out["x"]).all()


def test_mixed_table_imputes_the_conditional_mean_in_the_users_units():
    """A skewed column of a mixed table (quantile-mapped) is imputed with its mean,
    not the inverse map of the mean in the map's units (about its median: 0.96
    for a lognormal column whose mean is 1.65)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    n = 1500
    y = np.exp(rng.normal(size=n))  # independent of the rest: E[y | rest] = E[y]
    missing = rng.uniform(size=n) < 0.2
    X = pd.DataFrame({"y": np.where(missing, np.nan, y),
                      "b": (rng.uniform(size=n) < 0.5).astype(object), "z": rng.normal(size=n)})
    imp = VAEImputer(max_iter=30, n_components=2, random_state=0).fit(X)
    imputed = imp.transform(X)["y"].to_numpy()[missing]
    observed_mean = np.nanmean(X["y"])
    assert abs(imputed.mean() - observed_mean) < 0.15 * observed_mean
    assert np.median(imputed) > 1.2  # the median of y is 1

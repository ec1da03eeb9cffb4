"""``VAEOversampler``: an imbalanced-learn sampler drawing rows from a conditional VAE."""

import sys

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

import sklearn_vae
from sklearn_vae import VAETransformer

imblearn = pytest.importorskip("imblearn")
from imblearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from sklearn_vae import VAEOversampler  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), max_iter=10)
TRAINED = dict(hidden_layer_sizes=(32,), max_iter=100, init="random")  # as the default


def imbalanced(n=300, seed=0):
    rng = np.random.RandomState(seed)
    y = (rng.uniform(size=n) < 0.1).astype(int)
    X = rng.normal(size=(n, 5))
    X[:, 0] += 3.0 * y
    return X, y


@pytest.mark.parametrize("sampling", ["interpolate", "posterior", "prior"])
def test_oversampler_balances_classes_with_class_like_rows(sampling):
    X, y = imbalanced()
    sampler = VAEOversampler(estimator=VAETransformer(**TRAINED), random_state=0,
                             sampling=sampling)
    X_res, y_res = sampler.fit_resample(X, y)
    counts = np.bincount(y)
    assert np.bincount(y_res).tolist() == [counts[0], counts[0]]
    # The original rows come first, unchanged; the new rows are minority-like.
    np.testing.assert_array_equal(X_res[:len(X)], X)
    new = X_res[len(X):]
    assert new.shape == (counts[0] - counts[1], 5)
    assert new[:, 0].mean() > 1.5
    assert sampler.estimator_.conditional and sampler.estimator_.classes_.tolist() == [0, 1]
    # Seeded: the same random_state gives the same rows.
    again = VAEOversampler(estimator=VAETransformer(**TRAINED), random_state=0,
                           sampling=sampling).fit_resample(X, y)[0]
    np.testing.assert_array_equal(again, X_res)


@pytest.mark.parametrize("strategy, expected", [
    (0.5, [270, 135]), ({1: 100}, [270, 100]), ("minority", [270, 270]),
])
def test_oversampler_sampling_strategy_as_smote(strategy, expected):
    X, y = imbalanced()
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    _, y_res = VAEOversampler(sampling_strategy=strategy, estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(X, y)
    assert np.bincount(y_res).tolist() == expected


def test_oversampler_keeps_dataframe_types():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    y = pd.Series(np.r_[np.zeros(180, int), np.ones(20, int)], name="target")
    df = pd.DataFrame({"amount": rng.normal(size=200) + 2 * y,
                       "kind": pd.Categorical(rng.choice(["a", "b", "c"], 200)),
                       "count": rng.randint(0, 9, 200),
                       "flag": rng.uniform(size=200) < 0.3})
    X_res, y_res = VAEOversampler(estimator=VAETransformer(**FAST),
                                  random_state=0).fit_resample(df, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert X_res.dtypes.to_dict() == df.dtypes.to_dict()
    assert set(X_res["kind"].cat.categories) == {"a", "b", "c"}
    assert y_res.name == "target" and y_res.value_counts().to_dict() == {0: 180, 1: 180}
    assert X_res.index.equals(pd.RangeIndex(360))


def test_oversampler_in_imblearn_pipeline_and_grid_search():
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression

    X, y = imbalanced(200)
    pipe = Pipeline([("over", VAEOversampler(estimator=VAETransformer(**FAST),
                                             random_state=0)),
                     ("clf", LogisticRegression())])
    grid = GridSearchCV(pipe, {"over__estimator__n_components": [1, 2]}, cv=2,
                        scoring="average_precision").fit(X, y)
    assert grid.best_params_["over__estimator__n_components"] in (1, 2)
    assert grid.predict(X).shape == (200,)


def test_oversampler_leaves_the_template_estimator_alone():
    X, y = imbalanced(120)
    template = VAETransformer(**FAST)
    VAEOversampler(estimator=template, random_state=0).fit_resample(X, y)
    assert template.conditional is False and not hasattr(template, "net_")


def test_oversampler_rejects_bad_parameters():
    X, y = imbalanced(60)
    with pytest.raises(ValueError, match="sampling"):
        VAEOversampler(sampling="nearest").fit_resample(X, y)
    with pytest.raises(ValueError, match="estimator"):
        VAEOversampler(estimator="vae").fit_resample(X, y)


def test_missing_imbalanced_learn_gives_install_hint(monkeypatch):
    for name in list(sys.modules):
        if name == "imblearn" or name.startswith("imblearn."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "sklearn_vae._oversampler", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-vae\[imbalanced\]'"):
        sklearn_vae.VAEOversampler  # noqa: B018


@parametrize_with_checks(
    [VAEOversampler(estimator=VAETransformer(hidden_layer_sizes=(8,), max_iter=2),
                    random_state=0)],
    expected_failed_checks=lambda est: {
        "check_samplers_pandas_sparse": "the VAE needs dense data: sparse columns get "
                                        "an error that says how to convert them"})
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


def test_interpolated_rows_lie_between_rows_of_their_class():
    """Latent SMOTE: new codes sit on segments between codes of minority neighbours."""
    X, y = imbalanced()
    sampler = VAEOversampler(estimator=VAETransformer(**TRAINED), random_state=0,
                             k_neighbors=3)
    X_res, _ = sampler.fit_resample(X, y)
    est = sampler.estimator_
    new = X_res[len(X):]
    minority = X[y == 1]
    z_min = est.transform(minority, np.ones(len(minority), dtype=int))
    z_new = est.transform(new, np.ones(len(new), dtype=int))
    lo, hi = z_min.min(axis=0), z_min.max(axis=0)
    # Decoded and re-encoded, the new rows' codes stay within the class's codes.
    slack = 0.25 * (hi - lo)
    assert np.all((z_new >= lo - slack) & (z_new <= hi + slack))
    # More spread than repeating real rows: few exact duplicates of one another.
    assert len(np.unique(new.round(6), axis=0)) > 0.9 * len(new)


def test_interpolate_with_a_single_row_class_repeats_its_code():
    X, y = imbalanced()
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:1]])
    X1, y1 = X[keep], y[keep]
    X_res, y_res = VAEOversampler(estimator=VAETransformer(**FAST), random_state=0,
                                  sampling_strategy={1: 5}).fit_resample(X1, y1)
    new = X_res[len(X1):]
    assert np.bincount(y_res).tolist() == [int((y1 == 0).sum()), 5]
    assert len(new) == 4  # sampling_strategy counts the class after resampling
    np.testing.assert_allclose(new, np.repeat(new[:1], len(new), axis=0))



def test_residuals_put_back_the_detail_of_real_rows():
    """With ``residuals=True`` a class of one row gets that very row back, and new
    rows keep the spread of the real ones (the decoder's mean alone is narrower)."""
    X, y = imbalanced()
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:1]])
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST), random_state=0,
                              residuals=True, sampling_strategy={1: 4}).fit_resample(
        X[keep], y[keep])
    np.testing.assert_allclose(X_res[len(keep):], np.repeat(X[keep][-1:], 3, axis=0),
                               rtol=1e-5, atol=1e-5)

    spread = {}
    for residuals in (False, True):
        X_res, _ = VAEOversampler(estimator=VAETransformer(**TRAINED), random_state=0,
                                  residuals=residuals).fit_resample(X, y)
        spread[residuals] = np.median(X_res[len(X):].std(axis=0) / X[y == 1].std(axis=0))
    # Four of the five columns are noise: the decoder's mean is nearly constant there.
    assert spread[False] < 0.2 and 0.6 < spread[True] <= 1.05


def test_residuals_keep_dataframe_types_and_the_class_mix_of_categories():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    y = pd.Series(np.r_[np.zeros(180, int), np.ones(20, int)])
    df = pd.DataFrame({"amount": rng.normal(size=200) + 2 * y,
                       "kind": pd.Categorical(rng.choice(["a", "b", "c"], 200)),
                       "count": rng.randint(0, 9, 200),
                       "flag": rng.uniform(size=200) < 0.3})
    # The minority has only kinds "b" and "c", in a 3:1 mix, and never "a".
    df.loc[y == 1, "kind"] = np.r_[["b"] * 15, ["c"] * 5]
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST), random_state=0,
                              residuals=True).fit_resample(df, y)
    assert X_res.dtypes.to_dict() == df.dtypes.to_dict()
    assert X_res["flag"].isin([True, False]).all()
    # Categories come from the two real rows of each new row: the class's own mix,
    # not the decoder's most probable level for every row.
    new_kinds = X_res["kind"].iloc[len(df):].value_counts(normalize=True)
    assert set(new_kinds.index[new_kinds > 0]) <= {"b", "c"}
    assert 0.6 < new_kinds["b"] < 0.9
    assert (X_res["count"].iloc[len(df):] % 1 == 0).all()


def test_balanced_fit_repeats_every_class_up_to_the_largest():
    from sklearn_vae._oversampler import _balanced_index

    y = np.r_[np.zeros(50, int), np.ones(7, int), np.full(3, 2)]
    idx = _balanced_index(y, np.random.RandomState(0))
    assert np.bincount(y[idx]).tolist() == [50, 50, 50]
    assert set(idx) == set(range(len(y)))  # every real row is used at least once

    # The conditional VAE behind the sampler still knows every class.
    X, y = imbalanced()
    sampler = VAEOversampler(estimator=VAETransformer(**FAST), random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.balanced_fit and sampler.estimator_.classes_.tolist() == [0, 1]


def test_residual_rows_stay_within_the_class_range_and_accept_none():
    """New continuous values stay in the column's observed range (an unsigned
    count cannot wrap around); None marks a missing entry."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(180, int), np.ones(20, int)]
    df = pd.DataFrame({"amount": rng.normal(size=200) + 2 * y,
                       "count": rng.poisson(0.3 + 2 * y).astype(np.uint8)})
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(df, y)
    new = X_res.iloc[len(df):]
    assert X_res["count"].dtype == np.uint8
    for col in df.columns:
        assert df[col].min() <= new[col].min() <= new[col].max() <= df[col].max()

    X = np.empty((200, 2), dtype=object)
    X[:, 0], X[:, 1] = df["amount"], np.where(y == 1, "b", rng.choice(["a", "b"], 200))
    X[185, 0], X[3, 1] = None, None
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(X, y)
    assert X_res.shape == (360, 2) and set(X_res[200:, 1]) == {"b"}
    assert not any(v is None for v in X_res[200:, 0])


@pytest.mark.parametrize("sampling", ["interpolate", "posterior", "prior"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.bool_])
def test_integer_array_draws_stay_in_each_columns_range(sampling, dtype):
    """Rounded draws of an integer (or bool) array, with observation noise too, are
    clipped to each column's range in X: a uint8 -1 would wrap around to 255."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(250, int), np.ones(50, int)]
    X = np.minimum(rng.poisson(0.5, size=(300, 3)), 1 if dtype is np.bool_ else 4)
    X = X.astype(dtype)
    for noise in (False, True):
        X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST), sampling=sampling,
                                  observation_noise=noise, random_state=0).fit_resample(X, y)
        assert X_res.dtype == X.dtype
        new = X_res[len(X):].astype(np.int64)
        assert (new >= X.min(axis=0)).all() and (new <= X.max(axis=0)).all()


def test_string_arrays_stay_string_arrays():
    """A numpy string array comes back as one, as from RandomOverSampler and
    SMOTEN (it became object); new levels are the rows', never truncated."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(90, int), np.ones(30, int)]
    X = rng.choice(["a", "bb", "c"], size=(120, 2))
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(X, y)
    assert X_res.dtype == X.dtype and (X_res[:120] == X).all()
    assert set(X_res.ravel()) <= {"a", "bb", "c"}
    # numbers written as text are numbers to the model, written back in full
    X = rng.normal(size=(120, 2)).round(2).astype(str)
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(X, y)
    assert X_res.dtype.kind == "U" and (X_res[:120] == X).all()
    assert np.isfinite(X_res[120:].astype(float)).all()


def test_object_array_columns_of_ints_stay_ints():
    """In an object array, a column of ints gets ints in the new rows (they were
    floats beside the real rows' ints), in every sampling mode; VAETransformer's
    sample does the same."""
    rng = np.random.RandomState(0)
    y = np.r_[np.zeros(90, int), np.ones(30, int)]
    X = np.empty((120, 3), dtype=object)
    X[:, 0], X[:, 1] = rng.normal(size=120), rng.randint(0, 5, 120)
    X[:, 2] = rng.choice(["a", "b"], 120)
    for sampling in ("interpolate", "posterior", "prior"):
        X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST), sampling=sampling,
                                  random_state=0).fit_resample(X, y)
        assert {type(v) for v in X_res[:, 1]} == {int}
        assert {type(v) for v in X_res[120:, 0]} == {float}
    model = VAETransformer(**FAST).fit(X)
    assert {type(v) for v in model.sample(20, random_state=0)[:, 1]} == {int}


def test_residual_values_stay_between_their_two_real_rows():
    """Each continuous value is clipped to the interval of its two real rows, as
    SMOTE's is: a value both share (the zero of a mostly-zero column) is kept, and
    no value leaves the class's range."""
    from sklearn_vae._oversampler import _between

    a, b = np.array([0.0, 1.0, np.nan, 2.0]), np.array([0.0, 3.0, 1.0, np.nan])
    np.testing.assert_array_equal(_between(np.array([0.3, 5.0, 9.0, -4.0]), a, b),
                                  [0.0, 3.0, 9.0, -4.0])

    rng = np.random.RandomState(1)  # not imbalanced()'s stream
    X, y = imbalanced(n=400)
    minority = np.flatnonzero(y == 1)
    # A sparse column: zero in 90% of the minority rows, positive in the rest.
    X[:, 1] = np.where(rng.uniform(size=len(y)) < 0.9, 0.0, rng.exponential(size=len(y)))
    X_res, _ = VAEOversampler(estimator=VAETransformer(**FAST),
                              random_state=0).fit_resample(X, y)
    new = X_res[len(X):]
    share_real = np.mean(X[minority, 1] == 0.0)
    assert np.mean(new[:, 1] == 0.0) > 0.5 * share_real ** 2
    lo, hi = X[minority].min(axis=0), X[minority].max(axis=0)
    assert np.all((new >= lo) & (new <= hi))


def test_random_state_none_leaves_the_global_rng_alone():
    # As every estimator of the package (SMOTE would draw from the global RNG).
    X, y = imbalanced()
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    VAEOversampler(estimator=VAETransformer(**FAST)).fit_resample(X, y)
    assert (np.random.get_state()[1] == before).all()

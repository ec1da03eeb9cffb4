"""dask: lazy block-by-block inference, dask-ml's Incremental training, and
GridSearchCV on a dask cluster, on a real ``distributed.LocalCluster`` with
worker processes (no mocks)."""

import pickle

import numpy as np
import pandas as pd
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def table(n=1200, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 5)) @ rng.normal(size=(5, 5))


def test_incremental_trains_over_the_blocks_on_workers(client):
    X = table()
    dX = da.from_array(X, chunks=(300, 5))
    inc = wrappers.Incremental(VAETransformer(n_components=2, **SMALL),
                               shuffle_blocks=False).fit(dX)
    est = inc.estimator_
    assert est.n_iter_ == 4  # one partial_fit pass per block
    # The same passes in memory, in the same block order, give the same model.
    local = VAETransformer(n_components=2, **SMALL)
    for block in np.array_split(X, 4):
        local.partial_fit(block)
    np.testing.assert_array_equal(est.transform(X), local.transform(X))


def test_inference_on_dask_arrays_is_lazy_and_equals_in_memory(client):
    X = table()
    dX = da.from_array(X, chunks=(250, 2))  # split columns too: rechunked to whole rows
    vae = VAETransformer(n_components=3, max_iter=5, **SMALL).fit(X)
    Z = vae.transform(dX)
    assert isinstance(Z, da.Array) and Z.shape == (1200, 3) and Z.dtype == np.float64
    np.testing.assert_array_equal(Z.compute(), vae.transform(X))
    np.testing.assert_array_equal(vae.score_samples(dX).compute(), vae.score_samples(X))
    np.testing.assert_array_equal(vae.score_samples_per_feature(dX).compute(),
                                  vae.score_samples_per_feature(X))
    assert vae.score(dX) == pytest.approx(vae.score(X), rel=1e-12)
    det = VAEOutlierDetector(max_steps=50, **SMALL).fit(X)
    pred = det.predict(dX)
    assert isinstance(pred, da.Array) and pred.dtype == np.int64
    np.testing.assert_array_equal(pred.compute(), det.predict(X))
    np.testing.assert_array_equal(det.decision_function(dX).compute(),
                                  det.decision_function(X))
    with pytest.raises(ValueError, match="expecting 5 features"):
        vae.transform(dX[:, :4])


def test_inference_on_dask_dataframes_keeps_columns_and_dtypes(client):
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600),
                       "c": pd.Categorical(rng.choice(["x", "y"], 600))})
    df.loc[rng.uniform(size=600) < 0.2, "a"] = np.nan
    ddf = dd.from_pandas(df, npartitions=3)
    imp = VAEImputer(max_iter=5, **SMALL).fit(df)
    filled = imp.transform(ddf)
    assert isinstance(filled, dd.DataFrame)
    assert filled.dtypes.to_dict() == df.dtypes.to_dict()
    pd.testing.assert_frame_equal(filled.compute(), imp.transform(df))
    vae = VAETransformer(n_components=2, max_iter=5, **SMALL).fit(df)
    codes = vae.transform(ddf).compute()
    assert list(codes.columns) == ["vae0", "vae1"]
    np.testing.assert_array_equal(codes.to_numpy(), vae.transform(df))
    scores = vae.score_samples(ddf).compute()
    assert isinstance(scores, pd.Series)
    np.testing.assert_array_equal(scores.to_numpy(), vae.score_samples(df))


def test_grid_search_on_the_cluster_equals_loky(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X = table(300)

    def search():
        return GridSearchCV(VAETransformer(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
                            {"n_components": [1, 2]}, cv=2, n_jobs=2).fit(X)

    with joblib.parallel_backend("dask"):
        on_dask = search()
    on_loky = search()
    assert on_dask.best_params_ == on_loky.best_params_
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  on_loky.cv_results_["mean_test_score"])


def test_a_fitted_model_ships_without_training_data():
    X = table()
    vae = VAETransformer(n_components=2, max_iter=3, **SMALL).fit(X)
    blob = pickle.dumps(vae)
    assert len(blob) < 200_000  # weights, schema, optimizer moments; no rows
    assert vae.net_.train_split is None
    np.testing.assert_array_equal(pickle.loads(blob).transform(X), vae.transform(X))


def test_empty_blocks_and_partitions_give_empty_results():
    """A filter leaves empty blocks / partitions: they give empty results of the
    right shape and dtype (they failed the whole compute with 'Found array with 0
    sample(s)'); the other rows equal the in-memory results."""
    import dask

    X = table(200)
    X[::7, 1] = np.nan
    vae = VAETransformer(n_components=2, max_iter=3, **SMALL).fit(X)
    det = VAEOutlierDetector(max_iter=3, **SMALL).fit(X)
    imp = VAEImputer(max_iter=3, **SMALL).fit(X)
    dX = da.from_array(X, chunks=((30, 0, 170), (5,)))
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcde")), npartitions=4)
    kept = frame[frame["a"] < np.inf].map_partitions(  # partitions 2-4 emptied
        lambda d: d[d.index < 60])
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(vae.transform(dX).compute(), vae.transform(X))
        np.testing.assert_array_equal(det.predict(dX).compute(), det.predict(X))
        np.testing.assert_array_equal(imp.transform(dX).compute(), imp.transform(X))
        # The imputer's scores are lazy too (they were computed eagerly).
        lazy = imp.score_samples(dX)
        assert isinstance(lazy, da.Array)
        np.testing.assert_array_equal(lazy.compute(), imp.score_samples(X))
        np.testing.assert_array_equal(imp.score_samples_per_feature(dX).compute(),
                                      imp.score_samples_per_feature(X))
        codes = vae.transform(kept).compute()
        assert codes.shape == (60, 2)
        np.testing.assert_array_equal(codes.to_numpy(), vae.transform(X[:60]))
        scores = det.score_samples(kept).compute()
        np.testing.assert_array_equal(scores.to_numpy(), det.score_samples(X[:60]))
        filled = imp.transform(kept).compute()
        assert filled.shape == (60, 5) and not filled.isna().any().any()

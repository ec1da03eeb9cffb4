"""``partial_fit``: scikit-learn's incremental convention on all three estimators."""

import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

SMALL = dict(hidden_layer_sizes=(16,), random_state=0)
ESTIMATORS = [VAETransformer, VAEImputer, VAEOutlierDetector]


def data(n=600, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 4)) @ rng.normal(size=(4, 4))


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_partial_fit_makes_one_pass_per_call_and_restores_the_parameters(cls):
    X = data()
    est = cls(**SMALL)
    params = est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: one pass is the contract
        for chunk in np.array_split(X, 3):
            est.partial_fit(chunk)
    assert est.get_params() == params
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert est.validation_scores_ is None
    # One pass = ceil(rows / batch) optimizer steps over that chunk's rows.
    batches = [len(epoch["batches"]) for epoch in est.net_.history]
    sizes = [len(c) for c in np.array_split(X, 3)]
    assert batches == [int(np.ceil(n / est._resolve_batch_size(n))) for n in sizes]


def test_more_passes_lower_the_loss_and_match_what_fit_learns():
    X = data(1000)
    est = VAETransformer(n_components=2, **SMALL)
    for _ in range(15):
        for chunk in np.array_split(X, 4):
            est.partial_fit(chunk)
    assert est.loss_curve_[-1] < est.loss_curve_[0] - 0.3
    # 15 passes over 4 chunks learn about what 15 epochs of fit on all rows learn
    # (the same number of optimizer steps).
    full = VAETransformer(n_components=2, max_iter=15, early_stopping=False, **SMALL).fit(X)
    assert abs(est.score(X) - full.score(X)) < 0.5
    assert abs(est.loss_curve_[-1] - full.loss_curve_[-1]) < 0.3


def test_partial_fit_continues_a_fit_and_fit_starts_over():
    X = data()
    est = VAETransformer(max_iter=5, early_stopping=False, **SMALL).fit(X)
    weights = [p.detach().clone() for p in est.module_.parameters()]
    est.partial_fit(X[:200])
    assert est.n_iter_ == 6
    assert any(not np.array_equal(a, b.detach()) for a, b in
               zip(weights, est.module_.parameters()))
    est.fit(X)
    assert est.n_iter_ == 5  # fit (warm_start=False) starts over


def test_first_chunk_fits_the_schema_and_later_chunks_are_checked():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.normal(size=300),
                       "c": pd.Categorical(rng.choice(["a", "b"], 300))})
    est = VAETransformer(**SMALL).partial_fit(df)
    assert est.feature_names_in_.tolist() == ["x", "c"]
    bad = pd.DataFrame({"x": [0.0], "c": pd.Categorical(["z"])})
    with pytest.raises(ValueError, match="z"):
        est.partial_fit(bad)
    assert est.n_iter_ == 1  # the failed call left the model as it was
    with pytest.raises(ValueError, match="features"):
        VAETransformer(**SMALL).partial_fit(data()).partial_fit(data()[:, :3])


def test_detector_threshold_follows_the_latest_chunk():
    X = data()
    det = VAEOutlierDetector(contamination=0.1, **SMALL)
    det.partial_fit(X[:300])
    det.partial_fit(X[300:])
    flagged = np.mean(det.predict(X[300:]) == -1)
    assert 0.05 <= flagged <= 0.15


def test_an_explicit_sample_fits_the_schema_when_the_first_chunk_is_not_enough():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.normal(size=300),
                       "c": pd.Categorical(rng.choice(["a", "b", "c"], 300))})
    first = df[df["c"] != "c"]
    sample = df.groupby("c", observed=True).head(5)  # a few rows of every category
    est = VAETransformer(**SMALL).partial_fit(first, sample=sample)
    assert [spec.levels.tolist() for spec in est.schema_.specs_ if spec.levels is not None] \
        == [["a", "b", "c"]]
    est.partial_fit(df[df["c"] == "c"], sample=sample)  # now a known category
    assert est.n_iter_ == 2
    fresh = VAETransformer(**SMALL)
    with pytest.raises(ValueError, match="sample must have the columns of X"):
        fresh.partial_fit(first, sample=sample.rename(columns={"x": "y"}))
    assert not hasattr(fresh, "n_features_in_")  # still unfitted



def test_conditional_partial_fit_takes_classes_and_counts_every_chunk():
    """The first call fixes classes_ (``classes=`` as SGDClassifier's, for a first
    chunk that lacks some); class_prior_ counts the rows of every chunk; a label
    outside classes_ is an error that says how to include it."""
    rng = np.random.RandomState(0)
    y = np.repeat(["a", "b", "c"], [120, 60, 20])
    X = rng.normal(size=(200, 3)) + (y == "c")[:, None] * 3.0
    kw = dict(conditional=True, n_components=2, hidden_layer_sizes=(16,), random_state=0)
    first, rest = np.arange(200) < 150, np.arange(200) >= 150
    vae = VAETransformer(**kw).partial_fit(X[first], y[first])
    with pytest.raises(ValueError, match=r"partial_fit: y has labels \['c'\] that are not "
                                         r"among classes_=\['a', 'b'\]; the first "
                                         r"partial_fit call fixes them.*classes="):
        vae.partial_fit(X[rest], y[rest])
    vae = VAETransformer(**kw).partial_fit(X[first], y[first], classes=["c", "b", "a"])
    assert vae.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(vae.class_prior_, [120 / 150, 30 / 150, 0.0])
    vae.partial_fit(X[rest], y[rest])
    np.testing.assert_allclose(vae.class_prior_, [0.6, 0.3, 0.1])
    assert np.isfinite(vae.sample(50, y="c", random_state=0)).all()  # first absent
    with pytest.raises(ValueError, match=r"not in classes=\['a', 'b'\]; classes must "
                                         r"list every class"):
        VAETransformer(**kw).partial_fit(X, y, classes=["a", "b"])
    # fit with warm_start: class_prior_ of this fit's rows; classes_ kept.
    vae = VAETransformer(warm_start=True, max_iter=2, **kw).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X[y == "a"], y[y == "a"])
    np.testing.assert_allclose(vae.class_prior_, [1.0, 0.0, 0.0])
    assert vae.classes_.tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_continuing_with_another_architecture_is_refused(cls):
    """warm_start and partial_fit continue the fitted network: a changed
    n_components or hidden_layer_sizes is an error (IncrementalPCA's), not a
    silent continuation of the old network under the new parameters."""
    X = data(200)
    est = cls(n_components=2, max_iter=2, **SMALL).partial_fit(X)
    before = est.score_samples(X)
    est.set_params(n_components=3)
    with pytest.raises(ValueError, match=r"has n_components=2 and hidden_layer_sizes="
                                         r"\(16,\); the parameters now ask for "
                                         r"n_components=3"):
        est.partial_fit(X)
    est.set_params(n_components=2, hidden_layer_sizes=(8,), warm_start=True)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(8,\)\. Set them back"):
        est.fit(X)
    np.testing.assert_array_equal(est.score_samples(X), before)  # left as it was
    est.set_params(warm_start=False).fit(X)  # a new fit takes the new architecture
    assert est.module_.hidden_layer_sizes == (8,)

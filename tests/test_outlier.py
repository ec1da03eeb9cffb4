"""Behaviour of VAEOutlierDetector (the sklearn common checks are in test_common)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

SMALL = dict(max_iter=30, hidden_layer_sizes=(16,), n_importance_samples=20)
SCORES = ["likelihood", "elbo", "reconstruction"]


@pytest.fixture(scope="module")
def data():
    """Correlated 3-D Gaussian rows and one planted outlier at row 0."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(300, 1))
    X = np.hstack([z, 2 * z, -z]) + 0.1 * rng.normal(size=(300, 3))
    X[0] = [3.0, -6.0, 3.0]  # marginally plausible, off the correlation structure
    return X


@pytest.fixture(scope="module")
def fitted(data):
    return VAEOutlierDetector(contamination=0.05, random_state=0, **SMALL).fit(data)


def test_vae_outlier_detector_sign_conventions(fitted, data):
    scores = fitted.score_samples(data)
    assert scores.shape == (len(data),)
    # higher = more normal: the planted outlier has the lowest score
    assert np.argmin(scores) == 0
    assert_decision = fitted.decision_function(data)
    np.testing.assert_allclose(assert_decision, scores - fitted.offset_)
    assert assert_decision[0] < 0
    labels = fitted.predict(data)
    assert set(np.unique(labels)) <= {-1, 1}
    assert labels[0] == -1
    np.testing.assert_array_equal(labels == -1, assert_decision < 0)


@pytest.mark.parametrize("anomaly_score", SCORES)
def test_vae_outlier_detector_each_score_ranks_planted_outlier(data, anomaly_score):
    det = VAEOutlierDetector(anomaly_score=anomaly_score, random_state=0, **SMALL).fit(data)
    scores = det.score_samples(data)
    assert np.argmin(scores) == 0
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("contamination", [0.01, 0.1, 0.25])
def test_vae_outlier_detector_offset_is_contamination_quantile(data, contamination):
    det = VAEOutlierDetector(contamination=contamination, random_state=0, **SMALL).fit(data)
    train_scores = det.score_samples(data)
    assert det.offset_ == pytest.approx(np.percentile(train_scores, 100 * contamination))
    n_flagged = np.sum(det.predict(data) == -1)
    assert n_flagged == int(np.ceil(contamination * len(data)))
    np.testing.assert_array_equal(det.fit_predict(data), det.predict(data))


def test_vae_outlier_detector_auto_is_tukey_fence(fitted, data):
    det = VAEOutlierDetector(random_state=0, **SMALL).fit(data)  # contamination="auto"
    s = det.score_samples(data)
    q1, q3 = np.percentile(s, [25, 75])
    assert det.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    flagged = det.predict(data) == -1
    assert flagged[0] and flagged.mean() < 0.1


def test_vae_outlier_detector_scores_are_deterministic(fitted, data):
    a = fitted.score_samples(data)
    np.testing.assert_array_equal(a, fitted.score_samples(data))
    # a row's score does not depend on the batch it is scored in
    np.testing.assert_allclose(fitted.score_samples(data[5:6]), a[5:6], rtol=1e-10)
    np.testing.assert_allclose(fitted.score_samples(data[::-1]), a[::-1], rtol=1e-10)
    # same seed, same model
    again = VAEOutlierDetector(contamination=0.05, random_state=0, **SMALL).fit(data)
    np.testing.assert_allclose(again.score_samples(data), a, rtol=1e-6)


@pytest.mark.parametrize("anomaly_score", SCORES)
def test_vae_outlier_detector_attribution_sums_to_score(fitted, data, anomaly_score):
    det = fitted.set_params(anomaly_score=anomaly_score)
    try:
        per_feature = det.score_samples_per_feature(data[:20])
        assert per_feature.shape == (20, data.shape[1])
        np.testing.assert_allclose(per_feature.sum(axis=1), det.score_samples(data[:20]),
                                   rtol=1e-9, atol=1e-9)
    finally:
        det.set_params(anomaly_score="likelihood")


def test_vae_outlier_detector_attribution_names_the_odd_column():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(300, 4))
    X[0, 2] = 12.0  # only column 2 is anomalous
    det = VAEOutlierDetector(anomaly_score="reconstruction", random_state=0, **SMALL).fit(X)
    assert np.argmin(det.score_samples_per_feature(X[:1])[0]) == 2
    det.set_params(anomaly_score="likelihood")
    assert np.argmin(det.score_samples_per_feature(X[:1])[0]) == 2


def test_vae_outlier_detector_accepts_nan_rows(fitted, data):
    X = data[:10].copy()
    X[1, 0] = np.nan
    X[2, [0, 2]] = np.nan
    for name in SCORES:
        fitted.set_params(anomaly_score=name)
        scores = fitted.score_samples(X)
        per_feature = fitted.score_samples_per_feature(X)
        assert np.all(np.isfinite(scores))
        assert per_feature[1, 0] == 0.0 and per_feature[2, 2] == 0.0
        np.testing.assert_allclose(per_feature.sum(axis=1), scores, rtol=1e-9, atol=1e-9)
    fitted.set_params(anomaly_score="likelihood")
    assert fitted.predict(X).shape == (10,)


def test_vae_outlier_detector_trains_on_nan(data):
    X = data.copy()
    X[np.random.RandomState(0).rand(*X.shape) < 0.1] = np.nan
    det = VAEOutlierDetector(random_state=0, **SMALL).fit(X)
    assert np.all(np.isfinite(det.score_samples(X)))


def test_vae_outlier_detector_in_pipeline(data):
    pipe = make_pipeline(
        StandardScaler(), VAEOutlierDetector(contamination=0.05, random_state=0, **SMALL)
    )
    labels = pipe.fit_predict(data)
    assert labels.shape == (len(data),) and labels[0] == -1
    assert np.argmin(pipe.score_samples(data)) == 0
    assert pipe.decision_function(data)[0] < 0


def test_vae_outlier_detector_trimming_switches_on_after_warmup(data):
    det = VAEOutlierDetector(trim_fraction=0.2, trim_warmup=3, max_iter=5,
                             early_stopping=False, random_state=0).fit(data)
    assert det.net_.trim_fraction_ == 0.2
    det0 = VAEOutlierDetector(trim_fraction=0.2, trim_warmup=10, max_iter=5,
                              early_stopping=False, random_state=0).fit(data)
    assert det0.net_.trim_fraction_ == 0.0
    full = VAEOutlierDetector(trim_fraction=0.0, max_iter=5, early_stopping=False,
                              random_state=0).fit(data)
    # trimming never started: same training as no trimming at all
    np.testing.assert_allclose(det0.loss_curve_, full.loss_curve_)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(contamination=0.6), "contamination"),
        (dict(contamination=0.0), "contamination"),
        (dict(contamination="high"), "contamination"),
        (dict(anomaly_score="mahalanobis"), "anomaly_score"),
        (dict(trim_fraction=0.5), "trim_fraction"),
        (dict(trim_warmup=-1), "trim_warmup"),
    ],
)
def test_vae_outlier_detector_invalid_params(data, params, match):
    with pytest.raises(ValueError, match=match):
        VAEOutlierDetector(**params, **SMALL).fit(data)


@pytest.mark.parametrize(
    "method", ["score_samples", "decision_function", "predict", "score_samples_per_feature"]
)
def test_vae_outlier_detector_unfitted(data, method):
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(VAEOutlierDetector(), method)(data)


def test_vae_outlier_detector_wrong_width(fitted, data):
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples(data[:, :2])

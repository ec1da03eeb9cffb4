"""Behaviour of VAEOutlierDetector (the sklearn common checks are in test_common)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector
from sklearn_vae._outlier import medcouple

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


def test_medcouple_reference_values():
    rng = np.random.default_rng(0)
    x = rng.exponential(size=2000)
    # The medcouple of the exponential distribution is 1/3 (Brys et al., 2004).
    assert medcouple(x) == pytest.approx(1 / 3, abs=0.04)
    assert medcouple(-x) == pytest.approx(-medcouple(x))  # mirror image: negated
    assert abs(medcouple(rng.normal(size=2000))) < 0.05  # symmetric: about 0
    # Larger inputs are subsampled deterministically.
    big = rng.exponential(size=10_000)
    assert medcouple(big, random_state=1) == medcouple(big, random_state=1)


def _fence(s):
    q1, q3 = np.percentile(s, [25, 75])
    mc = medcouple(s)  # at most 2000 scores: no subsampling
    factor = np.exp(-3 * mc) if mc < 0 else np.exp(-4 * mc)
    return q1 - 1.5 * factor * (q3 - q1)


def test_vae_outlier_detector_auto_is_adjusted_boxplot_fence(data):
    # contamination="auto"; without the entry cap the fence is on the scores
    det = VAEOutlierDetector(entry_cap=None, random_state=0, **SMALL).fit(data)
    assert det.entry_cap_ is None
    s = det.score_samples(data)
    assert det.offset_ == pytest.approx(_fence(s))
    flagged = det.predict(data) == -1
    assert flagged[0] and flagged.mean() < 0.1


@pytest.fixture(scope="module")
def spike():
    """A spike column (one value, three far ones) and a row unusual in three columns."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    X[:, 3] = 0.0
    X[:3, 3] = [15.0, 16.0, 18.0]
    X[3] = [4.0, -4.0, 4.0, 0.0]
    plain = VAEOutlierDetector(entry_cap=None, random_state=0, **SMALL).fit(X)
    capped = VAEOutlierDetector(random_state=0, **SMALL).fit(X)  # entry_cap="auto"
    return X, plain, capped


def test_vae_outlier_detector_entry_cap_bounds_a_spike_column(spike):
    X, plain, capped = spike
    # The cap: -log of a value drawn with probability 1/(n+1) uniformly over the
    # column's range (standardized units, at least 2).
    scale = X.std(axis=0)
    width = np.maximum((X.max(axis=0) - X.min(axis=0)) / scale, 2.0)
    np.testing.assert_allclose(capped.entry_cap_, np.log(len(X) + 1) + np.log(width))
    # Without it the spike column alone costs the three spike rows over 500 nats;
    # with it no entry costs more than its cap (up to the shared latent term).
    assert (plain.score_samples_per_feature(X[:3])[:, 3] < -500).all()
    per_feature = capped.score_samples_per_feature(X[:4])
    # beyond the cap a surprise s counts as cap + log(1 + s - cap): ~ +log(1500)
    assert (per_feature[:3, 3] > -capped.entry_cap_[3] - 9.0).all()
    np.testing.assert_allclose(per_feature.sum(axis=1), capped.score_samples(X[:4]),
                               rtol=1e-9, atol=1e-9)
    # So the row unusual in several columns is the least likely one again.
    assert np.argmin(capped.score_samples(X)) == 3
    assert np.argmin(plain.score_samples(X)) in (0, 1, 2)
    # Training is the same: the cap only changes scores.
    np.testing.assert_array_equal(capped.loss_curve_, plain.loss_curve_)


def test_vae_outlier_detector_auto_fence_is_set_on_uncapped_scores(spike):
    X, plain, capped = spike
    # "auto" flags the share of rows whose uncapped log-likelihood is below the
    # adjusted fence: the lowest capped scores, as many rows.
    share = np.mean(plain.score_samples(X) < plain.offset_)
    assert share > 0
    flagged = capped.predict(X) == -1
    assert flagged.sum() == round(share * len(X))
    assert flagged[:4].all()
    np.testing.assert_array_equal(capped.fit_predict(X), capped.predict(X))


def test_vae_outlier_detector_float_entry_cap(data):
    det = VAEOutlierDetector(entry_cap=2.0, contamination=0.05, random_state=0,
                             **SMALL).fit(data)
    np.testing.assert_array_equal(det.entry_cap_, np.full(3, 2.0))
    plain = VAEOutlierDetector(entry_cap=None, contamination=0.05, random_state=0,
                               **SMALL).fit(data)
    # (up to float32 rounding: the capped weights sum capped entries, not the
    # plain sum plus a correction)
    assert (det.score_samples(data) >= plain.score_samples(data) - 1e-5).all()
    # the cap softens far entries but keeps their order: the planted row is last
    assert np.argmin(det.score_samples(data)) == 0
    # the reconstruction score is not a likelihood: no cap there
    det.set_params(anomaly_score="reconstruction")
    plain.set_params(anomaly_score="reconstruction")
    np.testing.assert_array_equal(det.score_samples(data), plain.score_samples(data))


def test_vae_outlier_detector_auto_flags_about_the_planted_rate():
    """Planted outliers, 3% of the rows: "auto" flags them and few normal rows."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(600, 4))
    X[:18] += rng.choice([-1.0, 1.0], size=(18, 4)) * 6.0
    det = VAEOutlierDetector(random_state=0, **SMALL).fit(X)
    flagged = det.predict(X) == -1
    assert flagged[:18].mean() >= 0.9
    assert flagged[18:].mean() < 0.03


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
    # A budget of few epochs starts trimming after a quarter of them (here 2 of 8),
    # not after trim_warmup=10, so a large table trained on few epochs is trimmed.
    short = VAEOutlierDetector(trim_fraction=0.2, trim_warmup=10, max_iter=8,
                               early_stopping=False, random_state=0).fit(data)
    assert short.net_.trim_fraction_ == 0.2
    # A single planned epoch (max_iter=1 here; tables over ~142,000 rows under the
    # step cap) trims after a quarter of its steps: an epoch warm-up never ends.
    one = dict(trim_warmup=10, max_iter=1, batch_size=20, early_stopping=False,
               random_state=0)
    det1 = VAEOutlierDetector(trim_fraction=0.2, **one).fit(data)
    assert det1.net_.trim_fraction_ == 0.2
    full = VAEOutlierDetector(trim_fraction=0.0, **one).fit(data)
    assert not np.allclose(det1.loss_curve_, full.loss_curve_)


def test_trim_warmup_in_steps_switches_after_that_many_training_batches():
    from types import SimpleNamespace

    from sklearn_vae._training import TrimWarmup

    net = SimpleNamespace(history=[{}])  # the first epoch is open
    cb = TrimWarmup(0.1, steps=3)
    cb.on_train_begin(net)
    cb.on_epoch_begin(net)
    seen = []
    for training in (True, True, False, True, True, True):
        cb.on_batch_begin(net, training=training)
        seen.append(net.trim_fraction_)
    # validation batches do not count: batches 1-3 untrimmed, 4 and 5 trimmed
    assert seen == [0.0, 0.0, 0.0, 0.0, 0.1, 0.1]
    net.history.append({})  # a later epoch (warm start): trimmed from its start
    cb.on_epoch_begin(net)
    assert net.trim_fraction_ == 0.1


def test_vae_outlier_detector_step_budget_caps_training(data):
    """max_steps counts optimizer steps over all epochs; the last epoch may be cut."""
    det = VAEOutlierDetector(max_steps=7, batch_size=100, early_stopping=False,
                             random_state=0, **{k: v for k, v in SMALL.items()
                                                if k != "max_iter"}).fit(data)
    # 300 rows / 100 per batch = 3 steps per epoch: 7 steps = 3 epochs, the last cut to 1
    assert det.n_iter_ == 3
    assert list(det.net_.history[:, "train_batch_count"]) == [3, 3, 1]
    unbounded = VAEOutlierDetector(max_steps=None, max_iter=4, batch_size=100,
                                   early_stopping=False, random_state=0).fit(data)
    assert unbounded.n_iter_ == 4


def test_vae_outlier_detector_auto_budget_is_some_epochs_between_floor_and_cap(data):
    """max_steps="auto": _AUTO_EPOCHS epochs, at least the floor, at most the cap."""
    assert VAEOutlierDetector().max_steps == "auto"
    assert VAEOutlierDetector._AUTO_STEPS == (300, 3000)
    assert VAEOutlierDetector._AUTO_EPOCHS == 3
    small = type("SmallAuto", (VAEOutlierDetector,),
                 {"_AUTO_STEPS": (5, 40), "_AUTO_EPOCHS": 2})
    common = dict(early_stopping=False, hidden_layer_sizes=(8,), random_state=0)

    def batches(batch_size):
        det = small(batch_size=batch_size, **common).fit(data)
        return list(det.net_.history[:, "train_batch_count"])

    # 300 rows at batch 200: 2 steps per epoch, 2 epochs = 4 -> the floor of 5
    assert batches(200) == [2, 2, 1]
    # 3 steps per epoch at batch 100 -> two whole epochs
    assert batches(100) == [3, 3]
    # 15 steps per epoch at batch 20 -> two whole epochs
    assert batches(20) == [15, 15]
    # 30 steps per epoch at batch 10 -> 60, cut at the cap of 40
    assert batches(10) == [30, 10]


@pytest.mark.parametrize("n_values, steps_per_epoch, expected", [
    (6, 10, 300), (6, 500, 1500), (64, 2000, 3000),  # floor, three epochs, cap
    (64, 10, 300), (128, 10, 150), (192, 10, 100), (1555, 10, 100),  # the width floor
    (128, 400, 600), (128, 2000, 1500),  # 1.5 epochs, cap 1500 at half the width factor
    (1555, 400, 400), (1555, 2000, 1000),  # at least one epoch, at most 1000 steps
])
def test_vae_outlier_detector_auto_budget_shrinks_on_wide_rows(n_values, steps_per_epoch,
                                                               expected):
    """Beyond 64 encoded values every step count scales by 64 / width, within bounds."""
    det = VAEOutlierDetector()
    assert det._resolve_max_steps(steps_per_epoch, n_values=n_values) == expected
    assert det.set_params(max_steps=50)._resolve_max_steps(10, n_values=1555) == 50


def test_vae_outlier_detector_wide_table_trains_on_the_width_floor():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 320))  # 320 values: floor 300 * 64 / 320 = 60 -> 100
    det = VAEOutlierDetector(early_stopping=False, hidden_layer_sizes=(8,),
                             random_state=0).fit(X)
    assert sum(det.net_.history[:, "train_batch_count"]) == 100


def test_vae_outlier_detector_variances_have_their_own_rate(data):
    """The observation variances train at 30x the rate, warm starts included."""
    det = VAEOutlierDetector(max_iter=2, learning_rate_init=1e-3, random_state=0).fit(data)
    variance = det.net_.module_.raw_variance

    def rates(det):
        groups = det.net_.optimizer_.param_groups
        own = [g for g in groups if any(p is variance for p in g["params"])]
        assert len(groups) == 2 and len(own) == 1 and len(own[0]["params"]) == 1
        rest = next(g for g in groups if g is not own[0])
        return own[0]["lr"], rest["lr"]

    assert rates(det) == pytest.approx((3e-2, 1e-3))
    det.set_params(warm_start=True, learning_rate_init=2e-3).fit(data)
    variance = det.net_.module_.raw_variance
    assert rates(det) == pytest.approx((6e-2, 2e-3))


def test_vae_outlier_detector_sharp_column_variance_settles_in_a_short_budget():
    """Columns explained by the code up to 1% noise get small variances within 100 steps.

    At the weights' rate Adam moves a variance by about 1e-2 a step, so in
    100 steps it cannot get far below its start of 1; at 30x it gets near
    the columns' own noise level, which is what makes their deviations
    count in the score.
    """
    rng = np.random.RandomState(0)
    z = rng.normal(size=(2000, 1))
    X = np.hstack([z + 0.01 * rng.normal(size=(2000, 2)), rng.normal(size=(2000, 1))])
    X = (X - X.mean(0)) / X.std(0)
    common = dict(n_components=1, max_steps=100, early_stopping=False, trim_fraction=0.0,
                  random_state=0)
    det = VAEOutlierDetector(**common).fit(X)
    variance = det.net_.module_.observation_logvar().exp().detach().numpy()
    slow = type("SlowVariance", (VAEOutlierDetector,), {"_variance_lr_scale": 1.0})
    slow_variance = slow(**common).fit(X).net_.module_.observation_logvar().exp()
    assert (variance[:2] < 0.05).all()
    assert (slow_variance[:2] > 0.3).all()


def test_vae_outlier_detector_per_feature_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"],
                     index=np.arange(100, 300))
    X.iloc[0, 1] = 9.0  # column "b" makes row 0 unusual
    det = VAEOutlierDetector(random_state=0, **SMALL).fit(X)
    per = det.score_samples_per_feature(X.iloc[:5])
    assert isinstance(per, pd.DataFrame)
    assert list(per.columns) == ["a", "b", "c"] and per.index.equals(X.index[:5])
    np.testing.assert_allclose(per.sum(axis=1), det.score_samples(X.iloc[:5]), rtol=1e-10)
    assert per.iloc[0].idxmin() == "b"
    # An array in: sklearn's feature-name warning, still the training columns' names.
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        per_arr = det.score_samples_per_feature(X.to_numpy()[:2])
    assert list(per_arr.columns) == ["a", "b", "c"]
    # Fit on an array: an ndarray out.
    arr = VAEOutlierDetector(random_state=0, **SMALL).fit(X.to_numpy())
    assert isinstance(arr.score_samples_per_feature(X.to_numpy()[:2]), np.ndarray)


def test_vae_outlier_detector_novelty_use_on_new_rows():
    """Fit on clean rows, score new ones: anomalies rank below new normal rows."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(400, 1))
    clean = np.hstack([z, -z, 2 * z]) + 0.1 * rng.normal(size=(400, 3))
    z_new = rng.normal(size=(50, 1))
    new_normal = np.hstack([z_new, -z_new, 2 * z_new]) + 0.1 * rng.normal(size=(50, 3))
    # On the line's range but 3 units off it, perpendicular to (1, -1, 2).
    z_bad = rng.normal(size=(10, 1))
    off = np.array([1.0, 1.0, 0.0]) / np.sqrt(2) * 3.0 * rng.choice([-1, 1], size=(10, 1))
    anomalies = np.hstack([z_bad, -z_bad, 2 * z_bad]) + off
    det = VAEOutlierDetector(random_state=0, **SMALL).fit(clean)
    s_normal, s_anom = det.score_samples(new_normal), det.score_samples(anomalies)
    # Every anomaly scores below the 5th percentile of the new normal rows.
    assert s_anom.max() < np.percentile(s_normal, 5)
    assert (det.predict(anomalies) == -1).mean() >= 0.5
    assert (det.predict(new_normal) == 1).mean() >= 0.9


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(contamination=0.6), "contamination"),
        (dict(contamination=0.0), "contamination"),
        (dict(contamination="high"), "contamination"),
        (dict(anomaly_score="mahalanobis"), "anomaly_score"),
        (dict(trim_fraction=0.5), "trim_fraction"),
        (dict(trim_warmup=-1), "trim_warmup"),
        (dict(entry_cap=0.0), "entry_cap"),
        (dict(entry_cap="big"), "entry_cap"),
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


@pytest.mark.parametrize("subsampled", [False, True])
def test_fit_predict_scores_once_and_matches_fit_then_predict(data, monkeypatch,
                                                             subsampled):
    import pandas as pd

    X = pd.DataFrame(data, columns=[f"c{j}" for j in range(data.shape[1])])
    X.iloc[3, 1] = np.nan  # a missing entry: scored on its observed part
    if subsampled:  # the threshold set on a subset: every row is scored again
        monkeypatch.setattr(VAEOutlierDetector, "_threshold_rows", len(X) // 2)
    calls = []
    original = VAEOutlierDetector._anomaly_scores

    def counting(self, X_):
        calls.append(len(X_))
        return original(self, X_)

    monkeypatch.setattr(VAEOutlierDetector, "_anomaly_scores", counting)
    det = VAEOutlierDetector(contamination=0.1, random_state=0, **SMALL)
    labels = det.fit_predict(X)
    assert calls == ([len(X) // 2, len(X)] if subsampled else [len(X)])
    assert labels.dtype == int and set(np.unique(labels)) <= {-1, 1}
    np.testing.assert_array_equal(labels, det.predict(X))
    ref = VAEOutlierDetector(contamination=0.1, random_state=0, **SMALL).fit(X)
    assert ref.offset_ == det.offset_
    np.testing.assert_array_equal(labels, ref.predict(X))
    if not subsampled:  # the threshold is the training scores' quantile
        assert (labels == -1).sum() == int(np.ceil(0.1 * len(X)))


@pytest.mark.parametrize("frame", [False, True])
def test_score_samples_reuses_fit_scores_of_the_same_rows_only(data, monkeypatch, frame,
                                                               tmp_path):
    import pandas as pd

    from sklearn_vae import load, save

    X = data.copy()
    X[3, 1] = np.nan
    if frame:
        X = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    det = VAEOutlierDetector(contamination=0.1, random_state=0, **SMALL).fit(X)
    computed = det._anomaly_scores(det._validate_for_inference(X))
    calls = []
    original = VAEOutlierDetector._anomaly_scores

    def counting(self, X_):
        calls.append(len(X_))
        return original(self, X_)

    monkeypatch.setattr(VAEOutlierDetector, "_anomaly_scores", counting)
    # The same rows (an equal copy, not the same object): fit's scores, bit for bit.
    same = X.copy()
    np.testing.assert_array_equal(det.score_samples(same), computed)
    np.testing.assert_array_equal(det.predict(same), np.where(computed >= det.offset_, 1, -1))
    assert calls == []
    # The returned array is a copy: changing it does not change the next answer.
    det.score_samples(same)[:] = 0.0
    np.testing.assert_array_equal(det.score_samples(same), computed)
    # One entry changed, fewer rows, or a scoring parameter changed: scored anew.
    changed = X.copy()
    if frame:
        changed.iloc[5, 2] += 1e-9
    else:
        changed[5, 2] += 1e-9
    det.score_samples(changed)
    det.score_samples(X[:-1])
    assert calls == [len(X), len(X) - 1]
    det.set_params(n_importance_samples=5)
    five = det.score_samples(X)
    assert calls[-1] == len(X) and not np.array_equal(five, computed)
    det.set_params(n_importance_samples=SMALL["n_importance_samples"])
    # A saved model does not carry the cache; loaded, it scores anew, equally.
    save(det, tmp_path / "det.skvae")
    loaded = load(tmp_path / "det.skvae")
    assert getattr(loaded, "_score_cache", None) is None
    np.testing.assert_array_equal(loaded.score_samples(X), computed)
    assert calls[-1] == len(X)


def test_score_cache_tells_int_cells_from_their_strings():
    """The training-score cache keys DataFrames by content; pandas hashes object
    cells by str(), so ints 1/2 matched the strings "1"/"2" and the fitted detector
    returned training scores for rows it cannot score (a loaded copy raised)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"a": rng.normal(size=100),
                       "k": pd.Series(rng.choice(["1", "2"], 100), dtype=object)})
    det = VAEOutlierDetector(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(df)
    assert np.isfinite(det.score_samples(df)).all()
    with pytest.raises(ValueError, match=r"unknown categories \[1, 2\] in column 'k'"):
        det.score_samples(df.assign(k=df["k"].map(int).astype(object)))


def test_score_cache_is_keyed_by_the_entry_cap():
    """A copy of a fitted detector with entry_cap_ changed (as bench_anomaly_cap.py
    makes its uncapped twin) scores its training rows anew, not from the cache."""
    import copy

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    X[:5, 0] = 40.0  # entries the cap binds on
    det = VAEOutlierDetector(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X)
    plain = copy.copy(det)
    plain.entry_cap_ = None
    fresh = copy.copy(plain)
    fresh._score_cache = None
    np.testing.assert_array_equal(plain.score_samples(X), fresh.score_samples(X))
    assert not np.array_equal(plain.score_samples(X), det.score_samples(X))


def test_far_entries_score_lower_the_farther_they_are():
    """The entry cap in float32: a far entry's capped surprise is formed as
    min(s, cap) + log1p(s - cap), not the plain sum plus a correction, which
    cancelled (a column constant in training, off by 1e4 or more, scored above
    a normal row and was predicted an inlier)."""
    rng = np.random.RandomState(0)
    X = np.c_[rng.randn(200, 2), np.full(200, 1.0)]  # column 2: a stuck sensor
    det = VAEOutlierDetector(n_components=2, hidden_layer_sizes=(16,), max_iter=50,
                             n_importance_samples=5, random_state=0).fit(X)
    P = np.repeat(X[:1], 7, axis=0)
    P[:, 2] = 1.0 + np.array([0, 10, 100, 1e3, 1e4, 1e6, 1e30])
    scores = det.score_samples(P)
    assert np.isfinite(scores).all()
    assert (np.diff(scores) < 0).all()
    assert (det.predict(P)[1:] == -1).all()
    per_feature = det.score_samples_per_feature(P)[:, 2]
    assert np.isfinite(per_feature).all() and (np.diff(per_feature) < 0).all()


def test_entry_cap_bounds_what_one_far_entry_costs_the_whole_row():
    """The cap bounds the entry's own term, and the codes are proposed from the
    entry clipped to its training range, so the latent term does not carry the
    deviation instead (proposing from the entry as it is drove E[z|x] to norm 85
    at 300 sd, and the row's score to -3766 where the cap allows about -30)."""
    rng = np.random.RandomState(0)
    A = rng.normal(size=(5, 5))
    X = rng.normal(size=(1500, 5)) @ A
    det = VAEOutlierDetector(random_state=0).fit(X)
    sd = X[:, 0].std()
    row = np.repeat(X[:1], 5, axis=0)
    row[:, 0] += np.array([10, 30, 100, 300, 1e4]) * sd
    capped = det.score_samples(row)
    assert (np.diff(capped) < 0).all()  # farther is still less likely
    assert capped[3] > capped[0] - 15  # ... by a log: 10 sd to 300 sd costs little
    assert capped[4] > capped[0] - 40
    plain = clone(det).set_params(entry_cap=None).fit(X).score_samples(row)
    assert plain[3] < plain[0] - 1000  # the plain likelihood grows with the square
    training = det.score_samples(X[:50])  # rows in range: nothing changes for them
    det._entry_range = None
    np.testing.assert_array_equal(det.score_samples(X[:50] + 0.0), training)

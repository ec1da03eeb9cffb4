"""The three estimators on the same inputs: mixed tables, missing values."""

import numpy as np
import pytest

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

pd = pytest.importorskip("pandas")

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture(scope="module")
def mixed_frame():
    rng = np.random.default_rng(0)
    n = 80
    color = rng.choice(["red", "green", "blue"], size=n)
    amount = rng.lognormal(size=n) * 100
    df = pd.DataFrame({
        "amount": amount,
        "count": rng.integers(0, 5, size=n),
        "flag": rng.random(n) < 0.3,
        "color": pd.Categorical(color, categories=["blue", "green", "red"]),
    })
    return df


def test_numeric_dataframe_gives_the_same_model_as_its_array():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * [1.0, 10.0, 100.0]
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    a = VAETransformer(**FAST).fit(X)
    b = VAETransformer(**FAST).fit(df)
    np.testing.assert_allclose(a.transform(X), b.transform(df), rtol=1e-6)
    np.testing.assert_allclose(a.score_samples(X), b.score_samples(df), rtol=1e-6)
    sampled = b.sample(4, random_state=0)
    assert isinstance(sampled, pd.DataFrame) and list(sampled.columns) == ["a", "b", "c"]


def test_imputer_fills_a_mixed_table_with_its_own_types(mixed_frame):
    df = mixed_frame.copy()
    df.loc[[0, 1, 2], "color"] = np.nan
    df.loc[[3, 4], "amount"] = np.nan
    imp = VAEImputer(**FAST, n_train_samples=2, n_importance_samples=5)
    out = imp.fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns)
    assert out.isna().sum().sum() == 0
    assert out["color"].dtype == df["color"].dtype
    assert set(out.loc[[0, 1, 2], "color"]) <= {"blue", "green", "red"}
    assert (out.loc[[3, 4], "amount"] > 0).all()
    observed = df.index.difference([0, 1, 2, 3, 4])
    pd.testing.assert_frame_equal(out.loc[observed], df.loc[observed])
    drawn = VAEImputer(**FAST, n_train_samples=2, n_importance_samples=5,
                       sample_posterior=True, add_indicator=True).fit_transform(df)
    assert drawn.isna().sum().sum() == 0
    assert "missingindicator_color" in drawn.columns


@pytest.mark.parametrize("anomaly_score", ["likelihood", "elbo", "reconstruction"])
def test_outlier_detector_on_a_mixed_table(mixed_frame, anomaly_score):
    det = VAEOutlierDetector(contamination=0.1, anomaly_score=anomaly_score,
                             **FAST).fit(mixed_frame)
    labels = det.predict(mixed_frame)
    assert set(np.unique(labels)) <= {-1, 1}
    per_feature = det.score_samples_per_feature(mixed_frame)
    assert per_feature.shape == (len(mixed_frame), 4)
    np.testing.assert_allclose(per_feature.sum(axis=1), det.score_samples(mixed_frame),
                               rtol=1e-6)

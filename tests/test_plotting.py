import numpy as np
import pytest

from sklearn_vae.plotting import LatentSpaceDisplay


def test_latent_space_display_from_estimator(blobs, fitted_transformer):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = blobs
    disp = LatentSpaceDisplay.from_estimator(fitted_transformer, X, y)
    offsets = disp.ax_.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, fitted_transformer.transform(X), rtol=1e-6)
    assert disp.ax_.get_xlabel() == "vae0"


@pytest.fixture
def agg():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_loss_curve_display_plots_the_history(agg, blobs):
    from sklearn_vae import VAETransformer
    from sklearn_vae.plotting import LossCurveDisplay

    X, _ = blobs
    est = VAETransformer(max_iter=6, hidden_layer_sizes=(8,), random_state=0).fit(X)
    disp = LossCurveDisplay.from_estimator(est)
    train, valid = disp.ax_.get_lines()[:2]
    np.testing.assert_allclose(train.get_ydata(), est.loss_curve_)
    np.testing.assert_allclose(valid.get_ydata(), -np.asarray(est.validation_scores_))
    best = int(np.argmax(est.validation_scores_)) + 1
    assert f"best epoch ({best})" in [t.get_text() for t in disp.ax_.get_legend().get_texts()]


def test_latent_kl_display_sorted_bars(agg, fitted_transformer):
    from sklearn_vae.plotting import LatentKLDisplay

    disp = LatentKLDisplay.from_estimator(fitted_transformer)
    heights = [p.get_height() for p in disp.ax_.patches]
    np.testing.assert_allclose(heights, np.sort(fitted_transformer.kl_per_component_)[::-1])
    assert "latent dimensions active" in disp.ax_.get_title()


def test_feature_attribution_display_one_row_and_a_set(agg):
    import pandas as pd
    from sklearn.datasets import load_breast_cancer

    from sklearn_vae import VAEOutlierDetector
    from sklearn_vae.plotting import FeatureAttributionDisplay

    X = load_breast_cancer(as_frame=True).data.iloc[:150]
    det = VAEOutlierDetector(max_iter=3, hidden_layer_sizes=(8,), random_state=0).fit(X)
    disp = FeatureAttributionDisplay.from_estimator(det, X, rows=7, max_features=5)
    expected = det.score_samples_per_feature(X.iloc[[7]]).iloc[0]
    widths = [p.get_width() for p in disp.ax_.patches]
    np.testing.assert_allclose(widths, np.sort(expected.to_numpy())[:5])
    labels = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert labels == list(expected.sort_values().index[:5])
    assert disp.ax_.get_title() == "row 7"
    many = FeatureAttributionDisplay.from_estimator(det, X)
    assert many.ax_.get_title() == "mean of 150 rows"
    assert isinstance(det.score_samples_per_feature(X), pd.DataFrame)


def test_marginals_display_mixed_table(agg):
    import pandas as pd

    from sklearn_vae import VAETransformer
    from sklearn_vae.plotting import MarginalsDisplay

    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.normal(size=200),
                       "city": pd.Categorical(rng.choice(["a", "b", "c"], 200))})
    vae = VAETransformer(max_iter=3, hidden_layer_sizes=(8,), random_state=0).fit(df)
    disp = MarginalsDisplay.from_estimator(vae, df, n_samples=100)
    assert len(disp.axes_) == 2
    assert [ax.get_title() for ax in disp.axes_] == ["x", "city"]
    assert len(disp.synthetic) == 100 and list(disp.synthetic.columns) == ["x", "city"]


def test_displays_on_a_conditional_model_and_with_text_labels(agg):
    """A conditional model's codes and terms are given each row's class (both
    displays failed asking for y); text labels get a legend (matplotlib refused
    them as colours); an imputer is refused with a message, not plotted."""
    from sklearn_vae import VAEImputer, VAETransformer
    from sklearn_vae.plotting import FeatureAttributionDisplay

    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    y = np.where(np.arange(80) % 2, "cat", "dog")
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, n_components=2, random_state=0)
    cvae = VAETransformer(conditional=True, **kw).fit(X, y)
    disp = LatentSpaceDisplay.from_estimator(cvae, X, y)
    points = np.concatenate([c.get_offsets() for c in disp.ax_.collections])
    np.testing.assert_allclose(np.sort(points, axis=0),
                               np.sort(cvae.transform(X, y), axis=0), rtol=1e-6)
    assert [t.get_text() for t in disp.ax_.get_legend().get_texts()] == ["cat", "dog"]
    bars = FeatureAttributionDisplay.from_estimator(cvae, X, y, rows=[3])
    np.testing.assert_allclose(bars.contributions,
                               cvae.score_samples_per_feature(X[3:4], y[3:4])[0])
    plain = VAETransformer(**kw).fit(X)
    LatentSpaceDisplay.from_estimator(plain, X, y)  # text labels, unconditional
    with pytest.raises(TypeError, match="needs a VAETransformer .* VAEImputer"):
        LatentSpaceDisplay.from_estimator(VAEImputer(**kw).fit(X), X)

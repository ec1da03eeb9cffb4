import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_vae import VAETransformer

from .conftest import FAST


def test_vae_transformer_shapes_and_dtypes(blobs, fitted_transformer):
    X, _ = blobs
    vae = fitted_transformer
    Z = vae.transform(X)
    assert Z.shape == (120, 2) and Z.dtype == np.float32
    assert vae.transform(X.astype(np.float64)).dtype == np.float64
    assert vae.inverse_transform(Z).shape == (120, 4)
    assert vae.sample(7, random_state=0).shape == (7, 4)
    assert vae.score_samples(X).shape == (120,)
    assert vae.n_features_in_ == 4
    assert len(vae.loss_curve_) == vae.n_iter_ == len(vae.net_.history)
    assert isinstance(vae.module_, torch.nn.Module)
    np.testing.assert_array_equal(vae.get_feature_names_out(), ["vae0", "vae1"])


def test_vae_transformer_transform_is_deterministic_and_batch_invariant(
    blobs, fitted_transformer
):
    X, _ = blobs
    vae = fitted_transformer
    np.testing.assert_array_equal(vae.transform(X), vae.transform(X))
    full = vae.score_samples(X)
    one = np.array([vae.score_samples(X[i : i + 1])[0] for i in range(5)])
    np.testing.assert_allclose(one, full[:5], rtol=1e-7)
    assert vae.score(X) == pytest.approx(full.mean())


def test_fitted_model_ignores_parameters_set_after_fit(blobs):
    """As PCA: set_params(n_components=...) on a fitted model takes effect at the
    next fit. Every method reads n_components_ (the weights'), so scores stay
    right and shapes agree (score_samples silently changed, inverse_transform and
    pandas output failed)."""
    X, _ = blobs
    vae = VAETransformer(n_components=2, **FAST).fit(X)
    score, Z, Xs = vae.score_samples(X), vae.transform(X), vae.sample(3, random_state=0)
    for k in (1, 3):
        vae.set_params(n_components=k)
        assert vae.n_components_ == 2
        np.testing.assert_array_equal(vae.score_samples(X), score)
        np.testing.assert_array_equal(vae.transform(X), Z)
        np.testing.assert_array_equal(vae.sample(3, random_state=0), Xs)
        assert vae.inverse_transform(Z).shape == X.shape
        assert vae.sample(2, posterior_of=X, random_state=0).shape == (2, 4)
        np.testing.assert_array_equal(vae.get_feature_names_out(), ["vae0", "vae1"])
        assert list(vae.set_output(transform="pandas").transform(X).columns) == [
            "vae0", "vae1"]
        vae.set_output(transform="default")
    assert vae.fit(X).n_components_ == 3 and vae.transform(X).shape == (120, 3)
    with pytest.raises(NotFittedError):
        _ = VAETransformer().n_components_


def test_vae_transformer_same_seed_bit_identical(blobs):
    X, _ = blobs
    a = VAETransformer(**FAST).fit(X)
    b = VAETransformer(**FAST).fit(X)
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    np.testing.assert_array_equal(a.sample(5, random_state=1), b.sample(5, random_state=1))
    c = VAETransformer(**{**FAST, "random_state": 1}).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


@pytest.mark.parametrize("random_state", [None, 0])
def test_vae_transformer_leaves_global_rng_alone(blobs, random_state):
    X, _ = blobs
    np.random.seed(123)
    torch.manual_seed(123)
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    vae = VAETransformer(**{**FAST, "random_state": random_state}).fit(X)
    vae.sample(3, random_state=random_state)
    vae.score_samples(X)
    vae.transform(X)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_vae_transformer_sample_matches_data_marginals():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 2)) * [50.0, 0.1] + [10.0, -5.0]
    vae = VAETransformer(n_components=1, hidden_layer_sizes=(16,), max_iter=30,
                         random_state=0).fit(X)
    S = vae.sample(4000, random_state=0)
    assert np.all(np.abs(S.mean(axis=0) - X.mean(axis=0)) < 0.25 * X.std(axis=0))
    np.testing.assert_allclose(S.std(axis=0), X.std(axis=0), rtol=0.15)
    assert not np.array_equal(vae.sample(3, random_state=0), vae.sample(3, random_state=1))
    np.testing.assert_array_equal(vae.sample(3, random_state=0), vae.sample(3, random_state=0))


def test_vae_transformer_score_is_a_density_in_original_units():
    # Independent Gaussians with very different scales: the true mean
    # log-density is known; the standardization's Jacobian must be included.
    rng = np.random.default_rng(0)
    scale = np.array([100.0, 0.01])
    X = rng.normal(size=(2000, 2)) * scale + [5.0, -3.0]
    true = -0.5 * 2 * (1 + np.log(2 * np.pi)) - np.log(scale).sum()
    vae = VAETransformer(n_components=1, hidden_layer_sizes=(16,), max_iter=40,
                         random_state=0).fit(X)
    pca = PCA(n_components=1).fit(X)
    assert vae.score(X) == pytest.approx(true, abs=0.05)
    # Same units as PCA's score: both near the truth, not off by log-scales.
    assert abs(vae.score(X) - pca.score(X)) < 1.0


def test_vae_transformer_inverse_transform_in_original_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)) * [1000.0, 1.0, 0.001] + [1e4, 0.0, 5.0]
    vae = VAETransformer(**FAST).fit(X)
    X_rec = vae.inverse_transform(vae.transform(X))
    assert np.all(np.abs(X_rec.mean(axis=0) - X.mean(axis=0)) < 0.5 * X.std(axis=0))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        vae.inverse_transform(np.zeros((3, 5)))


def test_vae_transformer_pickle_and_joblib_round_trip(blobs, fitted_transformer, tmp_path):
    X, _ = blobs
    vae = fitted_transformer
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(X), vae.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X), vae.score_samples(X))
    joblib.dump(vae, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    np.testing.assert_array_equal(loaded.sample(4, random_state=0),
                                  vae.sample(4, random_state=0))


@pytest.mark.parametrize("n_samples", [1, 2, 5])
def test_vae_transformer_fewer_rows_than_batch(n_samples):
    X = np.arange(n_samples * 3, dtype=float).reshape(n_samples, 3)
    vae = VAETransformer(batch_size=128, **FAST).fit(X)
    assert vae.transform(X).shape == (n_samples, 2)
    assert np.isfinite(vae.score_samples(X)).all()


def test_vae_transformer_early_stopping_and_validation_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    vae = VAETransformer(hidden_layer_sizes=(8,), max_iter=300, n_iter_no_change=2,
                         random_state=0).fit(X)
    assert vae.n_iter_ < 300
    assert len(vae.validation_scores_) == vae.n_iter_
    assert vae.best_validation_score_ == max(vae.validation_scores_)
    off = VAETransformer(early_stopping=False, **FAST).fit(X)
    assert off.validation_scores_ is None and off.n_iter_ == 3


def test_vae_transformer_kl_warmup_ramps_weight(blobs):
    X, _ = blobs
    vae = VAETransformer(kl_warmup=4, beta=2.0, early_stopping=False, **FAST).fit(X)
    assert vae.net_.kl_weight_ == pytest.approx(2.0 * 3 / 4)


def test_vae_transformer_warm_start_continues(blobs):
    X, _ = blobs
    # From a random start the loss still falls steadily over six epochs, so
    # a second fit that restarted would show (from PCA it starts near its end).
    vae = VAETransformer(warm_start=True, early_stopping=False, init="random",
                         **FAST).fit(X)
    first = vae.loss_curve_[-1]
    vae.fit(X)
    assert vae.n_iter_ == 6
    assert vae.loss_curve_[-1] < first
    with pytest.raises(ValueError, match="expecting 4 features"):
        vae.fit(X[:, :3])


def test_vae_transformer_verbose_progress_bar(blobs, capsys):
    X, _ = blobs
    VAETransformer(verbose=1, **FAST).fit(X)
    err = capsys.readouterr().err
    assert "epochs" in err
    # The bar clears itself and leaves a summary line.
    assert "VAETransformer: 3 epochs (of at most 3), training loss" in err
    assert "best validation loss" in err
    VAETransformer(verbose=2, **FAST).fit(X)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out and "epochs (of at most" not in captured.err
    VAETransformer(**FAST).fit(X)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_vae_transformer_in_pipeline_and_grid_search(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), VAETransformer(**FAST), LogisticRegression())
    assert pipe.fit(X, y).score(X, y) > 0.5
    grid = {"n_components": [1, 2], "beta": [0.5, 1.0]}
    search = GridSearchCV(VAETransformer(**FAST), grid, cv=2, n_jobs=2).fit(X)
    assert set(search.best_params_) == {"n_components", "beta"}
    assert np.isfinite(search.best_score_)
    scored = GridSearchCV(make_pipeline(VAETransformer(**FAST), LogisticRegression()),
                          {"vaetransformer__n_components": [1, 2]}, cv=2,
                          scoring="accuracy", n_jobs=2).fit(X, y)
    assert 0 <= scored.best_score_ <= 1
    assert clone(VAETransformer(n_components=3)).get_params()["n_components"] == 3


def test_vae_transformer_set_output_pandas(blobs, fitted_transformer):
    pd = pytest.importorskip("pandas")
    X, _ = blobs
    df = pd.DataFrame(X, columns=list("abcd"))
    vae = clone(fitted_transformer).set_output(transform="pandas").fit(df)
    Z = vae.transform(df)
    assert list(Z.columns) == ["vae0", "vae1"]


def test_vae_transformer_accepts_rows_with_nan(blobs, fitted_transformer):
    X, _ = blobs
    X_nan = X.copy()
    X_nan[0, 1] = np.nan
    assert np.isfinite(fitted_transformer.transform(X_nan)).all()
    scores = fitted_transformer.score_samples(X_nan)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, np.inf], [2.0, 3.0]]), "infinity"),
        (np.array([1.0, 2.0, 3.0]), "Expected 2D array"),
        (np.empty((0, 3)), "0 sample"),
    ],
)
def test_vae_transformer_bad_input_errors(X, match):
    with pytest.raises(ValueError, match=match):
        VAETransformer(**FAST).fit(X)


def test_vae_transformer_errors_after_fit(blobs, fitted_transformer):
    X, _ = blobs
    with pytest.raises(ValueError, match="X has 3 features, but VAETransformer is expecting 4"):
        fitted_transformer.transform(X[:, :3])
    with pytest.raises(NotFittedError):
        VAETransformer().transform(X)
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted_transformer.sample(0)


@pytest.mark.parametrize(
    "params, err, match",
    [
        ({"n_components": 0}, InvalidParameterError, "n_components"),
        ({"beta": -1.0}, InvalidParameterError, "beta"),
        ({"validation_fraction": 1.5}, InvalidParameterError, "validation_fraction"),
        ({"hidden_layer_sizes": (8, 0)}, ValueError, "hidden_layer_sizes must be"),
        ({"device": "nonsense"}, ValueError, "not a valid torch device"),
    ],
)
def test_vae_transformer_invalid_parameters(blobs, params, err, match):
    X, _ = blobs
    with pytest.raises(err, match=match):
        VAETransformer(**{**FAST, **params}).fit(X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_vae_transformer_cuda_requested_without_cuda(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="CUDA is not available"):
        VAETransformer(device="cuda", **FAST).fit(X)


def test_vae_transformer_diverging_loss_names_the_cause(blobs):
    X, _ = blobs
    with pytest.raises(FloatingPointError, match="diverged.*learning_rate_init"):
        VAETransformer(learning_rate_init=1e8, **FAST).fit(X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_vae_transformer_gpu_fit_and_cpu_load(blobs):
    X, _ = blobs
    vae = VAETransformer(device="cuda", **FAST).fit(X)
    assert next(vae.module_.parameters()).is_cuda
    Z = vae.transform(X)
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_allclose(restored.transform(X), Z, rtol=1e-6)
    # What skorch does when the pickle is loaded where CUDA is absent.
    restored.net_.device = "cpu"
    restored.net_.module_.to("cpu")
    np.testing.assert_allclose(restored.transform(X), Z, rtol=1e-5, atol=1e-6)


def test_vae_transformer_restores_torch_threads(blobs):
    # A small network trains on one thread; the user's setting returns after fit.
    X, _ = blobs
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a = VAETransformer(**{**FAST, "max_iter": 2}).fit(X)
        assert torch.get_num_threads() == 2
        torch.set_num_threads(1)
        b = VAETransformer(**{**FAST, "max_iter": 2}).fit(X)
        # The thread rule does not depend on the user's setting or on timings.
        np.testing.assert_array_equal(a.transform(X), b.transform(X))
    finally:
        torch.set_num_threads(before)


def test_vae_transformer_floors_the_variance_of_discrete_columns():
    # Column 0 is continuous, column 1 takes the values 0, 2, 4 (a lattice of step 2),
    # column 2 is 0 in every training row. The floor of column 1 is the variance of
    # uniform noise over one step in standardized units, (2 / std)^2 / 12; the
    # continuous and the constant column keep the global 1e-3.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), 2.0 * rng.integers(0, 3, 200),
                         np.zeros(200)])
    vae = VAETransformer(**FAST).fit(X)
    floor = vae.module_.min_variance.numpy()
    np.testing.assert_allclose(floor, [1e-3, (2.0 / X[:, 1].std()) ** 2 / 12, 1e-3],
                               rtol=1e-5)


def test_vae_transformer_shared_scaling_keeps_the_columns_relative_scales():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3)) * [1.0, 10.0, 3.0] + [0.0, 5.0, -2.0]
    X = np.column_stack([X, np.full(150, 7.0)])  # and a constant column
    column = VAETransformer(**FAST).fit(X)
    shared = VAETransformer(scaling="shared", **FAST).fit(X)
    np.testing.assert_allclose(column.schema_.scale_, [*X[:, :3].std(axis=0), 1.0])
    rms = np.sqrt(np.mean(X[:, :3].var(axis=0)))  # over the columns with a spread
    np.testing.assert_allclose(shared.schema_.scale_, [rms] * 4)
    np.testing.assert_allclose(shared.schema_.mean_, X.mean(axis=0))
    # The model sees column 1 ten times as wide as column 0, as PCA would.
    encoded = shared.schema_.encode(X)[0]
    ratio = encoded[:, 1].std() / encoded[:, 0].std()
    np.testing.assert_allclose(ratio, X[:, 1].std() / X[:, 0].std(), rtol=1e-6)
    # Decoding goes back to the data's units.
    assert abs(shared.inverse_transform(shared.transform(X)).mean(axis=0)[1] - 5.0) < 2.0


def test_vae_transformer_shared_scaling_is_an_error_on_a_mixed_table():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"x": np.linspace(0.0, 1.0, 40),
                       "c": pd.Categorical(["a", "b"] * 20)})
    with pytest.raises(ValueError, match="scaling='shared'.*quantile-to-normal.*"
                                         "scaling='column'"):
        VAETransformer(scaling="shared", **FAST).fit(df)
    with pytest.raises(InvalidParameterError, match="scaling"):
        VAETransformer(scaling="global").fit(np.ones((10, 2)))


def test_inverse_transform_of_zero_codes_is_zero_rows():
    # ensure_min_samples=0 was meant: it crashed unpacking None from the chunk runner.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 4))
    vae = VAETransformer(n_components=2, **FAST).fit(X)
    out = vae.inverse_transform(np.empty((0, 2), dtype=np.float32))
    assert out.shape == (0, 4) and out.dtype == np.float32


def test_warnings_name_the_callers_line(blobs):
    """Every warning of the package points at the user's call, through sklearn's
    _fit_context and the package's own wrappers (the single-class warning named
    sklearn/base.py)."""
    from sklearn.exceptions import ConvergenceWarning

    X, _ = blobs
    cases = [
        (ConvergenceWarning, lambda: VAETransformer(**FAST).fit(X)),
        (UserWarning, lambda: VAETransformer(n_components=9, **FAST).fit(X)),
        (UserWarning, lambda: VAETransformer(conditional=True, **FAST).partial_fit(
            X, np.zeros(len(X)))),
        (UserWarning, lambda: VAETransformer(**FAST).fit(
            np.where(np.arange(4) == 0, "oops", X.astype(str)))),
    ]
    for category, call in cases:
        with pytest.warns(category) as record:
            call()
        assert {w.filename for w in record if w.category is category} == {__file__}


def test_a_stray_string_in_a_number_array_is_told(blobs):
    """A string array is a table, where text is categorical; one stray string among
    numbers written as text would silently make every number a category level."""
    X, _ = blobs
    A = X.astype(str)
    A[0, 0] = "oops"
    with pytest.warns(UserWarning, match=r"numbers written as text in columns \[1, 2, 3\]"
                                         r"; .* column 0 holds 'oops'"):
        vae = VAETransformer(**FAST).fit(A)
    assert list(vae.schema_.feature_kinds_) == ["categorical"] * 4
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*written as text")
        VAETransformer(**FAST).fit(X.astype(str))  # all numbers: read as numbers
        VAETransformer(**FAST).fit(np.array([["a", "b"], ["c", "d"]] * 5))  # all text


def test_a_model_fit_on_a_dataframe_names_bad_input_shapes():
    """A model fit on a DataFrame checks the shape before the feature count, as
    PCA does (a row came back as "X does not contain any features")."""
    pd = pytest.importorskip("pandas")
    from scipy import sparse

    df = pd.DataFrame(np.random.RandomState(0).normal(size=(40, 3)), columns=list("abc"))
    vae = VAETransformer(**FAST).fit(df)
    for bad in (df.iloc[0], df.to_numpy()[0]):
        with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
            vae.transform(bad)
    with pytest.raises(ValueError, match="Expected 2D array, got 3D array"):
        vae.transform(df.to_numpy()[None])
    with pytest.raises(TypeError, match="Sparse data was passed"):
        vae.transform(sparse.csr_matrix(df.to_numpy()))
    # Codes with an index (pandas output) decode to rows with that index.
    vae.set_output(transform="pandas")
    rows = df.iloc[10:15]
    back = vae.inverse_transform(vae.transform(rows))
    assert list(back.index) == list(rows.index) and list(back.columns) == list("abc")


def test_infinity_is_refused_under_assume_finite():
    """set_config(assume_finite=True) skips scikit-learn's check; an inf then
    failed as an eigh error, or as a divergence blamed on the learning rate."""
    import sklearn

    from sklearn_vae import VAEImputer, VAEOutlierDetector

    X = np.random.RandomState(0).normal(size=(50, 3))
    X_inf = X.copy()
    X_inf[3, 1] = np.inf
    with sklearn.config_context(assume_finite=True):
        for cls in (VAETransformer, VAEOutlierDetector, VAEImputer):
            with pytest.raises(ValueError, match="Input X contains infinity"):
                cls(**FAST).fit(X_inf)
        vae = VAETransformer(**FAST).fit(X)
        with pytest.raises(ValueError, match="Input X contains infinity"):
            vae.transform(X_inf)

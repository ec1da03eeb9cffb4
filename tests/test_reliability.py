"""Issue 11, "never silently wrong": one regression test per reported case.

Each test names the case it checks (``case N``); docs/reliability.md lists
what is guaranteed and points here.
"""

import numpy as np
import pytest

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)
IMPUTE = dict(n_train_samples=2, n_importance_samples=10)


def _planted(scale, n=200, p=3, seed=0):
    """Standard normal rows times ``scale``, row 0 moved 50 sigma out."""
    X = np.random.default_rng(seed).normal(size=(n, p))
    X[0] = 50.0
    return X * scale


# -- case 1: values above ~1e154 ------------------------------------------------

def test_case1_huge_values_two_rows():
    X = np.array([[3.4e154], [-1.6e155]])
    vae = VAETransformer(**FAST).fit(X)
    assert np.isfinite(vae.schema_.scale_).all()
    Z = vae.transform(X)
    assert Z[0, 0] != Z[1, 0]
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(Z)).all()
    assert np.isfinite(vae.sample(5, random_state=0)).all()


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_case1_huge_values_every_estimator(scale):
    X = _planted(scale)
    vae = VAETransformer(**FAST).fit(X)
    np.testing.assert_allclose(vae.schema_.scale_ / scale, (X / scale).std(axis=0))
    assert np.ptp(vae.transform(X), axis=0).min() > 0
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(vae.transform(X))).all()
    assert np.isfinite(vae.sample(50, random_state=0)).all()

    X_missing = X.copy()
    X_missing[1:20, 1] = np.nan
    filled = VAEImputer(**FAST, **IMPUTE).fit_transform(X_missing)
    assert np.isfinite(filled).all()
    assert np.abs(filled[1:20, 1]).max() < 10 * scale

    det = VAEOutlierDetector(contamination=0.01, **{**FAST, "max_iter": 10}).fit(X)
    assert np.isfinite(det.offset_)
    assert det.predict(X)[0] == -1


def test_case1_near_the_float64_limit_saturates_instead_of_inf():
    X = np.array([[-1.7e308], [1.7e308], [0.0], [1e308]])
    vae = VAETransformer(**FAST).fit(X)
    assert np.isfinite(vae.score_samples(X)).all()
    assert np.isfinite(vae.inverse_transform(vae.transform(X))).all()
    assert np.isfinite(vae.sample(100, random_state=0)).all()
    # float32 in, float32 out: decoded values saturate at the float32 range.
    X32 = np.array([[-3.4e38], [3.4e38], [0.0]], dtype=np.float32)
    vae = VAETransformer(**FAST).fit(X32)
    out = vae.inverse_transform(vae.transform(X32))
    assert out.dtype == np.float32 and np.isfinite(out).all()


# -- case 2: spread below ~2e-15 -------------------------------------------------

@pytest.mark.parametrize("scale", [1e-16, 1e-100, 1e-300])
def test_case2_tiny_spread_is_scaled_not_constant(scale):
    X = _planted(scale)
    vae = VAETransformer(**FAST).fit(X)
    np.testing.assert_allclose(vae.schema_.scale_ / scale, (X / scale).std(axis=0))
    assert np.ptp(vae.transform(X), axis=0).min() > 0
    assert np.isfinite(vae.score_samples(X)).all()

    X_missing = X.copy()
    X_missing[1:20, 1] = np.nan
    filled = VAEImputer(**FAST, **IMPUTE).fit_transform(X_missing)
    assert np.abs(filled[1:20, 1]).max() < 10 * scale

    det = VAEOutlierDetector(contamination=0.01, **{**FAST, "max_iter": 10}).fit(X)
    assert det.predict(X)[0] == -1


def test_case2_spread_tiny_relative_to_the_mean():
    # 1e10 + noise at 1e-3: a 1e-13 relative spread is still a spread.
    rng = np.random.default_rng(0)
    X = 1e10 + rng.normal(size=(100, 2)) * 1e-3
    vae = VAETransformer(**FAST).fit(X)
    assert (vae.schema_.scale_ > 1e-4).all() and (vae.schema_.scale_ < 1e-2).all()
    assert np.ptp(vae.transform(X), axis=0).min() > 0


# -- case 3: constant columns of any magnitude ---------------------------------

@pytest.mark.parametrize("value", [1e30, 1e40, -1e300, 1e-300])
@pytest.mark.parametrize("n_samples", [7, 50, 100])
def test_case3_constant_column_encodes_to_zero(value, n_samples):
    rng = np.random.default_rng(0)
    X = np.column_stack([np.full(n_samples, value), rng.normal(size=n_samples)])
    values, _ = VAETransformer(**FAST)._make_schema().fit(X).encode(X)
    assert (values[:, 0] == 0).all()
    vae = VAETransformer(**FAST).fit(X)
    assert vae.schema_.mean_[0] == value and vae.schema_.scale_[0] == 1.0
    scores = vae.score_samples(X)
    assert np.isfinite(scores).all() and np.abs(scores).max() < 100


def test_case3_constant_column_in_a_mixed_table():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"big": np.full(60, 1e30), "tiny_const": np.full(60, 1.7e308),
                       "x": rng.normal(size=60), "c": rng.choice(["a", "b", "c"], 60)})
    vae = VAETransformer(**FAST).fit(df)
    scores = vae.score_samples(df)
    assert np.isfinite(scores).all() and np.abs(scores).max() < 100
    sampled = vae.sample(5, random_state=0)
    assert (sampled["big"] == 1e30).all() and (sampled["tiny_const"] == 1.7e308).all()


@pytest.mark.parametrize("value", [1e-12, 3.0, 1e30])
def test_case3_constant_column_comes_back_exactly(value):
    """A numeric array's constant column decodes to its value, as SimpleImputer
    and the mixed-table path give: its scale is 1 in its own units, so the
    decoder's noise came back as ~0.03 of them (1e-12 sampled in [-0.1, 0.1])."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(80, 2)), np.full(80, value)])
    vae = VAETransformer(**FAST).fit(X)
    assert (vae.sample(50, random_state=0)[:, 2] == value).all()
    assert (vae.inverse_transform(vae.transform(X))[:, 2] == value).all()
    assert (vae.sample(5, posterior_of=X, random_state=0)[:, 2] == value).all()
    X_missing = X.copy()
    X_missing[::4, 2] = np.nan
    for posterior in (False, True):
        imp = VAEImputer(sample_posterior=posterior, **FAST, **IMPUTE).fit(X_missing)
        assert (imp.transform(X_missing)[:, 2] == value).all()


@pytest.mark.parametrize("cls", [VAETransformer, VAEOutlierDetector])
def test_case3_no_observed_entry_is_an_error(cls):
    """Rows with every value missing trained a model of nothing (loss 0, every
    score and code 0, every row an inlier) with only a ConvergenceWarning."""
    pd = pytest.importorskip("pandas")
    for X in (np.full((20, 3), np.nan), pd.DataFrame({"a": [None] * 20, "b": np.nan})):
        with pytest.raises(ValueError, match="X has no observed entry .every value of its "
                                             "20 rows is missing"):
            cls(**FAST).fit(X)


# -- case 5: an extreme entry at inference -----------------------------------

@pytest.mark.parametrize("anomaly_score", ["likelihood", "elbo", "reconstruction"])
@pytest.mark.parametrize("value", [1e200, -1e300, 1.7e308])
def test_case5_extreme_entry_is_scored_finite_and_flagged(anomaly_score, value):
    X = np.random.default_rng(0).normal(size=(200, 4))
    det = VAEOutlierDetector(anomaly_score=anomaly_score, **FAST).fit(X)
    X_test = X[:3].copy()
    X_test[0, 0] = value
    scores = det.score_samples(X_test)
    assert np.isfinite(scores).all()
    assert scores[0] < scores[1:].min()
    assert det.predict(X_test)[0] == -1
    assert np.isfinite(det.score_samples_per_feature(X_test)).all()


def test_case5_nan_score_is_never_an_inlier(monkeypatch):
    X = np.random.default_rng(0).normal(size=(50, 2))
    det = VAEOutlierDetector(**FAST).fit(X)
    det.offset_ = 0.5
    monkeypatch.setattr(det, "score_samples", lambda X: np.array([np.nan, 0.0, 1e9]))
    assert det.predict(X[:3]).tolist() == [-1, -1, 1]


def test_case5_extreme_entry_through_transformer_and_imputer():
    X = np.random.default_rng(0).normal(size=(100, 3))
    vae = VAETransformer(**FAST).fit(X)
    X_test = X[:2].copy()
    X_test[0, 1] = 1e300
    assert np.isfinite(vae.transform(X_test)).all()
    assert np.isfinite(vae.score_samples(X_test)).all()
    X_missing = X_test.copy()
    X_missing[0, 0] = np.nan
    imp = VAEImputer(**FAST, **IMPUTE).fit(X)
    assert np.isfinite(imp.transform(X_missing)).all()


def test_inverse_transform_rejects_non_finite_codes():
    X = np.random.default_rng(0).normal(size=(30, 3))
    vae = VAETransformer(**FAST).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        vae.inverse_transform(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="infinity"):
        vae.inverse_transform(np.array([[np.inf, 0.0]]))
    assert np.isfinite(vae.inverse_transform(np.array([[1e300, -1e300]]))).all()


# -- case 9: keep_empty_features on a DataFrame ----------------------------------

def test_case9_keep_empty_features_fills_zero_on_a_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 1] = np.nan
    X[0, 0] = np.nan
    imp = VAEImputer(keep_empty_features=True, **FAST, **IMPUTE)
    array_out = imp.fit_transform(X)
    assert (array_out[:, 1] == 0).all()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    frame_out = imp.fit_transform(df)
    assert (frame_out["b"] == 0).all()
    np.testing.assert_allclose(frame_out.to_numpy(), array_out)
    # Mixed table: an empty nullable integer / boolean column gets 0 / False.
    df["flag"] = pd.array([None] * 40, dtype="boolean")
    df["count"] = pd.array([None] * 40, dtype="Int64")
    df["color"] = ["red", "blue"] * 20
    out = imp.fit_transform(df)
    assert (out["b"] == 0).all() and (out["count"] == 0).all()
    assert (~out["flag"]).all() and out["flag"].dtype == df["flag"].dtype
    dropped = VAEImputer(**FAST, **IMPUTE).fit_transform(df)
    assert list(dropped.columns) == ["a", "c", "color"]


# -- case 10: devices -------------------------------------------------------------

@pytest.mark.parametrize("device, match", [
    ("mps", "device='mps' is not supported.*float64"),
    ("meta", "device='meta' is not supported"),
    ("xpu", "only CPU and CUDA"),
])
def test_case10_unsupported_device_names_the_fix(device, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    for est in (VAETransformer(device=device, **FAST), VAEImputer(device=device, **FAST),
                VAEOutlierDetector(device=device, **FAST)):
        with pytest.raises(ValueError, match=match):
            est.fit(X)


# -- case 4: divergence that stays finite --------------------------------------

@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_case4_finite_divergence_raises_and_names_the_fix(Estimator):
    X = np.random.default_rng(0).normal(size=(200, 4))
    est = Estimator(learning_rate_init=10, **{**FAST, "max_iter": 10})
    with pytest.raises(FloatingPointError,
                       match=r"diverged.*rose from .*learning_rate_init=10\).*lower it"):
        est.fit(X)
    assert not hasattr(est, "n_features_in_")


def test_case4_guard_ignores_single_bad_batches():
    from sklearn_vae._training import DivergenceGuard

    class Net:
        history = [{}]
        module_ = None

    class Loss(float):
        def detach(self):
            return self

    guard = DivergenceGuard()
    guard.on_train_begin(Net())
    losses = [6.0] * 10 + [1e6] + [5.0] * 20 + [1e5, 1e5] + [5.0] * 10
    for value in losses:  # a few huge batches among normal ones: not divergence
        guard.on_batch_end(Net(), training=True, loss=Loss(value))
    with pytest.raises(FloatingPointError, match="rose from 6"):
        for value in [1e4] * 25:  # a sustained explosion
            guard.on_batch_end(Net(), training=True, loss=Loss(value))


# -- GPU path: batch losses read once per epoch -----------------------------------
# On CUDA (``sync_losses="auto"``) the net keeps batch losses on the device and
# reads them at the end of the epoch; forcing that mode on CPU checks it here.

def _defer(monkeypatch):
    from sklearn_vae._training._net import VAENet

    monkeypatch.setattr(VAENet, "_defer_loss_sync", lambda self: True)


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_epoch_level_loss_sync_records_the_same_history(monkeypatch, Estimator):
    X = np.random.default_rng(0).normal(size=(150, 4))
    params = {**FAST, "max_iter": 4, **(IMPUTE if Estimator is VAEImputer else {})}
    per_batch = Estimator(**params).fit(X)
    _defer(monkeypatch)
    per_epoch = Estimator(**params).fit(X)
    for epoch_a, epoch_b in zip(per_batch.net_.history, per_epoch.net_.history, strict=True):
        assert len(epoch_a["batches"]) == len(epoch_b["batches"])
        for batch_a, batch_b in zip(epoch_a["batches"], epoch_b["batches"]):
            assert set(batch_a) == set(batch_b)
            for key, value in batch_a.items():
                assert batch_b[key] == pytest.approx(value, rel=1e-6), key
    assert per_epoch.loss_curve_ == pytest.approx(per_batch.loss_curve_)
    assert per_epoch.n_iter_ == per_batch.n_iter_
    np.testing.assert_allclose(per_epoch.score_samples(X), per_batch.score_samples(X))


def test_epoch_level_loss_sync_still_catches_divergence(monkeypatch):
    _defer(monkeypatch)
    X = np.random.default_rng(0).normal(size=(200, 4))
    with pytest.raises(FloatingPointError, match=r"diverged.*learning_rate_init=10\)"):
        VAETransformer(learning_rate_init=10, **{**FAST, "max_iter": 10}).fit(X)


def test_epoch_level_loss_sync_reports_a_nan_loss(monkeypatch):
    from sklearn_vae._training._net import VAENet

    _defer(monkeypatch)
    original = VAENet.get_loss

    def nan_in_epoch_2(self, *args, **kwargs):
        loss = original(self, *args, **kwargs)
        return loss * float("nan") if len(self.history) == 2 else loss

    monkeypatch.setattr(VAENet, "get_loss", nan_in_epoch_2)
    with pytest.raises(FloatingPointError, match="loss became nan in epoch 2"):
        X = np.random.default_rng(0).normal(size=(100, 3))
        VAETransformer(**{**FAST, "max_iter": 5}).fit(X)


# -- case 6: atomic fits ----------------------------------------------------------

def _state(est, X):
    return (est.schema_, est.net_, list(est.loss_curve_), est.n_iter_,
            est.score_samples(X).copy())


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_case6_failed_refit_leaves_the_fitted_model(Estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    est = Estimator(**FAST).fit(X)
    before = _state(est, X)
    extra = {name: getattr(est, name) for name in ("offset_", "_empty_features", "indicator_")
             if hasattr(est, name)}
    est.set_params(learning_rate_init=10, max_iter=10)
    with pytest.raises(FloatingPointError, match="diverged"):
        est.fit(X * 1e3 + 5)  # other scaling, diverging
    after = _state(est, X)
    assert after[0] is before[0] and after[1] is before[1]
    assert after[2:4] == before[2:4]
    np.testing.assert_array_equal(after[4], before[4])
    for name, value in extra.items():
        assert getattr(est, name) is value
    with pytest.raises(FloatingPointError):
        est.fit(X[:, :3])  # validation set n_features_in_ = 3 before training failed
    assert est.n_features_in_ == 4
    np.testing.assert_array_equal(est.score_samples(X), before[4])


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_case6_failed_first_fit_is_not_fitted(Estimator):
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(0).normal(size=(200, 4))
    est = Estimator(learning_rate_init=10, **{**FAST, "max_iter": 10})
    with pytest.raises(FloatingPointError):
        est.fit(X)
    assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        est.score_samples(X)


def test_case6_failed_warm_start_keeps_the_weights():
    import torch

    X = np.random.default_rng(0).normal(size=(200, 4))
    vae = VAETransformer(warm_start=True, **FAST).fit(X)
    weights = {k: v.clone() for k, v in vae.module_.state_dict().items()}
    n_history = len(vae.net_.history)
    vae.set_params(learning_rate_init=10, max_iter=10)
    with pytest.raises(FloatingPointError):
        vae.fit(X)
    assert len(vae.net_.history) == n_history == vae.n_iter_
    for k, v in vae.module_.state_dict().items():
        assert torch.equal(v, weights[k])
    vae.set_params(learning_rate_init=1e-3, max_iter=2)
    assert vae.fit(X).n_iter_ == n_history + 2


def test_case6_failure_after_training_restores_the_detector(monkeypatch):
    X = np.random.default_rng(0).normal(size=(100, 3))
    det = VAEOutlierDetector(**FAST).fit(X)
    offset, net = det.offset_, det.net_
    nan = lambda self, X: (np.full(len(X), np.nan),) * 2  # noqa: E731
    monkeypatch.setattr(VAEOutlierDetector, "_threshold_scores", nan)
    with pytest.raises(FloatingPointError, match="non-finite anomaly score"):
        det.fit(X)
    assert det.offset_ == offset and det.net_ is net


# -- case 7: thread safety and the global RNG ---------------------------------

def _codes(seed, X, **params):
    vae = VAETransformer(**{**FAST, "max_iter": 5, "random_state": seed, **params}).fit(X)
    return vae.transform(X), vae.loss_curve_


@pytest.mark.parametrize("init", ["pca", "random"])
def test_case7_torch_default_dtype_float64_changes_nothing(init):
    """torch.set_default_dtype(torch.float64), common in scientific code, built
    float64 layers for float32 data: every fit failed with torch's "mat1 and mat2
    must have the same dtype". The network is float32 whatever the default, and
    its fits are bit-identical to those under the float32 default."""
    import torch

    X = np.random.default_rng(0).normal(size=(100, 4))
    X_missing = X.copy()
    X_missing[::5, 1] = np.nan

    def run():
        vae = VAETransformer(init=init, **FAST).fit(X)
        return [vae.transform(X), vae.sample(5, random_state=0), vae.score_samples(X),
                VAEImputer(**FAST, **IMPUTE).fit_transform(X_missing),
                VAEOutlierDetector(**FAST).fit(X).score_samples(X)]

    expected = run()
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = run()
    finally:
        torch.set_default_dtype(before)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)


def test_case7_fit_under_inference_mode_or_no_grad():
    """Fits train with autograd on whatever the caller's grad mode: under
    torch.inference_mode() every fit failed with torch's "element 0 of tensors
    does not require grad"."""
    import torch

    X = np.random.default_rng(0).normal(size=(100, 4))
    expected = VAETransformer(**FAST).fit(X).transform(X)
    for mode in (torch.inference_mode, torch.no_grad):
        with mode():
            vae = VAETransformer(**FAST).fit(X)
            VAEOutlierDetector(**FAST).fit(X).predict(X)
            vae.partial_fit(X)
        assert torch.is_grad_enabled()
        np.testing.assert_array_equal(
            VAETransformer(**FAST).fit(X).transform(X), expected)
    with torch.inference_mode():
        np.testing.assert_array_equal(VAETransformer(**FAST).fit(X).transform(X), expected)


def test_case7_concurrent_fits_match_sequential_ones():
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import torch

    X = np.random.default_rng(0).normal(size=(400, 6))
    sequential = [_codes(seed, X) for seed in range(4)]
    torch.manual_seed(123)
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    barrier = threading.Barrier(4)

    def run(seed):
        barrier.wait()  # start together
        return _codes(seed, X)

    with ThreadPoolExecutor(4) as pool:
        concurrent = list(pool.map(run, range(4)))
    for (Z_seq, loss_seq), (Z_par, loss_par) in zip(sequential, concurrent):
        np.testing.assert_array_equal(Z_par, Z_seq)
        assert loss_par == loss_seq
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads


def test_case7_concurrent_small_and_large_fits_at_two_threads():
    # A large model keeps torch's thread count, a small one trains on one
    # thread; running both at once must not change either one's count.
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import torch

    X = np.random.default_rng(0).normal(size=(256, 8))
    big = dict(hidden_layer_sizes=(600, 600), max_iter=1, batch_size=256)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        expected = [_codes(0, X), _codes(1, X, **big)]
        barrier = threading.Barrier(2)

        def run(args):
            barrier.wait()
            return _codes(args[0], X, **args[1])

        with ThreadPoolExecutor(2) as pool:
            got = list(pool.map(run, [(0, {}), (1, big)]))
        for (Z_exp, _), (Z_got, _) in zip(expected, got):
            np.testing.assert_array_equal(Z_got, Z_exp)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_case7_grid_search_threading_backend_is_reproducible():
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV

    X = np.random.default_rng(0).normal(size=(120, 4))
    grid = {"n_components": [1, 2], "beta": [0.5, 1.0]}
    sequential = GridSearchCV(VAETransformer(**FAST), grid, cv=2).fit(X)
    with parallel_backend("threading", n_jobs=2):
        threaded = GridSearchCV(VAETransformer(**FAST), grid, cv=2).fit(X)
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  sequential.cv_results_["mean_test_score"])


# -- case 8: Ctrl-C ------------------------------------------------------------------

def _interrupt_at(monkeypatch, step):
    from sklearn_vae._training import VAENet

    calls = {"n": 0}
    train_step = VAENet.train_step

    def interrupted(self, batch, **fit_params):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return train_step(self, batch, **fit_params)

    monkeypatch.setattr(VAENet, "train_step", interrupted)


@pytest.mark.parametrize("step", [1, 20])  # first epoch, a later one (8 batches/epoch)
@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_case8_keyboard_interrupt_propagates_and_changes_nothing(monkeypatch, Estimator, step):
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(0).normal(size=(128, 3))
    params = {**FAST, "batch_size": 16, "max_iter": 5, "verbose": 1}
    est = Estimator(**params)
    _interrupt_at(monkeypatch, step)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    with pytest.raises(NotFittedError):
        est.transform(X) if hasattr(est, "transform") else est.predict(X)
    monkeypatch.undo()
    est.fit(X)
    assert est.n_iter_ == len(est.loss_curve_) == len(est.net_.history)
    scores = est.score_samples(X)
    _interrupt_at(monkeypatch, step)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    np.testing.assert_array_equal(est.score_samples(X), scores)
    assert est.n_iter_ == len(est.loss_curve_) == len(est.net_.history)


def test_case8_early_stopping_still_ends_training_normally():
    X = np.random.default_rng(0).normal(size=(300, 3))
    vae = VAETransformer(hidden_layer_sizes=(8,), max_iter=300, n_iter_no_change=2,
                         random_state=0).fit(X)
    assert vae.n_iter_ < 300
    assert vae.n_iter_ == len(vae.loss_curve_) == len(vae.validation_scores_)

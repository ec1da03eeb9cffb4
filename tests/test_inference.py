"""Chunked float32 inference: bit-level batch invariance and the memory budget."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch.nn import functional as F

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer, _base
from sklearn_vae._inference import plan_chunks
from sklearn_vae.nn import _modules

from .conftest import low_rank_with_missing

SMALL = dict(max_iter=3, hidden_layer_sizes=(16,), random_state=0)
N = 300  # several chunks of 64-128 rows, the last one padded


def _data(n=N, p=5, seed=0):
    return low_rank_with_missing(n=n, p=p, frac=0.2, noise=0.3, seed=seed)


def _mixed_frame(n=N, seed=0):
    rng = np.random.RandomState(seed)
    return pd.DataFrame({
        "amount": rng.lognormal(size=n),
        "city": pd.Categorical(rng.choice(["a", "b", "c", "d"], size=n)),
        "flag": rng.rand(n) < 0.3,
        "visits": rng.poisson(3, size=n).astype(float),
    })


def _take(X, idx):
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def _assert_batch_invariant(method, X):
    """``method`` gives each row the same bits alone, in the batch, permuted."""
    full = np.asarray(method(X))
    perm = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_array_equal(np.asarray(method(_take(X, perm))), full[perm])
    for i in [0, 1, 63, 64, 127, 129, len(X) - 1]:
        np.testing.assert_array_equal(np.asarray(method(_take(X, [i]))), full[[i]])
    np.testing.assert_array_equal(np.asarray(method(_take(X, slice(50, 200)))), full[50:200])
    return full


@pytest.fixture(scope="module")
def transformer():
    _, X = _data()
    return VAETransformer(n_components=2, **SMALL).fit(X), X


def test_transformer_methods_are_bitwise_batch_invariant(transformer):
    vae, X = transformer
    _assert_batch_invariant(vae.transform, X)
    _assert_batch_invariant(vae.score_samples, X)
    _assert_batch_invariant(vae.score_samples_per_feature, X)
    Z = vae.transform(X)
    _assert_batch_invariant(vae.inverse_transform, Z)


def test_transformer_on_a_mixed_table_is_bitwise_batch_invariant():
    df = _mixed_frame()
    vae = VAETransformer(n_components=2, **SMALL).fit(df)
    _assert_batch_invariant(vae.score_samples, df)
    _assert_batch_invariant(vae.score_samples_per_feature, df)
    _assert_batch_invariant(vae.transform, df)


@pytest.mark.parametrize("anomaly_score", ["likelihood", "elbo", "reconstruction"])
def test_outlier_scores_are_bitwise_batch_invariant(anomaly_score):
    _, X = _data(p=7)
    det = VAEOutlierDetector(anomaly_score=anomaly_score, **SMALL).fit(X)
    _assert_batch_invariant(det.score_samples, X)
    _assert_batch_invariant(det.score_samples_per_feature, X)


def test_imputer_is_bitwise_batch_invariant():
    # heteroscedastic decoder, K=100: the transcendental functions run on
    # the large (K, rows, columns) tensors
    _, X = _data()
    imp = VAEImputer(n_train_samples=2, **SMALL).fit(X)
    _assert_batch_invariant(imp.transform, X)
    _assert_batch_invariant(imp.score_samples, X)


def test_small_blocks_give_identical_results(transformer, monkeypatch):
    vae, X = transformer
    expected = (vae.transform(X), vae.score_samples(X), vae.score_samples_per_feature(X),
                vae.inverse_transform(vae.transform(X)))

    def one_chunk_blocks(*args, **kwargs):
        chunk, k_block, _ = plan_chunks(*args, **kwargs)
        return chunk, k_block, chunk

    # Rows are encoded and moved block by block; a block of one chunk changes
    # nothing but memory.
    monkeypatch.setattr(_base, "plan_chunks", one_chunk_blocks)
    np.testing.assert_array_equal(vae.transform(X), expected[0])
    np.testing.assert_array_equal(vae.score_samples(X), expected[1])
    np.testing.assert_array_equal(vae.score_samples_per_feature(X), expected[2])
    np.testing.assert_array_equal(vae.inverse_transform(expected[0]), expected[3])


def test_tiny_budget_splits_samples_and_stays_invariant(transformer):
    vae, X = transformer
    tiny = pickle.loads(pickle.dumps(vae))
    tiny._inference_budget = 1  # 64-row chunks, one importance sample per pass
    chunk, k_block, block = plan_chunks(tiny.module_, tiny.n_importance_samples, "cpu",
                                        budget=1, columns=False, k_blocking=True)
    assert (chunk, k_block, block) == (64, 1, 64)
    scores = _assert_batch_invariant(tiny.score_samples, X)
    # Other kernel shapes, so float32 rounding differs; the estimate does not.
    np.testing.assert_allclose(scores, vae.score_samples(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tiny.transform(X), vae.transform(X), rtol=1e-5, atol=1e-6)


def test_scores_do_not_depend_on_torch_threads(transformer):
    vae, X = transformer
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = vae.score_samples(X)
        torch.set_num_threads(3)
        three = vae.score_samples(X)
        assert torch.get_num_threads() == 3  # restored after the call
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(one, three)


def test_inference_leaves_the_module_alone(transformer):
    vae, X = transformer
    before = {k: v.clone() for k, v in vae.module_.state_dict().items()}
    training = vae.module_.training
    vae.score_samples(X)
    vae.transform(X)
    assert vae.module_.training == training
    for k, v in vae.module_.state_dict().items():
        assert v.dtype == torch.float32
        assert torch.equal(v, before[k])


def test_row_invariant_linear_on_a_narrow_layer():
    # 6 -> 8 is a shape where MKL (AVX2) rounds odd and even rows differently.
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 8)
    row = torch.randn(1, 6)
    with torch.no_grad():
        outs = []
        for pos in range(64):
            x = torch.randn(128, 6)
            x[pos] = row[0]
            outs.append(_modules._row_invariant_linear(layer, x)[pos])
        for out in outs[1:]:
            assert torch.equal(out, outs[0])
        np.testing.assert_allclose(outs[0].numpy(), F.linear(row, layer.weight,
                                                             layer.bias)[0].numpy(),
                                   rtol=1e-6, atol=1e-6)


def test_float64_fallback_is_invariant_and_close(transformer, monkeypatch):
    vae, X = transformer
    expected = vae.score_samples(X)
    monkeypatch.setattr(_modules, "_identical_rows_agree", lambda *args: False)
    monkeypatch.setattr(_modules, "_ROW_INVARIANT", _modules.weakref.WeakKeyDictionary())
    scores = _assert_batch_invariant(vae.score_samples, X)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_log_importance_weights_matches_importance_weights():
    torch.manual_seed(0)
    for layout, het in [((4, 0, ()), False), ((3, 2, (3, 4)), True), ((0, 1, (5,)), False)]:
        module = _modules.VAEModule(layout, 2, (8,), heteroscedastic=het)
        n_values, n_columns = module.layout.n_values, module.layout.n_columns
        x = torch.randn(10, n_values)
        c, b = layout[0], layout[1]
        x[:, c:c + b] = (x[:, c:c + b] > 0).float()
        start = c + b
        for k in layout[2]:
            x[:, start:start + k] = F.one_hot(torch.randint(k, (10,)), k).float()
            start += k
        mask = (torch.rand(10, n_columns) > 0.3).float()
        eps = torch.randn(7, 2)
        with torch.no_grad():
            expected, col, params = module.importance_weights(x, mask, eps)
            log_w, params2, col2 = module.log_importance_weights(
                x, mask, eps, return_params=True, return_columns=True)
        torch.testing.assert_close(log_w, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(params2, params)
        torch.testing.assert_close(col2, col)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_inference_is_batch_invariant_and_loads_on_cpu():
    _, X = _data()
    vae = VAETransformer(n_components=2, device="cuda", **SMALL).fit(X)
    assert next(vae.module_.parameters()).is_cuda
    scores = _assert_batch_invariant(vae.score_samples, X)
    _assert_batch_invariant(vae.transform, X)
    restored = pickle.loads(pickle.dumps(vae))
    restored.net_.device = "cpu"
    restored.net_.module_.to("cpu")
    np.testing.assert_allclose(restored.score_samples(X), scores, rtol=1e-5, atol=1e-5)

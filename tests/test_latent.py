"""Latent diagnostics (per-dimension KL, active units) and free bits."""

import io

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer, load, save
from sklearn_vae.nn import (
    ColumnLayout,
    VAEModule,
    VAEOutput,
    kl_per_dimension,
    kl_to_standard_normal,
)

from .conftest import FAST


def rank_one(n=300, p=6, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, 1)) @ rng.normal(size=(1, p)) * 2 + 0.05 * rng.normal(size=(n, p))


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_latent_diagnostics_shapes_and_consistency(blobs, Estimator):
    X, _ = blobs
    est = Estimator(n_components=3, **FAST).fit(X)
    assert est.kl_per_component_.shape == (3,)
    assert est.kl_per_component_.dtype == np.float64
    assert np.all(est.kl_per_component_ >= 0)
    np.testing.assert_allclose(est.kl_ratio_.sum(), 1.0)
    np.testing.assert_allclose(est.kl_ratio_, est.kl_per_component_ / est.kl_per_component_.sum())
    assert est.active_components_.dtype == bool and est.active_components_.shape == (3,)
    assert est.n_active_components_ == int(est.active_components_.sum())


def test_kl_per_component_matches_the_encoder_on_training_rows(blobs):
    X, _ = blobs
    est = VAETransformer(n_components=3, **FAST).fit(X)
    values, mask = est.schema_.encode(X)
    with torch.no_grad():
        mu, logvar = est.module_.encode(torch.as_tensor(values, dtype=torch.float32),
                                        torch.as_tensor(mask, dtype=torch.float32))
    expected = (0.5 * (mu.square() + logvar.exp() - 1 - logvar)).double().mean(0).numpy()
    np.testing.assert_allclose(est.kl_per_component_, expected, rtol=1e-5)
    # Active units: variance of the posterior mean (= transform) above 0.01.
    np.testing.assert_array_equal(est.active_components_, est.transform(X).var(axis=0) > 0.01)


def test_collapse_is_visible_and_free_bits_prevent_it():
    # One true factor, four latent dimensions: from a random start the plain
    # ELBO switches the extra dimensions off; free bits keep every
    # dimension's KL near the floor. (From PCA, init="pca", the extra
    # dimensions start on the noise directions and keep modelling them.)
    X = rank_one()
    params = dict(n_components=4, hidden_layer_sizes=(16,), max_iter=60, random_state=0,
                  init="random")
    plain = VAETransformer(free_bits=0.0, **params).fit(X)
    assert plain.kl_per_component_.min() < 0.05
    assert plain.kl_ratio_.max() > 0.5
    kept = VAETransformer(free_bits=1.0, **params).fit(X)
    assert kept.kl_per_component_.min() > 0.3
    assert kept.n_active_components_ == 4


def test_free_bits_objective_value_and_gradient():
    torch.manual_seed(0)
    mu = torch.tensor([[0.1, 2.0], [-0.1, 1.5], [0.05, -2.5]], requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    kl = kl_per_dimension(mu, logvar)
    assert torch.allclose(kl.sum(-1), kl_to_standard_normal(mu, logvar))


    module = VAEModule(ColumnLayout(n_continuous=1), 2, (4,))
    x, mask = torch.zeros(3, 1), torch.ones(3, 1)
    out = VAEOutput(torch.zeros(3, 1), mu, logvar, None)
    plain = module.negative_elbo(x, mask, out)
    floored = module.negative_elbo(x, mask, out, free_bits=0.5)
    nll = plain - kl.sum(-1)
    # Batch mean: nll + sum_j max(0.5, mean KL_j); dimension 0 is below the floor.
    mean_kl = kl.mean(0)
    assert mean_kl[0] < 0.5 < mean_kl[1]
    expected = nll.mean() + 0.5 + mean_kl[1]
    assert torch.allclose(floored.mean(), expected)
    floored.sum().backward()
    assert torch.all(mu.grad[:, 0] == 0)  # no KL pressure below the floor
    assert torch.all(mu.grad[:, 1] != 0)


def test_free_bits_apply_to_validation_and_not_to_score(blobs):
    # Early stopping monitors the objective being optimized (free bits
    # included); score / score_samples stay the true log-likelihood.
    X, _ = blobs
    est = VAETransformer(n_components=2, free_bits=3.0, **FAST).fit(X)
    net = est.net_
    values, mask = est.schema_.encode(X)
    batch = {"x": torch.as_tensor(values, dtype=torch.float32),
             "mask": torch.as_tensor(mask, dtype=torch.float32)}
    with torch.no_grad():
        out = net.module_(**batch, generator=torch.Generator().manual_seed(0))
        valid = net.get_loss(out, None, X=batch, training=False)
        floored = est.module_.negative_elbo(batch["x"], batch["mask"], out,
                                            free_bits=3.0).mean()
        elbo = est.module_.negative_elbo(batch["x"], batch["mask"], out).mean()
    assert torch.allclose(valid, floored)
    assert valid > elbo  # every dimension is charged at least 3 nats
    plain = VAETransformer(n_components=2, free_bits=0.0, **FAST)
    plain.__dict__.update({k: v for k, v in vars(est).items() if k.endswith("_") or k == "_seed"})
    np.testing.assert_array_equal(plain.score_samples(X), est.score_samples(X))


def test_free_bits_validation(blobs):
    X, _ = blobs
    with pytest.raises(InvalidParameterError, match="free_bits"):
        VAETransformer(free_bits=-0.1, **FAST).fit(X)


def test_latent_diagnostics_survive_save_and_load(blobs):
    X, _ = blobs
    est = VAETransformer(n_components=3, **FAST).fit(X)
    buffer = io.BytesIO()
    save(est, buffer)
    restored = load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(restored.kl_per_component_, est.kl_per_component_)
    np.testing.assert_array_equal(restored.active_components_, est.active_components_)
    assert restored.active_components_.dtype == bool
    assert restored.n_active_components_ == est.n_active_components_


def test_convergence_warning_when_the_budget_ends_training(blobs):
    from sklearn.exceptions import ConvergenceWarning

    X, _ = blobs
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3 epochs .*Raise max_iter"):
        VAETransformer(**FAST).fit(X)
    with pytest.warns(ConvergenceWarning, match=r"step budget \(max_steps=4\)"):
        VAEImputer(max_iter=50, max_steps=4, hidden_layer_sizes=(8,), random_state=0).fit(X)


def test_no_convergence_warning_when_early_stopping_fires(blobs, recwarn):
    X, _ = blobs
    # tol=1e9: no epoch counts as an improvement, so patience 1 stops at epoch 2.
    est = VAETransformer(max_iter=50, n_iter_no_change=1, tol=1e9, hidden_layer_sizes=(8,),
                         random_state=0).fit(X)
    assert est.n_iter_ == 2
    VAEOutlierDetector(**FAST).fit(X)  # a fixed budget by design: never warns
    assert not [w for w in recwarn if "converged" in str(w.message)]


def test_n_components_wider_than_the_table_warns(blobs):
    X, _ = blobs  # 4 columns
    with pytest.warns(UserWarning, match=r"n_components=6 is larger than the 4 values"):
        VAETransformer(n_components=6, **FAST).fit(X)

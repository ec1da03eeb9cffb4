"""Training and scoring on incomplete tables: the masked likelihood of the core."""

import math

import numpy as np
import pytest
import torch

from sklearn_vae import VAEImputer, VAETransformer
from sklearn_vae.nn import VAEModule
from sklearn_vae.nn._losses import gaussian_log_density, gaussian_log_prob

from .conftest import low_rank_with_missing

FAST = dict(max_iter=5, hidden_layer_sizes=(16,), n_components=2, random_state=0)


def _data(n=120, p=5, frac=0.2, seed=0):
    return low_rank_with_missing(n=n, p=p, frac=frac, noise=0.3, seed=seed)


@pytest.fixture(scope="module")
def fitted():
    _, X_missing = _data()
    return VAETransformer(**FAST).fit(X_missing), X_missing


def test_module_masking_a_column_removes_exactly_its_term():
    torch.manual_seed(0)
    module = VAEModule((4, 0, ()), n_components=2, hidden_layer_sizes=(8,)).double()
    x = torch.randn(6, 4, dtype=torch.float64)
    ones = torch.ones(6, 4, dtype=torch.float64)
    out = module(x, ones)
    full = module.column_log_prob(x, ones, out.params)
    for j in range(4):
        mask = ones.clone()
        mask[:, j] = 0
        masked = module.column_log_prob(x, mask, out.params)
        assert torch.all(masked[:, j] == 0)
        keep = [c for c in range(4) if c != j]
        torch.testing.assert_close(masked[:, keep], full[:, keep], rtol=0, atol=0)
        # The ELBO (same posterior sample) loses exactly that column's term.
        diff = module.negative_elbo(x, mask, out) - module.negative_elbo(x, ones, out)
        torch.testing.assert_close(diff, full[:, j])
        # The value sitting in a masked entry is irrelevant.
        x_other = x.clone()
        x_other[:, j] = 1e3
        torch.testing.assert_close(module.column_log_prob(x_other, mask, out.params), masked)


def test_fully_observed_row_scores_as_unmasked_iwae(fitted):
    vae, _ = fitted
    X, _ = _data(n=7, seed=1)  # complete rows
    module, _ = vae._inference_module()
    values, mask = vae.schema_.encode(X, dtype=np.float64)
    assert np.all(mask == 1)
    v = torch.from_numpy(values)
    eps = vae._shared_noise(v.device)
    with torch.no_grad():
        mu, logvar = module.encode(v, torch.from_numpy(mask))
        z = mu + eps[:, None, :] * torch.exp(0.5 * logvar)
        mean = module.decode(z)
        # Plain Gaussian log-likelihood, no mask involved.
        log_px = gaussian_log_prob(v, mean, module.observation_logvar()).sum(-1)
        # log p(z): N(0, I), or the latent mixture of prior="mixture" (its
        # density is checked against scikit-learn's in tests/test_prior.py).
        log_w = log_px + module.log_prior(z) - gaussian_log_density(z, mu, logvar)
        expected = torch.logsumexp(log_w, 0) - math.log(vae.n_importance_samples)
    expected = expected.numpy() + vae.schema_.log_jacobian_.sum()
    # The reference runs in float64; scoring runs the network in float32.
    np.testing.assert_allclose(vae.score_samples(X), expected, rtol=1e-5, atol=1e-5)


def test_score_of_incomplete_rows_is_finite_and_splits_by_column(fitted):
    vae, X_missing = fitted
    scores = vae.score_samples(X_missing)
    assert np.isfinite(scores).all()
    per_feature = vae.score_samples_per_feature(X_missing)
    assert np.all(per_feature[np.isnan(X_missing)] == 0)
    np.testing.assert_allclose(per_feature.sum(axis=1), scores, rtol=1e-9)
    assert np.isfinite(vae.transform(X_missing)).all()


def test_marginalizing_a_column_raises_the_likelihood(fitted):
    # log p(x_obs) of a subset of columns is, on average, higher than that of
    # the full row (one fewer density factor in standardized units).
    vae, _ = fitted
    X, _ = _data(n=200, seed=2)
    X_drop = X.copy()
    X_drop[:, 0] = np.nan
    assert vae.score_samples(X_drop).mean() > vae.score_samples(X).mean()


def test_training_on_nan_gives_finite_losses(fitted):
    vae, _ = fitted
    assert np.isfinite(vae.loss_curve_).all()


def test_iwae_bound_is_tighter_than_elbo():
    torch.manual_seed(0)
    module = VAEModule((3, 0, ()), n_components=2, hidden_layer_sizes=(8,)).double()
    x = torch.randn(500, 3, dtype=torch.float64)
    mask = (torch.rand(500, 3) > 0.3).double()
    with torch.no_grad():
        elbo = module.negative_elbo(x, mask, module(x, mask)).mean()
        iwae = module.negative_iwae_bound(x, mask, n_samples=50).mean()
        iwae_one = module.negative_iwae_bound(x, mask, n_samples=1)
    assert iwae < elbo
    assert iwae_one.shape == (500,) and torch.isfinite(iwae_one).all()


def test_iwae_training_objective_is_used():
    _, X_missing = _data()
    elbo = VAEImputer(n_train_samples=1, early_stopping=False, **FAST).fit(X_missing)
    iwae = VAEImputer(n_train_samples=10, early_stopping=False, **FAST).fit(X_missing)
    assert elbo.net_.n_train_samples == 1 and iwae.net_.n_train_samples == 10
    assert elbo.loss_curve_ != iwae.loss_curve_
    assert np.isfinite(iwae.loss_curve_).all()
    # The other estimators keep training on the ELBO.
    assert VAETransformer(**FAST).fit(X_missing).net_.n_train_samples == 1

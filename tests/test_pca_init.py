"""VAETransformer(init="pca"): the model starts as probabilistic PCA (issue 12)."""

import io

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_vae import VAETransformer, load, save
from sklearn_vae.nn import ColumnLayout, VAEModule

from .conftest import FAST


def correlated(n=400, p=6, k=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, k)) @ rng.normal(size=(k, p)) + 0.3 * rng.normal(size=(n, p))
    return (X - X.mean(0)) / X.std(0)


def test_init_from_pca_is_ppca_posterior_and_decoder():
    # Against scikit-learn's PCA, which fits the same probabilistic PCA
    # (Tipping and Bishop): noise_variance_ is the mean of the other
    # eigenvalues. The posterior mean of dimension j is PCA's score j times
    # sqrt(lambda_j - sigma^2) / lambda_j, its variance sigma^2 / lambda_j.
    X = correlated()
    k = 2
    module = VAEModule(ColumnLayout(n_continuous=X.shape[1]), k, (8,), linear_skip=True,
                       generator=torch.Generator().manual_seed(0))
    module.init_from_pca(torch.as_tensor(X, dtype=torch.float32))
    pca = PCA(n_components=k).fit(X)
    lam, sigma2 = pca.explained_variance_, pca.noise_variance_
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        mu, logvar = module.encode(x)
        params = module.decode(mu)
    expected_mu = pca.transform(X) * np.sqrt(lam - sigma2) / lam
    signs = np.sign((mu.numpy() * expected_mu).sum(0))  # eigenvectors' signs are free
    np.testing.assert_allclose(mu.numpy() * signs, expected_mu, atol=1e-4)
    np.testing.assert_allclose(logvar.numpy(), np.log(sigma2 / lam)[None].repeat(len(X), 0),
                               rtol=1e-4)
    # The decoder is pPCA's: x_hat = m + W E[z|x], PCA's reconstruction shrunk
    # by (lambda - sigma^2) / lambda along each component.
    scores = pca.transform(X) * (lam - sigma2) / lam
    expected_x = scores @ pca.components_ + pca.mean_
    np.testing.assert_allclose(params.numpy(), expected_x, atol=1e-4)
    # The noise is pPCA's, so the ELBO at the start is PCA's log-likelihood
    # (the posterior is exact).
    np.testing.assert_allclose(module.observation_logvar().detach().exp().numpy(),
                               np.full(X.shape[1], sigma2), rtol=1e-4)
    with torch.no_grad():
        elbo = -module.negative_elbo(x, None, module(x, generator=torch.Generator()))
    np.testing.assert_allclose(elbo.mean().item(), pca.score(X), rtol=0.02)


def test_init_from_pca_more_components_than_rank_uses_the_prior():
    # A dimension PCA cannot fill (k >= rank) starts on the prior: zero mean,
    # unit variance, no decoder weight.
    X = correlated(p=3, k=3)
    module = VAEModule(ColumnLayout(n_continuous=3), 4, (8,), linear_skip=True,
                       generator=torch.Generator().manual_seed(0))
    module.init_from_pca(torch.as_tensor(X, dtype=torch.float32))
    with torch.no_grad():
        mu, logvar = module.encode(torch.as_tensor(X, dtype=torch.float32))
    assert torch.all(mu[:, 3] == 0) and torch.all(logvar[:, 3] == 0)
    assert torch.all(module.decoder_skip.weight[:, 3] == 0)
    assert torch.all(torch.isfinite(module.observation_logvar()))


def test_init_from_pca_needs_linear_skip():
    module = VAEModule(ColumnLayout(n_continuous=3), 2, (8,))
    with pytest.raises(ValueError, match="linear_skip=True"):
        module.init_from_pca(torch.zeros(10, 3))


def test_transformer_init_pca_builds_linear_paths_and_random_does_not(blobs):
    X, _ = blobs
    pca_init = VAETransformer(**FAST).fit(X)
    assert pca_init.init == "pca" and pca_init.module_.linear_skip
    random = VAETransformer(init="random", **FAST).fit(X)
    assert not random.module_.linear_skip
    assert not hasattr(random.module_, "encoder_skip")


def test_transformer_init_pca_keeps_every_dimension_active():
    # Three true factors, three latent dimensions: started from PCA each
    # carries information; the transform is as good a linear feature as PCA's.
    X = correlated(n=600, p=8, k=3)
    vae = VAETransformer(n_components=3, hidden_layer_sizes=(16,), max_iter=30,
                         random_state=0, init="pca").fit(X)
    assert vae.n_active_components_ == 3
    assert vae.kl_per_component_.min() > 0.3
    # The codes span PCA's subspace up to a small nonlinear part.
    Z, P = vae.transform(X), PCA(3).fit_transform(X)
    coef, *_ = np.linalg.lstsq(np.c_[Z, np.ones(len(Z))], P, rcond=None)
    r2 = 1 - ((np.c_[Z, np.ones(len(Z))] @ coef - P) ** 2).sum(0) / (P ** 2).sum(0)
    assert r2.min() > 0.95


def test_transformer_init_validation(blobs):
    X, _ = blobs
    with pytest.raises(InvalidParameterError, match="init"):
        VAETransformer(init="zeros", **FAST).fit(X)


def test_transformer_init_pca_on_mixed_dataframe_and_missing():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "c": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
        "d": rng.random(n) < 0.3,
    })
    df.loc[::7, "a"] = np.nan
    vae = VAETransformer(n_components=2, init="pca", **FAST).fit(df)
    assert vae.module_.linear_skip
    assert np.isfinite(vae.transform(df)).all()
    assert np.isfinite(vae.score_samples(df)).all()
    assert list(vae.sample(5, random_state=0).columns) == list(df.columns)


def test_transformer_init_pca_survives_save_and_load(blobs):
    X, _ = blobs
    vae = VAETransformer(init="pca", **FAST).fit(X)
    buffer = io.BytesIO()
    save(vae, buffer)
    restored = load(io.BytesIO(buffer.getvalue()))
    assert restored.module_.linear_skip
    np.testing.assert_array_equal(restored.transform(X), vae.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X), vae.score_samples(X))


def test_init_from_pca_conditional_uses_class_means_and_within_class_components():
    # Two classes apart along one axis: the label carries the class mean, so
    # z starts from the within-class spread (pooled covariance), and the
    # decoder at z = 0 returns each class's mean.
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 200)
    X = rng.normal(size=(400, 3)) * [1.0, 0.5, 0.2]
    X[:, 2] += 5 * y
    onehot = torch.as_tensor(np.eye(2)[y], dtype=torch.float32)
    module = VAEModule(ColumnLayout(n_continuous=3), 1, (8,), linear_skip=True,
                       n_conditions=2, generator=torch.Generator().manual_seed(0))
    x = torch.as_tensor(X, dtype=torch.float32)
    module.init_from_pca(x, onehot)
    with torch.no_grad():
        mu, _ = module.encode(x, cond=onehot)
        at_zero = module.decode(torch.zeros(2, 1), torch.eye(2))
    means = np.stack([X[y == 0].mean(0), X[y == 1].mean(0)])
    np.testing.assert_allclose(at_zero.numpy(), means, atol=1e-4)
    # The one component is the largest within-class direction (column 0),
    # not the between-class axis (column 2).
    w = module.decoder_skip.weight[:, 0].detach().abs().numpy()
    assert w.argmax() == 0
    np.testing.assert_allclose(abs(np.corrcoef(mu[:, 0].numpy(), X[:, 0])[0, 1]), 1.0,
                               atol=1e-3)
    with pytest.raises(ValueError, match="needs cond"):
        module.init_from_pca(x)


def test_transformer_init_pca_density_is_honest_with_no_residual():
    # One column, one latent dimension: PCA leaves no residual, so the start's
    # noise is the model's variance floor, not 0; exp(score_samples) still
    # integrates to about 1 in the user's units.
    pd = pytest.importorskip("pandas")
    x = np.random.default_rng(0).lognormal(0.0, 1.0, 400)
    vae = VAETransformer(n_components=1, hidden_layer_sizes=(8,), max_iter=40,
                         random_state=0, n_importance_samples=20, early_stopping=False,
                         init="pca").fit(pd.DataFrame({"x": x}))
    grid = np.linspace(x.min() - 5, x.max() + 5, 4001)
    density = np.exp(vae.score_samples(pd.DataFrame({"x": grid})))
    assert 0.9 < density.sum() * (grid[1] - grid[0]) < 1.1


def test_transformer_init_pca_conditional_samples_the_requested_class():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 200)
    X = rng.normal(size=(400, 4))
    X[:, :2] += 4 * y[:, None]
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=30,
                         random_state=0, conditional=True, init="pca").fit(X, y)
    rows = vae.sample(200, y=np.repeat([0, 1], 100), random_state=0)
    assert rows[:100, 0].mean() < 1.0 and rows[100:, 0].mean() > 3.0


def ppca_posterior(X, k, observed):
    """pPCA's exact posterior of z given the entries ``observed`` of each row."""
    pca = PCA(n_components=k).fit(X)
    lam, sigma2 = pca.explained_variance_, pca.noise_variance_
    W = pca.components_.T * np.sqrt(lam - sigma2)  # (d, k)
    mus, variances = [], []
    for x, o in zip(X, observed):
        Wo = W[o]
        P = np.eye(k) + Wo.T @ Wo / sigma2
        cov = np.linalg.inv(P)
        mus.append(cov @ Wo.T @ (x[o] - pca.mean_[o]) / sigma2)
        variances.append(np.diag(cov))
    return np.array(mus), np.array(variances), W


def ppca_start(X, k, observed):
    """A numeric module started from pPCA of ``X``; rows with holes where not observed."""
    module = VAEModule(ColumnLayout(n_continuous=X.shape[1]), k, (8,), linear_skip=True,
                       generator=torch.Generator().manual_seed(0))
    module.init_from_pca(torch.as_tensor(X, dtype=torch.float32))
    x = torch.as_tensor(np.where(observed, X, 0.0), dtype=torch.float32)
    return module, x, torch.as_tensor(observed, dtype=torch.float32)


@pytest.mark.parametrize("inference", [False, True])
def test_linear_path_is_ppca_posterior_given_the_observed_entries(inference):
    # Any pattern of missing entries, a row with none observed included: the
    # start's posterior mean and marginal variances are pPCA's given the
    # observed entries (missing entries are filled with 0, as by the caller).
    X = correlated(n=300, p=6, k=3)
    k = 2
    rng = np.random.RandomState(1)
    observed = rng.rand(*X.shape) > 0.4
    observed[0] = False  # nothing observed: the prior
    observed[1] = True
    module, x, mask = ppca_start(X, k, observed)
    with torch.no_grad():
        mu, logvar = module.encode(x, mask, inference=inference)
    expected_mu, expected_var, W = ppca_posterior(X, k, observed)
    signs = np.sign(np.diag(module.decoder_skip.weight.detach().numpy().T @ W))
    np.testing.assert_allclose(mu.numpy() * signs, expected_mu, atol=1e-4)
    np.testing.assert_allclose(logvar.exp().numpy(), expected_var, rtol=1e-4)
    np.testing.assert_allclose(mu[0].numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(logvar[0].numpy(), 0.0, atol=1e-6)


def test_linear_path_of_a_row_does_not_depend_on_its_batch():
    X = correlated(n=64, p=6, k=3)
    observed = np.random.RandomState(2).rand(*X.shape) > 0.3
    module, x, mask = ppca_start(X, 3, observed)
    with torch.no_grad():
        mu, logvar = module.encode(x, mask, inference=True)
        order = torch.randperm(64, generator=torch.Generator().manual_seed(0))
        mu2, logvar2 = module.encode(x[order], mask[order], inference=True)
        alone, _ = module.encode(x[5:6], mask[5:6], inference=True)
    assert torch.equal(mu[order], mu2) and torch.equal(logvar[order], logvar2)
    assert torch.equal(alone[0], mu[5])


def test_transformer_init_pca_sample_given_keeps_other_columns_wide():
    # Column 2 is independent of column 0: given column 0, it keeps its
    # marginal spread (with a linear path blind to missing entries it came
    # out at half its width).
    rng = np.random.RandomState(0)
    x0 = rng.normal(size=600)
    X = np.column_stack([x0, x0 + 0.2 * rng.normal(size=600), rng.normal(size=600)])
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(32,), max_iter=100,
                         learning_rate_init=1e-2, random_state=0, init="pca").fit(X)
    rows = vae.sample(500, random_state=0, given={0: 1.5})
    assert abs(rows[:, 1].mean() - 1.5) < 0.15 and rows[:, 1].std() < 0.35
    assert 0.8 < rows[:, 2].std() < 1.2


def test_linear_path_is_ppca_posterior_on_mixed_columns():
    # Binary and one-hot values too: pPCA of the encoded values, with a
    # column's mask covering all of its values (the decoder's logit rows,
    # rescaled by the link's slope, give back W / sigma).
    rng = np.random.RandomState(0)
    n = 400
    f = rng.normal(size=n)
    cont = np.column_stack([f + 0.5 * rng.normal(size=n), rng.normal(size=n)])
    binary = (f + rng.normal(size=n) > 0).astype(float)
    level = np.digitize(f + rng.normal(size=n), [-0.5, 0.5])
    values = np.column_stack([cont, binary, np.eye(3)[level]])
    layout = ColumnLayout(n_continuous=2, n_binary=1, categories=(3,))
    module = VAEModule(layout, 2, (8,), linear_skip=True,
                       generator=torch.Generator().manual_seed(0))
    module.init_from_pca(torch.as_tensor(values, dtype=torch.float32))
    columns = rng.rand(n, 4) > 0.4  # continuous, continuous, binary, categorical
    observed = columns[:, [0, 1, 2, 3, 3, 3]]
    x = torch.as_tensor(np.where(observed, values, 0.0), dtype=torch.float32)
    with torch.no_grad():
        mu, logvar = module.encode(x, torch.as_tensor(columns, dtype=torch.float32),
                                   inference=True)
    expected_mu, expected_var, W = ppca_posterior(values, 2, observed)
    signs = np.sign((mu.numpy() * expected_mu).sum(0))
    np.testing.assert_allclose(mu.numpy() * signs, expected_mu, atol=1e-4)
    np.testing.assert_allclose(logvar.exp().numpy(), expected_var, rtol=1e-4)


@pytest.mark.parametrize("n_components", [1, 2])
def test_transformer_init_pca_on_categorical_only_table_with_missing_entries(n_components):
    # No continuous column: pPCA's noise variance has no continuous floor.
    # At 1e-6 the posterior started ~1000x too tight and the precision path
    # of rows with missing entries diverged (FloatingPointError blaming the
    # learning rate). Now it starts at a Bernoulli(0.02) entry's variance.
    import pandas as pd

    rng = np.random.RandomState(0)
    flag = rng.choice(["x", "y", None], 200)
    df = pd.DataFrame({"a": flag, "b": flag, "c": rng.choice(["u", "v", None], 200)})
    kw = dict(n_components=n_components, hidden_layer_sizes=(16,), max_iter=5,
              random_state=0)
    with pytest.warns(ConvergenceWarning):
        pca = VAETransformer(**kw).fit(df)
    with pytest.warns(ConvergenceWarning):
        rand = VAETransformer(init="random", **kw).fit(df)
    assert np.isfinite(pca.loss_curve_).all()
    assert pca.loss_curve_[0] < 2 * rand.loss_curve_[0]  # not started far off
    assert pca.score(df) > rand.score(df) - 0.5

"""``VAETransformer(prior="mixture")``: a Gaussian mixture on the codes as the prior p(z)."""

import io
import math

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from sklearn_vae import VAEOversampler, VAETransformer, load, save
from sklearn_vae._inference import sample_row_bytes
from sklearn_vae._prior import (
    MIN_ROWS,
    fit_latent_mixture,
    mixture_parameters,
)
from sklearn_vae.nn import VAEModule
from sklearn_vae.nn._losses import gaussian_log_density, gaussian_log_prob

TINY = dict(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2, random_state=0)


def two_clusters(n=600, seed=0):
    """Two tight clusters at (-3, -3) and (3, 3): nothing in between."""
    rng = np.random.RandomState(seed)
    centre = np.where(rng.rand(n) < 0.5, -3.0, 3.0)[:, None]
    return centre + 0.3 * rng.normal(size=(n, 2))


def in_gap(S):
    return np.mean(np.abs(S[:, 0]) < 1.5)


@pytest.fixture(scope="module")
def models():
    X = two_clusters()
    # beta < 1: the codes spread beyond N(0, I) and split into two groups.
    mixture = VAETransformer(n_components=2, beta=0.1, **TINY).fit(X)
    normal = VAETransformer(n_components=2, beta=0.1, prior="normal", **TINY).fit(X)
    return mixture, normal, X


def test_mixture_prior_is_fitted_on_the_codes(models):
    mixture, normal, _ = models
    assert mixture.get_params()["prior"] == "mixture"  # the default
    assert isinstance(mixture.latent_prior_, GaussianMixture)
    assert mixture.latent_prior_.n_components >= 2  # two groups of codes
    assert mixture.module_.prior_components == mixture.latent_prior_.n_components
    assert normal.latent_prior_ is None and normal.module_.prior_components == 0
    # The same training run: the prior is fitted after it, the weights agree.
    for k, v in normal.module_.state_dict().items():
        assert torch.equal(v, mixture.module_.state_dict()[k]), k


def test_prior_draws_follow_the_data_not_the_gap(models):
    mixture, normal, X = models
    assert in_gap(X) == 0.0
    rows = mixture.sample(2000, random_state=0)
    gap_normal = in_gap(normal.sample(2000, random_state=0))
    assert gap_normal > 0.05  # N(0, I) codes fall between the clusters
    assert in_gap(rows) < gap_normal / 3
    assert 0.4 < np.mean(rows[:, 0] > 0) < 0.6  # both clusters, in their proportions
    np.testing.assert_array_equal(rows, mixture.sample(2000, random_state=0))


def test_mixture_raises_the_held_out_likelihood(models):
    mixture, normal, _ = models
    test = two_clusters(n=400, seed=1)
    assert mixture.score(test) > normal.score(test) + 0.1


def test_log_prior_is_the_mixture_density(models):
    mixture, _, _ = models
    module, _ = mixture._inference_module()  # float64
    z = np.random.RandomState(0).normal(scale=2.0, size=(50, 2))
    with torch.no_grad():
        ours = module.log_prior(torch.from_numpy(z)).numpy()
    # (The module holds the mixture in its own float32.)
    np.testing.assert_allclose(ours, mixture.latent_prior_.score_samples(z), rtol=2e-6)


def test_score_samples_is_iwae_with_the_mixture_prior(models):
    """The reference: scikit-learn's mixture density in an IWAE estimate by hand."""
    mixture, _, _ = models
    X = two_clusters(n=7, seed=2)
    module, _ = mixture._inference_module()
    values, mask = mixture.schema_.encode(X, dtype=np.float64)
    v = torch.from_numpy(values)
    eps = mixture._shared_noise(v.device)
    with torch.no_grad():
        mu, logvar = module.encode(v, torch.from_numpy(mask))
        z = mu + eps[:, None, :] * torch.exp(0.5 * logvar)
        log_px = gaussian_log_prob(v, module.decode(z), module.observation_logvar()).sum(-1)
        log_pz = mixture.latent_prior_.score_samples(z.reshape(-1, 2).numpy())
        log_w = (log_px + torch.from_numpy(log_pz).reshape(z.shape[:2])
                 - gaussian_log_density(z, mu, logvar))
        expected = torch.logsumexp(log_w, 0) - math.log(mixture.n_importance_samples)
    expected = expected.numpy() + mixture.schema_.log_jacobian_.sum()
    np.testing.assert_allclose(mixture.score_samples(X), expected, rtol=1e-5, atol=1e-5)


def test_module_prior_draws_match_the_mixture():
    rng = np.random.RandomState(0)
    codes = np.concatenate([rng.normal(size=(400, 3)) * 0.3 + 2, rng.normal(size=(400, 3))])
    gm = GaussianMixture(2, random_state=0).fit(codes)
    module = VAEModule((2, 0, ()), 3, (8,), generator=torch.Generator().manual_seed(0))
    module.set_latent_mixture(gm.weights_, gm.means_, gm.precisions_cholesky_)
    module.double()
    z = module.sample_prior(100_000, torch.Generator().manual_seed(0)).numpy()
    np.testing.assert_allclose(z.mean(0), gm.weights_ @ gm.means_, atol=0.02)
    reference = gm.sample(100_000)[0]
    np.testing.assert_allclose(np.cov(z.T), np.cov(reference.T), atol=0.03)
    # Back to N(0, I): exactly torch.randn, and no buffers left behind.
    module.set_latent_mixture()
    assert module.prior_components == 0
    assert not any(name.startswith("prior_") for name, _ in module.named_buffers())
    np.testing.assert_array_equal(
        module.sample_prior(5, torch.Generator().manual_seed(1), dtype=torch.float64),
        torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64))


def test_set_latent_mixture_checks_shapes():
    module = VAEModule((2, 0, ()), 3, (8,))
    with pytest.raises(ValueError, match=r"means \(M, 3\)"):
        module.set_latent_mixture(np.ones(2) / 2, np.zeros((2, 4)), np.stack([np.eye(3)] * 2))


def test_the_size_is_chosen_on_held_out_codes():
    rng = np.random.RandomState(0)
    # Codes that are N(0, I): no mixture scores better on codes it did not see.
    gm, scores = fit_latent_mixture(rng.normal(size=(2000, 3)), seed=0)
    assert gm is None and scores[0] >= max(scores.values())
    # Three separated groups: a mixture of at least 3 components.
    centres = np.array([[-4.0, 0, 0], [4.0, 0, 0], [0, 4.0, 0]])
    codes = centres[rng.randint(3, size=2000)] + 0.3 * rng.normal(size=(2000, 3))
    gm, scores = fit_latent_mixture(codes, seed=0)
    chosen = (gm.covariance_type, gm.n_components)
    assert gm.n_components >= 3 and scores[chosen] == max(scores.values())
    assert scores[chosen] > scores[0] + 1.0
    # Too few rows to judge a mixture: N(0, I).
    assert fit_latent_mixture(codes[:MIN_ROWS - 1], seed=0) == (None, {})


def test_diagonal_mixtures_where_full_ones_run_out_of_rows():
    """Many axis-aligned groups in 12 dimensions: a full covariance costs 91
    parameters per component, so 640 codes allow at most 4 full components,
    fewer than the groups; diagonal ones (25 parameters) can follow them all."""
    rng = np.random.RandomState(0)
    centres = 4.0 * rng.normal(size=(12, 12))
    codes = centres[rng.randint(12, size=800)] + rng.uniform(0.2, 0.6, size=12) * rng.normal(
        size=(800, 12))
    gm, scores = fit_latent_mixture(codes, seed=0)
    assert gm.covariance_type == "diag" and gm.n_components >= 8
    assert max(v for key, v in scores.items() if key and key[0] == "full") < scores[
        ("diag", gm.n_components)]
    assert ("full", 8) not in scores  # 8 x 91 parameters > 640 codes: not fitted


def test_diagonal_mixture_density_draws_and_persistence():
    rng = np.random.RandomState(0)
    codes = np.concatenate([rng.normal(size=(400, 3)) * [0.3, 1.0, 0.5] + 2,
                            rng.normal(size=(400, 3))])
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(codes)
    module = VAEModule((2, 0, ()), 3, (8,), generator=torch.Generator().manual_seed(0))
    module.set_latent_mixture(*mixture_parameters(gm))
    module.double()
    assert module._prior_n_diagonal == 3  # the M k path of log_prior
    z = rng.normal(scale=2.0, size=(40, 3))
    with torch.no_grad():
        ours = module.log_prior(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(ours, gm.score_samples(z), rtol=2e-6)  # (stored in float32)
    draws = module.sample_prior(100_000, torch.Generator().manual_seed(0)).numpy()
    reference = gm.sample(100_000)[0]
    np.testing.assert_allclose(draws.mean(0), reference.mean(0), atol=0.02)
    np.testing.assert_allclose(np.cov(draws.T), np.cov(reference.T), atol=0.03)
    # A module rebuilt with placeholders reads the form off the loaded buffers.
    rebuilt = VAEModule((2, 0, ()), 3, (8,), prior_components=3).double()
    rebuilt.load_state_dict(module.state_dict())
    assert rebuilt._prior_n_diagonal == 3
    full = GaussianMixture(2, random_state=0).fit(codes)
    module.set_latent_mixture(*mixture_parameters(full))
    assert module._prior_n_diagonal == 0
    rebuilt = VAEModule((2, 0, ()), 3, (8,), prior_components=2).double()
    rebuilt.load_state_dict(module.state_dict())
    assert rebuilt._prior_n_diagonal == 0  # the placeholders were diagonal, the mixture is not
    with torch.no_grad():
        np.testing.assert_allclose(rebuilt.log_prior(torch.from_numpy(z)).numpy(),
                                   full.score_samples(z), rtol=2e-6)


def test_save_load_keeps_the_mixture(models):
    mixture, _, X = models
    buffer = io.BytesIO()
    save(mixture, buffer)
    restored = load(io.BytesIO(buffer.getvalue()))
    assert restored.module_.prior_components == mixture.module_.prior_components
    np.testing.assert_array_equal(restored.latent_prior_.means_, mixture.latent_prior_.means_)
    np.testing.assert_array_equal(restored.score_samples(X), mixture.score_samples(X))
    np.testing.assert_array_equal(restored.sample(9, random_state=3),
                                  mixture.sample(9, random_state=3))


def test_refit_and_warm_start_replace_the_mixture(models):
    _, _, X = models
    vae = VAETransformer(n_components=2, beta=0.1, **TINY).fit(X)
    assert vae.module_.prior_components > 0
    vae.set_params(prior="normal", warm_start=True, max_iter=2).fit(X)
    assert vae.latent_prior_ is None and vae.module_.prior_components == 0


def test_sample_given_and_conditional_use_the_mixture():
    X = two_clusters()
    y = (X[:, 0] > 0).astype(int)
    vae = VAETransformer(n_components=2, beta=0.1, conditional=True, **TINY).fit(X, y)
    # p(z | y): one prior per class, fitted to that class's codes.
    assert isinstance(vae.latent_prior_, list) and len(vae.latent_prior_) == 2
    assert vae.module_.prior_log_weights.shape == (2, vae.module_.prior_components)
    for label in (0, 1):
        rows = vae.sample(400, random_state=0, y=label)
        assert np.mean((rows[:, 0] > 0) == label) > 0.9
    # The class's prior, by hand: scikit-learn's mixture (or N(0, I)) at each code.
    module, _ = vae._inference_module()
    z = np.random.RandomState(0).normal(size=(30, 2))
    cond = torch.zeros(30, 2, dtype=torch.float64)
    cond[:, 1] = 1
    with torch.no_grad():
        ours = module.log_prior(torch.from_numpy(z), cond).numpy()
    gm = vae.latent_prior_[1]
    expected = (gm.score_samples(z) if gm is not None
                else -0.5 * (z ** 2).sum(1) - np.log(2 * np.pi))
    np.testing.assert_allclose(ours, expected, rtol=2e-6)
    buffer = io.BytesIO()
    save(vae, buffer)
    restored = load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(restored.sample(20, random_state=1, y=[0, 1] * 10),
                                  vae.sample(20, random_state=1, y=[0, 1] * 10))
    given = vae.sample(50, random_state=0, y=1, given={0: 3.0})
    assert np.all(given[:, 0] == 3.0) and abs(np.median(given[:, 1]) - 3.0) < 1.0


def test_memory_plan_counts_the_mixture(models):
    mixture, normal, _ = models
    extra = sample_row_bytes(mixture.module_) - sample_row_bytes(normal.module_)
    assert extra == 4 * 2 * mixture.module_.prior_components * 2


def test_oversampler_prior_draws_use_the_mixture():
    pytest.importorskip("imblearn")
    X = two_clusters()
    y = (np.arange(len(X)) % 5 == 0).astype(int)
    sampler = VAEOversampler(sampling="prior", random_state=0)
    sampler.fit_resample(X, y)
    assert sampler.estimator_.prior == "mixture"
    assert VAEOversampler(random_state=0).fit(X, y).sampling == "interpolate"
    default = VAEOversampler(random_state=0)
    default.fit_resample(X, y)
    assert default.estimator_.prior == "normal"  # interpolation never draws from it
    assert default.estimator_.calibrate_categories is False  # nor calls sample(n)


def test_a_class_with_few_rows_keeps_the_standard_normal():
    X = two_clusters()
    y = (X[:, 0] > 0).astype(int)
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:MIN_ROWS - 1]])
    vae = VAETransformer(n_components=2, beta=0.1, conditional=True, **TINY)
    vae.fit(X[keep], y[keep])
    assert len(vae.latent_prior_) == 2 and vae.latent_prior_[1] is None
    assert vae.sample(5, random_state=0, y=1).shape == (5, 2)
    # A partial_fit chunk without class 1 refits the priors on what it has.
    vae.partial_fit(X[y == 0][:100], y[y == 0][:100])
    assert vae.latent_prior_[1] is None
    assert np.isfinite(vae.score_samples(X[:10], y[:10])).all()


def test_a_bank_of_diagonal_and_full_classes():
    """Per class, one diagonal mixture, one full one and N(0, I): each class's
    density is scikit-learn's, whichever path its components take, before and
    after a rebuild from the state dict; draws in blocks are the unblocked ones."""
    rng = np.random.RandomState(0)
    codes = np.concatenate([rng.normal(size=(300, 3)) * [0.3, 1.0, 0.5] + 2,
                            rng.normal(size=(300, 3)) @ [[1, 0.5, 0], [0, 1, 0], [0, 0, 0.3]]])
    full = GaussianMixture(2, random_state=0).fit(codes)
    diag = GaussianMixture(3, covariance_type="diag", random_state=0).fit(codes)
    module = VAEModule((2, 0, ()), 3, (8,), n_conditions=3).double()
    module.set_latent_mixtures([mixture_parameters(full), mixture_parameters(diag), None])
    # Diagonal components first (the 3 of class 1 and class 2's one), then full ones.
    assert module.prior_components == 6 and module._prior_n_diagonal == 4
    z = rng.normal(scale=2.0, size=(25, 3))
    expected = [full.score_samples(z), diag.score_samples(z),
                -0.5 * (z ** 2).sum(1) - 1.5 * np.log(2 * np.pi)]
    rebuilt = VAEModule((2, 0, ()), 3, (8,), n_conditions=3, prior_components=6,
                        prior_classes=3).double()
    rebuilt.load_state_dict(module.state_dict())
    assert rebuilt._prior_n_diagonal == 4
    for c in range(3):
        cond = torch.zeros(25, 3, dtype=torch.float64)
        cond[:, c] = 1
        for m in (module, rebuilt):
            with torch.no_grad():
                np.testing.assert_allclose(m.log_prior(torch.from_numpy(z), cond).numpy(),
                                           expected[c], rtol=1e-10)
    import sklearn_vae.nn._modules as modules

    cond = torch.eye(3, dtype=torch.float64)[rng.randint(3, size=1000)]
    once = module.sample_prior(1000, torch.Generator().manual_seed(0), cond=cond)
    block, modules._PRIOR_DRAW_BLOCK = modules._PRIOR_DRAW_BLOCK, 64
    try:
        blocked = module.sample_prior(1000, torch.Generator().manual_seed(0), cond=cond)
    finally:
        modules._PRIOR_DRAW_BLOCK = block
    torch.testing.assert_close(blocked, once, rtol=1e-12, atol=1e-12)

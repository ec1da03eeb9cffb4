import math

import pytest
import torch

from sklearn_vae.nn import ColumnLayout, VAEModule, _modules
from sklearn_vae.nn._losses import (
    bernoulli_log_prob,
    categorical_log_prob,
    gaussian_log_prob,
    kl_to_standard_normal,
)


@pytest.fixture
def mixed_batch():
    torch.manual_seed(0)
    module = VAEModule(ColumnLayout(2, 1, (3, 5, 2)), 2, (8,)).double()
    n = 6
    x = torch.zeros(n, 2 + 1 + 10, dtype=torch.float64)
    x[:, :2] = torch.randn(n, 2)
    x[:, 2] = torch.tensor([0.0, 1.0] * 3)
    for i in range(n):
        x[i, 3 + i % 3] = x[i, 6 + i % 5] = x[i, 11 + i % 2] = 1.0
    x[0, 6:11] = 0.0  # a missing categorical entry ...
    mask = torch.ones(n, 6, dtype=torch.float64)
    mask[0, 4] = 0.0  # ... and its mask
    params = torch.randn(4, n, 13, dtype=torch.float64, requires_grad=True)
    return module, x, mask, params


def test_column_log_prob_matches_per_column_reference(mixed_batch):
    module, x, mask, params = mixed_batch
    got = module.column_log_prob(x, mask, params)
    assert got.shape == (4, 6, 6)
    mean, logits, cats = module.split_params(params)
    ref = [gaussian_log_prob(x[:, :2], mean, module.observation_logvar()),
           bernoulli_log_prob(x[:, 2:3].expand_as(logits), logits)]
    start = 3
    for block in cats:
        k = block.shape[-1]
        ref.append(categorical_log_prob(x[:, start:start + k], block).unsqueeze(-1))
        start += k
    torch.testing.assert_close(got, torch.cat(ref, dim=-1) * mask)
    assert got[:, 0, 4].abs().max() == 0  # missing entry contributes nothing
    got.sum().backward()
    assert torch.isfinite(params.grad).all()


def test_categorical_probabilities_normalize(mixed_batch):
    module, _, _, params = mixed_batch
    # Sum over every level of the first categorical column: probabilities add to 1.
    probs = []
    for level in range(3):
        x = torch.zeros(6, 13, dtype=torch.float64)
        x[:, 3 + level] = 1.0
        mask = torch.zeros(6, 6, dtype=torch.float64)
        mask[:, 3] = 1.0
        probs.append(module.column_log_prob(x, mask, params)[..., 3].exp())
    torch.testing.assert_close(sum(probs), torch.ones(4, 6, dtype=torch.float64))


def test_kl_and_gaussian_reference_values():
    mu, logvar = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, math.log(2.0)]])
    expected = 0.5 * (1.0 + 2.0 - 1.0 - math.log(2.0))
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), torch.tensor([expected]))
    val = gaussian_log_prob(torch.tensor(1.0), torch.tensor(0.0), torch.tensor(0.0))
    torch.testing.assert_close(val, torch.tensor(-0.5 * math.log(2 * math.pi) - 0.5))


def test_observation_variance_has_a_floor():
    module = VAEModule(ColumnLayout(3), 1, (4,), min_variance=1e-3)
    with torch.no_grad():
        module.raw_variance.fill_(-1e4)
    assert torch.allclose(module.observation_logvar().exp(), torch.full((3,), 1e-3))


def test_heteroscedastic_variance_is_per_entry():
    torch.manual_seed(0)
    layout = ColumnLayout(2, 1, (3,))
    module = VAEModule(layout, 2, (8,), heteroscedastic=True).double()
    # Decoder outputs: 2 means, 1 logit, 3 logits, then 2 variance outputs.
    assert module.decoder[-1].out_features == layout.n_values + 2
    z = torch.randn(5, 2, dtype=torch.float64)
    params = module.decode(z)
    logvar = module.observation_logvar(params)
    assert logvar.shape == (5, 2)
    assert logvar.std(dim=0).min() > 0  # depends on z, not only on the column
    x = torch.zeros(5, layout.n_values, dtype=torch.float64)
    x[:, :2] = torch.randn(5, 2)
    x[:, 3] = 1.0
    mask = torch.ones(5, layout.n_columns, dtype=torch.float64)
    got = module.column_log_prob(x, mask, params)
    mean, logits, cats = module.split_params(params)
    torch.testing.assert_close(got[:, :2], gaussian_log_prob(x[:, :2], mean, logvar))
    torch.testing.assert_close(got[:, 3], categorical_log_prob(x[:, 3:6], cats[0]))
    # Variance floor holds per entry too.
    floor = module.observation_logvar(params - 1e4).exp()
    torch.testing.assert_close(floor, torch.full((5, 2), 1e-3, dtype=torch.float64))
    # Samples use the per-entry noise: a tiny variance gives the mean back.
    tiny = params.clone()
    tiny[:, layout.n_values:] = -1e4
    module.min_variance.fill_(1e-12)
    draws = module.sample_observation(tiny, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(draws[:, :2], mean, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="needs the decoder outputs"):
        module.observation_logvar()


def test_orthogonal_init():
    module = VAEModule(ColumnLayout(6), 3, (16, 16), init="orthogonal")
    for layer in module.modules():
        if isinstance(layer, torch.nn.Linear):
            w = layer.weight.detach()
            small = min(w.shape)
            gram = w @ w.T if w.shape[0] == small else w.T @ w
            torch.testing.assert_close(gram, torch.eye(small), atol=1e-5, rtol=0)
            assert layer.bias.abs().max() == 0
    with pytest.raises(ValueError, match="init must be 'default' or 'orthogonal'"):
        VAEModule(ColumnLayout(6), 3, (16,), init="xavier")


@pytest.mark.parametrize("fold", [False, True], ids=["append-ones", "fold-into-bias"])
@pytest.mark.parametrize("n_conditions", [0, 3])
def test_no_mask_is_a_mask_of_ones(n_conditions, fold, monkeypatch):
    # mask=None (complete data) either appends the ones to the input or, on a
    # wide table, skips the mask columns and folds their weights into the
    # bias: either way the same function and gradients.
    monkeypatch.setattr(_modules, "_FOLD_MASK_MIN_MACS", 0 if fold else 1 << 62)
    torch.manual_seed(0)
    module = VAEModule(ColumnLayout(3, 1, (3, 2)), 2, (8, 8),
                       n_conditions=n_conditions).double()
    n = 5
    x = torch.zeros(n, 3 + 1 + 5, dtype=torch.float64)
    x[:, :3] = torch.randn(n, 3)
    x[:, 3] = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    for i in range(n):
        x[i, 4 + i % 3] = x[i, 7 + i % 2] = 1.0
    cond = None
    if n_conditions:
        cond = torch.nn.functional.one_hot(torch.arange(n) % 3, 3).double()
    ones = torch.ones(n, module.layout.n_columns, dtype=torch.float64)

    def run(mask):
        gen = torch.Generator().manual_seed(1)
        out = module(x, mask, cond, generator=gen)
        elbo = module.negative_elbo(x, mask, out, beta=0.7)
        iwae = module.negative_iwae_bound(x, mask, 4, out=out, generator=gen, cond=cond)
        grads = torch.autograd.grad((elbo.sum() + iwae.sum()), list(module.parameters()))
        return out.mu, out.logvar, elbo, iwae, grads

    with_ones, without = run(ones), run(None)
    for a, b in zip(with_ones[:4], without[:4]):
        torch.testing.assert_close(b, a)
    for a, b in zip(with_ones[4], without[4]):
        torch.testing.assert_close(b, a)
    torch.testing.assert_close(module.column_log_prob(x, None, module.decode(with_ones[0], cond)),
                               module.column_log_prob(x, ones, module.decode(with_ones[0], cond)))
    # Inference uses the same mask-free call.
    eps = torch.randn(3, 2, dtype=torch.float64)
    torch.testing.assert_close(module.log_importance_weights(x, None, eps, cond),
                               module.log_importance_weights(x, ones, eps, cond))
    torch.testing.assert_close(module.encode(x, None, cond, inference=True)[0],
                               module.encode(x, ones, cond, inference=True)[0])
    if n_conditions:
        with pytest.raises(ValueError, match="needs cond"):
            module.encode(x, None)
    else:
        with pytest.raises(ValueError, match="unconditional"):
            module.encode(x, None, torch.ones(n, 2, dtype=torch.float64))


def test_batches_of_complete_data_carry_no_mask():
    from sklearn_vae._training import BatchIterator, TensorData

    x = torch.arange(10.0).reshape(5, 2)
    complete = TensorData(x, None)
    batches = [b for b, _ in BatchIterator(complete, 2, shuffle=True, seed=0)]
    assert [sorted(b) for b in batches] == [["x"]] * 3
    assert sorted(torch.cat([b["x"] for b in batches])[:, 0].tolist()) == [0, 2, 4, 6, 8]
    assert complete.subset(torch.tensor([1, 3])).mask is None
    partial = TensorData(x, torch.ones(5, 2))
    assert all("mask" in b for b, _ in BatchIterator(partial, 2))


@pytest.mark.parametrize("heteroscedastic", [False, True])
def test_entry_nll_cap_bounds_each_entry_in_one_pass(heteroscedastic):
    """Capped log-weights = capped column terms + latent terms; uncapped ones unchanged."""
    torch.manual_seed(0)
    layout = ColumnLayout(3, 1, (3,))
    module = VAEModule(layout, 2, (8,), heteroscedastic=heteroscedastic).double()
    n = 7
    x = torch.zeros(n, layout.n_values, dtype=torch.float64)
    x[:, :3] = torch.randn(n, 3)
    x[0, 1] = 40.0  # far out in one column
    x[:, 3] = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    x[torch.arange(n), 4 + torch.arange(n) % 3] = 1.0
    mask = torch.ones(n, layout.n_columns, dtype=torch.float64)
    mask[2, 0] = mask[3, 4] = 0.0
    x[2, 0] = 0.0
    x[3, 4:] = 0.0
    eps = torch.randn(5, 2, dtype=torch.float64)
    # A small cap (below a Gaussian's peak for the heteroscedastic case too).
    cap = torch.tensor([0.5, 3.0, 2.0, 0.3, 0.8], dtype=torch.float64)
    with torch.no_grad():
        plain, params, col = module.log_importance_weights(
            x, mask, eps, return_params=True, return_columns=True)
        capped, _, col_capped, uncapped = module.log_importance_weights(
            x, mask, eps, return_params=True, return_columns=True, nll_cap=cap,
            return_uncapped=True)
    torch.testing.assert_close(uncapped, plain)
    # Surprise s beyond the cap a counts as a + log(1 + s - a).
    surprise = -col
    expected = torch.where(surprise > cap, -(cap + torch.log1p(surprise - cap)), col)
    torch.testing.assert_close(col_capped, expected)
    assert (col_capped >= col).all() and (col_capped[:, 0, 1] > -cap[1] - 10).all()
    assert (col[:, 0, 1] < -cap[1] - 100).all()  # the far entry was over the cap
    assert (col_capped[:, 2, 0] == 0).all() and (col_capped[:, 3, 4] == 0).all()  # missing
    # The latent part is the same with and without the cap.
    torch.testing.assert_close(capped - col_capped.sum(dim=-1), plain - col.sum(dim=-1))
    assert (capped >= plain).all() and (capped > plain + 1.0).any()
    # Only log_w asked for (no columns, no params): same capped weights.
    with torch.no_grad():
        torch.testing.assert_close(module.log_importance_weights(x, mask, eps, nll_cap=cap),
                                   capped)

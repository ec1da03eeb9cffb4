"""The fused Gaussian row log-likelihood against the plain autograd expression."""

import pytest
import torch

from sklearn_vae.nn import ColumnLayout, VAEModule
from sklearn_vae.nn._losses import gaussian_log_prob, gaussian_row_log_prob


def _reference(x, mean, logvar, mask):
    per_entry = gaussian_log_prob(x, mean, logvar)
    if mask is not None:
        per_entry = per_entry * mask
    return per_entry.sum(dim=-1)


@pytest.mark.parametrize("lead", [(), (3,)], ids=["rows", "samples x rows"])
@pytest.mark.parametrize("per_entry_variance", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_row_log_prob_value_and_gradients(lead, per_entry_variance, with_mask):
    g = torch.Generator().manual_seed(0)
    n, c = 7, 5
    x = torch.randn(n, c, generator=g, dtype=torch.float64, requires_grad=True)
    mean = torch.randn(*lead, n, c, generator=g, dtype=torch.float64,
                       requires_grad=True)
    lv_shape = (*lead, n, c) if per_entry_variance else (c,)
    logvar = (0.5 * torch.randn(lv_shape, generator=g, dtype=torch.float64)
              ).requires_grad_()
    mask = (torch.rand(n, c, generator=g) > 0.3).double() if with_mask else None
    weights = torch.randn(*lead, n, generator=g, dtype=torch.float64)

    got = gaussian_row_log_prob(x, mean, logvar, mask)
    want = _reference(x, mean, logvar, mask)
    torch.testing.assert_close(got, want)

    grads = torch.autograd.grad((got * weights).sum(), (x, mean, logvar))
    ref = torch.autograd.grad((want * weights).sum(), (x, mean, logvar))
    for a, b in zip(grads, ref):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)


def test_row_log_prob_passes_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mean = torch.randn(2, 4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    logvar = (0.3 * torch.randn(3, generator=g, dtype=torch.float64)).requires_grad_()
    mask = torch.tensor([[1.0, 0.0, 1.0]] * 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(gaussian_row_log_prob, (x, mean, logvar, None))
    assert torch.autograd.gradcheck(gaussian_row_log_prob, (x, mean, logvar, mask))


@pytest.mark.parametrize("columns", [(3, 2, (3, 2)), (0, 2, (3,)), (4, 0, ())],
                         ids=["mixed", "no continuous", "continuous only"])
@pytest.mark.parametrize("heteroscedastic", [False, True])
@pytest.mark.parametrize("with_mask", [False, True])
def test_observed_log_prob_is_column_log_prob_summed(columns, heteroscedastic, with_mask):
    torch.manual_seed(0)
    n_cont, n_bin, cats = columns
    layout = ColumnLayout(n_continuous=n_cont, n_binary=n_bin, categories=cats)
    module = VAEModule(layout, 2, (8,), heteroscedastic=heteroscedastic).double()
    n = 6
    x = torch.cat([
        torch.randn(n, n_cont, dtype=torch.float64),
        torch.randint(0, 2, (n, n_bin)).double(),
        *[torch.nn.functional.one_hot(torch.randint(0, k, (n,)), k).double()
          for k in cats],
    ], dim=1)
    mask = (torch.rand(n, layout.n_columns) > 0.3).double() if with_mask else None
    params = module.decode(torch.randn(4, n, 2, dtype=torch.float64))

    got = module.observed_log_prob(x, mask, params)
    want = module.column_log_prob(x, mask, params).sum(dim=-1)
    assert got.shape == (4, n)
    torch.testing.assert_close(got, want)
    g_got = torch.autograd.grad(got.sum(), list(module.parameters()), allow_unused=True,
                                retain_graph=True)
    g_want = torch.autograd.grad(want.sum(), list(module.parameters()), allow_unused=True)
    for a, b in zip(g_got, g_want):
        if a is None or b is None:
            assert a is None and b is None
        else:
            torch.testing.assert_close(a, b)

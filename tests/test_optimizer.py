"""FlatAdam: torch's Adam on one flat buffer per parameter group."""

import copy
import pickle

import numpy as np
import pytest
import torch

from sklearn_vae._training import adam
from sklearn_vae._training._net import FlatAdam
from sklearn_vae.nn import ColumnLayout, VAEModule


def _module(seed=0):
    return VAEModule(ColumnLayout(4, 1, (3,)), 2, (8,),
                     generator=torch.Generator().manual_seed(seed))


def _groups(module, lr=1e-3):
    rest = [p for name, p in module.named_parameters() if name != "raw_variance"]
    return [{"params": rest}, {"params": [module.raw_variance], "lr": 30 * lr}]


X = torch.randn(12, 4 + 1 + 3, generator=torch.Generator().manual_seed(1))
X[:, 4] = (X[:, 4] > 0).double()
X[:, 5:] = torch.nn.functional.one_hot(torch.arange(12) % 3, 3)


def _train(module, optimizer, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        loss = module.negative_elbo(X, None, module(X, None, generator=gen)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _max_diff(a, b):
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_adam_helper_returns_flat_adam():
    assert isinstance(adam(_module().parameters(), lr=1e-3), FlatAdam)


def test_matches_torch_adam():
    # Two groups with their own rates, weight decay: the same updates as the
    # per-tensor torch optimizer, up to float32 rounding.
    ref, flat = _module(), _module()
    opt_ref = torch.optim.Adam(_groups(ref), lr=1e-3, weight_decay=1e-3)
    opt_flat = adam(_groups(flat), lr=1e-3, weight_decay=1e-3)
    _train(ref, opt_ref, 60)
    _train(flat, opt_flat, 60)
    assert _max_diff(ref, flat) < 1e-5
    # Parameters, gradients and moments are views of one buffer per group.
    for group in opt_flat.param_groups:
        storages = {p.untyped_storage().data_ptr() for p in group["params"]}
        grads = {p.grad.untyped_storage().data_ptr() for p in group["params"]}
        moments = {opt_flat.state[p]["exp_avg"].untyped_storage().data_ptr()
                   for p in group["params"]}
        assert len(storages) == len(grads) == len(moments) == 1


def test_state_dict_is_torch_adams():
    # Same format both ways: each loads the other's state and continues alike.
    flat, ref = _module(), _module()
    opt_flat = adam(_groups(flat))
    _train(flat, opt_flat, 20)
    state = opt_flat.state_dict()
    assert set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert float(state["state"][0]["step"]) == 20.0
    assert state["state"][0]["step"] is not state["state"][1]["step"]
    ref.load_state_dict(flat.state_dict())
    opt_ref = torch.optim.Adam(_groups(ref), fused=True)
    opt_ref.load_state_dict(copy.deepcopy(state))
    _train(flat, opt_flat, 10, seed=1)
    _train(ref, opt_ref, 10, seed=1)
    assert _max_diff(ref, flat) < 1e-5

    back = _module()
    back.load_state_dict(ref.state_dict())
    opt_back = adam(_groups(back))
    opt_back.load_state_dict(copy.deepcopy(opt_ref.state_dict()))
    _train(ref, opt_ref, 10, seed=2)
    _train(back, opt_back, 10, seed=2)
    assert _max_diff(ref, back) < 1e-5


@pytest.mark.parametrize("how", ["deepcopy", "pickle", "grads_to_none"])
def test_relinks_after_the_views_are_cut(how):
    # A copy (warm_start trains a deepcopy of the net), a pickle round trip,
    # or gradients set to None: training goes on exactly as without it.
    module = _module()
    optimizer = adam(_groups(module))
    _train(module, optimizer, 15)
    if how == "deepcopy":
        other, other_opt = copy.deepcopy((module, optimizer))
    elif how == "pickle":
        other, other_opt = pickle.loads(pickle.dumps((module, optimizer)))
    else:
        other, other_opt = copy.deepcopy((module, optimizer))
        other.zero_grad(set_to_none=True)
    _train(module, optimizer, 10, seed=3)
    _train(other, other_opt, 10, seed=3)
    assert _max_diff(module, other) == 0.0


def test_a_pickled_estimator_holds_each_parameter_once():
    """With the views linked, pickle wrote the flat buffer once per parameter and
    per moment: a default transformer on 600 digits pickled to 5.6 MB for 21,572
    parameters. The net unlinks them first; training then goes on exactly as an
    unpickled copy's does."""
    import copy
    import warnings

    from sklearn.datasets import load_digits

    from sklearn_vae import VAETransformer

    X = load_digits().data[:600]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAETransformer(max_iter=3, random_state=0).fit(X)
    n_params = sum(p.numel() for p in vae.module_.parameters())
    twin = copy.deepcopy(vae)
    size = len(pickle.dumps(vae))
    # weights and the two Adam moments in float32, plus schema, history, settings
    assert size < 3 * 4 * n_params + 200_000
    restored = pickle.loads(pickle.dumps(vae))
    for est in (vae, twin, restored):
        est.partial_fit(X)
    np.testing.assert_array_equal(vae.score_samples(X[:50]), twin.score_samples(X[:50]))
    np.testing.assert_array_equal(restored.score_samples(X[:50]),
                                  twin.score_samples(X[:50]))

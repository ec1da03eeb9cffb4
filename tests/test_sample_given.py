"""``sample(n, given=...)``: rows drawn given some of their columns."""

import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_vae import VAEImputer, VAETransformer

TINY = dict(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2, random_state=0)


def linked(n=600, seed=0):
    """Column 1 = column 0 + small noise; column 2 is independent noise."""
    rng = np.random.RandomState(seed)
    x0 = rng.normal(size=n)
    return np.column_stack([x0, x0 + 0.2 * rng.normal(size=n), rng.normal(size=n)])


@pytest.fixture(scope="module")
def vae():
    X = linked()
    return VAETransformer(n_components=2, **TINY).fit(X), X


def test_given_columns_are_kept_and_the_rest_follows_them(vae):
    model, _ = vae
    rows = model.sample(500, random_state=0, given={0: 1.5})
    assert rows.shape == (500, 3)
    assert np.all(rows[:, 0] == 1.5)
    # Column 1 follows column 0 (posterior inference, not the prior).
    # The truth: column 1 | column 0 = 1.5 has mean 1.5 and std 0.2.
    assert abs(rows[:, 1].mean() - 1.5) < 0.15
    assert 0.1 < rows[:, 1].std() < 0.35
    prior = model.sample(500, random_state=0)
    assert abs(prior[:, 1].mean()) < 0.3 and prior[:, 1].std() > 0.7
    # The unrelated column keeps its marginal.
    assert abs(rows[:, 2].mean()) < 0.3 and 0.6 < rows[:, 2].std() < 1.4


def _model_conditional(model, given, n_codes=200_000):
    """The model's own p(x | x_given) by brute force: prior codes weighted by
    p(x_given | z); mean and standard deviation of every column, user units."""
    import torch

    row = np.full((1, model.n_features_in_), np.nan)
    for j, value in given.items():
        row[0, j] = value
    v, m = (torch.from_numpy(a) for a in model.schema_.encode(row))
    module = model.module_
    with torch.inference_mode():
        z = module.sample_prior(n_codes, torch.Generator().manual_seed(0))
        params = module.decode(z)
        w = torch.softmax(module.column_log_prob(v, m, params).sum(-1).double(), 0)
        mean = module.split_params(params)[0].double()
        var = torch.exp(module.observation_logvar()).double()
        mu = (w[:, None] * mean).sum(0)
        sd = ((w[:, None] * (var + mean ** 2)).sum(0) - mu ** 2).sqrt()
    scale = model.schema_.scale_
    return model.schema_.mean_ + scale * mu.numpy(), scale * sd.numpy()


@pytest.mark.parametrize("value", [1.5, -3.0])
def test_given_draws_follow_the_models_own_conditional(value):
    """Iterated SIR from the encoder and the prior: the draws' mean and spread
    are the model's exact conditional's (computed from 200,000 prior codes), in
    the tail too (here within 0.04 sd and 3%; the previous sampler, four rounds
    from the encoder at the completed row, drew 0.87-0.91 of the spread)."""
    rng = np.random.RandomState(0)
    f = rng.normal(size=(1000, 2))
    X = np.column_stack([f[:, 0], f[:, 0] + 0.5 * f[:, 1], f[:, 1] - f[:, 0]])
    X += 0.3 * rng.normal(size=X.shape)
    model = VAETransformer(n_components=2, **TINY).fit(X)
    mu, sd = _model_conditional(model, {0: value})
    rows = model.sample(4000, random_state=0, given={0: value})
    assert (np.abs(rows[:, 1:].mean(0) - mu[1:]) < 0.1 * sd[1:]).all()
    np.testing.assert_allclose(rows[:, 1:].std(0), sd[1:], rtol=0.06)


def test_given_draws_are_seeded_and_repeated_rows_differ(vae):
    model, _ = vae
    a = model.sample(50, random_state=3, given={0: -1.0})
    b = model.sample(50, random_state=3, given={0: -1.0})
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a[:, 1])) == 50  # fresh codes per row, not K shared ones


def test_given_as_a_partial_row_or_rows(vae):
    model, _ = vae
    one = np.array([[np.nan, 2.0, np.nan]])
    rows = model.sample(40, random_state=0, given=one)
    assert rows.shape == (40, 3) and np.all(rows[:, 1] == 2.0)
    assert abs(rows[:, 0].mean() - 2.0) < 0.6
    table = np.array([[0.5, np.nan, np.nan], [np.nan, np.nan, 1.0]])
    rows = model.sample(2, random_state=0, given=table)
    assert rows[0, 0] == 0.5 and rows[1, 2] == 1.0
    assert not np.isnan(rows).any()
    with pytest.raises(ValueError, match="one row, or n_samples=3 rows; got 2 rows"):
        model.sample(3, given=table)
    with pytest.raises(ValueError, match="3 features"):
        model.sample(3, given=np.zeros((1, 2)))


def test_given_errors_name_the_problem(vae):
    model, _ = vae
    with pytest.raises(ValueError, match=r"key 5 .* column positions 0\.\.2"):
        model.sample(3, given={5: 1.0})
    with pytest.raises(ValueError, match="not a number"):
        model.sample(3, given={0: "high"})
    with pytest.raises(ValueError, match="contains infinity"):
        model.sample(3, given={0: np.inf})


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 600
    color = rng.choice(["red", "blue"], size=n)
    size = np.where(color == "red", 10, -10) + rng.randint(-2, 3, size=n)
    df = pd.DataFrame({
        "color": pd.Categorical(color),
        "size": size.astype(np.int64),
        "w": rng.normal(size=n),
    })
    return VAETransformer(n_components=2, **TINY).fit(df), df


def test_given_on_a_mixed_frame_keeps_dtypes(frame):
    model, df = frame
    red = model.sample(300, random_state=0, given={"color": "red"})
    assert list(red.columns) == list(df.columns)
    assert red.dtypes.equals(df.dtypes)
    assert (red["color"] == "red").all()
    assert red["size"].mean() > 5
    big = model.sample(300, random_state=0, given={"size": -10})
    assert (big["size"] == -10).all()
    assert (big["color"] == "blue").mean() > 0.9


def test_given_on_a_frame_checks_columns_and_categories(frame):
    model, _ = frame
    with pytest.raises(ValueError, match=r"key 'colour' .* training columns"):
        model.sample(2, given={"colour": "red"})
    with pytest.raises(ValueError, match="green"):
        model.sample(2, given={"color": "green"})


def test_given_values_keep_the_training_dtypes():
    """Given entries are written back in their column's training dtype: a bool
    column stays bool (it became object, with pandas' FutureWarning), nullable
    integers stay Int64, categories keep their categories."""
    rng = np.random.RandomState(0)
    n = 100
    df = pd.DataFrame({"x": rng.randn(n), "b": rng.rand(n) > 0.5,
                       "i": rng.randint(0, 9, n),
                       "I": pd.array(rng.randint(0, 5, n), dtype="Int64"),
                       "c": pd.Categorical(rng.choice(["u", "v"], n)),
                       "s": rng.choice(["p", "q"], n)})
    model = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=5,
                           random_state=0).fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        for given in ({"b": True}, {"i": 3.0}, {"I": 2}, {"c": "v", "b": False},
                      {"s": "q"}):
            out = model.sample(4, random_state=0, given=given)
            assert out.dtypes.equals(df.dtypes), given
            for key, value in given.items():
                assert (out[key] == value).all()
        rows = df.iloc[:3].astype({"b": object})
        rows.loc[1, "b"] = None  # drawn for row 1, given for the others
        out = model.sample(3, random_state=0, given=rows.assign(x=np.nan))
        assert out.dtypes.equals(df.dtypes)
        assert out["b"].iloc[[0, 2]].tolist() == df["b"].iloc[[0, 2]].tolist()


@pytest.mark.parametrize("handle_unknown", ["error", "ignore"])
def test_given_values_the_model_cannot_use_are_errors(handle_unknown):
    """Whatever handle_unknown says, an unseen level in given is an error (as a
    missing entry it was dropped without a word); so are a non-number for a
    numeric column and a fraction for an integer column."""
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.randn(60), "i": rng.randint(0, 9, 60),
                       "c": rng.choice(["u", "v"], 60)})
    model = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=5,
                           handle_unknown=handle_unknown, random_state=0).fit(df)
    with pytest.raises(ValueError, match=r"\['w'\] in column 'c', a level this model "
                                         r"was not fit on \(known: \['u', 'v'\]\)"):
        model.sample(2, given={"c": "w"})
    with pytest.raises(ValueError, match=r"given has \['w'\] in column 'c'"):
        model.sample(2, given=df.iloc[:2].assign(c="w", x=np.nan))
    with pytest.raises(ValueError, match=r"given\['x'\] = 'abc' is not a number; "
                                         r"column 'x' is numeric \(float64\)"):
        model.sample(2, given={"x": "abc"})
    with pytest.raises(ValueError, match=r"3\.5 in column 'i', which holds integers"):
        model.sample(2, given={"i": 3.5})


def test_given_with_a_conditional_model():
    rng = np.random.RandomState(0)
    y = rng.choice(["a", "b"], size=500)
    X = linked(500)
    X[:, 2] += np.where(y == "a", 3.0, -3.0)
    model = VAETransformer(n_components=2, conditional=True, **TINY).fit(X, y)
    rows = model.sample(300, random_state=0, y="b", given={0: 1.0})
    assert np.all(rows[:, 0] == 1.0)
    assert rows[:, 2].mean() < -2.0
    assert abs(rows[:, 1].mean() - 1.0) < 0.5


def test_imputer_samples_given_columns_too():
    X = linked(400)
    imp = VAEImputer(n_components=2, n_train_samples=2, hidden_layer_sizes=(32,),
                     max_iter=100, learning_rate_init=1e-2, random_state=0).fit(X)
    rows = imp.sample(200, random_state=0, given={1: 1.0})
    assert np.all(rows[:, 1] == 1.0)
    assert abs(rows[:, 0].mean() - 1.0) < 0.5

"""``sample(n, posterior_of=X)``: codes drawn from the aggregate posterior of rows."""

import numpy as np
import pandas as pd
import pytest

from sklearn_vae import VAETransformer

TINY = dict(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2, random_state=0)


def two_clusters(n=600, seed=0):
    """Two tight clusters at (-3, -3) and (3, 3): nothing in between."""
    rng = np.random.RandomState(seed)
    centre = np.where(rng.rand(n) < 0.5, -3.0, 3.0)[:, None]
    return centre + 0.3 * rng.normal(size=(n, 2))


@pytest.fixture(scope="module")
def vae():
    X = two_clusters()
    # beta < 1: the codes spread beyond N(0, I), so prior codes land in the gap.
    return VAETransformer(n_components=2, beta=0.1, **TINY).fit(X), X


def test_posterior_codes_follow_the_data_where_prior_codes_fill_the_gap(vae):
    model, X = vae
    in_gap = lambda S: np.mean(np.abs(S[:, 0]) < 1.5)  # noqa: E731
    assert in_gap(X) == 0.0
    prior = model.sample(2000, random_state=0)
    post = model.sample(2000, random_state=0, posterior_of=X)
    assert post.shape == (2000, 2)
    assert in_gap(post) < 0.02
    assert in_gap(post) < in_gap(prior) / 3
    # Both clusters, in their proportions.
    assert 0.4 < np.mean(post[:, 0] > 0) < 0.6


def test_posterior_of_a_subset_draws_rows_like_it(vae):
    model, X = vae
    right = X[X[:, 0] > 0]
    rows = model.sample(300, random_state=1, posterior_of=right[:10])
    assert rows.shape == (300, 2)  # n_samples need not be the number of rows
    assert np.mean(rows[:, 0] > 0) > 0.95
    assert abs(rows[:, 1].mean() - 3.0) < 0.5


def test_posterior_of_is_seeded(vae):
    model, X = vae
    a = model.sample(20, random_state=5, posterior_of=X)
    np.testing.assert_array_equal(a, model.sample(20, random_state=5, posterior_of=X))
    assert not np.array_equal(a, model.sample(20, random_state=6, posterior_of=X))


def test_posterior_of_keeps_dataframe_types():
    rng = np.random.RandomState(0)
    df = pd.DataFrame({"x": rng.normal(size=300),
                       "n": rng.randint(0, 5, 300),
                       "c": pd.Categorical(rng.choice(["a", "b"], 300))})
    model = VAETransformer(n_components=2, **{**TINY, "max_iter": 5}).fit(df)
    rows = model.sample(50, random_state=0, posterior_of=df)
    assert list(rows.columns) == ["x", "n", "c"]
    assert rows.dtypes.tolist() == df.dtypes.tolist()
    assert set(rows["c"]) <= {"a", "b"}
    with pytest.raises(ValueError, match="missing"):
        model.sample(5, posterior_of=df.drop(columns="x"))


def test_posterior_of_errors(vae):
    model, X = vae
    with pytest.raises(ValueError, match="given .* or posterior_of .*not both"):
        model.sample(5, posterior_of=X, given={0: 1.0})
    with pytest.raises(ValueError, match="3 features"):
        model.sample(5, posterior_of=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="is unconditional: sample takes no y"):
        model.sample(5, posterior_of=X, y=1)
    y = (X[:, 0] > 0).astype(int)
    cond = VAETransformer(n_components=2, conditional=True,
                          **{**TINY, "max_iter": 3}).fit(X, y)
    for bad_y in (None, y[:5]):
        with pytest.raises(ValueError, match="one class at a time"):
            cond.sample(5, posterior_of=X, y=bad_y)
    with pytest.raises(ValueError, match="labels not seen in fit"):
        cond.sample(5, posterior_of=X, y=7)


def test_conditional_model_draws_a_class_from_its_rows():
    X = two_clusters()
    labels = (X[:, 0] > 0).astype(int)
    cond = VAETransformer(n_components=2, beta=0.1, conditional=True, **TINY).fit(X, labels)
    for c, sign in ((0, -1), (1, 1)):
        rows = cond.sample(300, random_state=0, y=c, posterior_of=X[labels == c])
        assert rows.shape == (300, 2)
        assert np.mean(np.sign(rows[:, 0]) == sign) > 0.95
        assert np.mean(np.abs(rows[:, 0]) < 1.5) < 0.02


def test_posterior_of_rows_with_missing_entries():
    X = two_clusters()
    train = X.copy()
    train[np.random.RandomState(0).rand(*X.shape) < 0.3] = np.nan
    # A model trained with missing entries encodes rows with holes.
    model = VAETransformer(n_components=2, beta=0.1, **TINY).fit(train)
    holes = X[X[:, 0] > 0][:20].copy()
    holes[:, 1] = np.nan  # encoded from the observed column alone
    rows = model.sample(100, random_state=0, posterior_of=holes)
    assert not np.isnan(rows).any()
    assert np.mean(rows[:, 1] > 0) > 0.9  # column 1 follows column 0's cluster

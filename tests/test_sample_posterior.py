"""``sample(n, posterior_of=X)``: codes drawn from the aggregate posterior of rows."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from sklearn_vae import VAETransformer, _kde
from sklearn_vae._kde import BANDWIDTH_GRID, SmoothedPosterior

TINY = dict(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=1e-2, random_state=0)


def two_clusters(n=600, seed=0):
    """Two tight clusters at (-3, -3) and (3, 3): nothing in between."""
    rng = np.random.RandomState(seed)
    centre = np.where(rng.rand(n) < 0.5, -3.0, 3.0)[:, None]
    return centre + 0.3 * rng.normal(size=(n, 2))


@pytest.fixture(scope="module")
def vae():
    X = two_clusters()
    # beta < 1: the codes spread beyond N(0, I), so codes from N(0, I) land in
    # the gap (prior="normal"; the default mixture prior follows the codes,
    # tests/test_prior.py).
    return VAETransformer(n_components=2, beta=0.1, prior="normal", **TINY).fit(X), X


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


# -- bandwidth: the aggregate posterior smoothed as a kernel density estimate --------

def test_bandwidth_zero_draws_each_rows_posterior(vae):
    model, X = vae
    mu, sd = model._posterior_codes(model._validate_for_inference(X[:40]))
    codes = SmoothedPosterior(mu, sd, random_state=0)
    pick = np.array([0, 3, 3, 7])
    eps = np.random.RandomState(0).standard_normal((4, 2))
    # The codes sample(posterior_of=..., bandwidth=0) decodes: mu + sd * eps.
    np.testing.assert_array_equal(codes.draw(pick, 0.0, eps), mu[pick] + sd[pick] * eps)
    # A bandwidth widens each row's posterior by its own kernel: b * radius * spread.
    radius = codes.radius(pick)
    spread = np.sqrt(mu.var(axis=0) + np.mean(sd ** 2, axis=0))
    np.testing.assert_allclose(
        codes.draw(pick, 0.5, eps),
        mu[pick] + np.sqrt(sd[pick] ** 2 + (0.5 * radius[:, None] * spread) ** 2) * eps)


def test_radius_is_the_distance_to_the_tenth_nearest_other_code():
    rng = np.random.RandomState(0)
    mu, sd = rng.normal(size=(50, 3)) * [1.0, 2.0, 0.5], np.full((50, 3), 0.1)
    codes = SmoothedPosterior(mu, sd, random_state=0)
    scaled = mu / codes.spread
    dist = np.sqrt(((scaled[:, None] - scaled[None]) ** 2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    expected = np.sort(dist, axis=1)[:, _kde._NEIGHBOURS - 1] / np.sqrt(3)
    np.testing.assert_allclose(codes.radius(np.arange(50)), expected)
    # One row: no neighbour, no kernel, bandwidth 0.
    single = SmoothedPosterior(mu[:1], sd[:1], random_state=0)
    assert single.radius(np.array([0]))[0] == 0.0 and single.select() == 0.0


def test_leave_one_out_curve_matches_a_direct_computation():
    rng = np.random.RandomState(0)
    mu, sd = rng.normal(size=(30, 2)), rng.uniform(0.1, 0.5, size=(30, 2))
    grid = [0.0, 0.7]
    codes = SmoothedPosterior(mu, sd, random_state=4)
    radius = codes.radius(np.arange(30))
    curve = codes.leave_one_out_curve(grid)
    # The same query draws (the RNG's next numbers), scored term by term.
    rs = np.random.RandomState(4)
    z = mu + sd * rs.standard_normal((30, 2))
    for b, got in zip(grid, curve):
        var = sd ** 2 + (b * radius[:, None] * codes.spread) ** 2
        per_row = []
        for j in range(30):
            dens = [np.prod(norm.pdf(z[j], mu[i], np.sqrt(var[i]))) for i in range(30) if i != j]
            per_row.append(np.log(np.mean(dens)))
        assert got == pytest.approx(np.mean(per_row), rel=1e-9)


def test_selected_bandwidth_smooths_sharp_codes_and_leaves_wide_ones():
    rng = np.random.RandomState(0)
    mu = rng.normal(size=(2000, 2))
    sharp = SmoothedPosterior(mu, np.full_like(mu, 1e-3), random_state=0)
    # Sharp posteriors: the codes' own scatter is the density, and a kernel
    # about as wide as the gaps between neighbouring codes is right.
    b = sharp.select()
    assert 0.25 < b < 4
    # The coarse-to-fine search finds the full grid's choice.
    assert b == BANDWIDTH_GRID[int(np.argmax(sharp.leave_one_out_curve()))]
    # Posteriors as wide as the prior with means at 0: the mixture already is
    # N(0, I), the density of the codes, and any widening makes it worse.
    wide = SmoothedPosterior(0.01 * rng.normal(size=(500, 2)), np.ones((500, 2)),
                             random_state=0)
    assert wide.select() == 0.0


def test_auto_bandwidth_rows_are_no_closer_to_the_table_than_zero_bandwidth(vae):
    model, X = vae
    exact = model.sample(1000, random_state=0, posterior_of=X, bandwidth=0.0)
    auto = model.sample(1000, random_state=0, posterior_of=X)
    assert auto.shape == exact.shape == (1000, 2)

    def nearest(S):
        d = np.sqrt(((S[:, None, :] - X[None]) ** 2).sum(-1))
        return np.median(d.min(axis=1))

    assert nearest(auto) >= nearest(exact)
    # Still the two clusters, not the gap between them.
    assert np.mean(np.abs(auto[:, 0]) < 1.5) < 0.05


def test_bandwidth_errors(vae):
    model, X = vae
    for bad in (-0.1, "scott", True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="bandwidth must be 'auto' or a float >= 0"):
            model.sample(5, posterior_of=X, bandwidth=bad)
    with pytest.raises(ValueError, match="Pass posterior_of"):
        model.sample(5, bandwidth=0.3)


def test_only_the_rows_needed_are_encoded(vae, monkeypatch):
    model, X = vae
    sizes = []
    encode = type(model)._posterior_codes

    def spy(self, rows, cond=None):
        sizes.append(len(rows))
        return encode(self, rows, cond=cond)

    monkeypatch.setattr(type(model), "_posterior_codes", spy)
    # bandwidth=0: the picked rows' posteriors only.
    model.sample(5, random_state=0, posterior_of=X, bandwidth=0.0)
    assert sizes == [5]
    # A kernel: every row makes up the mixture...
    model.sample(5, random_state=0, posterior_of=X)
    assert sizes[-1] == len(X)
    # ...or a random subset of a table larger than the cap, and only it is encoded.
    monkeypatch.setattr(_kde, "_MAX_COMPONENTS", 100)
    rows = model.sample(300, random_state=0, posterior_of=X, bandwidth=0.5)
    assert sizes[-1] == 100 and rows.shape == (300, 2)
    members = _kde.kernel_rows(len(X), random_state=3)
    assert len(members) == 100 and len(np.unique(members)) == 100
    assert np.all(np.diff(members) > 0) and members.max() < len(X)
    with pytest.raises(ValueError, match="At most 100 rows make up the mixture"):
        SmoothedPosterior(np.zeros((101, 2)), np.ones((101, 2)), random_state=0)

"""``VAETransformer(calibrate_categories=True)``: sample(n)'s category shares, raked."""

import io

import numpy as np
import pandas as pd
import pytest

from sklearn_vae import VAETransformer, load, save
from sklearn_vae._prior import RAKING_TOL, _rake

LEVELS = list("abcdefgh")
SHARES = [0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.03, 0.02]
TINY = dict(n_components=2, hidden_layer_sizes=(32,), max_iter=30, random_state=0)


def ordinal_table(n=2000, seed=0):
    """A categorical column whose levels sit on a line (as Adult's education does,
    beside its numeric copy), a binary column, and a label."""
    rng = np.random.RandomState(seed)
    level = rng.choice(LEVELS, n, p=SHARES)
    x = np.array([LEVELS.index(v) for v in level]) + 0.05 * rng.normal(size=n)
    y = np.where(x + rng.normal(size=n) > 2, "high", "low")
    return pd.DataFrame({"x": x, "cat": level, "flag": rng.rand(n) < 0.2}), y


def tvd(a, b):
    p = pd.Series(a).value_counts(normalize=True)
    q = pd.Series(b).value_counts(normalize=True)
    return 0.5 * p.subtract(q, fill_value=0.0).abs().sum()


@pytest.fixture(scope="module")
def fits():
    df, _ = ordinal_table()
    with pytest.warns(Warning):  # 30 epochs: unconverged, on purpose
        calibrated = VAETransformer(**TINY).fit(df)
    with pytest.warns(Warning):
        plain = VAETransformer(calibrate_categories=False, **TINY).fit(df)
    return calibrated, plain, df


def test_prior_draws_get_the_training_shares(fits):
    calibrated, plain, df = fits
    assert calibrated.get_params()["calibrate_categories"] is True  # the default
    assert plain._category_offsets is None
    # One row (unconditional) of offsets: the binary column, then the 8 levels.
    assert calibrated._category_offsets.shape == (1, 1 + len(LEVELS))
    ours = calibrated.sample(20_000, random_state=0)
    before = plain.sample(20_000, random_state=0)
    assert tvd(before["cat"], df["cat"]) > 0.015  # the smooth prior's leak
    assert tvd(ours["cat"], df["cat"]) < tvd(before["cat"], df["cat"]) / 2
    assert abs(ours["flag"].mean() - df["flag"].mean()) < 0.01
    assert ours.dtypes.equals(df.dtypes)


def test_only_prior_draws_change(fits):
    calibrated, plain, df = fits
    # The same training run: posterior codes and given-column draws are untouched.
    pd.testing.assert_frame_equal(calibrated.sample(50, random_state=1, posterior_of=df),
                                  plain.sample(50, random_state=1, posterior_of=df))
    pd.testing.assert_frame_equal(calibrated.sample(20, random_state=2, given={"x": 3.0}),
                                  plain.sample(20, random_state=2, given={"x": 3.0}))
    np.testing.assert_array_equal(calibrated.score_samples(df[:50]),
                                  plain.score_samples(df[:50]))
    # Zero offsets draw exactly what no offsets draw (the same random stream).
    zero = VAETransformer(calibrate_categories=False, **TINY)
    zero.__dict__.update(plain.__dict__)
    zero._category_offsets = np.zeros_like(calibrated._category_offsets)
    pd.testing.assert_frame_equal(zero.sample(300, random_state=3),
                                  plain.sample(300, random_state=3))


def test_numeric_arrays_have_nothing_to_calibrate():
    X = np.random.RandomState(0).normal(size=(200, 3))
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(8,), max_iter=3,
                         random_state=0)
    with pytest.warns(Warning):
        vae.fit(X)
    assert vae._category_offsets is None


def test_conditional_models_calibrate_each_class():
    df, y = ordinal_table(seed=1)
    vae = VAETransformer(conditional=True, **TINY)
    with pytest.warns(Warning):
        vae.fit(df, y)
    assert vae._category_offsets.shape == (2, 1 + len(LEVELS))
    for label in ("high", "low"):
        rows = vae.sample(20_000, random_state=0, y=label)
        assert tvd(rows["cat"], df["cat"][y == label]) < 0.02, label


def test_save_load_keeps_the_offsets(fits):
    calibrated, _, _ = fits
    buffer = io.BytesIO()
    save(calibrated, buffer)
    restored = load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_array_equal(restored._category_offsets, calibrated._category_offsets)
    pd.testing.assert_frame_equal(restored.sample(40, random_state=5),
                                  calibrated.sample(40, random_state=5))


def test_raking_reaches_the_target_shares():
    rng = np.random.RandomState(0)
    binary = rng.normal(size=(5000, 2))
    cats = [rng.normal(scale=2.0, size=(5000, 4)), rng.normal(size=(5000, 3))]
    targets = [0.9, None, np.array([0.7, 0.1, 0.1, 0.1]), np.array([0.0, 0.5, 0.5])]
    off = _rake(binary, cats, targets)
    assert off[1] == 0.0  # a column with no observed entry keeps its logits
    p = 1 / (1 + np.exp(-(binary[:, 0] + off[0])))
    assert abs(p.mean() - 0.9) < RAKING_TOL
    for logits, t, o in zip(cats, targets[2:], (off[2:6], off[6:])):
        a = np.exp(logits + o)
        share = (a / a.sum(1, keepdims=True)).mean(0)
        np.testing.assert_allclose(share, t, atol=RAKING_TOL)


def test_partial_fit_rakes_on_the_chunk_it_was_given():
    df, _ = ordinal_table(seed=2)
    vae = VAETransformer(**{**TINY, "max_iter": 5})
    vae.partial_fit(df[:1000])
    first = vae._category_offsets.copy()
    vae.partial_fit(df[1000:])
    assert vae._category_offsets.shape == first.shape == (1, 1 + len(LEVELS))
    assert not np.array_equal(vae._category_offsets, first)  # refitted, as the prior is
    rows = vae.sample(20_000, random_state=0)
    assert tvd(rows["cat"], df["cat"][1000:]) < 0.02

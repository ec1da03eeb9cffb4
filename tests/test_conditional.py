"""Conditional VAE (``VAETransformer(conditional=True)``) and ``VAEOversampler``."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

import sklearn_vae
from sklearn_vae import VAETransformer

TINY = dict(hidden_layer_sizes=(16,), max_iter=40, random_state=0)


def two_classes(n=300, seed=0):
    """Column 0 is +3 for class "a" and -3 for class "b"; the rest is noise."""
    rng = np.random.RandomState(seed)
    y = np.where(rng.uniform(size=n) < 0.6, "a", "b")
    X = rng.normal(size=(n, 4))
    X[:, 0] += np.where(y == "a", 3.0, -3.0)
    return X, y


@pytest.fixture(scope="module")
def cvae():
    X, y = two_classes()
    return VAETransformer(conditional=True, n_components=2, **TINY).fit(X, y), X, y


def test_fit_learns_classes_and_prior(cvae):
    vae, X, y = cvae
    assert vae.classes_.tolist() == ["a", "b"]
    np.testing.assert_allclose(vae.class_prior_, [np.mean(y == "a"), np.mean(y == "b")])
    assert vae.module_.n_conditions == 2
    assert vae.transform(X, y).shape == (len(X), 2)
    assert vae.fit_transform(X, y).shape == (len(X), 2)


def test_sample_draws_rows_of_the_requested_class(cvae):
    vae, _, _ = cvae
    a = vae.sample(400, y="a", random_state=0)
    b = vae.sample(400, y="b", random_state=0)
    assert a.shape == b.shape == (400, 4)
    assert a[:, 0].mean() > 2.0 and b[:, 0].mean() < -2.0
    # Other columns do not depend on the class.
    assert abs(a[:, 1].mean() - b[:, 1].mean()) < 0.5


def test_sample_follows_the_given_labels_row_by_row(cvae):
    vae, _, _ = cvae
    labels = np.array(["a"] * 700 + ["b"] * 300)
    rows = vae.sample(1000, y=labels, random_state=1)
    # Each row is drawn for its own label: the sign of column 0 follows it
    # (a model that ignored the label would agree on about 58% of rows).
    assert np.mean(rows[:700, 0] > 0) > 0.85
    assert np.mean(rows[700:, 0] < 0) > 0.85


def test_sample_without_y_uses_the_class_prior_and_is_seeded(cvae):
    vae, _, y = cvae
    rows = vae.sample(2000, random_state=2)
    share_a = np.mean(rows[:, 0] > 0)
    assert abs(share_a - np.mean(y == "a")) < 0.08
    np.testing.assert_array_equal(rows, vae.sample(2000, random_state=2))


def test_return_y_gives_the_labels_of_the_rows(cvae):
    """``sample(n, return_y=True)``: the classes drawn from class_prior_ (the same
    rows as without it), the given labels otherwise; an error without classes."""
    vae, X, y = cvae
    rows, labels = vae.sample(2000, random_state=2, return_y=True)
    np.testing.assert_array_equal(rows, vae.sample(2000, random_state=2))
    assert labels.shape == (2000,) and labels.dtype == vae.classes_.dtype
    assert abs(np.mean(labels == "a") - np.mean(y == "a")) < 0.05
    assert np.mean((rows[:, 0] > 0) == (labels == "a")) > 0.85  # each row's own class
    given = np.array(["b", "a", "b"], dtype=object)
    _, back = vae.sample(3, y=given, random_state=0, return_y=True)
    assert back.tolist() == ["b", "a", "b"]
    _, back = vae.sample(4, y="a", given={1: 0.0}, random_state=0, return_y=True)
    assert back.tolist() == ["a"] * 4
    _, back = vae.sample(5, y="b", posterior_of=X[y == "b"], random_state=0,
                         return_y=True)
    assert back.tolist() == ["b"] * 5
    plain = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=2,
                           random_state=0).fit(X)
    with pytest.raises(ValueError, match="return_y=True .* unconditional"):
        plain.sample(3, return_y=True)


def test_score_samples_is_log_p_x_given_y(cvae):
    vae, X, y = cvae
    right = vae.score_samples(X, y)
    wrong = vae.score_samples(X, np.where(y == "a", "b", "a"))
    assert np.mean(right > wrong) > 0.95
    assert vae.score(X, y) == pytest.approx(right.mean())
    # The per-feature split still adds up to the score.
    np.testing.assert_allclose(vae.score_samples_per_feature(X[:20], y[:20]).sum(axis=1),
                               right[:20], rtol=1e-6, atol=1e-6)
    # A scalar label applies to every row.
    np.testing.assert_allclose(vae.score_samples(X[:5], "a"),
                               vae.score_samples(X[:5], ["a"] * 5))


def test_inverse_transform_decodes_as_the_given_class(cvae):
    vae, _, _ = cvae
    Z = np.zeros((3, 2))
    assert vae.inverse_transform(Z, "a")[:, 0].mean() > 1.5
    assert vae.inverse_transform(Z, "b")[:, 0].mean() < -1.5


def test_integer_labels_and_scores_independent_of_batch(cvae):
    X, y = two_classes(200, seed=3)
    y_int = (y == "b").astype(int)
    vae = VAETransformer(conditional=True, **TINY).fit(X, y_int)
    assert vae.classes_.tolist() == [0, 1]
    full = vae.score_samples(X, y_int)
    np.testing.assert_array_equal(full[7:8], vae.score_samples(X[7:8], y_int[7:8]))


@pytest.mark.parametrize("call, match", [
    (lambda v, X, y: v.transform(X), "conditional=True: transform needs y"),
    (lambda v, X, y: v.score_samples(X), "score_samples needs y"),
    (lambda v, X, y: v.inverse_transform(np.zeros((2, 2))), "inverse_transform needs y"),
    (lambda v, X, y: v.transform(X, y[:5]), r"one class label per row \(300\)"),
    (lambda v, X, y: v.sample(3, y=["a", "zzz", "a"]), r"not seen in fit: \['zzz'\]"),
    (lambda v, X, y: v.score_samples(X[:2], np.array(["a", 7], dtype=object)),
     r"not seen in fit: \[7\]"),
])
def test_conditional_errors_name_the_problem(cvae, call, match):
    vae, X, y = cvae
    with pytest.raises(ValueError, match=match):
        call(vae, X, y)


@pytest.mark.parametrize("y, match", [
    (None, r"fit needs y"),
    ("continuous", r"got a 'continuous' target. Bin a continuous target"),
    ("nan", r"missing labels"),
    ("pd.NA", r"missing labels"),  # pandas "string" labels: TypeError in np.unique
    ("NaT", r"missing labels"),
    ("mixed", r"got a 'unknown' target. .*mixed types .* y.astype\(str\)"),
])
def test_conditional_fit_rejects_bad_labels(y, match):
    X, labels = two_classes(50)
    if isinstance(y, str) and y == "continuous":
        y = X[:, 1]
    elif isinstance(y, str) and y == "nan":
        y = np.where(labels == "a", 1.0, np.nan)
    elif isinstance(y, str) and y == "pd.NA":
        pd = pytest.importorskip("pandas")
        y = pd.Series(labels).astype("string").where(labels == "a", pd.NA)
    elif isinstance(y, str) and y == "NaT":
        pd = pytest.importorskip("pandas")
        y = np.where(labels == "a", "a", pd.NaT).astype(object)
    elif isinstance(y, str) and y == "mixed":
        y = labels.astype(object)
        y[labels == "a"] = 1  # 1 and "b"
    with pytest.raises(ValueError, match=match):
        VAETransformer(conditional=True, max_iter=1).fit(X, y)


def test_unconditional_model_ignores_y_and_refuses_sample_y():
    X, y = two_classes(80)
    a = VAETransformer(max_iter=3, random_state=0).fit(X, y)
    b = VAETransformer(max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X, y))
    assert not hasattr(a, "classes_")
    with pytest.raises(ValueError, match="unconditional: sample takes no y"):
        a.sample(2, y="a")


def test_refit_unconditional_drops_classes():
    X, y = two_classes(60)
    vae = VAETransformer(conditional=True, max_iter=2).fit(X, y)
    vae.set_params(conditional=False).fit(X)
    assert not hasattr(vae, "classes_") and vae.module_.n_conditions == 0
    assert vae.sample(2, random_state=0).shape == (2, 4)


def test_conditional_model_saves_and_pickles(cvae, tmp_path):
    vae, X, y = cvae
    path = tmp_path / "cvae.skvae"
    sklearn_vae.save(vae, path)
    loaded = sklearn_vae.load(path)
    assert loaded.classes_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(loaded.score_samples(X[:10], y[:10]),
                                  vae.score_samples(X[:10], y[:10]))
    np.testing.assert_array_equal(loaded.sample(5, y="b", random_state=0),
                                  vae.sample(5, y="b", random_state=0))
    again = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(again.transform(X[:10], y[:10]), vae.transform(X[:10], y[:10]))


def test_grid_search_scores_log_p_x_given_y():
    X, y = two_classes(120)
    grid = GridSearchCV(VAETransformer(conditional=True, max_iter=2, random_state=0),
                        {"n_components": [1, 2]}, cv=2).fit(X, y)
    assert grid.best_estimator_.classes_.tolist() == ["a", "b"]
    assert np.isfinite(grid.best_score_)


def test_mixed_frame_conditional_sample_keeps_types():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    y = rng.choice(["yes", "no"], 200)
    df = pd.DataFrame({"age": rng.randint(20, 60, 200),
                       "color": pd.Categorical(np.where(y == "yes", "red", "blue")),
                       "x": rng.normal(size=200)})
    vae = VAETransformer(conditional=True, **TINY).fit(df, y)
    rows = vae.sample(200, y="yes", random_state=0)
    assert list(rows.columns) == ["age", "color", "x"]
    assert rows["age"].dtype == df["age"].dtype
    assert isinstance(rows["color"].dtype, pd.CategoricalDtype)
    assert (rows["color"] == "red").mean() > 0.75  # 0.5 if the label were ignored


def test_cross_validation_without_a_class_says_to_stratify():
    """Not a classifier, so sklearn's default cv is an unshuffled KFold: a training
    fold of sorted labels lacks a class. The error says so; a single-class fit warns."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = two_classes(120)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    vae = VAETransformer(conditional=True, n_components=2, hidden_layer_sizes=(16,),
                         max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match="single class"), \
            pytest.raises(ValueError, match=r"training fold lacked the class.*"
                                            r"cv=StratifiedKFold"):
        cross_val_score(vae, X, y, cv=2, error_score="raise")
    scores = cross_val_score(vae, X, y, cv=StratifiedKFold(2))
    assert np.isfinite(scores).all()

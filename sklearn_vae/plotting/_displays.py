"""Displays of a fitted VAE, in scikit-learn's ``Display`` style.

Each display stores what it plots, draws it with :meth:`plot` (``ax`` to draw
into an existing Axes) and is built from a fitted estimator with
``from_estimator``; after plotting it has ``ax_`` and ``figure_`` (``axes_``
for grids). matplotlib is imported only when plotting (the ``plot`` extra).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _pyplot(name):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(f"{name} needs matplotlib: pip install 'sklearn-vae[plot]'") from exc
    return plt


class LossCurveDisplay:
    """Training and validation loss per epoch, the best epoch marked.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training negative ELBO per epoch (an estimator's ``loss_curve_``).
    validation_scores : array-like of shape (n_epochs,) or None
        Validation ELBO per epoch (``validation_scores_``); plotted negated,
        as a loss, so both curves go down.
    estimator_name : str or None
        Used in the title.
    """

    def __init__(self, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = np.asarray(loss_curve, dtype=float)
        self.validation_scores = (None if validation_scores is None
                                  else np.asarray(validation_scores, dtype=float))
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the loss curves of a fitted estimator."""
        check_is_fitted(estimator)
        return cls(estimator.loss_curve_, estimator.validation_scores_,
                   type(estimator).__name__).plot(ax=ax)

    def plot(self, ax=None):
        plt = _pyplot(type(self).__name__)
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4))
        epochs = np.arange(1, len(self.loss_curve) + 1)
        ax.plot(epochs, self.loss_curve, label="training")
        if self.validation_scores is not None:
            valid = -self.validation_scores
            best = int(np.argmin(valid))
            ax.plot(epochs, valid, label="validation")
            ax.axvline(epochs[best], color="grey", linestyle=":", linewidth=1,
                       label=f"best epoch ({epochs[best]})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("negative ELBO (nats per row, standardized)")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self


class LatentKLDisplay:
    """Information per latent dimension: a bar of ``kl_per_component_`` each.

    The VAE's analogue of a PCA scree plot. Bars are sorted by KL; inactive
    dimensions (``active_components_`` False) are drawn in grey.

    Parameters
    ----------
    kl_per_component : array-like of shape (n_components,)
    active : array-like of bool, shape (n_components,), or None
    """

    def __init__(self, kl_per_component, active=None):
        self.kl_per_component = np.asarray(kl_per_component, dtype=float)
        self.active = (np.ones(len(self.kl_per_component), bool) if active is None
                       else np.asarray(active, dtype=bool))

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        check_is_fitted(estimator)
        return cls(estimator.kl_per_component_, estimator.active_components_).plot(ax=ax)

    def plot(self, ax=None):
        plt = _pyplot(type(self).__name__)
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.5))
        order = np.argsort(self.kl_per_component)[::-1]
        colors = ["C0" if a else "0.7" for a in self.active[order]]
        ax.bar(np.arange(len(order)), self.kl_per_component[order], color=colors)
        ax.set_xticks(np.arange(len(order)), [f"vae{i}" for i in order])
        ax.set_ylabel("KL to the prior (nats)")
        ax.set_title(f"{int(self.active.sum())} of {len(order)} latent dimensions active")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class FeatureAttributionDisplay:
    """Which columns make rows unlikely: per-feature shares of the score.

    A horizontal bar per column: its term of ``score_samples_per_feature``
    (log-likelihood, so the most negative bars are the columns that flag the
    row), for one row or averaged over a set of rows; the ``max_features``
    most negative are drawn.

    Parameters
    ----------
    contributions : array-like of shape (n_features,)
    feature_names : array-like of str, shape (n_features,)
    title : str or None
    """

    def __init__(self, contributions, feature_names, title=None):
        self.contributions = np.asarray(contributions, dtype=float)
        self.feature_names = np.asarray(feature_names, dtype=object)
        self.title = title

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, rows=None, max_features=10,
                       ax=None):
        """Per-feature terms of ``X``'s rows (``rows``: positions; default all), averaged.

        Works with any fitted sklearn-vae estimator (the outlier detector's
        ``score_samples_per_feature`` follows its ``anomaly_score``); a
        conditional ``VAETransformer`` needs ``y``, each row's class (the
        terms of ``log p(x | y)``).
        """
        check_is_fitted(estimator)
        if rows is not None:
            rows = np.atleast_1d(rows)
            X = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
            if y is not None and np.ndim(y):
                y = np.asarray(y)[rows]
        conditional = getattr(estimator, "classes_", None) is not None
        per_feature = np.asarray(
            estimator.score_samples_per_feature(X, y) if conditional
            else estimator.score_samples_per_feature(X), dtype=float)
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(per_feature.shape[1])]
        n = len(per_feature)
        title = f"row {int(rows[0])}" if rows is not None and n == 1 else f"mean of {n} rows"
        return cls(per_feature.mean(axis=0), names, title).plot(ax=ax,
                                                                max_features=max_features)

    def plot(self, ax=None, max_features=10):
        plt = _pyplot(type(self).__name__)
        order = np.argsort(self.contributions)[:max_features]
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 0.35 * len(order) + 1.2))
        y = np.arange(len(order))[::-1]
        ax.barh(y, self.contributions[order], color="C3")
        ax.set_yticks(y, [str(n) for n in self.feature_names[order]])
        ax.set_xlabel("log-likelihood term (nats; lower = more unusual)")
        if self.title:
            ax.set_title(self.title)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class MarginalsDisplay:
    """Real vs synthetic marginals: a histogram (or bar chart) per column.

    Parameters
    ----------
    real, synthetic : DataFrame or array of shape (n, n_features)
        The same columns; numeric columns get overlaid density histograms,
        other columns bars of the level frequencies.
    max_columns : int, default=12
    """

    def __init__(self, real, synthetic, max_columns=12):
        import pandas as pd

        self.real = pd.DataFrame(real).reset_index(drop=True)
        self.synthetic = pd.DataFrame(synthetic, columns=self.real.columns)
        self.max_columns = max_columns

    @classmethod
    def from_estimator(cls, estimator, X, *, n_samples=None, random_state=0,
                       max_columns=12):
        """Sample ``len(X)`` rows (or ``n_samples``) and plot them against ``X``."""
        check_is_fitted(estimator)
        n = len(X) if n_samples is None else n_samples
        synthetic = estimator.sample(n, random_state=random_state)
        return cls(X, synthetic, max_columns).plot()

    def plot(self, axes=None):
        import pandas as pd

        plt = _pyplot(type(self).__name__)
        columns = list(self.real.columns)[: self.max_columns]
        if axes is None:
            n_cols = min(4, len(columns))
            n_rows = int(np.ceil(len(columns) / n_cols))
            _, axes = plt.subplots(n_rows, n_cols, figsize=(3.2 * n_cols, 2.6 * n_rows),
                                   squeeze=False)
        axes = np.asarray(axes).ravel()
        for ax, col in zip(axes, columns):
            r, s = self.real[col].dropna(), self.synthetic[col].dropna()
            if pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r):
                bins = np.histogram_bin_edges(np.concatenate([r, s]).astype(float), 30)
                ax.hist(r, bins=bins, density=True, alpha=0.5, label="real")
                ax.hist(s, bins=bins, density=True, alpha=0.5, label="synthetic")
            else:
                freq = pd.DataFrame({"real": r.astype(str).value_counts(normalize=True),
                                     "synthetic": s.astype(str).value_counts(normalize=True)})
                freq = freq.fillna(0.0).sort_values("real", ascending=False).head(10)
                x = np.arange(len(freq))
                ax.bar(x - 0.2, freq["real"], width=0.4, label="real")
                ax.bar(x + 0.2, freq["synthetic"], width=0.4, label="synthetic")
                ax.set_xticks(x, freq.index, rotation=45, ha="right", fontsize=7)
            ax.set_title(str(col), fontsize=9)
        for ax in axes[len(columns):]:
            ax.set_visible(False)
        axes[0].legend(fontsize=7)
        self.axes_, self.figure_ = axes[: len(columns)], axes[0].figure
        self.figure_.tight_layout()
        return self

"""LatentSpaceDisplay: a scatter of rows in a fitted VAE's latent space."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._displays import _pyplot


class LatentSpaceDisplay:
    """Scatter plot of latent codes, coloured by an optional label.

    Build it with :meth:`from_estimator`; matplotlib is imported only when
    plotting (install the ``plot`` extra).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_components)
        Latent codes (the first two components are drawn).
    y : array-like of shape (n_samples,) or None
        Colours (e.g. class labels).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    """

    def __init__(self, Z, y=None):
        self.Z = np.asarray(Z)
        self.y = y

    @classmethod
    def from_estimator(cls, estimator, X, y=None, *, ax=None, **scatter_kwargs):
        """Transform ``X`` with a fitted estimator and plot its latent codes."""
        check_is_fitted(estimator)
        return cls(estimator.transform(X), y).plot(ax=ax, **scatter_kwargs)

    def plot(self, ax=None, **scatter_kwargs):
        plt = _pyplot(type(self).__name__)
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.5))
        Z = self.Z if self.Z.shape[1] >= 2 else np.column_stack([self.Z[:, 0],
                                                                 np.zeros(len(self.Z))])
        kwargs = {"s": 6, "alpha": 0.8, **scatter_kwargs}
        if self.y is not None:
            kwargs.setdefault("cmap", "tab10")
            points = ax.scatter(Z[:, 0], Z[:, 1], c=self.y, **kwargs)
            ax.figure.colorbar(points, ax=ax, label="label")
        else:
            ax.scatter(Z[:, 0], Z[:, 1], **kwargs)
        ax.set_xlabel("vae0")
        ax.set_ylabel("vae1" if self.Z.shape[1] >= 2 else "")
        self.ax_, self.figure_ = ax, ax.figure
        return self

"""Tabular schema: column kinds, encoding to (values, mask), decoding back.

The schema is the only place that knows how a user's columns map onto the
model's flat encoded row (see :class:`sklearn_vae.nn.ColumnLayout`):

- ``encode(X)`` -> ``(values, mask)``: values laid out ``[continuous | binary |
  one-hot categorical]`` with missing entries filled by 0, and a mask with
  one entry per column in that same layout order (1 = observed).
- ``decode(...)`` maps model outputs back to the user's units and order.
- ``log_jacobian_`` (one per layout column) turns a log-density of the encoded
  value into a log-density in the user's units.
- ``layout_order_`` lists, for each layout column, the index of the user's
  column it came from; ``to_user_columns`` undoes that order.

This version handles numeric arrays: every column is continuous and
standardized (``(x - mean_) / scale_``).
"""

import numpy as np

from .nn import ColumnLayout


class TabularSchema:
    """Continuous columns, standardized with NaN-aware mean and std."""

    def fit(self, X):
        X = np.asarray(X, dtype=np.float64)
        observed = ~np.isnan(X)
        count = observed.sum(axis=0)
        filled = np.where(observed, X, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = filled.sum(axis=0) / count
            var = (np.where(observed, X - mean, 0.0) ** 2).sum(axis=0) / count
        mean = np.where(count > 0, mean, 0.0)
        std = np.sqrt(np.where(count > 0, var, 0.0))
        # Constant (or never observed) columns keep unit scale, as StandardScaler.
        tiny = 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
        self.mean_ = mean
        self.scale_ = np.where(std > tiny, std, 1.0)
        self.n_observed_ = count
        self.n_features_ = X.shape[1]
        self.layout_ = ColumnLayout(n_continuous=X.shape[1])
        self.layout_order_ = np.arange(X.shape[1])
        self.log_jacobian_ = -np.log(self.scale_)
        return self

    def encode(self, X, dtype=np.float32):
        """Return ``(values, mask)`` as arrays of ``dtype``."""
        X = np.asarray(X, dtype=np.float64)
        mask = ~np.isnan(X)
        values = np.where(mask, (X - self.mean_) / self.scale_, 0.0)
        return values.astype(dtype, copy=False), mask.astype(dtype)

    def decode(self, cont_mean, binary_prob=None, cat_probs=()):
        """Point values in the user's units from decoder outputs (layout order)."""
        return np.asarray(cont_mean, dtype=np.float64) * self.scale_ + self.mean_

    def decode_sample(self, values):
        """User-unit rows from encoded draws of ``p(x|z)``."""
        return np.asarray(values, dtype=np.float64) * self.scale_ + self.mean_

    def to_user_columns(self, per_column):
        """Reorder a ``(n, n_columns)`` array from layout order to the user's."""
        out = np.empty_like(per_column)
        out[:, self.layout_order_] = per_column
        return out

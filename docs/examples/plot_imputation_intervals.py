"""
Multiple imputation: filled values with their uncertainty
=========================================================

``VAEImputer(sample_posterior=True)`` draws one plausible completion of each
row from the model's posterior; several fits with different ``random_state``
values give several completions (multiple imputation, as with
``IterativeImputer(sample_posterior=True)``). Their spread is the uncertainty
of each filled entry. Here 30% of the diabetes table is hidden at random; the
plot shows, for one column, the true hidden values against the mean of 10
draws with a 10%-90% interval, and the script reports how often the
intervals cover the truth.
"""

# %%
# Hide 30% of the entries and draw 10 completions.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes

from sklearn_vae import VAEImputer

quick = bool(os.environ.get("SKLEARN_VAE_DOCS_QUICK"))
X = load_diabetes().data
rng = np.random.RandomState(0)
hidden = rng.uniform(size=X.shape) < 0.3
X_missing = np.where(hidden, np.nan, X)

n_draws = 4 if quick else 8
settings = {"max_iter": 30} if quick else {}
draws = np.stack([
    VAEImputer(sample_posterior=True, random_state=seed, **settings).fit_transform(X_missing)
    for seed in range(n_draws)
])  # (n_draws, n_samples, n_features)
mean = VAEImputer(random_state=0, **settings).fit_transform(X_missing)  # conditional mean

# %%
# How good are the point estimates and the intervals?
low, high = np.percentile(draws, [10, 90], axis=0)
covered = (X >= low) & (X <= high)
error = (mean - X) / X.std(axis=0)  # in units of each column's std
rmse = np.sqrt(np.mean(error[hidden] ** 2))
print(f"RMSE of the conditional mean: {rmse:.3f} (in units of each column's std)")
print(f"10%-90% intervals of {n_draws} draws cover {covered[hidden].mean():.0%} of the "
      "hidden values (nominal 80%; few draws make the intervals narrower)")

# %%
# One column: the hidden values, the conditional mean and the interval of the draws.
col = 2  # body-mass index
rows = np.flatnonzero(hidden[:, col])[:40]
order = rows[np.argsort(X[rows, col])]
x = np.arange(len(order))
fig, ax = plt.subplots(figsize=(9, 4))
ax.vlines(x, low[order, col], high[order, col], color="tab:blue", alpha=0.5,
          label="10%-90% of the draws")
ax.plot(x, mean[order, col], "o", color="tab:blue", label="VAEImputer (mean)")
ax.plot(x, X[order, col], "k_", markersize=12, label="true hidden value")
ax.set_xlabel("hidden entries of column 'bmi', sorted by their true value")
ax.set_ylabel("bmi (standardized by load_diabetes)")
ax.legend(loc="upper left")
fig.tight_layout()

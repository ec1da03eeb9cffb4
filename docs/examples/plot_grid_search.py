"""
Choosing ``n_components`` and ``beta`` with ``GridSearchCV``
============================================================

``VAETransformer.score`` is the held-out log-likelihood, so ``GridSearchCV``
needs no ``scoring``. The loss curve of the chosen model (``LossCurveDisplay``)
shows whether it converged, and ``kl_per_component_`` (``LatentKLDisplay``)
how many latent dimensions it uses: the VAE's analogue of PCA's
``explained_variance_ratio_``.
"""

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_vae import VAETransformer
from sklearn_vae.plotting import LatentKLDisplay, LossCurveDisplay

quick = bool(os.environ.get("SKLEARN_VAE_DOCS_QUICK"))
X = load_breast_cancer().data
X_train, X_test = train_test_split(X, random_state=0)
base = VAETransformer(random_state=0, learning_rate_init=3e-3,
                      max_iter=30 if quick else 100)
grid = GridSearchCV(base, {"n_components": [2, 5], "beta": [0.5, 1.0]}, cv=3)
grid.fit(X_train)
results = pd.DataFrame(grid.cv_results_)[["param_n_components", "param_beta",
                                           "mean_test_score", "mean_fit_time"]]
print(results.round(2).to_string(index=False))
best = grid.best_estimator_
print(f"best: {grid.best_params_}, held-out log-likelihood {best.score(X_test):.1f}, "
      f"{best.n_active_components_} of {best.n_components} latent dimensions in use")

# %%
# Training curve and per-dimension KL of the chosen model.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
LossCurveDisplay.from_estimator(best, ax=axes[0])
LatentKLDisplay.from_estimator(best, ax=axes[1])
fig.tight_layout()

"""
Which columns flagged a row?
============================

Per-feature anomaly scores on breast cancer data.

The benign tumours are the normal rows; 10 malignant ones are planted among them.
``score_samples_per_feature`` splits each row's log-likelihood into one additive
term per column (a DataFrame, since the detector was fit on one), so the most
negative terms name the columns that make the row unlikely.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer

from sklearn_vae import VAEOutlierDetector
from sklearn_vae.plotting import FeatureAttributionDisplay

data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target  # target 1 = benign
rng = np.random.RandomState(0)
rows = np.concatenate([np.flatnonzero(y == 1),
                       rng.choice(np.flatnonzero(y == 0), 10, replace=False)])
X, malignant = X.iloc[rows], (y.iloc[rows] == 0).to_numpy()

det = VAEOutlierDetector(random_state=0).fit(X)
scores = det.score_samples(X)
top = np.argsort(scores)[:5]  # the five least likely rows
per_feature = det.score_samples_per_feature(X.iloc[top])  # DataFrame, columns = X's
print(f"flagged by predict: {np.mean(det.predict(X) == -1):.1%} of rows "
      f"(true share of malignant rows: {malignant.mean():.1%})")
for (row_id, contrib), score, bad in zip(per_feature.iterrows(), scores[top], malignant[top]):
    worst = contrib.nsmallest(3)
    print(f"row {row_id} ({'malignant' if bad else 'benign'}), log p(x) = {score:.1f}: "
          + ", ".join(f"{name} {value:.1f}" for name, value in worst.items()))

# %%
# The same split as a plot: the least likely row, and the mean over the five.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
FeatureAttributionDisplay.from_estimator(det, X, rows=top[0], max_features=8, ax=axes[0])
FeatureAttributionDisplay.from_estimator(det, X, rows=top, max_features=8, ax=axes[1])
fig.tight_layout()

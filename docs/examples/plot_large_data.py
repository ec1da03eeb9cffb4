"""
Large tables and GPUs: step budgets and chunked scoring
=======================================================

A default fit costs a number of optimizer steps (``max_steps``), not a number
of passes over the data, so a table of a million rows trains in about the
time of one of a few thousand; scoring runs in fixed-size float32 chunks
whose memory is bounded (``docs/performance.md``). ``device="auto"`` (the
default) trains and scores on a GPU when torch sees one; a model fitted on a
GPU loads on a machine without one. This example times fit and
``score_samples`` as the table grows (small sizes when
``SKLEARN_VAE_DOCS_QUICK`` is set, as in CI).
"""

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from sklearn_vae import VAEOutlierDetector

quick = bool(os.environ.get("SKLEARN_VAE_DOCS_QUICK"))
print("GPU available:", torch.cuda.is_available())
sizes = [5_000, 20_000] if quick else [10_000, 50_000, 200_000]
rng = np.random.RandomState(0)
mixing = rng.normal(size=(20, 20))
fit_s, score_s = [], []
for n in sizes:
    X = rng.normal(size=(n, 20)) @ mixing
    t0 = time.perf_counter()
    det = VAEOutlierDetector(random_state=0).fit(X)
    t1 = time.perf_counter()
    det.score_samples(X)
    t2 = time.perf_counter()
    fit_s.append(t1 - t0)
    score_s.append(t2 - t1)
    print(f"{n:>7} rows: fit {t1 - t0:5.1f} s ({det.n_iter_} epochs), "
          f"score_samples {t2 - t1:5.1f} s, device {det.net_.device}")

# %%
# Fit time stays about flat (the step budget binds); scoring grows linearly.
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(sizes, fit_s, "o-", label="fit")
ax.plot(sizes, score_s, "s-", label="score_samples")
ax.set_xscale("log")
ax.set_xlabel("rows")
ax.set_ylabel("seconds")
ax.legend()
fig.tight_layout()

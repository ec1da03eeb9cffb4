"""Would an L1 penalty on the codes make VAETransformer's codes sparser? (experiment)

Adds ``l1 * sum_j |mu_j|`` (the posterior means) to the training objective of
``VAETransformer`` by wrapping ``VAEModule.negative_elbo`` for the duration
of this script only (the package has no such option: this script is why), then
reports, on digits with uniform dequantization noise (70/30 split, seed 0,
``n_components=10``, ``max_iter=100``): LogisticRegression accuracy on the
codes, held-out log-likelihood, active dimensions, the share of code entries
with ``|z| < 0.1`` and the mean number of dimensions a row uses (``|z| >= 0.1``).

Usage::

    python benchmarks/bench_l1_codes.py 0 0.01 0.03 0.1 0.3
"""

import sys
import time
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer
from sklearn_vae.nn import VAEModule


def main(penalties):
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    original = VAEModule.negative_elbo
    weight = {"l1": 0.0}

    def penalized(self, x, mask, out, beta=1.0, free_bits=0.0):
        return original(self, x, mask, out, beta, free_bits) + weight["l1"] * out.mu.abs().sum(-1)

    VAEModule.negative_elbo = penalized
    X, y = load_digits(return_X_y=True)
    X = X + np.random.RandomState(0).uniform(size=X.shape)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    try:
        for l1 in penalties:
            weight["l1"] = l1
            t0 = time.perf_counter()
            vae = VAETransformer(n_components=10, random_state=0, max_iter=100).fit(X_train)
            fit_s = time.perf_counter() - t0
            weight["l1"] = 0.0  # scores and codes are the model's, not the penalty's
            Z_train, Z_test = vae.transform(X_train), vae.transform(X_test)
            head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
            acc = head.fit(Z_train, y_train).score(Z_test, y_test)
            used = np.abs(Z_test) >= 0.1
            print(f"| {l1:g} | {acc:.3f} | {vae.score(X_test):.1f} | "
                  f"{vae.n_active_components_} | {1 - used.mean():.2f} | "
                  f"{used.sum(axis=1).mean():.1f} | {fit_s:.1f} |", flush=True)
    finally:
        VAEModule.negative_elbo = original


if __name__ == "__main__":
    print("| l1 | accuracy | held-out log-lik | active dims | share of codes near 0 "
          "| dims used per row | fit s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    main([float(a) for a in sys.argv[1:]] or [0.0, 0.01, 0.03, 0.1, 0.3])

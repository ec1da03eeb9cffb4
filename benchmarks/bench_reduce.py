"""Dimensionality reduction: VAETransformer vs PCA on scikit-learn's bundled data.

For each dataset and ``n_components`` in {2, 5, 10} (capped at n_features - 1),
with a stratified/held-out 25% test split (same split for both models):

- held-out reconstruction MSE in standardized units (``inverse_transform(transform(X))``),
- held-out mean log-likelihood (``score``; both in the data's own units),
- downstream quality on the latent features: LogisticRegression accuracy
  (classification sets) or Ridge R^2 (``load_diabetes``), trained on the
  train-split codes and scored on the test-split codes,
- fit time.

Both models see the raw features (each standardizes internally as needed:
PCA centres, the VAE standardizes). Results go to
``benchmarks/results/reduce.json`` and ``reduce.md``.

Usage::

    python benchmarks/bench_reduce.py
    python benchmarks/bench_reduce.py --datasets digits --components 10 --seeds 0 1 2
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
}


def evaluate(model, X_train, X_test, y_train, y_test, task, scaler):
    t0 = time.perf_counter()
    model.fit(X_train)
    fit_s = time.perf_counter() - t0
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    X_rec = model.inverse_transform(Z_test)
    mse = float(np.mean((scaler.transform(X_rec) - scaler.transform(X_test)) ** 2))
    if task == "classification":
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    else:
        head = make_pipeline(StandardScaler(), Ridge())
    downstream = float(head.fit(Z_train, y_train).score(Z_test, y_test))
    return {"recon_mse": mse, "test_loglik": float(model.score(X_test)),
            "downstream": downstream, "fit_s": fit_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--components", type=int, nargs="+", default=[2, 5, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)

    rows = []
    for name in args.datasets:
        loader, task = DATASETS[name]
        X, y = loader(return_X_y=True)
        for seed in args.seeds:
            split = train_test_split(X, y, test_size=0.25, random_state=seed,
                                     stratify=y if task == "classification" else None)
            X_train, X_test, y_train, y_test = split
            scaler = StandardScaler().fit(X_train)
            for k in args.components:
                if k >= X.shape[1]:
                    continue
                for model_name, model in [
                    ("PCA", PCA(n_components=k, random_state=seed)),
                    ("VAE", VAETransformer(n_components=k, random_state=seed)),
                ]:
                    res = evaluate(model, X_train, X_test, y_train, y_test, task, scaler)
                    res.update(dataset=name, seed=seed, n_components=k, model=model_name,
                               task=task)
                    if model_name == "VAE":
                        res["epochs"] = model.n_iter_
                    rows.append(res)
                    print(json.dumps(res))

    # Mean over seeds, one line per (dataset, k) with both models side by side.
    table = {}
    for r in rows:
        key = (r["dataset"], r["n_components"])
        table.setdefault(key, {}).setdefault(r["model"], []).append(r)

    def mean(rs, field):
        return float(np.mean([r[field] for r in rs]))

    summary = []
    for (dataset, k), by_model in table.items():
        p, v = by_model["PCA"], by_model["VAE"]
        summary.append({
            "dataset": dataset, "n_components": k, "task": p[0]["task"],
            **{f"{m}_{f}": mean(rs, f) for m, rs in (("pca", p), ("vae", v))
               for f in ("recon_mse", "test_loglik", "downstream", "fit_s")},
        })
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reduce.json").write_text(json.dumps(
        {"seeds": args.seeds, "rows": rows, "summary": summary}, indent=2))
    lines = [
        f"Held-out (25%) results, mean over seeds {args.seeds}. Recon MSE in standardized "
        "units; log-lik = mean `score` (nats/row, data units); downstream = "
        "LogisticRegression accuracy (Ridge R^2 for diabetes) on latent features.",
        "",
        "| dataset | k | recon MSE PCA | recon MSE VAE | log-lik PCA | log-lik VAE "
        "| downstream PCA | downstream VAE | fit s PCA | fit s VAE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['dataset']} | {s['n_components']} | {s['pca_recon_mse']:.3f} | "
            f"{s['vae_recon_mse']:.3f} | {s['pca_test_loglik']:.1f} | "
            f"{s['vae_test_loglik']:.1f} | {s['pca_downstream']:.3f} | "
            f"{s['vae_downstream']:.3f} | {s['pca_fit_s']:.2f} | {s['vae_fit_s']:.1f} |"
        )
    (RESULTS / "reduce.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

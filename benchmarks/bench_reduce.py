"""Dimensionality reduction: VAETransformer vs PCA on scikit-learn's bundled data.

For each dataset and ``n_components`` in {2, 5, 10, 20} (capped at n_features - 1),
with a stratified/held-out 25% test split (same split for both models):

- held-out reconstruction MSE in standardized units (``inverse_transform(transform(X))``),
- held-out mean log-likelihood (``score``; both in the data's own units),
- on the mixed-type table (``adult``: a 4000-row sample of UCI Adult from
  ``../shared/data/mixed/``, income as the label), PCA runs on standardized
  and one-hot encoded columns and only the downstream score (and the VAE's
  log-likelihood) is reported,
- downstream quality on the latent features: LogisticRegression accuracy
  (classification sets) or Ridge R^2 (``load_diabetes``), trained on the
  train-split codes and scored on the test-split codes,
- fit time,
- the VAE's active latent dimensions (``n_active_components_``) and the
  smallest per-dimension KL (``kl_per_component_``): posterior collapse made
  visible.

Both models see the raw features (each standardizes internally as needed:
PCA centres, the VAE standardizes). Results go to
``benchmarks/results/<out>.json`` and ``<out>.md`` (``--out``, default
``reduce``). ``--free-bits`` overrides the VAE's ``free_bits`` (e.g. 0 for
the behaviour before free bits were the default).

Usage::

    python benchmarks/bench_reduce.py
    python benchmarks/bench_reduce.py --datasets digits --components 10 --seeds 0 1 2
    python benchmarks/bench_reduce.py --seeds 0 1 2 --free-bits 0 --out reduce_fb0
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_adult(return_X_y=True, n_rows=4000):
    """A mixed-type table: a stratified 4000-row sample of UCI Adult.

    ``X`` is a DataFrame (continuous and categorical columns, categories as
    ``category`` dtype), ``y`` is ``income > 50K``. Read from
    ``../shared/data/mixed/adult.csv``.
    """
    import pandas as pd

    df = pd.read_csv(DATA / "mixed" / "adult.csv", skipinitialspace=True)
    y = df.pop("income").str.contains(">50K").to_numpy().astype(int)
    for col in df.select_dtypes(exclude="number").columns:
        df[col] = df[col].astype("category")
    rows, _ = train_test_split(np.arange(len(df)), train_size=n_rows, random_state=0,
                               stratify=y)
    return df.iloc[rows].reset_index(drop=True), y[rows]


DATASETS = {
    "digits": (load_digits, "classification"),
    "breast_cancer": (load_breast_cancer, "classification"),
    "wine": (load_wine, "classification"),
    "diabetes": (load_diabetes, "regression"),
    "adult": (load_adult, "classification"),
}
MIXED = {"adult"}  # DataFrames: PCA sees them one-hot encoded


def pca_for(X, k, seed):
    """PCA, behind a one-hot / standardizing step for a mixed-type DataFrame."""
    if not hasattr(X, "columns"):
        return PCA(n_components=k, random_state=seed)
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    cat = [c for c in X.columns if X[c].dtype.name == "category"]
    num = [c for c in X.columns if c not in cat]
    encode = ColumnTransformer([
        ("num", StandardScaler(), num),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat),
    ])
    return make_pipeline(encode, PCA(n_components=k, random_state=seed))


def _pca_quantile(k, seed):
    """PCA on the mixed table as the VAE encodes it: continuous columns through a
    quantile-to-normal map, categorical columns one-hot."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, QuantileTransformer

    encode = make_column_transformer(
        (QuantileTransformer(output_distribution="normal", n_quantiles=1000,
                             random_state=seed),
         make_column_selector(dtype_exclude="category")),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False),
         make_column_selector(dtype_include="category")))
    return make_pipeline(encode, PCA(n_components=k, random_state=seed))


# Reference models (downstream score only): name -> (factory, for mixed tables?).
REFERENCES = {
    "fa": (lambda k, seed: FactorAnalysis(n_components=k, random_state=seed), False),
    "pca_std": (lambda k, seed: make_pipeline(StandardScaler(),
                                              PCA(n_components=k, random_state=seed)),
                False),
    "pca_quantile": (_pca_quantile, True),
}


def evaluate(model, X_train, X_test, y_train, y_test, task, scaler, reference=False):
    """Fit ``model`` and score it; a ``reference`` model gets only the downstream score."""
    t0 = time.perf_counter()
    model.fit(X_train)
    fit_s = time.perf_counter() - t0
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    if scaler is None or reference:  # mixed table: no common reconstruction scale
        mse = float("nan")
    else:
        X_rec = model.inverse_transform(Z_test)
        mse = float(np.mean((scaler.transform(X_rec) - scaler.transform(X_test)) ** 2))
    if scaler is None and not hasattr(model, "n_active_components_"):
        loglik = median = worst = float("nan")  # PCA on one-hot: not a density
    elif reference:  # FactorAnalysis, or PCA on standardized columns: not reported
        loglik = median = worst = float("nan")
    else:
        per_row = model.score_samples(X_test)
        loglik = float(np.mean(per_row))
        median, worst = float(np.median(per_row)), float(np.min(per_row))
    if task == "classification":
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    else:
        head = make_pipeline(StandardScaler(), Ridge())
    downstream = float(head.fit(Z_train, y_train).score(Z_test, y_test))
    return {"recon_mse": mse, "test_loglik": loglik, "test_loglik_median": median,
            "test_loglik_worst": worst, "downstream": downstream, "fit_s": fit_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--components", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--free-bits", type=float, default=None,
                        help="VAETransformer free_bits (default: the estimator's)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="VAETransformer max_steps (default: the estimator's)")
    parser.add_argument("--beta", type=float, default=None,
                        help="VAETransformer beta (default: the estimator's)")
    parser.add_argument("--init", choices=["pca", "random"], default=None,
                        help="VAETransformer init (default: the estimator's)")
    parser.add_argument("--variance-lr-scale", type=float, default=None,
                        help="learning-rate multiplier of the observation variances "
                             "(the class attribute _variance_lr_scale; default 1)")
    parser.add_argument("--references", nargs="+", default=[], choices=list(REFERENCES),
                        help="extra reference models (downstream score only): on the "
                             "numeric tables fa (FactorAnalysis) and pca_std "
                             "(StandardScaler + PCA); on the mixed table pca_quantile "
                             "(PCA on quantile-to-normal continuous and one-hot "
                             "categorical columns, the VAE's own encoding)")
    parser.add_argument("--scaling", choices=["column", "shared"], default=None,
                        help="VAETransformer's scaling (default: the estimator's)")
    parser.add_argument("--out", default="reduce", help="results file stem")
    args = parser.parse_args(argv)
    vae_params = {} if args.free_bits is None else {"free_bits": args.free_bits}
    if args.max_steps is not None:
        vae_params["max_steps"] = args.max_steps
    if args.beta is not None:
        vae_params["beta"] = args.beta
    if args.init is not None:
        vae_params["init"] = args.init
    if args.variance_lr_scale is not None:
        VAETransformer._variance_lr_scale = args.variance_lr_scale
    if args.scaling is not None:
        vae_params["scaling"] = args.scaling

    rows = []
    for name in args.datasets:
        loader, task = DATASETS[name]
        X, y = loader(return_X_y=True)
        for seed in args.seeds:
            split = train_test_split(X, y, test_size=0.25, random_state=seed,
                                     stratify=y if task == "classification" else None)
            X_train, X_test, y_train, y_test = split
            scaler = None if name in MIXED else StandardScaler().fit(X_train)
            for k in args.components:
                if k >= X.shape[1]:
                    continue
                refs = [(ref, REFERENCES[ref][0](k, seed)) for ref in args.references
                        if REFERENCES[ref][1] == (name in MIXED)]
                for model_name, model in [
                    *refs,
                    ("PCA", pca_for(X_train, k, seed)),
                    ("VAE", VAETransformer(n_components=k, random_state=seed, **vae_params,
                                           # as the PCA pipeline's OneHotEncoder:
                                           handle_unknown="ignore" if name in MIXED
                                           else "error")),
                ]:
                    res = evaluate(model, X_train, X_test, y_train, y_test, task, scaler,
                                   reference=model_name in REFERENCES)
                    res.update(dataset=name, seed=seed, n_components=k, model=model_name,
                               task=task)
                    if model_name == "VAE":
                        res["epochs"] = model.n_iter_
                        res["free_bits"] = model.free_bits
                        res["init"] = model.init
                        res["n_active"] = int(model.n_active_components_)
                        res["kl_per_component"] = model.kl_per_component_.tolist()
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
        extra = {f"{ref}_downstream": mean(by_model[ref], "downstream")
                 for ref in args.references if ref in by_model}
        summary.append({
            **extra,
            "vae_test_loglik_median": mean(v, "test_loglik_median"),
            "vae_test_loglik_worst": float(np.min([r["test_loglik_worst"] for r in v])),
            "dataset": dataset, "n_components": k, "task": p[0]["task"],
            **{f"{m}_{f}": mean(rs, f) for m, rs in (("pca", p), ("vae", v))
               for f in ("recon_mse", "test_loglik", "downstream", "fit_s")},
            "pca_downstream_std": float(np.std([r["downstream"] for r in p])),
            "vae_downstream_std": float(np.std([r["downstream"] for r in v])),
            "vae_n_active": mean(v, "n_active"),
            "vae_min_kl": float(np.mean([min(r["kl_per_component"]) for r in v])),
        })
    RESULTS.mkdir(parents=True, exist_ok=True)
    free_bits = sorted({r["free_bits"] for r in rows if r["model"] == "VAE"})
    init = sorted({r["init"] for r in rows if r["model"] == "VAE"})
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"seeds": args.seeds, "free_bits": free_bits, "init": init,
         "scaling": args.scaling, "rows": rows, "summary": summary},
        indent=2))
    lines = [
        f"Held-out (25%) results, mean over seeds {args.seeds}; VAE `free_bits={free_bits}`, "
        f"`init={init}`. "
        "Recon MSE in standardized units; log-lik = mean `score` (nats/row, data units); "
        "downstream = LogisticRegression accuracy (Ridge R^2 for diabetes) on latent "
        "features (± standard deviation over seeds); active = mean `n_active_components_` "
        "of the VAE; min KL = its smallest `kl_per_component_` (nats; ~0 is a collapsed "
        "dimension).",
        "",
        "| dataset | k | recon MSE PCA | recon MSE VAE | log-lik PCA | log-lik VAE "
        "| downstream PCA | downstream VAE | active | min KL | fit s PCA | fit s VAE |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s['dataset']} | {s['n_components']} | {s['pca_recon_mse']:.3f} | "
            f"{s['vae_recon_mse']:.3f} | {s['pca_test_loglik']:.1f} | "
            f"{s['vae_test_loglik']:.1f} | {s['pca_downstream']:.3f} ± "
            f"{s['pca_downstream_std']:.3f} | {s['vae_downstream']:.3f} ± "
            f"{s['vae_downstream_std']:.3f} | {s['vae_n_active']:.1f} | "
            f"{s['vae_min_kl']:.2f} | {s['pca_fit_s']:.2f} | {s['vae_fit_s']:.1f} |"
        )
    lines += ["", "VAE held-out log-likelihood per row: median (mean over seeds) and worst "
              "row (over seeds)" + (", and the reference models' downstream score"
                                    if args.references else "") + ".", "",
              "| dataset | k | median | worst |"
              + "".join(f" downstream {r} |" for r in args.references),
              "|---|---|---|---|" + "---|" * len(args.references)]
    for s in summary:
        refs = "".join(f" {s[f'{r}_downstream']:.3f} |" if f"{r}_downstream" in s else " - |"
                       for r in args.references)
        lines.append(f"| {s['dataset']} | {s['n_components']} | "
                     f"{s['vae_test_loglik_median']:.1f} | {s['vae_test_loglik_worst']:.1f} |"
                     f"{refs}")
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

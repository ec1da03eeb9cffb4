"""Tuning group for ``VAETransformer``'s defaults (here: ``free_bits``).

Defaults of the transformer are chosen on these tables only, never on the
report sets of ``bench_reduce.py`` (digits, breast cancer, wine, diabetes):
banknote, concrete and red wine from ``../shared/data/impute/`` (their last
column is the target: banknote's class, concrete's strength, the wine's
quality as a number), iris, and a generated 1500 x 40 four-class table
(``make_classification``, 20 informative columns). One seed, a 25% held-out
split; downstream = LogisticRegression accuracy (classification) or Ridge
R^2 (regression) on the codes, as in ``bench_reduce.py``.

``--variants`` compares named parameter sets instead (a JSON object of
``{name: {parameter: value}}``), e.g. training budgets; fit seconds are
reported beside each score.

Usage::

    python benchmarks/bench_reduce_tuning.py --free-bits 0 0.5 1.0
    python benchmarks/bench_reduce_tuning.py --out reduce_tuning_budget --variants \
        '{"default": {}, "1000 steps": {"max_steps": 1000, "batch_size": 128}}'
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from bench_reduce import evaluate
from sklearn.datasets import load_iris, make_classification
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer

RESULTS = Path(__file__).resolve().parent / "results"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "impute"


def tables():
    b = pd.read_csv(DATA / "banknote.csv")
    yield "banknote", b.drop(columns="Y").values, b["Y"].values, "classification", [2, 3]
    c = pd.read_csv(DATA / "concrete.csv")
    yield "concrete", c.iloc[:, :-1].values, c.iloc[:, -1].values, "regression", [2, 5]
    w = pd.read_csv(DATA / "winequality-red.csv")
    yield ("winered", w.drop(columns="quality").values, w["quality"].values.astype(float),
           "regression", [2, 5, 10])
    X, y = load_iris(return_X_y=True)
    yield "iris", X, y, "classification", [2, 3]
    X, y = make_classification(1500, 40, n_informative=20, n_redundant=10, n_classes=4,
                               random_state=0)
    yield "synth40", X, y, "classification", [2, 5, 10, 20]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--free-bits", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", type=json.loads, default=None,
                        help='JSON {name: {VAETransformer parameter: value}}; '
                             'replaces --free-bits')
    parser.add_argument("--variance-lr-scale", type=float, default=None,
                        help="learning-rate multiplier of the observation variances for "
                             "every variant (the class attribute _variance_lr_scale)")
    parser.add_argument("--out", default="reduce_tuning")
    args = parser.parse_args(argv)
    if args.variance_lr_scale is not None:
        VAETransformer._variance_lr_scale = args.variance_lr_scale
    variants = args.variants or {f"VAE free_bits={fb}": {"free_bits": fb}
                                 for fb in args.free_bits}
    rows = []
    for name, X, y, task, ks in tables():
        split = train_test_split(X, y, test_size=0.25, random_state=args.seed,
                                 stratify=y if task == "classification" else None)
        X_train, X_test, y_train, y_test = split
        scaler = StandardScaler().fit(X_train)
        for k in ks:
            models = [("PCA", PCA(n_components=k))] + [
                (label, VAETransformer(n_components=k, random_state=args.seed, **params))
                for label, params in variants.items()]
            for label, model in models:
                res = evaluate(model, X_train, X_test, y_train, y_test, task, scaler)
                res.update(dataset=name, n_components=k, model=label)
                if label != "PCA":
                    res["n_active"] = int(model.n_active_components_)
                rows.append(res)
                print(json.dumps(res), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(rows, indent=2))
    labels = list(dict.fromkeys(r["model"] for r in rows))
    lines = ["| dataset | k | " + " | ".join(f"{m}: downstream / log-lik / active / fit s"
                                            for m in labels) + " |",
             "|---|---|" + "---|" * len(labels)]
    for key in dict.fromkeys((r["dataset"], r["n_components"]) for r in rows):
        cells = []
        for m in labels:
            r = next(r for r in rows if (r["dataset"], r["n_components"], r["model"])
                     == (*key, m))
            cells.append(f"{r['downstream']:.3f} / {r['test_loglik']:.1f}"
                         + (f" / {r['n_active']}" if "n_active" in r else "")
                         + f" / {r['fit_s']:.1f}")
        lines.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    lines += ["", "| mean over tables | " + " | ".join(labels) + " |",
              "|---|" + "---|" * len(labels)]
    for metric in ("downstream", "test_loglik", "fit_s"):
        means = [np.mean([r[metric] for r in rows if r["model"] == m]) for m in labels]
        lines.append(f"| {metric} | " + " | ".join(f"{v:.3f}" for v in means) + " |")
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

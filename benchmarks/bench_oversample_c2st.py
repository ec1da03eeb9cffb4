"""Can a classifier tell an oversampler's new minority rows from the real ones?

A classifier two-sample test: for each task of ``bench_imbalanced.py`` (rows
standardized), fit each sampler on all rows, take its new minority rows and as
many real minority rows (random, equal numbers), and score a
``HistGradientBoostingClassifier`` separating the two by 5-fold ROC-AUC. About 0.5
(or below: SMOTE's rows lie between real ones) means the new rows look like the
real ones to a tree; near 1 means a tree can split them off, and then they no
longer move its decision boundary for the real rows. Also reported: the share of
new rows whose nearest real row (all classes) is a majority row. Diagnostic only;
nothing is chosen by it.

    OMP_NUM_THREADS=1 python benchmarks/bench_oversample_c2st.py --group tuning
"""

import argparse
import warnings

import numpy as np
import torch
from bench_anomaly import save_table
from bench_imbalanced import GROUPS, load_tasks, make_sampler
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler


def two_sample_auc(real, new, seed):
    """5-fold ROC-AUC of a tree ensemble separating ``new`` rows from ``real`` ones."""
    rng = np.random.RandomState(seed)
    k = min(len(real), len(new))
    rows = np.vstack([real[rng.choice(len(real), k, replace=False)],
                      new[rng.choice(len(new), k, replace=False)]])
    labels = np.r_[np.zeros(k), np.ones(k)]
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(HistGradientBoostingClassifier(random_state=seed), rows,
                                 labels, cv=cv, scoring="roc_auc").mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", default="tuning", choices=GROUPS)
    parser.add_argument("--methods", nargs="+", default=["SMOTE", "VAEOversampler"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--out", default="oversample_c2st")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tasks, _, _ = load_tasks(None, args.group, args.max_rows, 20)
    rows = []
    for name, X, y in tasks:
        X = StandardScaler().fit_transform(X)
        real = X[y == 1]
        for method in args.methods:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                X_res, _ = make_sampler(method, args.seed, {}).fit_resample(X, y)
            new = X_res[len(X):]
            nearest = NearestNeighbors(n_neighbors=1).fit(X).kneighbors(
                new, return_distance=False)[:, 0]
            rows.append({"dataset": name, "method": method,
                         "two_sample_auc": two_sample_auc(real, new, args.seed),
                         "nearest_is_majority": float(np.mean(y[nearest] == 0))})
        print(name, "  ".join(f"{r['method']}={r['two_sample_auc']:.3f}"
                              for r in rows if r["dataset"] == name), flush=True)
    lines = [f"# New vs real minority rows, two-sample ROC-AUC (`bench_oversample_c2st.py`,"
             f" {args.group} group, seed {args.seed})", "",
             "HistGradientBoosting separating a sampler's new minority rows from as many "
             "real ones, 5-fold ROC-AUC (0.5: indistinguishable); in brackets the share of "
             "new rows whose nearest real row is a majority row.", "",
             "| dataset | " + " | ".join(args.methods) + " |",
             "|---|" + "---:|" * len(args.methods)]
    for name, _, _ in tasks:
        cells = [r for m in args.methods for r in rows
                 if r["dataset"] == name and r["method"] == m]
        lines.append(f"| {name} | " + " | ".join(
            f"{r['two_sample_auc']:.3f} ({r['nearest_is_majority']:.3f})" for r in cells)
                     + " |")
    lines.append("| **mean** | " + " | ".join(
        f"{np.mean([r['two_sample_auc'] for r in rows if r['method'] == m]):.3f}"
        for m in args.methods) + " |")
    save_table(args.out, "\n".join(lines) + "\n",
               {"group": args.group, "seed": args.seed, "rows": rows})


if __name__ == "__main__":
    main()

"""Does VAEOutlierDetector() finish on the largest ADBench sets? Time, ROC-AUC, IForest beside.

Same unsupervised protocol as ``bench_anomaly.py`` (standardize, fit on all rows,
score all rows), defaults, one seed, both detectors in this process. Writes
``benchmarks/results/anomaly_large.{json,md}`` (``--out`` names another stem).

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_large.py --datasets donors
"""

import argparse
import json
import time

import numpy as np
import torch
from bench_anomaly import RESULTS, data_dir
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="donors,http,cover,skin,celeba")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="anomaly_large", help="results file stem")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for name in args.datasets.split(","):
        path = next(data_dir().glob(f"*_{name}.npz"))
        with np.load(path) as d:
            X, y = StandardScaler().fit_transform(d["X"].astype(np.float64)), d["y"].astype(int)
        row = {"dataset": name, "n": len(y), "d": X.shape[1]}
        t = time.perf_counter()
        det = VAEOutlierDetector(random_state=args.seed).fit(X)
        row["vae_fit_s"] = time.perf_counter() - t
        t = time.perf_counter()
        s = det.score_samples(X)
        row["vae_score_s"] = time.perf_counter() - t
        row["vae_roc_auc"] = float(roc_auc_score(y, -s))
        row["vae_n_iter"] = det.n_iter_
        t = time.perf_counter()
        s = IsolationForest(random_state=args.seed).fit(X).score_samples(X)
        row["iforest_s"] = time.perf_counter() - t
        row["iforest_roc_auc"] = float(roc_auc_score(y, -s))
        print(row, flush=True)
        rows.append(row)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(rows, indent=1))
    md = ["# Largest sets: VAEOutlierDetector() vs IsolationForest() (one seed, defaults)", "",
          "| dataset | n | d | VAE fit s | VAE score s | VAE ROC-AUC | IForest s | "
          "IForest ROC-AUC |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['dataset']} | {r['n']} | {r['d']} | {r['vae_fit_s']:.1f} | "
                  f"{r['vae_score_s']:.1f} | {r['vae_roc_auc']:.3f} | {r['iforest_s']:.1f} | "
                  f"{r['iforest_roc_auc']:.3f} |")
    (RESULTS / f"{args.out}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Does a nearest-neighbour score, rank-averaged with the VAE's, help on unseen sets?

KNN and LOF win the sets where the VAE and IsolationForest both fail (ALOI, landsat:
anomalies that are local, not far from the bulk). This script checks, on one group of
``bench_anomaly.py``'s sets (unsupervised protocol: standardize, fit on all rows,
score all rows), whether adding a k-nearest-neighbour distance to the VAE's score
pays: the distance to the 5th neighbour (PyOD KNN's default, "largest") in the input
space and in the VAE's latent space (posterior means), each alone and rank-averaged
with ``-VAEOutlierDetector().score_samples``. Seconds: the VAE's fit + score, and
each neighbour search on its own.

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_knn.py --group tuning
"""

import argparse
import platform
import time

import numpy as np
import torch
from bench_anomaly import load_tasks, save_table
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

SCORES = ("VAE", "KNN (input)", "KNN (latent)", "VAE + KNN (input)", "VAE + KNN (latent)")


def kth_distance(Z, k=5):
    """Distance of each row to its k-th nearest other row."""
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(Z).kneighbors(Z)
    return dist[:, -1]


def rank(s):
    return rankdata(s) / len(s)


def run(X, y, seed):
    t = time.perf_counter()
    det = VAEOutlierDetector(random_state=seed).fit(X)
    s_vae = -det.score_samples(X)
    secs = {"VAE": time.perf_counter() - t}
    t = time.perf_counter()
    s_x = kth_distance(X)
    secs["KNN (input)"] = time.perf_counter() - t
    t = time.perf_counter()
    s_z = kth_distance(det._encode(det._validate_for_inference(X)))
    secs["KNN (latent)"] = time.perf_counter() - t
    scores = {"VAE": s_vae, "KNN (input)": s_x, "KNN (latent)": s_z,
              "VAE + KNN (input)": rank(s_vae) + rank(s_x),
              "VAE + KNN (latent)": rank(s_vae) + rank(s_z)}
    return {k: float(roc_auc_score(y, v)) for k, v in scores.items()}, secs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", default="tuning", choices=("tuning", "report"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--max-rows", type=int, default=60_000,
                        help="skip larger sets (the exact neighbour search is quadratic)")
    parser.add_argument("--out", default="anomaly_knn")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    rows = []
    for name, X, y in load_tasks(group=args.group):
        if len(X) > args.max_rows:
            print(f"skipping {name}: {len(X)} rows > --max-rows {args.max_rows}")
            continue
        X = StandardScaler().fit_transform(X)
        per_seed = [run(X, y, seed) for seed in args.seeds]
        row = {"dataset": name, "n": len(X), "d": X.shape[1],
               "roc_auc": {k: float(np.mean([a[k] for a, _ in per_seed])) for k in SCORES},
               "seconds": {k: float(np.mean([s[k] for _, s in per_seed]))
                           for k in per_seed[0][1]}}
        rows.append(row)
        print(name, {k: round(v, 3) for k, v in row["roc_auc"].items()}, flush=True)

    lines = [f"# VAE score rank-averaged with a 5th-neighbour distance ({args.group} group)",
             "",
             f"ROC-AUC, mean over seeds {args.seeds}; unsupervised protocol of "
             "`bench_anomaly.py`. Seconds: VAE fit + score; each neighbour search alone.",
             "",
             "| dataset | n | d | " + " | ".join(SCORES) + " | s VAE | s KNN input | "
             "s KNN latent |",
             "|---|---:|---:|" + "---:|" * (len(SCORES) + 3)]
    for r in rows:
        best = max(r["roc_auc"].values())
        cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in r["roc_auc"].values()]
        secs = r["seconds"]
        lines.append(f"| {r['dataset']} | {r['n']} | {r['d']} | " + " | ".join(cells)
                     + f" | {secs['VAE']:.2f} | {secs['KNN (input)']:.2f} | "
                     f"{secs['KNN (latent)']:.2f} |")
    means = {k: float(np.mean([r["roc_auc"][k] for r in rows])) for k in SCORES}
    lines.append(f"| **mean** ({len(rows)} sets) | | | "
                 + " | ".join(f"{v:.3f}" for v in means.values()) + " | | | |")
    save_table(args.out, "\n".join(lines) + "\n",
               {"group": args.group, "seeds": args.seeds, "rows": rows, "means": means,
                "machine": platform.platform(), "torch": torch.__version__})


if __name__ == "__main__":
    main()

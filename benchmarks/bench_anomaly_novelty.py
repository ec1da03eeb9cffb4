"""Detector settings under the novelty protocol (clean training rows).

``bench_anomaly.py``'s novelty table fits every detector with its defaults on a
random half of the normal rows and scores the other half plus every anomaly
(ADBench's semi-supervised setting). This script runs the same protocol for
several ``VAEOutlierDetector`` settings side by side (IsolationForest beside
them), on one group of sets, to choose what the docs recommend for novelty use
on the tuning group and check it on the report group. Sets over
``--max-rows`` rows are skipped, as in the novelty table.

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_novelty.py --group tuning \\
        --settings '{"default": {}, "no trimming": {"trim_fraction": 0}}'
"""

import argparse
import json
import platform
import time

import numpy as np
import torch
from bench_anomaly import load_tasks, save_table
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default='{"default": {}}',
                        help="JSON: name -> VAEOutlierDetector parameters")
    parser.add_argument("--group", default="tuning", choices=("tuning", "report"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-rows", type=int, default=100_000)
    parser.add_argument("--out", default="anomaly_novelty")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = json.loads(args.settings)
    # Warm torch's one-time lazy imports so the first fit is not charged for them.
    VAEOutlierDetector(max_steps=2, random_state=0).fit(
        np.random.RandomState(0).normal(size=(64, 3)))
    tasks = [(n, X, y) for n, X, y in load_tasks(group=args.group)
             if len(y) <= args.max_rows]
    rows = []
    for name, X, y in tasks:
        X = StandardScaler().fit_transform(X)
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            normal = np.flatnonzero(y == 0)
            train = rng.permutation(normal)[: len(normal) // 2]
            test = np.setdiff1d(np.arange(len(y)), train)
            base = {"dataset": name, "n": len(y), "d": X.shape[1], "seed": seed}
            t = time.perf_counter()
            s = IsolationForest(random_state=seed).fit(X[train]).score_samples(X[test])
            rows.append({**base, "method": "IForest", "seconds": time.perf_counter() - t,
                         "roc_auc": roc_auc_score(y[test], -s)})
            for label, params in settings.items():
                t = time.perf_counter()
                det = VAEOutlierDetector(random_state=seed, **params).fit(X[train])
                s = det.score_samples(X[test])
                rows.append({**base, "method": label, "seconds": time.perf_counter() - t,
                             "roc_auc": roc_auc_score(y[test], -s)})
            last = [r for r in rows if r["dataset"] == name and r["seed"] == seed]
            print(f"{name:17s} seed {seed}: " + "  ".join(
                f"{r['method']}={r['roc_auc']:.3f}({r['seconds']:.2f}s)" for r in last),
                flush=True)
    methods = ["IForest", *settings]

    def cell(rs):
        return (f"{np.mean([r['roc_auc'] for r in rs]):.3f} "
                f"({np.mean([r['seconds'] for r in rs]):.2f}s)")

    lines = [f"# Novelty protocol, {args.group} group (`bench_anomaly_novelty.py`)", "",
             f"Seeds {args.seeds}; train on half of the normal rows, score the rest and "
             f"every anomaly; torch threads 1; {platform.machine()}, torch "
             f"{torch.__version__}. ROC-AUC (seconds, fit + score).", "",
             "| dataset | n | d | " + " | ".join(methods) + " |",
             "|---|---:|---:|" + "---:|" * len(methods)]
    for name, X, y in tasks:
        rs = [r for r in rows if r["dataset"] == name]
        lines.append(f"| {name} | {len(y)} | {X.shape[1]} | " + " | ".join(
            cell([r for r in rs if r["method"] == m]) for m in methods) + " |")
    lines.append("| **mean** | | | " + " | ".join(
        cell([r for r in rows if r["method"] == m]) for m in methods) + " |")
    text = "\n".join(lines) + "\n"
    save_table(args.out, text, {"settings": settings, "group": args.group,
                                "seeds": args.seeds, "rows": rows})


if __name__ == "__main__":
    main()

"""Wide tables for choosing the detector's budget on many columns (tuning group only).

The tuning group of ``bench_anomaly.py`` has at most 64 columns, so it says
nothing about how a rule for wide tables (hundreds to thousands of columns,
such as indicator features) trades ROC-AUC for time. This script derives wide
tables from the tuning sets themselves, never from report sets: each numeric
column is kept and joined by one 0/1 indicator per quantile bin of it (up to
``--bins`` bins; constant indicators dropped), which turns a set of ``d``
columns into about ``(bins + 1) * d`` mostly binary, sparse columns, the shape
of the report group's InternetAds (3 numeric and 1,552 binary columns). Labels
are the original set's. Protocol as ``bench_anomaly.py`` (standardize, fit on
all rows, score all rows); IsolationForest beside each setting.

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_wide.py \\
        --settings '{"default": {}, "150 steps": {"max_steps": 150}}'
"""

import argparse
import json
import platform
import time

import numpy as np
import torch
from bench_anomaly import TUNING, load_tasks, save_table
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

#: Tuning sets widened (>= 196 rows); others are too small or too narrow to matter.
WIDENED = ("cardio", "satimage-2", "vowels", "Wilt", "thyroid", "digits_0_vs_rest")


def widen(X, bins):
    """``X`` beside one 0/1 indicator per quantile bin of each column."""
    parts = [X]
    for j in range(X.shape[1]):
        edges = np.unique(np.quantile(X[:, j], np.linspace(0, 1, bins + 1)[1:-1]))
        codes = np.searchsorted(edges, X[:, j], side="right")
        onehot = (codes[:, None] == np.arange(len(edges) + 1)[None, :]).astype(float)
        keep = onehot.std(axis=0) > 0
        parts.append(onehot[:, keep])
    return np.hstack(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default='{"default": {}}',
                        help="JSON: name -> VAEOutlierDetector parameters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bins", type=int, default=16)
    parser.add_argument("--out", default="anomaly_wide")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = json.loads(args.settings)
    tasks = [(n, X, y) for n, X, y in load_tasks(group="tuning") if n in WIDENED]
    assert all(n in TUNING for n, _, _ in tasks)
    rows = []
    for name, X, y in tasks:
        Xw = StandardScaler().fit_transform(widen(X, args.bins))
        for seed in args.seeds:
            t = time.perf_counter()
            s = IsolationForest(random_state=seed).fit(Xw).score_samples(Xw)
            rows.append({"dataset": name, "n": len(y), "d": Xw.shape[1], "seed": seed,
                         "method": "IForest", "seconds": time.perf_counter() - t,
                         "roc_auc": roc_auc_score(y, -s)})
            for label, params in settings.items():
                t = time.perf_counter()
                det = VAEOutlierDetector(random_state=seed, **params).fit(Xw)
                s = det.score_samples(Xw)
                rows.append({"dataset": name, "n": len(y), "d": Xw.shape[1], "seed": seed,
                             "method": label, "seconds": time.perf_counter() - t,
                             "roc_auc": roc_auc_score(y, -s), "n_iter": det.n_iter_})
            last = [r for r in rows if r["dataset"] == name and r["seed"] == seed]
            print(f"{name:17s} {Xw.shape} seed {seed}: " + "  ".join(
                f"{r['method']}={r['roc_auc']:.3f}({r['seconds']:.2f}s)" for r in last),
                flush=True)
    methods = ["IForest", *settings]
    lines = [f"# Widened tuning sets (`bench_anomaly_wide.py`, {args.bins} bins)", "",
             f"Seeds {args.seeds}; torch threads 1; {platform.machine()}, torch "
             f"{torch.__version__}. ROC-AUC (seconds, fit + score).", "",
             "| dataset | n | d | " + " | ".join(methods) + " |",
             "|---|---:|---:|" + "---:|" * len(methods)]
    for name, _, _ in tasks:
        rs = [r for r in rows if r["dataset"] == name]
        cells = []
        for m in methods:
            mr = [r for r in rs if r["method"] == m]
            cells.append(f"{np.mean([r['roc_auc'] for r in mr]):.3f} "
                         f"({np.mean([r['seconds'] for r in mr]):.2f}s)")
        lines.append(f"| {name} | {rs[0]['n']} | {rs[0]['d']} | " + " | ".join(cells) + " |")
    cells = []
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        cells.append(f"{np.mean([r['roc_auc'] for r in mr]):.3f} "
                     f"({np.mean([r['seconds'] for r in mr]):.2f}s)")
    lines.append("| **mean** | | | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    save_table(args.out, text, {"settings": settings, "seeds": args.seeds,
                                "bins": args.bins, "rows": rows})


if __name__ == "__main__":
    main()

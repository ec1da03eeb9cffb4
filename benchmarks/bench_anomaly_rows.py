"""Large tables for choosing the detector's budget on many rows (tuning group only).

The tuning group of ``bench_anomaly.py`` has at most 7,200 rows, where
``max_steps="auto"`` is its 300-step floor; it says nothing about how many
steps a table of 20,000 to 600,000 rows needs. This script derives large
tables from the tuning sets themselves, never from report sets: a smoothed
bootstrap of each set (rows standardized, resampled with replacement to
``n`` rows, Gaussian noise of ``--noise`` standard deviations added, each
copy keeping its row's label), so the table has the set's shape and anomaly
rate at a size the tuning group lacks. Protocol as ``bench_anomaly.py``
(standardize, fit on all rows, score all rows); IsolationForest beside each
setting. A setting is a dict of ``VAEOutlierDetector`` parameters; keys that
start with ``_`` set class attributes of the "auto" rule instead (on a
subclass), e.g. ``{"_AUTO_EPOCHS": 1, "_AUTO_STEPS": [300, 1000]}``, the rule
before this round.

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_rows.py --rows 20000 100000 \\
        --settings '{"one epoch, cap 1000": {"_AUTO_EPOCHS": 1, "_AUTO_STEPS": [300, 1000]},
                     "default": {}}'

``--anomaly-rate r`` draws the normal and the anomalous rows apart, so the
table has that share of anomalies instead of the set's own (rare anomalies in
a large table, as in smtp or http); every table then also reports average
precision, which a rare anomaly class moves much more than ROC-AUC.
"""

import argparse
import json
import platform
import time

import numpy as np
import torch
from bench_anomaly import TUNING, load_tasks, save_table
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

#: Tuning sets with at least 1,000 rows (smaller ones copied 100x are mostly noise).
GROWN = ("annthyroid", "cardio", "satimage-2", "thyroid", "Wilt")


def grow(X, y, n, noise, seed, anomaly_rate=None):
    """A smoothed bootstrap of standardized ``X``: ``n`` rows, labels kept.

    With ``anomaly_rate``, ``round(n * anomaly_rate)`` rows (at least one) are
    drawn from the anomalies and the rest from the normal rows.
    """
    rng = np.random.RandomState(seed)
    Z = StandardScaler().fit_transform(X)
    if anomaly_rate is None:
        idx = rng.randint(len(Z), size=n)
    else:
        n_anomalies = max(1, int(round(n * anomaly_rate)))
        idx = np.concatenate([rng.choice(np.flatnonzero(y == 0), n - n_anomalies),
                              rng.choice(np.flatnonzero(y == 1), n_anomalies)])
    return Z[idx] + noise * rng.normal(size=(n, Z.shape[1])), y[idx]


def detector(params, seed):
    rule = {k: (tuple(v) if isinstance(v, list) else v)
            for k, v in params.items() if k.startswith("_")}
    cls = type("Rule", (VAEOutlierDetector,), rule) if rule else VAEOutlierDetector
    return cls(random_state=seed, **{k: v for k, v in params.items()
                                     if not k.startswith("_")})


def cell(rows, spread=True):
    auc = [r["roc_auc"] for r in rows]
    return (f"{np.mean(auc):.3f}" + (f" ± {np.std(auc):.3f}" if spread else "")
            + f", AP {np.mean([r['ap'] for r in rows]):.3f}"
            f" ({np.mean([r['seconds'] for r in rows]):.2f}s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default='{"default": {}}',
                        help="JSON: name -> VAEOutlierDetector parameters")
    parser.add_argument("--rows", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(GROWN))
    parser.add_argument("--noise", type=float, default=0.05)
    parser.add_argument("--anomaly-rate", type=float, default=None,
                        help="share of anomalies in the grown tables (default: the set's own)")
    parser.add_argument("--out", default="anomaly_rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = json.loads(args.settings)
    tasks = [(n, X, y) for n, X, y in load_tasks(group="tuning") if n in args.datasets]
    assert all(n in TUNING for n, _, _ in tasks)
    # Warm torch's one-time lazy imports so the first fit is not charged for them.
    VAEOutlierDetector(max_steps=2, random_state=0).fit(np.random.RandomState(0)
                                                       .normal(size=(64, 3)))
    rows = []
    for name, X0, y0 in tasks:
        for n in args.rows:
            for seed in args.seeds:
                X, y = grow(X0, y0, n, args.noise, seed, args.anomaly_rate)
                X = StandardScaler().fit_transform(X)
                base = {"dataset": name, "n": n, "d": X.shape[1], "seed": seed}
                t = time.perf_counter()
                s = IsolationForest(random_state=seed).fit(X).score_samples(X)
                rows.append({**base, "method": "IForest",
                             "seconds": time.perf_counter() - t,
                             "roc_auc": roc_auc_score(y, -s),
                             "ap": average_precision_score(y, -s)})
                for label, params in settings.items():
                    t = time.perf_counter()
                    det = detector(params, seed).fit(X)
                    s = det.score_samples(X)
                    steps = int(sum(det.net_.history[:, "train_batch_count"]))
                    rows.append({**base, "method": label,
                                 "seconds": time.perf_counter() - t,
                                 "roc_auc": roc_auc_score(y, -s),
                                 "ap": average_precision_score(y, -s), "steps": steps})
                last = [r for r in rows if r["dataset"] == name and r["n"] == n
                        and r["seed"] == seed]
                print(f"{name:11s} n={n} seed {seed}: " + "  ".join(
                    f"{r['method']}={r['roc_auc']:.3f}({r['seconds']:.1f}s"
                    + (f", {r['steps']} steps" if "steps" in r else "") + ")"
                    for r in last), flush=True)
    methods = ["IForest", *settings]
    rate = ("the set's own anomaly rate" if args.anomaly_rate is None
            else f"anomaly rate {args.anomaly_rate}")
    lines = [f"# Grown tuning sets (`bench_anomaly_rows.py`, noise {args.noise}, {rate})",
             "", f"Seeds {args.seeds}; torch threads 1; {platform.machine()}, torch "
             f"{torch.__version__}. ROC-AUC mean ± std over seeds, mean average "
             "precision (seconds, fit + score); steps: the VAE's optimizer steps.", "",
             "| dataset | n | d | " + " | ".join(methods) + " | steps |",
             "|---|---:|---:|" + "---:|" * (len(methods) + 1)]
    for n in args.rows:
        for name, _, _ in tasks:
            rs = [r for r in rows if r["dataset"] == name and r["n"] == n]
            steps = " / ".join(str(int(np.mean([r["steps"] for r in rs
                                                if r["method"] == m])))
                               for m in settings)
            lines.append(f"| {name} | {n} | {rs[0]['d']} | "
                         + " | ".join(cell([r for r in rs if r["method"] == m])
                                      for m in methods) + f" | {steps} |")
        rs = [r for r in rows if r["n"] == n]
        lines.append(f"| **mean** | {n} | | " + " | ".join(
            cell([r for r in rs if r["method"] == m], spread=False) for m in methods)
                     + " | |")
    text = "\n".join(lines) + "\n"
    save_table(args.out, text, {"settings": settings, "seeds": args.seeds,
                                "rows_per_set": args.rows, "noise": args.noise,
                                "anomaly_rate": args.anomaly_rate,
                                "rows": rows})


if __name__ == "__main__":
    main()

"""Unsupervised tabular anomaly detection: VAEOutlierDetector vs the usual tools.

Protocol (ADBench / DTE "unsupervised" setting): standardize the features,
fit each detector on all rows without labels, score the same rows, report
ROC-AUC and average precision of the anomaly labels and the fit+score wall
time; mean over seeds. Data: the ten ADBench "Classical" files in
``../shared/data/anomaly/`` (published numbers from its REFERENCE.md are shown
for context; they use other splits and scalings) plus two tasks built from
scikit-learn's bundled data.

Detectors, all with default parameters except where stated:

- ``VAE``: ``VAEOutlierDetector(random_state=seed)``; one fit is scored with
  each ``anomaly_score`` (likelihood = the default, elbo, reconstruction).
- ``VAE no-trim``: the same with ``trim_fraction=0`` (robust training off).
- ``IForest``: ``IsolationForest(random_state=seed)``.
- ``LOF``: ``LocalOutlierFactor(novelty=False)`` (``negative_outlier_factor_``).
- ``PCA``: squared reconstruction error of ``PCA(n_components=0.9)``
  (components keeping 90% of the variance).
- ``PyOD VAE``: ``pyod.models.vae.VAE(epoch_num=10, random_state=seed)`` (a fixed
  budget: its default 30 epochs at batch 32 take ~3x as long; other
  defaults: batch 32, 2-D latent, reconstruction-error score).

Usage::

    python benchmarks/bench_anomaly.py                  # full run, 3 seeds
    python benchmarks/bench_anomaly.py --quick          # 1 seed, 4 small datasets
    python benchmarks/bench_anomaly.py --datasets glass,WBC --seeds 0,1
"""

import argparse
import json
import os
import platform
import re
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
VAE_SCORES = ("likelihood", "elbo", "reconstruction")
QUICK = ("glass", "Ionosphere", "WBC", "breast_cancer")
PYOD_EPOCHS = 10


def data_dir():
    default = ROOT.parent / "shared" / "data"
    return Path(os.environ.get("SKLEARN_VAE_DATA", default)) / "anomaly"


# -- data ---------------------------------------------------------------------
def sklearn_tasks():
    """Anomaly tasks from scikit-learn's bundled data (fixed subsamples, seed 0)."""
    rng = np.random.RandomState(0)
    X, y = load_breast_cancer(return_X_y=True)
    # benign (class 1) rows are normal; 10 malignant rows are the anomalies
    normal, bad = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    idx = np.concatenate([normal, rng.choice(bad, 10, replace=False)])
    yield "breast_cancer", X[idx], (y[idx] == 0).astype(int)
    X, y = load_digits(return_X_y=True)
    # all images of digit 0 are normal; 2 images of each other digit are anomalies
    bad = np.concatenate([rng.choice(np.flatnonzero(y == d), 2, replace=False)
                          for d in range(1, 10)])
    idx = np.concatenate([np.flatnonzero(y == 0), bad])
    yield "digits_0_vs_rest", X[idx], (y[idx] != 0).astype(int)


def load_tasks(names=None):
    files = sorted(data_dir().glob("*.npz"), key=lambda p: int(p.name.split("_")[0]))
    if not files:
        warnings.warn(f"no ADBench files under {data_dir()}; set SKLEARN_VAE_DATA",
                      stacklevel=1)
    tasks = []
    for path in files:
        with np.load(path) as d:
            tasks.append((path.stem.split("_", 1)[1], d["X"].astype(np.float64),
                          d["y"].astype(int)))
    tasks += list(sklearn_tasks())
    if names:
        wanted = {n.lower() for n in names}
        tasks = [t for t in tasks if t[0].lower() in wanted]
    return tasks


def reference_table():
    """Published ROC-AUC (x100) per dataset name from REFERENCE.md."""
    path = data_dir() / "REFERENCE.md"
    if not path.exists():
        return [], {}
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    ref = {}
    for ln in lines[2:]:
        cells = [c.strip().strip("*") for c in ln.strip("|").split("|")]
        m = re.match(r"\d+_(.+)\.npz", cells[0])
        if m:
            ref[m.group(1)] = dict(zip(header, map(float, cells[1:])))
    return header, ref


# -- detectors: each returns an anomaly score per row (higher = more anomalous) --
def run_vae(X, seed, **params):
    det = VAEOutlierDetector(random_state=seed, **params).fit(X)
    out = {}
    for name in VAE_SCORES:
        det.set_params(anomaly_score=name)
        out[name] = -det.score_samples(X)
    return out, det.n_iter_


def run_iforest(X, seed):
    return -IsolationForest(random_state=seed).fit(X).score_samples(X)


def run_lof(X, seed):
    lof = LocalOutlierFactor(novelty=False).fit(X)
    return -lof.negative_outlier_factor_


def run_pca(X, seed):
    pca = PCA(n_components=0.9, random_state=seed).fit(X)
    return ((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1)


def run_pyod_vae(X, seed):
    from pyod.models.vae import VAE

    det = VAE(epoch_num=PYOD_EPOCHS, random_state=seed, verbose=0)
    det.fit(X)
    return det.decision_function(X)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def metrics(y, score):
    return {"roc_auc": float(roc_auc_score(y, score)),
            "ap": float(average_precision_score(y, score))}


# -- main ----------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--datasets", default="",
                        help="comma-separated names (e.g. glass,WBC,breast_cancer)")
    parser.add_argument("--quick", action="store_true",
                        help="1 seed, 4 small datasets, no PyOD (a smoke run)")
    parser.add_argument("--no-pyod", action="store_true", help="skip PyOD's VAE")
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip the VAE trim_fraction=0 fit")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default="anomaly", help="results file stem")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = [n for n in args.datasets.split(",") if n]
    if args.quick:
        seeds, names = seeds[:1], names or list(QUICK)
    use_pyod = not (args.no_pyod or args.quick)
    if use_pyod:
        try:
            import pyod  # noqa: F401
        except ImportError:
            warnings.warn("pyod is not installed (pip install pyod): skipping PyOD VAE",
                          stacklevel=1)
            use_pyod = False

    methods = {"IForest": run_iforest, "LOF": run_lof, "PCA": run_pca}
    if use_pyod:
        methods["PyOD VAE"] = run_pyod_vae
    vae_variants = {"VAE": {}}
    if not args.no_ablation:
        vae_variants["VAE no-trim"] = {"trim_fraction": 0.0}

    ref_cols, ref = reference_table()
    tasks = load_tasks(names)
    records = []
    t_all = time.perf_counter()
    for name, X, y in tasks:
        X = StandardScaler().fit_transform(X)
        for seed in seeds:
            for label, params in vae_variants.items():
                (scores, n_iter), sec = timed(run_vae, X, seed, **params)
                for score_name, s in scores.items():
                    method = label if score_name == "likelihood" else f"{label} ({score_name})"
                    records.append({"dataset": name, "seed": seed, "method": method,
                                    "seconds": sec, "n_iter": n_iter, **metrics(y, s)})
            for method, fn in methods.items():
                s, sec = timed(fn, X, seed)
                records.append({"dataset": name, "seed": seed, "method": method,
                                "seconds": sec, **metrics(y, s)})
        last = [r for r in records if r["dataset"] == name]
        summary = {m: np.mean([r["roc_auc"] for r in last if r["method"] == m])
                   for m in dict.fromkeys(r["method"] for r in last)}
        print(f"{name:18s} n={len(y):5d} d={X.shape[1]:3d} anomalies={y.mean():.1%}  "
              + "  ".join(f"{m}={v:.3f}" for m, v in summary.items()), flush=True)
    total = time.perf_counter() - t_all

    table = summarize(records, tasks, ref_cols, ref)
    meta = {
        "seeds": seeds, "threads": args.threads, "total_seconds": total,
        "pyod_epochs": PYOD_EPOCHS if use_pyod else None,
        "machine": f"{platform.processor() or platform.machine()}, "
                   f"{os.cpu_count()} cpus, torch {torch.__version__}",
        "protocol": "standardize, fit on all rows (labels unused), score all rows",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(
        json.dumps({"meta": meta, "summary": table, "records": records}, indent=1))
    md = to_markdown(table, meta, ref_cols)
    (RESULTS / f"{args.out}.md").write_text(md)
    print(md)


def summarize(records, tasks, ref_cols, ref):
    methods = list(dict.fromkeys(r["method"] for r in records))
    rows = []
    for name, X, y in tasks:
        row = {"dataset": name, "n": len(y), "d": X.shape[1], "anomalies": float(y.mean())}
        for m in methods:
            rs = [r for r in records if r["dataset"] == name and r["method"] == m]
            row[m] = {k: float(np.mean([r[k] for r in rs]))
                      for k in ("roc_auc", "ap", "seconds")}
            row[m]["roc_auc_std"] = float(np.std([r["roc_auc"] for r in rs]))
        row["reference"] = ref.get(name, {})
        rows.append(row)
    mean = {m: {k: float(np.mean([row[m][k] for row in rows]))
                for k in ("roc_auc", "ap", "seconds")} for m in methods}
    adb = [row for row in rows if row["reference"]]
    mean_adbench = {m: float(np.mean([row[m]["roc_auc"] for row in adb])) for m in methods}
    return {"methods": methods, "rows": rows, "mean": mean,
            "mean_roc_auc_adbench10": mean_adbench if adb else None,
            "reference_columns": ref_cols}


def to_markdown(table, meta, ref_cols):
    methods, rows = table["methods"], table["rows"]
    ref_show = [c for c in ref_cols if c in ("ADBench IForest", "DTE IForest", "DTE VAE")]
    out = [
        "# Unsupervised anomaly detection (ROC-AUC, average precision, time)",
        "",
        f"Protocol: {meta['protocol']}; mean over seeds {meta['seeds']}. "
        "Default parameters for every detector"
        + (f" (PyOD VAE: {meta['pyod_epochs']} epochs). " if meta["pyod_epochs"] else ". ")
        + f"torch threads: {meta['threads']}; {meta['machine']}. "
        f"Whole run: {meta['total_seconds']:.0f} s. `VAE` is "
        "`VAEOutlierDetector()` (likelihood score); `(elbo)` / `(reconstruction)` "
        "score the same fitted model; `no-trim` is `trim_fraction=0`.",
        "Reference columns: published ROC-AUC from `REFERENCE.md` (other splits and "
        "scalings; for context only). Bold: best measured value in the row. "
        "The json also holds AP and time of every variant and each seed.",
        "",
    ]
    all_methods = methods
    for key, title in (("roc_auc", "ROC-AUC"), ("ap", "Average precision"),
                       ("seconds", "Fit + score time (s)")):
        refs = ref_show if key == "roc_auc" else []
        # the json has every variant; the tables leave out repeats of one fit
        drop = "(" if key == "seconds" else "no-trim ("
        methods = [m for m in all_methods if drop not in m]
        out += [f"## {title}", "",
                "| dataset | n | d | % anom | " + " | ".join(methods)
                + "".join(f" | ref: {c}" for c in refs) + " |",
                "|---|---:|---:|---:|" + "---:|" * (len(methods) + len(refs))]
        fmt = "{:.1f}" if key == "seconds" else "{:.3f}"
        for row in rows:
            best = max(row[m][key] for m in methods) if key != "seconds" else None
            cells = []
            for m in methods:
                v = fmt.format(row[m][key])
                cells.append(f"**{v}**" if best is not None and row[m][key] == best else v)
            cells += [f"{row['reference'][c] / 100:.3f}" if c in row["reference"] else ""
                      for c in refs]
            out.append(f"| {row['dataset']} | {row['n']} | {row['d']} | "
                       f"{100 * row['anomalies']:.1f} | " + " | ".join(cells) + " |")
        mean_cells = [fmt.format(table["mean"][m][key]) for m in methods]
        ref_means = []
        for c in refs:
            vals = [row["reference"][c] for row in rows if c in row["reference"]]
            ref_means.append(f"{np.mean(vals) / 100:.3f}" if vals else "")
        out.append("| **mean** | | | | " + " | ".join(mean_cells + ref_means) + " |")
        if key == "roc_auc" and table["mean_roc_auc_adbench10"]:
            adb = table["mean_roc_auc_adbench10"]
            out.append("| mean (ADBench 10 only) | | | | "
                       + " | ".join(f"{adb[m]:.3f}" for m in methods)
                       + "".join(" | " + ref_means[i] for i in range(len(refs))) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()

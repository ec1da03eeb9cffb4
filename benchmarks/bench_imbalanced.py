"""Oversampling for imbalanced binary classification: VAEOversampler vs the usual samplers.

Measured, per dataset, sampler and classifier (mean over seeds x folds):

- **average precision** of ``predict_proba[:, 1]`` on the test fold,
- **minority F1**: F1 of label 1 (the minority) of ``predict`` at the default threshold,
- **balanced accuracy** of ``predict``,
- **seconds**: the sampler's fit+resample, and each classifier's fit, on the training fold.
  Time is part of the result: every score table has a seconds table beside it.

Protocol: ``StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)`` for each seed
in ``--seeds``; on each training fold the steps of
``imblearn.pipeline.Pipeline([("scale", StandardScaler()), ("sampler", sampler),
("clf", clf)])`` (no sampler step for ``none``). **The sampler is fitted once per
fold** (``Pipeline([scale, sampler]).fit_resample``) and both classifiers are fitted on
its output, then score the scaled test fold (samplers act only at fit time, so this is
the same as fitting the full pipeline once per classifier, with the same seed). The
sampler's seconds (scaler included) and each classifier's fit seconds are recorded
separately; "sampler + fit" is their sum.

Samplers (``--methods``, default all five), all with their default parameters:
``none``, ``RandomOverSampler(random_state=seed)``, ``SMOTE(random_state=seed)``,
``ADASYN(random_state=seed)``, ``VAEOversampler(random_state=seed, **vae_params)``
(``from sklearn_vae import VAEOversampler``; ``--vae-params '{"key": value}'`` adds
keyword arguments, recorded in the json; ``"estimator": {...}`` builds
``VAETransformer(**dict)`` and ``"estimator__name"`` keys go through ``set_params``).
If ``VAEOversampler`` cannot be imported, a stand-in that is just ``RandomOverSampler``
takes its place, with a loud warning, and every such result is marked
``"stand_in": true`` (and in the markdown): those are NOT VAE results. A sampler that
raises on a fold (ADASYN: "No samples will be generated ...") gets NaN for that fold
and its error text in the json; the tables mark such cells with ‡ and average the
folds that ran. A bad ``--vae-params`` stops the run before it starts.

Classifiers: ``LogisticRegression(max_iter=1000)`` and
``HistGradientBoostingClassifier(random_state=seed)``.

Datasets, label 1 = minority, in the two groups of ``bench_anomaly.py`` (fixed before
any tuning: choose defaults on ``tuning`` only; ``report`` is the quoted result):

- ``tuning``: the ten original ADBench sets of ``bench_anomaly.TUNING`` (label =
  anomaly), ``breast_cancer_10pct`` (all benign rows + a fixed, seeded subsample of 40
  malignant rows, ~10%; label = malignant) and ``digits_0_vs_rest`` (the rows of
  ``bench_anomaly.sklearn_tasks``: all zeros + 2 of each other digit; label = not 0).
- ``report``: the eleven newer ADBench sets of ``bench_anomaly.REPORT``,
  ``wine_2_vs_rest`` (``load_wine``, label = class 2, all rows) and ``digits_9_10pct``
  (``load_digits``, label = digit 9, ~10%).

ADBench files are ``$SKLEARN_VAE_DATA/anomaly/*.npz`` (default ``../shared/data``),
keys ``X``, ``y``. Sets over ``--max-rows`` rows (5000) are subsampled once, with seed
0 whatever ``--seeds`` is: all minority rows are kept when there are at most 500 of
them, else a stratified subsample keeps the class ratio. A set with fewer than
``--min-minority`` (20) minority rows after that is skipped, and the output says so.

Results: ``benchmarks/results/<out>.json`` (every fold's numbers, settings, versions,
machine, whole-run seconds) and ``<out>.md`` (``--out``, default ``imbalanced``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_imbalanced.py                 # full run
    OMP_NUM_THREADS=1 python benchmarks/bench_imbalanced.py --quick         # smoke run
    python benchmarks/bench_imbalanced.py --group tuning --seeds 0 1
    python benchmarks/bench_imbalanced.py --datasets cardio vowels --methods none SMOTE
    python benchmarks/bench_imbalanced.py --group tuning --methods SMOTE VAEOversampler \\
        --vae-params '{"sampling": "prior"}' --out imbalanced_vae_prior
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import ADASYN, SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from scipy.stats import rankdata
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run from anywhere
import bench_anomaly  # noqa: E402  (dataset groups and data location)
from bench_cost import _code_version  # noqa: E402

try:
    from sklearn_vae import VAEOversampler

    VAE_IMPORT_ERROR = None
except ImportError as exc:  # not written yet: a RandomOverSampler stand-in, flagged
    VAEOversampler = None
    VAE_IMPORT_ERROR = f"{type(exc).__name__}: {exc}"

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SKLEARN_TUNING = ("breast_cancer_10pct", "digits_0_vs_rest")
SKLEARN_REPORT = ("wine_2_vs_rest", "digits_9_10pct")
# Same split as bench_anomaly (fixed before tuning); its breast_cancer task is
# replaced by breast_cancer_10pct, the other tasks are added.
TUNING = tuple(n for n in bench_anomaly.TUNING
               if n not in ("breast_cancer", "digits_0_vs_rest")) + SKLEARN_TUNING
REPORT = tuple(bench_anomaly.REPORT) + SKLEARN_REPORT
GROUPS = ("tuning", "report", "all")
# glass (9 anomalies) and WBC (10) would be skipped by --min-minority 20.
QUICK = ("vowels", "breast_cancer_10pct")
METHODS = ("none", "RandomOverSampler", "SMOTE", "ADASYN", "VAEOversampler")
CLASSIFIERS = ("LogisticRegression", "HistGradientBoosting")
METRICS = {"ap": "Average precision", "f1": "Minority F1 (label 1, default threshold)",
           "bacc": "Balanced accuracy"}
KEEP_ALL_MINORITY = 500  # subsampling keeps every minority row up to this many


def group_of(name):
    return "tuning" if name in TUNING else "report" if name in REPORT else "other"


# -- data ---------------------------------------------------------------------
def sklearn_tasks():
    """Binary tasks from scikit-learn's bundled data; label 1 = minority."""
    X, y = load_breast_cancer(return_X_y=True)
    # all benign (class 1) rows + 40 malignant rows (class 0): 40 / 397 = 10.1%
    benign, malignant = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_mal = round(len(benign) / 9)
    idx = np.concatenate([benign, np.random.RandomState(0).choice(malignant, n_mal,
                                                                  replace=False)])
    yield "breast_cancer_10pct", X[idx], (y[idx] == 0).astype(int)
    for name, X, y in bench_anomaly.sklearn_tasks():
        if name == "digits_0_vs_rest":  # the same rows as in bench_anomaly
            yield name, X, y
    X, y = load_wine(return_X_y=True)
    yield "wine_2_vs_rest", X, (y == 2).astype(int)
    X, y = load_digits(return_X_y=True)
    yield "digits_9_10pct", X.astype(np.float64), (y == 9).astype(int)


def adbench_files():
    d = bench_anomaly.data_dir()
    files = sorted(d.glob("*.npz"), key=lambda p: int(p.name.split("_")[0]))
    if not files:
        warnings.warn(f"no ADBench files under {d}; set SKLEARN_VAE_DATA", stacklevel=1)
    return {p.stem.split("_", 1)[1]: p for p in files}


def subsample(X, y, max_rows, seed=0):
    """At most max_rows rows; every minority row if there are <= KEEP_ALL_MINORITY."""
    if len(y) <= max_rows:
        return X, y
    rng = np.random.RandomState(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos = len(pos) if len(pos) <= KEEP_ALL_MINORITY else round(max_rows * len(pos) / len(y))
    n_pos = min(n_pos, max_rows)
    idx = np.sort(np.concatenate([rng.choice(pos, n_pos, replace=False),
                                  rng.choice(neg, max_rows - n_pos, replace=False)]))
    return X[idx], y[idx]


def load_tasks(names, group, max_rows, min_minority):
    """Return (tasks, info, skipped): tasks are (name, X, y) with y=1 the minority."""
    files = adbench_files()
    known = [n for n in TUNING + REPORT]
    if names:
        unknown = sorted(set(names) - {n.lower() for n in known})
        if unknown:
            raise SystemExit(f"unknown datasets {unknown}; known: {', '.join(known)}")
    wanted = [n for n in known if (not names or n.lower() in names)
              and group in ("all", group_of(n))]
    raw = {}
    for name in wanted:
        if name in files:
            with np.load(files[name]) as d:
                raw[name] = (d["X"].astype(np.float64), d["y"].astype(int))
    for name, X, y in sklearn_tasks():
        if name in wanted:
            raw[name] = (X.astype(np.float64), y.astype(int))
    tasks, info, skipped = [], {}, []
    for name in wanted:
        if name not in raw:
            skipped.append({"dataset": name, "group": group_of(name),
                            "reason": f"no file under {bench_anomaly.data_dir()}"})
            continue
        X0, y0 = raw[name]
        X, y = subsample(X0, y0, max_rows)
        row = {"dataset": name, "group": group_of(name), "n_source": len(y0),
               "minority_source": int(y0.sum()), "n": len(y), "d": X.shape[1],
               "minority": int(y.sum()), "minority_frac": float(y.mean()),
               "subsampled": len(y) < len(y0)}
        if y.mean() >= 0.5:
            warnings.warn(f"{name}: label 1 is not the minority ({y.mean():.1%})",
                          stacklevel=1)
        if y.sum() < min_minority:
            skipped.append({**row, "reason": f"{int(y.sum())} minority rows "
                                             f"(< {min_minority})"})
            print(f"skipping {name}: {int(y.sum())} minority rows after subsampling "
                  f"(< --min-minority {min_minority})", flush=True)
            continue
        tasks.append((name, X, y))
        info[name] = row
    return tasks, info, skipped


# -- samplers and classifiers --------------------------------------------------
def make_sampler(method, seed, vae_params):
    if method == "none":
        return None
    if method == "RandomOverSampler":
        return RandomOverSampler(random_state=seed)
    if method == "SMOTE":
        return SMOTE(random_state=seed)
    if method == "ADASYN":
        return ADASYN(random_state=seed)
    if VAEOversampler is None:  # stand-in: NOT a VAE, results flagged "stand_in"
        return RandomOverSampler(random_state=seed)
    return make_vae_oversampler(seed, vae_params)


def make_vae_oversampler(seed, vae_params):
    """VAEOversampler(random_state=seed, **vae_params), with two conveniences for JSON:
    ``"estimator": {...}`` builds ``VAETransformer(**dict)``, and nested keys
    (``"estimator__max_iter"``) go through ``set_params`` after construction. Keys
    starting with ``_`` (``"_max_steps": 500``) change the default model's training
    budget, ``VAEOversampler._DEFAULT_BUDGET``, for the whole run."""
    budget = {k[1:]: v for k, v in vae_params.items() if k.startswith("_")}
    if budget:  # "_max_steps": 500 and so on: the default model's training budget
        VAEOversampler._DEFAULT_BUDGET = {**VAEOversampler._DEFAULT_BUDGET, **budget}
    vae_params = {k: v for k, v in vae_params.items() if not k.startswith("_")}
    kwargs = {k: v for k, v in vae_params.items() if "__" not in k}
    nested = {k: v for k, v in vae_params.items() if "__" in k}
    if isinstance(kwargs.get("estimator"), dict):
        from sklearn_vae import VAETransformer

        kwargs["estimator"] = VAETransformer(**kwargs["estimator"])
    sampler = VAEOversampler(random_state=seed, **kwargs)
    return sampler.set_params(**nested) if nested else sampler


def make_classifier(name, seed):
    if name == "LogisticRegression":
        return LogisticRegression(max_iter=1000)
    return HistGradientBoostingClassifier(random_state=seed)


def _warning_texts(caught):
    return sorted({f"{w.category.__name__}: {str(w.message)[:400]}" for w in caught})


def run_fold(X_train, y_train, X_test, y_test, method, classifiers, seed, vae_params):
    """Fit the sampler once, then each classifier on its output; one record each."""
    sampler = make_sampler(method, seed, vae_params)
    steps = [("scale", StandardScaler())] + ([("sampler", sampler)] if sampler else [])
    prep = Pipeline(steps)
    base = {"n_train": len(y_train), "minority_train": int(y_train.sum())}
    t = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if sampler is None:
                X_res, y_res = prep.fit_transform(X_train), y_train
            else:
                X_res, y_res = prep.fit_resample(X_train, y_train)
    except Exception as exc:  # e.g. ADASYN: "No samples will be generated ..."
        err = f"{type(exc).__name__}: {exc}"
        nan = float("nan")
        return [{**base, "classifier": c, "sampler_seconds": time.perf_counter() - t,
                 "fit_seconds": nan, "seconds": nan, "ap": nan, "f1": nan, "bacc": nan,
                 "error": err} for c in classifiers]
    sampler_seconds = time.perf_counter() - t
    base.update(sampler_seconds=sampler_seconds, n_resampled=len(y_res),
                minority_resampled=int(np.sum(y_res == 1)))
    if caught:
        base["sampler_warnings"] = _warning_texts(caught)
    X_test_s = prep.named_steps["scale"].transform(X_test)
    records = []
    for c in classifiers:
        clf = make_classifier(c, seed)
        t = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X_res, y_res)
        fit_seconds = time.perf_counter() - t
        proba = clf.predict_proba(X_test_s)[:, list(clf.classes_).index(1)]
        pred = clf.predict(X_test_s)
        rec = {**base, "classifier": c, "fit_seconds": fit_seconds,
               "seconds": sampler_seconds + fit_seconds,
               "ap": float(average_precision_score(y_test, proba)),
               "f1": float(f1_score(y_test, pred, pos_label=1, zero_division=0)),
               "bacc": float(balanced_accuracy_score(y_test, pred))}
        if caught:
            rec["clf_warnings"] = _warning_texts(caught)
        records.append(rec)
    return records


# -- summaries -----------------------------------------------------------------
def _mean(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def summarize(records, info, methods, classifiers):
    """Per classifier: per-dataset means (over seeds x folds), ranks, group means."""
    out = {}
    for c in classifiers:
        rows = []
        for name, inf in info.items():
            rs_all = [r for r in records if r["dataset"] == name and r["classifier"] == c]
            if not rs_all:
                continue
            row = {"dataset": name, "group": inf["group"], "n": inf["n"], "d": inf["d"],
                   "minority_frac": inf["minority_frac"], "subsampled": inf["subsampled"]}
            for m in methods:
                rs = [r for r in rs_all if r["method"] == m]
                row[m] = {k: _mean([r[k] for r in rs])
                          for k in ("ap", "f1", "bacc", "seconds", "sampler_seconds",
                                    "fit_seconds")}
                row[m]["failed_folds"] = sum("error" in r for r in rs)
                row[m]["folds"] = len(rs)
            for k in METRICS:  # rank 1 = best; ties share the mean rank; NaN last
                vals = np.array([row[m][k] for m in methods])
                ranks = rankdata(-np.where(np.isnan(vals), -np.inf, vals))
                for m, rk in zip(methods, ranks):
                    row[m][f"rank_{k}"] = float(rk)
            rows.append(row)
        groups = {}
        for g in GROUPS:
            sel = [r for r in rows if g == "all" or r["group"] == g]
            if not sel:
                continue
            groups[g] = {m: {**{k: _mean([r[m][k] for r in sel])
                                for k in ("ap", "f1", "bacc", "seconds", "sampler_seconds",
                                          "fit_seconds")},
                             **{f"rank_{k}": float(np.mean([r[m][f"rank_{k}"] for r in sel]))
                                for k in METRICS},
                             "n_sets": len(sel),
                             "n_sets_scored": sum(not math.isnan(r[m]["ap"]) for r in sel)}
                         for m in methods}
            if "VAEOversampler" in methods and "SMOTE" in methods:
                both = [r for r in sel if not math.isnan(r["VAEOversampler"]["ap"])
                        and not math.isnan(r["SMOTE"]["ap"])]
                groups[g]["vae_vs_smote"] = {
                    "wins_ap": sum(r["VAEOversampler"]["ap"] > r["SMOTE"]["ap"] for r in both),
                    "ties_ap": sum(r["VAEOversampler"]["ap"] == r["SMOTE"]["ap"]
                                   for r in both),
                    "n_sets": len(both)}
        out[c] = {"rows": rows, "groups": groups}
    return out


# -- markdown ------------------------------------------------------------------
def _cell(v, fmt):
    return "n/a" if math.isnan(v) else fmt.format(v)


def _metric_table(table, methods, key, title, fmt, best="max"):
    rows, groups = table["rows"], table["groups"]
    out = [f"### {title}", "",
           "| dataset | group | n | d | % min | " + " | ".join(methods) + " |",
           "|---|---|---:|---:|---:|" + "---:|" * len(methods)]
    for g in ("tuning", "report", "other"):
        for row in [r for r in rows if r["group"] == g]:
            txt = [_cell(row[m][key], fmt) for m in methods]
            # best among the methods that ran on every fold, as printed
            full = [float(t) for m, t in zip(methods, txt)
                    if t != "n/a" and not row[m]["failed_folds"]]
            top = max(full) if best == "max" and full else None
            cells = []
            for m, t in zip(methods, txt):
                c = (f"**{t}**" if top is not None and not row[m]["failed_folds"]
                     and float(t) == top else t)
                if row[m]["failed_folds"]:
                    c += f" ‡{row[m]['failed_folds']}/{row[m]['folds']}"
                cells.append(c)
            name = row["dataset"] + ("\\*" if row["subsampled"] else "")
            out.append(f"| {name} | {row['group']} | {row['n']} | {row['d']} | "
                       f"{100 * row['minority_frac']:.1f} | " + " | ".join(cells) + " |")
    for g, stats in groups.items():
        cells = []
        for m in methods:
            c = _cell(stats[m][key], fmt)
            if stats[m]["n_sets_scored"] < stats[m]["n_sets"]:
                c += f" ({stats[m]['n_sets_scored']} sets)"
            cells.append(c)
        out.append(f"| **mean, {g}** ({stats[methods[0]]['n_sets']} sets) | | | | | "
                   + " | ".join(cells) + " |")
    if key in METRICS:
        for g, stats in groups.items():
            out.append(f"| mean rank, {g} (1 = best) | | | | | "
                       + " | ".join(f"{stats[m][f'rank_{key}']:.2f}" for m in methods) + " |")
    out.append("")
    return out


def summary_lines(summary, methods):
    if not ("VAEOversampler" in methods and "SMOTE" in methods):
        return ["- (VAEOversampler vs SMOTE: both must be in --methods)"]
    lines = []
    for c, table in summary.items():
        for g, label in (("report", "report group"), ("all", "all sets")):
            stats = table["groups"].get(g)
            if not stats:
                lines.append(f"- **{c}**, {label}: no sets of this group in this run")
                continue
            v, s, w = stats["VAEOversampler"], stats["SMOTE"], stats["vae_vs_smote"]
            ties = f"; {w['ties_ap']} tied" if w["ties_ap"] else ""
            lines.append(
                f"- **{c}**, {label}: VAEOversampler vs SMOTE: mean AP {v['ap']:.3f} vs "
                f"{s['ap']:.3f}, minority F1 {v['f1']:.3f} vs {s['f1']:.3f}, wins on "
                f"{w['wins_ap']} of {w['n_sets']} sets (by AP{ties}); mean sampler+fit "
                f"{v['seconds']:.2f} s vs {s['seconds']:.2f} s")
    return lines


def to_markdown(summary, meta, info, skipped, records):
    methods, classifiers = meta["methods"], meta["classifiers"]
    out = ["# Oversampling for imbalanced binary classification (AP, minority F1, "
           "balanced accuracy, time)", ""]
    if meta["stand_in"]:
        out += ["> **WARNING: `VAEOversampler` could not be imported "
                f"({meta['vae_import_error']}); the VAEOversampler column is a "
                "RandomOverSampler STAND-IN, not VAE results.**", ""]
    out += [
        f"{meta['folds']}-fold stratified CV x seeds {meta['seeds']}; per fold the "
        "training rows are standardized, resampled once by the sampler, and each "
        "classifier is fitted on the result and scores the test fold. Scores are means over "
        "seeds x folds; seconds are the sampler's fit+resample plus the classifier's fit on "
        "the training fold. Default parameters everywhere"
        + (f"; VAEOversampler params: `{json.dumps(meta['vae_params'])}`"
           if meta["vae_params"] else "") + ". "
        "Groups were fixed before tuning (as in `bench_anomaly.py`): choose defaults on "
        "`tuning` only; `report` is the quoted result. Bold: best value in the row (as "
        "printed), among samplers that ran on every fold. \\*: subsampled (see Datasets). "
        "‡k/n: the sampler failed on k of n folds (mean over the rest; errors listed at "
        "the end). Mean rank: NaN counts as "
        f"worst. Machine: {meta['machine']}; torch threads {meta['threads']}, "
        f"OMP_NUM_THREADS={meta['omp_num_threads']}; {meta['code']}. Whole run: "
        f"{meta['total_seconds']:.0f} s."
        + (f" **Every column replaced by 0/1 indicators of up to {meta['binarize']} "
           "quantile bins (`--binarize`).**" if meta.get("binarize") else ""),
        "",
        "## Summary", "",
    ]
    out += summary_lines(summary, methods)
    out += ["", "## Datasets", "",
            "| dataset | group | source n | source minority | n | d | minority | % min | "
            "subsampled |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in list(info.values()):
        out.append(f"| {r['dataset']} | {r['group']} | {r['n_source']} | "
                   f"{r['minority_source']} | {r['n']} | {r['d']} | {r['minority']} | "
                   f"{100 * r['minority_frac']:.1f} | {'yes' if r['subsampled'] else ''} |")
    out.append("")
    out.append(f"Subsampled (over {meta['max_rows']} rows, seed 0; all minority rows kept "
               f"up to {KEEP_ALL_MINORITY}, else stratified): "
               + (", ".join(f"{r['dataset']} (n={r['n']}, {100 * r['minority_frac']:.2f}% "
                            "minority)" for r in info.values() if r["subsampled"])
                  or "none") + ".")
    out.append("")
    if skipped:
        out.append("Skipped: " + "; ".join(f"{s['dataset']} ({s['group']}): {s['reason']}"
                                           for s in skipped) + ".")
        out.append("")
    for c in classifiers:
        out += [f"## {c}", ""]
        for key, title in METRICS.items():
            out += _metric_table(summary[c], methods, key, f"{title} ({c})", "{:.3f}")
        out += _metric_table(summary[c], methods, "seconds",
                             f"Sampler + fit seconds ({c})", "{:.2f}", best=None)
    out += ["## Seconds per method", "",
            "Mean over sets (of the per-set means over seeds x folds), training fold only.", "",
            "| | group | " + " | ".join(methods) + " |", "|---|---|" + "---:|" * len(methods)]
    first = summary[classifiers[0]]["groups"]
    for g in first:
        out.append(f"| sampler (fit+resample) | {g} | "
                   + " | ".join(_cell(first[g][m]["sampler_seconds"], "{:.2f}")
                                for m in methods) + " |")
        for c in classifiers:
            st = summary[c]["groups"][g]
            out.append(f"| {c} fit | {g} | "
                       + " | ".join(_cell(st[m]["fit_seconds"], "{:.2f}") for m in methods)
                       + " |")
            out.append(f"| **sampler + {c}** | {g} | "
                       + " | ".join(_cell(st[m]["seconds"], "{:.2f}") for m in methods) + " |")
    out.append("")
    warned = {}
    for r in records:
        if r["classifier"] == classifiers[0]:
            for w in r.get("sampler_warnings", []):
                warned.setdefault((r["method"], w[:160]), set()).add(
                    (r["dataset"], r["seed"], r["fold"]))
    if warned:
        n_folds = len({(r["dataset"], r["seed"], r["fold"]) for r in records})
        out += ["## Sampler warnings", "", "Warnings raised while resampling "
                "(full texts in the json, `sampler_warnings`).", ""]
        for (m, w), where in warned.items():
            sets = sorted({d for d, _, _ in where})
            out.append(f"- {m}, {len(where)} of {n_folds} folds ({', '.join(sets)}): {w}")
        out.append("")
    errors = {}
    for r in records:
        if "error" in r:
            errors.setdefault((r["dataset"], r["method"], r["error"]), set()).add(
                (r["seed"], r["fold"]))
    if errors:
        out += ["## Sampler errors", ""]
        for (d, m, e), folds in errors.items():
            out.append(f"- {d}, {m}, {len(folds)} fold(s): {e}")
        out.append("")
    return "\n".join(out)


# -- main ----------------------------------------------------------------------
def _split_list(values):
    return [v for s in values or [] for v in s.split(",") if v]


def _versions():
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "scikit-learn", "imbalanced-learn", "torch", "skorch",
                "sklearn-vae"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", default="all", choices=GROUPS)
    parser.add_argument("--datasets", nargs="+", metavar="NAME",
                        help="dataset names (space- or comma-separated; default: the group)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help=f"samplers, default all: {' '.join(METHODS)} "
                             "(case-insensitive; aliases ros, vae)")
    parser.add_argument("--seeds", nargs="+", default=["0"],
                        help="seeds (space- or comma-separated), default 0")
    parser.add_argument("--max-rows", type=int, default=5000,
                        help="subsample larger sets to this many rows (seed 0)")
    parser.add_argument("--min-minority", type=int, default=20,
                        help="skip sets with fewer minority rows (after subsampling)")
    parser.add_argument("--folds", type=int, default=5, help="CV folds (2 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {', '.join(QUICK)}, 2 folds, first seed")
    parser.add_argument("--vae-params", default="{}",
                        help="JSON dict of extra keyword arguments for VAEOversampler")
    parser.add_argument("--binarize", type=int, default=0, metavar="BINS",
                        help="replace every column by 0/1 indicators of up to BINS quantile "
                             "bins (tables of indicator columns, built from the tuning sets)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default="imbalanced", help="results file stem")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    seeds = [int(s) for s in _split_list(args.seeds)]
    names = {n.lower() for n in _split_list(args.datasets)}
    folds = args.folds
    if args.quick:
        seeds, folds = seeds[:1], 2
        names = names or {n.lower() for n in QUICK}
    by_lower = {m.lower(): m for m in METHODS} | {"ros": "RandomOverSampler",
                                                  "vae": "VAEOversampler"}
    try:
        methods = [by_lower[m.lower()] for m in _split_list(args.methods)] or list(METHODS)
    except KeyError as exc:
        parser.error(f"unknown method {exc}; choose from {', '.join(METHODS)}")
    try:
        vae_params = json.loads(args.vae_params)
    except json.JSONDecodeError as exc:
        parser.error(f"--vae-params is not valid JSON: {exc}")
    if not isinstance(vae_params, dict):
        parser.error("--vae-params must be a JSON object")
    stand_in = "VAEOversampler" in methods and VAEOversampler is None
    if "VAEOversampler" in methods and not stand_in:
        try:  # fail now on a bad --vae-params, not after an hour of other samplers
            make_vae_oversampler(0, vae_params)
        except (TypeError, ValueError) as exc:
            parser.error(f"--vae-params rejected by VAEOversampler: {exc}")
    if stand_in:
        msg = (f"\n{'!' * 78}\n!! VAEOversampler could not be imported ({VAE_IMPORT_ERROR}).\n"
               "!! Using a RandomOverSampler STAND-IN: the 'VAEOversampler' results are NOT\n"
               f"!! VAE results (marked \"stand_in\": true in the json).\n{'!' * 78}\n")
        print(msg, file=sys.stderr, flush=True)
        warnings.warn("VAEOversampler stand-in in use: results are not VAE results",
                      stacklevel=1)

    tasks, info, skipped = load_tasks(names, args.group, args.max_rows, args.min_minority)
    if args.binarize:  # every column replaced by 0/1 indicators of its quantile bins
        from bench_anomaly_wide import widen

        tasks = [(name, widen(X, args.binarize)[:, X.shape[1]:], y) for name, X, y in tasks]
        for name, X, _ in tasks:
            info[name] = {**info[name], "d": X.shape[1], "binarized": args.binarize}
    records = []
    t_all = time.perf_counter()
    for name, X, y in tasks:
        t_set = time.perf_counter()
        for seed in seeds:
            cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
            for fold, (tr, te) in enumerate(cv.split(X, y)):
                for m in methods:
                    for rec in run_fold(X[tr], y[tr], X[te], y[te], m, CLASSIFIERS, seed,
                                        vae_params):
                        rec = {"dataset": name, "seed": seed, "fold": fold, "method": m,
                               **rec}
                        if m == "VAEOversampler" and stand_in:
                            rec["stand_in"] = True
                        if "error" in rec and rec["classifier"] == CLASSIFIERS[0]:
                            print(f"  {name} seed {seed} fold {fold} {m}: {rec['error']}",
                                  flush=True)
                        records.append(rec)
        inf = info[name]
        parts = []
        for c in CLASSIFIERS:
            rs = [r for r in records if r["dataset"] == name and r["classifier"] == c]
            parts.append(f"{c[:3]}: " + " ".join(
                f"{m}={_mean([r['ap'] for r in rs if r['method'] == m]):.3f}"
                f"({_mean([r['seconds'] for r in rs if r['method'] == m]):.1f}s)"
                for m in methods))
        print(f"{name:20s} [{inf['group']}] n={inf['n']:5d} d={inf['d']:4d} "
              f"minority={inf['minority_frac']:.1%} {time.perf_counter() - t_set:.0f}s  AP "
              + " | ".join(parts), flush=True)
    total = time.perf_counter() - t_all

    meta = {
        "methods": methods, "classifiers": list(CLASSIFIERS), "seeds": seeds,
        "folds": folds, "group": args.group, "datasets_arg": sorted(names),
        "quick": args.quick, "max_rows": args.max_rows,
        "keep_all_minority_up_to": KEEP_ALL_MINORITY, "min_minority": args.min_minority,
        "vae_params": vae_params, "stand_in": stand_in, "binarize": args.binarize,
        "vae_import_error": VAE_IMPORT_ERROR if stand_in else None,
        "sampler_fitted_once_per_fold": True,
        "classifier_params": {"LogisticRegression": "LogisticRegression(max_iter=1000)",
                              "HistGradientBoosting":
                                  "HistGradientBoostingClassifier(random_state=seed)"},
        "threads": args.threads, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "total_seconds": total,
        "machine": f"{platform.processor() or platform.machine()}, "
                   f"{os.cpu_count()} cpus, {platform.platform()}",
        "versions": _versions(), "code": _code_version(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "groups": {"tuning": list(TUNING), "report": list(REPORT)},
        "data_dir": str(bench_anomaly.data_dir()),
    }
    summary = summarize(records, info, methods, list(CLASSIFIERS))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"meta": meta, "datasets": list(info.values()), "skipped": skipped,
         "summary": summary, "records": records}, indent=1))
    md = to_markdown(summary, meta, info, skipped, records)
    (RESULTS / f"{args.out}.md").write_text(md + "\n")
    print(md)
    if stand_in:
        print(msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

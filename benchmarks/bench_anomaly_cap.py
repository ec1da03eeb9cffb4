"""The detector's entry cap (``entry_cap``) measured on one fit: capped vs plain scores.

For every set and seed, one default ``VAEOutlierDetector`` is fitted; its rows
are scored with the cap (the default) and without it (the same fitted model
with ``entry_cap_`` removed), so the two scores differ only by the cap.
``IsolationForest`` runs in the same process for the time ratio. Reports, per
set: ROC-AUC and average precision of both scores; the share of training rows
``contamination="auto"`` flags with the cap and without it (the fence is set on
the uncapped scores either way, so the two should agree) beside the true rate;
fit and score seconds (capped and plain) and IsolationForest's fit + score
seconds; and, on sets up to ``--novelty-max-rows`` rows, both scores under
ADBench's novelty protocol (train on half of the normal rows, score the rest).

Unsupervised protocol and groups as in ``bench_anomaly.py``: standardize, fit
on all rows, score all rows; sets over ``--large`` rows run the first seed
only. One torch thread.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_cap.py --group tuning --seeds 0 1 2 3
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_cap.py --group report --out anomaly_cap_report
"""

import argparse
import copy
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from bench_anomaly import group_of, load_tasks
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector
from sklearn_vae._outlier import adjusted_lower_fence

RESULTS = Path(__file__).resolve().parent / "results"


def uncapped(det):
    """The same fitted detector without its entry cap (and its own "auto" fence)."""
    plain = copy.copy(det)
    plain.entry_cap_ = None
    return plain


def one_run(X, y, seed, novelty):
    rec = {}
    t0 = time.perf_counter()
    det = VAEOutlierDetector(random_state=seed).fit(X)
    t1 = time.perf_counter()
    s_cap = det.score_samples(X)
    t2 = time.perf_counter()
    plain = uncapped(det)
    s_plain = plain.score_samples(X)
    t3 = time.perf_counter()
    # The uncapped detector's own "auto" threshold: the fence on the uncapped
    # scores of the rows fit sets it on (a seeded 50,000 of larger tables).
    _, plain_threshold_scores = det._threshold_scores(X)
    fence = adjusted_lower_fence(plain_threshold_scores, random_state=det._seed + 4)
    rec.update(
        roc_capped=roc_auc_score(y, -s_cap), roc_plain=roc_auc_score(y, -s_plain),
        ap_capped=average_precision_score(y, -s_cap),
        ap_plain=average_precision_score(y, -s_plain),
        flagged_capped=float(np.mean(s_cap < det.offset_)),
        flagged_plain=float(np.mean(s_plain < fence)), true_rate=float(y.mean()),
        fit_s=t1 - t0, score_capped_s=t2 - t1, score_plain_s=t3 - t2)
    t4 = time.perf_counter()
    forest = IsolationForest(random_state=seed).fit(X)
    s_if = forest.score_samples(X)
    rec.update(iforest_s=time.perf_counter() - t4, roc_iforest=roc_auc_score(y, -s_if))
    if novelty:
        rng = np.random.default_rng(seed)
        normal = np.flatnonzero(y == 0)
        train = rng.permutation(normal)[: len(normal) // 2]
        test = np.setdiff1d(np.arange(len(y)), train)
        nov = VAEOutlierDetector(random_state=seed).fit(X[train])
        rec.update(novelty_roc_capped=roc_auc_score(y[test], -nov.score_samples(X[test])),
                   novelty_roc_plain=roc_auc_score(
                       y[test], -uncapped(nov).score_samples(X[test])))
    return rec


COLUMNS = ["roc_capped", "roc_plain", "ap_capped", "ap_plain", "novelty_roc_capped",
           "novelty_roc_plain", "flagged_capped", "flagged_plain", "true_rate", "fit_s",
           "score_capped_s", "score_plain_s", "iforest_s", "roc_iforest"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", default="tuning", choices=("all", "tuning", "report"))
    parser.add_argument("--datasets", default="", help="comma-separated names")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--novelty-max-rows", type=int, default=100_000)
    parser.add_argument("--out", default="anomaly_cap")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = [n.strip().lower() for n in args.datasets.split(",") if n.strip()]
    tasks = load_tasks(names or None, group=args.group)
    # Warm up torch (first-call costs) so the first set's seconds are like the rest.
    VAEOutlierDetector(max_steps=5, random_state=0).fit(np.random.default_rng(0).normal(
        size=(256, 4)))
    rows, t_all = [], time.perf_counter()
    for name, X, y in tasks:
        X = StandardScaler().fit_transform(X)
        seeds = args.seeds[:1] if len(y) > args.large else args.seeds
        recs = [one_run(X, y, s, len(y) <= args.novelty_max_rows) for s in seeds]
        row = {"dataset": name, "group": group_of(name), "n": len(y), "d": X.shape[1],
               "seeds": seeds}
        for key in COLUMNS:
            vals = [r[key] for r in recs if key in r]
            row[key] = float(np.mean(vals)) if vals else None
        rows.append(row)
        print(f"{name:18s} [{row['group']}] ROC capped {row['roc_capped']:.3f} plain "
              f"{row['roc_plain']:.3f}  flagged {row['flagged_capped']:.3f} / "
              f"{row['flagged_plain']:.3f} (true {row['true_rate']:.3f})  fit "
              f"{row['fit_s']:.2f} s, score {row['score_capped_s']:.2f} / "
              f"{row['score_plain_s']:.2f} s, IForest {row['iforest_s']:.2f} s", flush=True)
    meta = {"group": args.group, "seeds": args.seeds, "large": args.large,
            "total_s": time.perf_counter() - t_all, "torch_threads": 1,
            "machine": f"{platform.machine()}, torch {torch.__version__}"}
    write(args.out, meta, rows)


def _fmt(v, digits=3):
    return "" if v is None else f"{v:.{digits}f}"


def write(out, meta, rows):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{out}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    head = ("| dataset | group | n | d | ROC capped | ROC plain | AP capped | AP plain "
            "| novelty ROC capped | novelty ROC plain | flagged capped | flagged plain "
            "| true rate | fit s | score s capped | score s plain | IForest s |")
    lines = [f"Entry cap, capped vs plain scores of the same fit ({meta}).", "",
             head, "|" + "---|" * 4 + "---:|" * 13]
    for r in rows:
        lines.append("| " + " | ".join(
            [r["dataset"], r["group"], str(r["n"]), str(r["d"])]
            + [_fmt(r[k]) for k in COLUMNS[:9]]
            + [_fmt(r[k], 2) for k in ("fit_s", "score_capped_s", "score_plain_s",
                                       "iforest_s")]) + " |")
    for group in sorted({r["group"] for r in rows}):
        sel = [r for r in rows if r["group"] == group]

        def mean(key, sel=sel):
            vals = [r[key] for r in sel if r[key] is not None]
            return float(np.mean(vals)) if vals else None

        err_c = np.mean([abs(r["flagged_capped"] - r["true_rate"]) for r in sel])
        err_p = np.mean([abs(r["flagged_plain"] - r["true_rate"]) for r in sel])
        lines.append(
            f"| **mean, {group}** ({len(sel)} sets) | | | | {_fmt(mean('roc_capped'))} | "
            f"{_fmt(mean('roc_plain'))} | {_fmt(mean('ap_capped'))} | "
            f"{_fmt(mean('ap_plain'))} | {_fmt(mean('novelty_roc_capped'))} | "
            f"{_fmt(mean('novelty_roc_plain'))} | err {err_c:.3f} | err {err_p:.3f} | | "
            f"{_fmt(mean('fit_s'), 2)} | {_fmt(mean('score_capped_s'), 2)} | "
            f"{_fmt(mean('score_plain_s'), 2)} | {_fmt(mean('iforest_s'), 2)} |")
    (RESULTS / f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Training budget of ``VAEOutlierDetector`` vs quality and time, TUNING group only.

Runs the detector with several ``max_steps`` / ``batch_size`` settings (and
``IsolationForest`` once) on the tuning group of ``bench_anomaly.py`` (never
the report group), 2 seeds, standardized, fit and score on all rows, one
torch thread. Prints mean ROC-AUC and mean fit+score seconds per setting,
and per-set seconds; writes ``benchmarks/results/<out>.{json,md}``
(``--out``, default ``anomaly_budget``).

It records the trade-off behind the detector's step budget: fit time is
about proportional to optimizer steps on these tables (a step costs about
the same at batch 128 and 512 on one thread; the per-step cost is framework
overhead for such small networks), and fewer steps lose ROC-AUC where the
per-column variances matter (annthyroid, Wilt).

The observation variances' own learning rate (``--variance-lr-scale``, 30 times
the weights' by default) is what let the budget fall from 1000 to 300 steps:
at one rate for every parameter, a variance moves about 1e-2 per step and the
sharp columns were only modelled late in a 1000-step budget.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_budget.py
    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_budget.py --variance-lr-scale 10 \
        --settings "1000 steps" "500 steps" "300 steps" --out anomaly_budget_vlr10
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from bench_anomaly import TUNING, load_tasks
from scipy.stats import rankdata
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAEOutlierDetector

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = {
    "default": {},
    "1000 steps": {"max_steps": 1000},
    "500 steps": {"max_steps": 500},
    "300 steps": {"max_steps": 300},
    "500 steps, batch 256": {"max_steps": 500, "batch_size": 256},
    "700 steps, batch 256": {"max_steps": 700, "batch_size": 256},
    "1000 steps, batch 256": {"max_steps": 1000, "batch_size": 256},
    "500 steps, batch 512": {"max_steps": 500, "batch_size": 512},
    "1000 steps, batch 512": {"max_steps": 1000, "batch_size": 512},
    # Latent size, and ensembles: a list of settings is one detector per entry
    # (each with its own seed), scores rank-averaged.
    "no validation split": {"early_stopping": False},
    "no entry cap": {"entry_cap": None},
    "n_components=4": {"n_components": 4},
    "n_components=8": {"n_components": 8},
    "2 seeds, rank-averaged": [{}, {}],
    "n_components 2 + 4, rank-averaged": [{}, {"n_components": 4}],
    "2 seeds x 150 steps": [{"max_steps": 150}, {"max_steps": 150}],
    "n_components 2 + 4, 150 steps each": [{"max_steps": 150},
                                           {"max_steps": 150, "n_components": 4}],
}


class RankAverage:
    """Detectors with their own seeds; ``score_samples`` is the mean of their ranks."""

    def __init__(self, members, random_state):
        self.detectors = [VAEOutlierDetector(random_state=random_state + 1000 * i, **kw)
                          for i, kw in enumerate(members)]

    def fit(self, X):
        for detector in self.detectors:
            detector.fit(X)
        return self

    def score_samples(self, X):
        return np.mean([rankdata(d.score_samples(X)) for d in self.detectors], axis=0)


def make_detector(setting, seed):
    if isinstance(setting, list):
        return RankAverage(setting, seed)
    return VAEOutlierDetector(random_state=seed, **setting)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--variance-lr-scale", type=float, default=None,
                        help="learning-rate multiplier of the observation variances "
                             "(the class attribute _variance_lr_scale; default: the "
                             "estimator's, 30; 1 = one rate for every parameter)")
    parser.add_argument("--out", default="anomaly_budget", help="results file stem")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.variance_lr_scale is not None:
        VAEOutlierDetector._variance_lr_scale = args.variance_lr_scale
    tasks = [(n, StandardScaler().fit_transform(X), y)
             for n, X, y in load_tasks([t.lower() for t in TUNING])]

    def detectors():
        yield "IsolationForest", lambda s: IsolationForest(random_state=s)
        for label in args.settings:
            yield label, lambda s, setting=SETTINGS[label]: make_detector(setting, s)

    results = {}
    for label, make in detectors():
        per_set = {}
        for name, X, y in tasks:
            aucs, secs = [], []
            for seed in args.seeds:
                t0 = time.perf_counter()
                scores = -make(seed).fit(X).score_samples(X)
                secs.append(time.perf_counter() - t0)
                aucs.append(roc_auc_score(y, scores))
            per_set[name] = {"roc_auc": float(np.mean(aucs)), "seconds": float(np.mean(secs))}
        results[label] = per_set
        print(f"{label:34s} mean ROC-AUC {np.mean([v['roc_auc'] for v in per_set.values()]):.4f}"
              f"  mean s {np.mean([v['seconds'] for v in per_set.values()]):.2f}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"seeds": args.seeds, "results": results}, indent=2))
    names = [n for n, _, _ in tasks]
    lines = ["| setting | mean ROC-AUC | mean s | " + " | ".join(names) + " |",
             "|---|---:|---:|" + "---:|" * len(names)]
    for label, per_set in results.items():
        lines.append(
            f"| {label} | {np.mean([v['roc_auc'] for v in per_set.values()]):.3f} | "
            f"{np.mean([v['seconds'] for v in per_set.values()]):.2f} | "
            + " | ".join(f"{per_set[n]['roc_auc']:.3f} ({per_set[n]['seconds']:.1f} s)"
                         for n in names) + " |")
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

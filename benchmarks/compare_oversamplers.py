"""Paired comparison of two samplers over the runs of ``bench_imbalanced.py``.

Pools the per-fold records of any number of result files (one per seed, or
runs of different samplers on the same seeds and folds: the splits depend on
the dataset and seed only), averages each metric per dataset and sampler, and
reports the mean over datasets of the per-dataset difference A - B, with a
95% bootstrap interval over datasets (10,000 resamples of the datasets) and
the count of datasets each sampler wins. An interval that contains 0 means
the benchmark cannot tell the two apart on that mean.

Usage::

    python benchmarks/compare_oversamplers.py \\
        imbalanced_report_v6_s0 imbalanced_report_v6_s1 imbalanced_report_v6_s2 \\
        imbalanced_report_lattice_floor_s0 imbalanced_report_lattice_floor_s1 \\
        imbalanced_report_lattice_floor_s2 --out oversampler_vs_smote_report

A later file's record of the same dataset, seed, fold, sampler and classifier
replaces an earlier one's (above: the ``v6`` runs of every sampler, then
the current ``VAEOversampler``'s). Writes ``benchmarks/results/<out>.md``
when ``--out`` is given.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = {"ap": "average precision", "f1": "minority F1", "bacc": "balanced accuracy"}


def load_records(names):
    """Per-fold records of the result files, one record per (dataset, seed, fold, method,
    classifier): a later file's record replaces an earlier one's."""
    records = {}
    for name in names:
        for r in json.loads((RESULTS / f"{name}.json").read_text())["records"]:
            key = (r["dataset"], r["seed"], r["fold"], r["method"], r["classifier"])
            records[key] = r
    return pd.DataFrame(list(records.values()))


def paired(df, a, b, metric, n_boot=10_000, seed=0):
    """Per-dataset means of ``a`` and ``b`` on the (seed, fold) units both ran, and the
    bootstrap over datasets of the mean difference."""
    both = df[df.method.isin([a, b])].pivot_table(
        index=["dataset", "seed", "fold"], columns="method", values=metric).dropna()
    per = both.groupby(level="dataset").mean()
    diff = (per[a] - per[b]).to_numpy()
    rng = np.random.RandomState(seed)
    boot = diff[rng.randint(len(diff), size=(n_boot, len(diff)))].mean(axis=1)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return dict(n_sets=len(diff), n_units=len(both), mean_a=float(per[a].mean()),
                mean_b=float(per[b].mean()), diff=float(diff.mean()), lo=float(lo),
                hi=float(hi), wins=int((diff > 0).sum()), losses=int((diff < 0).sum()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="result names under benchmarks/results")
    parser.add_argument("--a", default="VAEOversampler")
    parser.add_argument("--b", default="SMOTE")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    df = load_records(args.results)
    lines = [f"{args.a} - {args.b}, paired by dataset, seed and fold over "
             f"{', '.join(f'`{r}`' for r in args.results)}; mean over datasets of the "
             "per-dataset difference, 95% bootstrap interval over datasets, datasets "
             f"won by each.", "",
             f"| classifier | metric | sets | {args.a} | {args.b} | difference | 95% "
             f"interval | {args.a} wins | {args.b} wins |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|"]
    for clf in sorted(df.classifier.unique()):
        for metric, label in METRICS.items():
            r = paired(df[df.classifier == clf], args.a, args.b, metric)
            lines.append(f"| {clf} | {label} | {r['n_sets']} | {r['mean_a']:.3f} | "
                         f"{r['mean_b']:.3f} | {r['diff']:+.4f} | [{r['lo']:+.4f}, "
                         f"{r['hi']:+.4f}] | {r['wins']} | {r['losses']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        (RESULTS / f"{args.out}.md").write_text(text)


if __name__ == "__main__":
    main()

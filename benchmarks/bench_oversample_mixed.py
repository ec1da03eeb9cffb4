"""New minority rows on a mixed-type table: do they look like the real minority rows?

``bench_imbalanced.py`` scores classifiers on numeric tasks. This script checks the
rows themselves on the Adult table (``$SKLEARN_VAE_DATA/mixed/adult.csv``, default
``../shared/data``; 8 categorical and 6 numeric columns): a seeded 5000-row sample,
label income > 50K, thinned to ``--minority`` positive rows (300 by default, about 8%).
Each sampler grows the minority to the majority's count; the new rows are compared
with the real minority rows column by column:

- **categorical TVD**: total variation distance of each categorical column's levels,
  averaged over the categorical columns;
- **numeric KS**: two-sample Kolmogorov-Smirnov statistic of each numeric column,
  averaged;
- **seconds**: ``fit_resample``.

Samplers: ``VAEOversampler`` (default, and each ``--settings`` entry: JSON name ->
parameters; keys starting with ``_`` change ``VAEOversampler._DEFAULT_BUDGET``, the
default model's training budget) and imbalanced-learn's ``SMOTENC`` (categorical
columns given, numeric columns standardized for its neighbour search and put back in
their units). Results: ``benchmarks/results/<out>.{md,json}``.

    OMP_NUM_THREADS=1 python benchmarks/bench_oversample_mixed.py --seeds 0 1
"""

import argparse
import json
import platform
import time

import numpy as np
import pandas as pd
import torch
from bench_anomaly import data_dir, save_table
from bench_imbalanced import make_vae_oversampler
from scipy.stats import ks_2samp

from sklearn_vae import VAEOversampler

DATA = data_dir().parent  # $SKLEARN_VAE_DATA, default ../shared/data


def load_adult(n_rows, n_minority):
    df = pd.read_csv(DATA / "mixed" / "adult.csv", skipinitialspace=True)
    df = df.sample(n_rows, random_state=0).reset_index(drop=True)
    y = df.pop("income").astype(str).str.contains(">").astype(int).to_numpy()
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].astype("category")
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:n_minority]]
    return df.iloc[keep].reset_index(drop=True), y[keep]


def fidelity(new, real):
    cats = [c for c in real.columns if isinstance(real[c].dtype, pd.CategoricalDtype)]
    nums = [c for c in real.columns if c not in cats]
    tvd = []
    for c in cats:
        levels = real[c].cat.categories
        p = new[c].value_counts(normalize=True).reindex(levels, fill_value=0)
        q = real[c].value_counts(normalize=True).reindex(levels, fill_value=0)
        tvd.append(0.5 * float(np.abs(p - q).sum()))
    ks = [float(ks_2samp(new[c].astype(float), real[c].astype(float)).statistic)
          for c in nums]
    return float(np.mean(tvd)), float(np.mean(ks))


def run_smotenc(X, y, seed):
    from imblearn.over_sampling import SMOTENC

    cats = [i for i, c in enumerate(X.columns)
            if isinstance(X[c].dtype, pd.CategoricalDtype)]
    nums = [c for i, c in enumerate(X.columns) if i not in cats]
    mean, std = X[nums].mean(), X[nums].std()
    Xs = X.copy()
    Xs[nums] = (X[nums] - mean) / std
    X_res, _ = SMOTENC(categorical_features=cats, random_state=seed).fit_resample(Xs, y)
    X_res[nums] = X_res[nums] * std + mean
    return X_res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", default='{"default": {}}',
                        help="JSON: name -> VAEOversampler parameters")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--minority", type=int, default=300)
    parser.add_argument("--out", default="oversample_mixed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    settings = json.loads(args.settings)
    X, y = load_adult(args.rows, args.minority)
    real = X[y == 1]
    default_budget = dict(VAEOversampler._DEFAULT_BUDGET)
    runs = {}
    VAEOversampler(random_state=0).fit_resample(X.iloc[::9], y[::9])  # warm-up
    for name, params in [*settings.items(), ("SMOTENC", None)]:
        for seed in args.seeds:
            t = time.perf_counter()
            if params is None:
                X_res = run_smotenc(X, y, seed)
            else:  # each setting's "_" keys apply to the default budget, not the last one's
                VAEOversampler._DEFAULT_BUDGET = dict(default_budget)
                X_res, _ = make_vae_oversampler(seed, params).fit_resample(X, y)
            secs = time.perf_counter() - t
            tvd, ks = fidelity(X_res.iloc[len(X):], real)
            runs.setdefault(name, []).append({"seed": seed, "tvd": tvd, "ks": ks,
                                              "seconds": secs})
            print(f"{name:30s} seed {seed}: categorical TVD {tvd:.3f}, numeric KS {ks:.3f}, "
                  f"{secs:.2f} s", flush=True)
    VAEOversampler._DEFAULT_BUDGET = default_budget
    lines = ["# New minority rows vs real minority rows, Adult (mixed types)", "",
             f"{len(X)} rows ({int(y.sum())} minority, grown to {int((y == 0).sum())}); "
             f"means over seeds {args.seeds}. Lower is closer.", "",
             "| sampler | categorical TVD | numeric KS | seconds |", "|---|---:|---:|---:|"]
    for name, rs in runs.items():
        lines.append(f"| {name} | {np.mean([r['tvd'] for r in rs]):.3f} | "
                     f"{np.mean([r['ks'] for r in rs]):.3f} | "
                     f"{np.mean([r['seconds'] for r in rs]):.2f} |")
    save_table(args.out, "\n".join(lines) + "\n",
               {"settings": settings, "seeds": args.seeds, "rows": args.rows,
                "minority": args.minority, "runs": runs,
                "machine": platform.platform(), "torch": torch.__version__})


if __name__ == "__main__":
    main()

"""The conditional model's prior: N(0, I), one mixture for all codes, or one per class.

``VAETransformer(conditional=True)`` with ``prior="mixture"`` (the default)
fits one Gaussian mixture per class to that class's codes, ``p(z | y)``.
This benchmark compares, on the same fits, three priors: ``N(0, I)``
(``prior="normal"``), one mixture fitted to all classes' codes (the
unconditional rule applied to the pooled codes), and one per class (the
default). Tables with class labels: breast cancer, wine and digits from
scikit-learn, banknote from ``../shared/data/impute/``. For each table and
seed: a stratified 70/30 split, ``VAETransformer(n_components=min(5, d),
conditional=True)`` fitted on the 70%, then per prior

- the held-out rows' mean ``log p(x | y)`` (``score(X_test, y_test)``);
- efficacy: a standardized LogisticRegression trained on as many synthetic
  rows as training rows (labels drawn from the training labels) and scored
  on the real test rows, over the same classifier trained on the real
  training rows;
- the mean Kolmogorov-Smirnov statistic of the synthetic columns against
  the test rows.

Usage::

    python benchmarks/bench_latent_prior.py --seeds 0 1

Writes ``benchmarks/results/<out>.{json,md}`` (default ``latent_prior``).
"""

import argparse
import copy
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from bench_synth import with_normal_prior
from scipy.stats import ks_2samp
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer
from sklearn_vae._prior import fit_latent_mixture, mixture_parameters, posterior_draws

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PRIORS = ("normal", "pooled", "per class")


def tables():
    out = {"breast_cancer": load_breast_cancer(return_X_y=True),
           "wine": load_wine(return_X_y=True), "digits": load_digits(return_X_y=True)}
    folder = Path(os.environ.get("SKLEARN_VAE_DATA", ROOT.parent / "shared" / "data"))
    path = folder / "impute" / "banknote.csv"
    if path.exists():
        frame = pd.read_csv(path)
        out["banknote"] = (frame.drop(columns="Y").to_numpy(), frame["Y"].to_numpy())
    else:
        warnings.warn(f"no {path}; scikit-learn's tables only", stacklevel=1)
    return out


def with_prior(vae, kind, X_train, y_train):
    """A copy of the fitted conditional ``vae`` (same weights) with another prior."""
    if kind == "normal":
        return with_normal_prior(vae)
    out = copy.deepcopy(vae)
    if kind == "pooled":
        values, mask = out.schema_.encode(X_train)
        cond = out._condition(y_train, len(y_train), "fit")
        gm, _ = fit_latent_mixture(posterior_draws(out.module_, values, mask, 7, cond), 7)
        out.module_.set_latent_mixture(
            *(() if gm is None else mixture_parameters(gm)))
        out.latent_prior_ = [gm] * len(out.classes_)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--out", default="latent_prior")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    records = []
    for name, (X, y) in tables().items():
        for seed in args.seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.3, random_state=seed, stratify=y)
            t0 = time.perf_counter()
            vae = VAETransformer(n_components=min(5, X.shape[1]), conditional=True,
                                 random_state=seed).fit(X_train, y_train)
            fit_s = time.perf_counter() - t0

            def classifier():
                return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

            real = classifier().fit(X_train, y_train).score(X_test, y_test)
            labels = np.random.RandomState(seed).choice(y_train, len(y_train))
            for kind in PRIORS:
                model = vae if kind == "per class" else with_prior(vae, kind, X_train,
                                                                    y_train)
                rows = model.sample(len(y_train), random_state=seed, y=labels)
                rec = dict(
                    table=name, seed=seed, prior=kind, fit_s=fit_s,
                    loglik=float(model.score(X_test, y_test)),
                    efficacy=float(classifier().fit(rows, labels).score(X_test, y_test)
                                   / real),
                    ks=float(np.mean([ks_2samp(rows[:, j], X_test[:, j]).statistic
                                      for j in range(X.shape[1])])))
                records.append(rec)
                print(f"{name:14s} seed {seed} {kind:9s}: log p(x|y) {rec['loglik']:8.2f} "
                      f"efficacy {rec['efficacy']:.3f} KS {rec['ks']:.3f}", flush=True)
    df = pd.DataFrame(records)
    per = df.groupby(["table", "prior"], sort=False)[["loglik", "efficacy", "ks"]].mean()
    lines = [f"`VAETransformer(n_components=min(5, d), conditional=True)`, stratified 70/30 "
             f"splits, seeds {args.seeds}; the same fit with three priors: N(0, I), one "
             "mixture for all classes' codes (pooled), one per class (the default). "
             "log p(x|y): mean over the test rows (higher is better); efficacy: "
             "LogisticRegression trained on synthetic rows / on real rows, accuracy on "
             "the real test rows; KS: mean over the columns, synthetic vs test rows.", "",
             "| table | " + " | ".join(f"log p(x\\|y), {p}" for p in PRIORS) + " | "
             + " | ".join(f"efficacy, {p}" for p in PRIORS) + " | "
             + " | ".join(f"KS, {p}" for p in PRIORS) + " |",
             "|---|" + "---:|" * 9]
    for name in dict.fromkeys(df["table"]):
        cells = ([f"{per.loc[(name, p), 'loglik']:.2f}" for p in PRIORS]
                 + [f"{per.loc[(name, p), 'efficacy']:.3f}" for p in PRIORS]
                 + [f"{per.loc[(name, p), 'ks']:.3f}" for p in PRIORS])
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    mean = df.groupby("prior", sort=False)[["loglik", "efficacy", "ks"]].mean()
    lines.append("| **mean** | "
                 + " | ".join([f"{mean.loc[p, 'loglik']:.2f}" for p in PRIORS]
                              + [f"{mean.loc[p, 'efficacy']:.3f}" for p in PRIORS]
                              + [f"{mean.loc[p, 'ks']:.3f}" for p in PRIORS]) + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"settings": vars(args), "records": records}, indent=2))
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

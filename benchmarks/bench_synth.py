"""Synthetic tabular data on UCI Adult: sklearn_vae.VAETransformer vs ctgan's TVAE.

Both models get the same training rows (80% of Adult, stratified split with
seed 0), the same number of epochs (``--epochs``) and the same batch size;
each then samples as many rows as it was trained on. sklearn_vae:
n_components=32, hidden (128, 128), beta=0.5 (TVAE weighs its reconstruction
term by 2, the same trade-off), lr 2e-3, no early stopping, and
VAETransformer's default budget of ``max_steps=10_000`` optimizer steps,
which ends training before ``--epochs`` when there are more steps than that
(at batch 250 on Adult: after 96 epochs; the log prints the epochs run).
TVAE: ctgan's defaults (latent 128, hidden (128, 128), lr 1e-3) except
epochs and batch size. The published run uses TVAE's default of 300 epochs:
at 30 epochs both models were far from converged (TVAE's fnlwgt marginal KS
0.30; the conditional VAE's posterior-code rows: mean KS 0.023 at 30 epochs,
0.014 at its full budget). The lines with prior and posterior codes of one
model type sample the same fit.

Metrics (synthetic rows vs the real held-out test rows):

- machine-learning efficacy: a HistGradientBoostingClassifier (native
  categorical support, fixed hyperparameters) trained on synthetic rows to
  predict ``income``, scored on real test rows (accuracy, F1 of " >50K");
  the same classifier trained on the real training rows is the reference;
- marginal fidelity: mean Kolmogorov-Smirnov statistic over the continuous
  columns, mean total variation distance over the categorical columns
  (lower is better); the real training rows give the sampling-noise floor;
- pairwise dependence: mean absolute difference between the association
  matrices of synthetic and real rows over all column pairs, where the
  association is |Spearman correlation| for two continuous columns, the
  correlation ratio (eta) for a continuous and a categorical column, and
  bias-uncorrected Cramer's V for two categorical columns (all in [0, 1]);
- fit time and sample time (wall clock, CPU).

``sklearn_vae_cond`` is the conditional VAE (``VAETransformer(conditional=True)``,
the same hyperparameters): fit on the other columns with ``income`` as ``y``,
sampled with the labels drawn in their training proportions. For it the
benchmark also asks for a 50/50 class balance and reports the balance of the
rows it got and how often a classifier trained on the real rows agrees with
the label each row was drawn for (its accuracy on real test rows is the
reference). The table gives efficacy ratios (synthetic / real-rows accuracy
and macro-F1) and the column-shape errors as SDMetrics defines them
(1 - its KSComplement = KS, 1 - TVComplement = TVD).

Usage::

    python benchmarks/bench_synth.py --seeds 0 1    # the published run (~15 min)
    python benchmarks/bench_synth.py --epochs 30    # the earlier rounds' 30 epochs
    python benchmarks/bench_synth.py --quick        # 3 epochs, 1 seed, 5000 rows
    python benchmarks/bench_synth.py --epochs 30 --seeds 0 --n-train 10000
    python benchmarks/bench_synth.py --seeds 0 1 --models sklearn_vae_cond_posterior \
        --cond-bandwidths 0 0.354 0.5 0.707 --out synth_bandwidths   # the trade-off

Needs pandas and ctgan (``pip install ctgan``; the ``bench`` extra).
"""

import argparse
import copy
import importlib
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import ks_2samp, spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from sklearn_vae import VAETransformer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGET, POSITIVE = "income", " >50K"


def data_dir():
    default = ROOT.parent / "shared" / "data"
    return Path(os.environ.get("SKLEARN_VAE_DATA", default))


def load_adult():
    folder = data_dir() / "mixed"
    df = pd.read_csv(folder / "adult.csv")
    meta = json.loads((folder / "adult.json").read_text())
    continuous = [c["name"] for c in meta["columns"] if c["type"] == "continuous"]
    discrete = [c["name"] for c in meta["columns"] if c["type"] != "continuous"]
    return df, continuous, discrete


#: Bank marketing (ADBench's ``5_campaign``: UCI bank-additional, 41,188 rows)
#: as its one-hot blocks of columns: (name, first column, stop) for each
#: categorical column, found as the runs of 0/1 columns that sum to 1 on
#: every row; ``contact`` is one 0/1 column. Level names are not in the file,
#: so levels are numbered (``job_0``, ...).
CAMPAIGN_CATEGORICAL = [("job", 1, 13), ("marital", 13, 17), ("education", 17, 25),
                        ("default", 25, 28), ("housing", 28, 31), ("loan", 31, 34),
                        ("contact", 34, 35), ("month", 35, 45), ("day_of_week", 45, 50),
                        ("poutcome", 54, 57)]
CAMPAIGN_CONTINUOUS = [("age", 0), ("duration", 50), ("campaign", 51), ("pdays", 52),
                       ("previous", 53), ("emp_var_rate", 57), ("cons_price_idx", 58),
                       ("cons_conf_idx", 59), ("euribor3m", 60), ("nr_employed", 61)]


def load_campaign():
    """The synthesis tuning table: bank marketing, mixed types, label ``y``.

    Settings of the synthesizer are chosen on this table; Adult, which
    nothing is chosen on, reports them.
    """
    d = np.load(data_dir() / "anomaly" / "5_campaign.npz", allow_pickle=True)
    X, y = d["X"], d["y"]
    cols = {name: X[:, j] for name, j in CAMPAIGN_CONTINUOUS}
    for name, start, stop in CAMPAIGN_CATEGORICAL:
        block = X[:, start:stop]
        if stop - start == 1:
            cols[name] = np.where(block[:, 0] > 0.5, f"{name}_1", f"{name}_0")
        else:
            if not np.all(block.sum(1) == 1):
                raise ValueError(f"campaign: columns {start}-{stop} are not one-hot")
            cols[name] = np.array([f"{name}_{k}" for k in range(stop - start)],
                                  dtype=object)[block.argmax(1)]
    df = pd.DataFrame(cols)
    df["y"] = np.where(y > 0.5, "yes", "no")
    continuous = [name for name, _ in CAMPAIGN_CONTINUOUS]
    discrete = [name for name, _, _ in CAMPAIGN_CATEGORICAL] + ["y"]
    return df, continuous, discrete


TABLE_TITLE = {"adult": "Adult", "campaign": "Bank marketing (campaign)"}
#: table name -> (loader, label column, positive label)
TABLES = {"adult": (load_adult, "income", " >50K"),
          "campaign": (load_campaign, "y", "yes")}


# -- metrics ----------------------------------------------------------------------

def _as_model_frame(df, discrete, categories):
    X = df.drop(columns=TARGET).copy()
    for c in discrete:
        if c != TARGET:
            X[c] = pd.Categorical(X[c].astype(object), categories=categories[c])
    return X


def _predict(train, test, discrete, seed):
    """The benchmark's classifier fit on ``train``: true and predicted labels of ``test``."""
    categories = {c: sorted(test[c].astype(object).unique().tolist()
                            + train[c].astype(object).unique().tolist())
                  for c in discrete}
    categories = {c: list(dict.fromkeys(v)) for c, v in categories.items()}
    y_train = (train[TARGET].astype(str) == POSITIVE).to_numpy()
    y_test = (test[TARGET].astype(str) == POSITIVE).to_numpy()
    if y_train.all() or not y_train.any():  # a synthesizer that lost a class
        return y_test, np.full(len(y_test), y_train[0])
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype",
                                         random_state=seed)
    clf.fit(_as_model_frame(train, discrete, categories), y_train)
    return y_test, clf.predict(_as_model_frame(test, discrete, categories))


def ml_efficacy(train, test, discrete, seed):
    y_test, pred = _predict(train, test, discrete, seed)
    return (accuracy_score(y_test, pred), f1_score(y_test, pred),
            f1_score(y_test, pred, average="macro"))


def label_agreement(real_train, synth, discrete, seed):
    """How often a classifier trained on real rows agrees with the synthetic rows' labels."""
    return ml_efficacy(real_train, synth, discrete, seed)[0]


def marginal_fidelity(synth, real, continuous, discrete):
    ks = [ks_2samp(synth[c].astype(float), real[c].astype(float)).statistic
          for c in continuous]
    tvd = []
    for c in discrete:
        p = synth[c].astype(object).value_counts(normalize=True)
        q = real[c].astype(object).value_counts(normalize=True)
        tvd.append(0.5 * p.subtract(q, fill_value=0.0).abs().sum())
    return float(np.mean(ks)), float(np.mean(tvd))


def _embedding(df, reference, continuous, discrete):
    """Continuous columns standardized by ``reference``, categorical ones one-hot."""
    out = [((df[c].astype(float) - reference[c].astype(float).mean())
            / reference[c].astype(float).std()).to_numpy()[:, None] for c in continuous]
    for c in discrete:
        levels = reference[c].astype(object).unique()
        out.append((df[c].astype(object).to_numpy()[:, None] == levels[None, :]).astype(float))
    return np.hstack(out)


def distance_to_closest_record(synth, real_train, continuous, discrete, n=3000, seed=0):
    """Median Euclidean distance from (up to ``n``) rows to their nearest training row.

    Embedding: standardized continuous columns, one-hot categorical ones. A
    synthesizer that copies training rows scores 0; real held-out rows give
    the reference (how far a fresh row from the same population is).
    """
    from sklearn.neighbors import NearestNeighbors

    rows = synth.sample(min(n, len(synth)), random_state=seed)
    train = _embedding(real_train, real_train, continuous, discrete)
    nn_ = NearestNeighbors(n_neighbors=1).fit(train)
    dist = nn_.kneighbors(_embedding(rows, real_train, continuous, discrete))[0]
    return float(np.median(dist))


def _cramers_v(a, b):
    table = pd.crosstab(a, b).to_numpy().astype(float)
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _correlation_ratio(cat, x):
    x = np.asarray(x, dtype=float)
    total = ((x - x.mean()) ** 2).sum()
    if total == 0:
        return 0.0
    groups = pd.Series(x).groupby(np.asarray(cat)).agg(["mean", "count"])
    between = (groups["count"] * (groups["mean"] - x.mean()) ** 2).sum()
    return float(np.sqrt(between / total))


def association_matrix(df, continuous, discrete):
    cols = continuous + discrete
    m = np.eye(len(cols))
    for i, a in enumerate(cols):
        for j in range(i + 1, len(cols)):
            b = cols[j]
            if a in continuous and b in continuous:
                r = spearmanr(df[a], df[b]).statistic
                v = 0.0 if np.isnan(r) else abs(r)
            elif a in discrete and b in discrete:
                v = _cramers_v(df[a].astype(object), df[b].astype(object))
            else:
                cat, num = (a, b) if a in discrete else (b, a)
                v = _correlation_ratio(df[cat].astype(object), df[num])
            m[i, j] = m[j, i] = v
    return m


def pairwise_gap(synth, real, continuous, discrete):
    a = association_matrix(synth, continuous, discrete)
    b = association_matrix(real, continuous, discrete)
    iu = np.triu_indices_from(a, k=1)
    return float(np.abs(a - b)[iu].mean())


# -- synthesizers ---------------------------------------------------------------

#: ``--free-bits``: VAETransformer's free_bits here (None: the estimator's default).
VAE_FREE_BITS = None
#: ``--init``: VAETransformer's init here (None: the estimator's default).
VAE_INIT = None
#: ``--vae-params``: more VAETransformer parameters (JSON), over the script's.
VAE_PARAMS = {}


def with_normal_prior(vae):
    """A copy of the fitted ``vae`` with ``N(0, I)`` as its prior (the same weights),
    drawing categories from the decoder's probabilities as they are (the category
    offsets of ``calibrate_categories`` were raked for the mixture prior)."""
    normal = copy.deepcopy(vae)
    normal.module_.set_latent_mixture()
    normal.latent_prior_ = None
    normal._category_offsets = None
    return normal


def fit_sample_vae(train, discrete, epochs, seed, batch_size, posterior_codes=False,
                   bandwidth="auto", normal=False):
    """Fit, then sample codes from the prior, or from the training rows' posteriors.

    The prior is the fitted model's (``prior="mixture"``, the default), or
    ``N(0, I)`` with ``normal``.
    """
    vae, fit_s = _fitted(("vae", epochs, seed, batch_size),
                         lambda: _vae(epochs, seed, batch_size).fit(train))
    if normal:
        vae = with_normal_prior(vae)
    t0 = time.perf_counter()
    extra = {"posterior_of": train, "bandwidth": bandwidth} if posterior_codes else {}
    synth = vae.sample(len(train), random_state=seed, **extra)
    return synth, fit_s, time.perf_counter() - t0


def fit_sample_vae_normal(train, discrete, epochs, seed, batch_size):
    """The ``sklearn_vae`` model (same seed, same weights), codes from N(0, I)."""
    return fit_sample_vae(train, discrete, epochs, seed, batch_size, normal=True)


def fit_sample_vae_posterior(train, discrete, epochs, seed, batch_size):
    """The ``sklearn_vae`` model (same seed, same weights), codes from the training rows."""
    return fit_sample_vae(train, discrete, epochs, seed, batch_size, posterior_codes=True)


def fit_sample_vae_posterior_bw0(train, discrete, epochs, seed, batch_size):
    """As ``sklearn_vae_posterior``, each row's posterior as it is (``bandwidth=0``)."""
    return fit_sample_vae(train, discrete, epochs, seed, batch_size, posterior_codes=True,
                          bandwidth=0.0)


def fit_sample_tvae(train, discrete, epochs, seed, batch_size):
    from ctgan import TVAE

    tvae = TVAE(epochs=epochs, batch_size=batch_size, enable_gpu=False)
    tvae.set_random_state(seed)  # ctgan's own seeding of its numpy and torch RNGs
    t0 = time.perf_counter()
    tvae.fit(train, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    synth = tvae.sample(len(train))
    return synth, fit_s, time.perf_counter() - t0


#: Fitted models by (kind, epochs, seed, batch size): the prior-code and
#: posterior-code lines of one seed sample the same fit (its fit time is
#: reported on both lines).
_FITS = {}


def _fitted(key, fit):
    """The model ``fit()`` returns and its fit seconds, fitted once per ``key``."""
    if key not in _FITS:
        _FITS.clear()  # one seed's models at a time
        t0 = time.perf_counter()
        model = fit()
        _FITS[key] = (model, time.perf_counter() - t0)
        print(f"  {key[0]} fitted: {model.n_iter_} epochs in {_FITS[key][1]:.1f} s",
              flush=True)
    return _FITS[key]


def _vae(epochs, seed, batch_size, **kwargs):
    extra = {} if VAE_FREE_BITS is None else {"free_bits": VAE_FREE_BITS}
    if VAE_INIT is not None:
        extra["init"] = VAE_INIT
    params = dict(
        n_components=32, hidden_layer_sizes=(128, 128), max_iter=epochs,
        batch_size=batch_size, learning_rate_init=2e-3, alpha=0.0, beta=0.5,
        early_stopping=False, device="cpu", random_state=seed, **extra, **kwargs,
    )
    params.update(VAE_PARAMS)
    if params.pop("_heteroscedastic", False):
        return _HeteroscedasticVAE(**params)
    return VAETransformer(**params)


class _HeteroscedasticVAE(VAETransformer):
    """Experiment (``--vae-params '{"_heteroscedastic": true}'``): the decoder
    predicts each continuous entry's noise variance, as VAEImputer's does."""

    def _module_options(self, layout, values, mask):
        return {**super()._module_options(layout, values, mask), "heteroscedastic": True}


#: The conditional model of the last fit_sample_cvae call (for the balance check).
LAST_CVAE = {}


def fit_sample_cvae(train, discrete, epochs, seed, batch_size, posterior_codes=False,
                    bandwidth="auto", normal=False):
    """Fit p(x | income); sample labels in their proportions, then rows given them.

    With ``posterior_codes``, each class's rows come from the posteriors of
    the training rows of that class (``sample(n_c, y=c, posterior_of=X_c)``).
    """
    X, y = train.drop(columns=TARGET), train[TARGET].astype(str).to_numpy()
    vae, fit_s = _fitted(("cvae", epochs, seed, batch_size),
                         lambda: _vae(epochs, seed, batch_size, conditional=True).fit(X, y))
    if normal:
        vae = with_normal_prior(vae)
    t0 = time.perf_counter()
    labels = vae.classes_[np.random.RandomState(seed).choice(
        len(vae.classes_), len(train), p=vae.class_prior_)]
    if posterior_codes:
        synth = pd.concat(
            [vae.sample(int((labels == c).sum()), random_state=seed + i, y=c,
                        posterior_of=X[y == c], bandwidth=bandwidth)
             for i, c in enumerate(vae.classes_)],
            ignore_index=True)
        labels = np.concatenate([labels[labels == c] for c in vae.classes_])
    else:
        synth = vae.sample(len(train), random_state=seed, y=labels)
    synth.insert(list(train.columns).index(TARGET), TARGET, labels)
    if not normal:
        LAST_CVAE.update(model=vae, seed=seed)
    return synth, fit_s, time.perf_counter() - t0


def fit_sample_cvae_normal(train, discrete, epochs, seed, batch_size):
    """The ``sklearn_vae_cond`` model (same seed, same weights), codes from N(0, I)."""
    return fit_sample_cvae(train, discrete, epochs, seed, batch_size, normal=True)


def fit_sample_cvae_posterior(train, discrete, epochs, seed, batch_size):
    """The ``sklearn_vae_cond`` model (same seed), codes from each class's training rows."""
    return fit_sample_cvae(train, discrete, epochs, seed, batch_size, posterior_codes=True)


def fit_sample_cvae_posterior_bw0(train, discrete, epochs, seed, batch_size):
    """As ``sklearn_vae_cond_posterior``, each row's posterior as it is (``bandwidth=0``)."""
    return fit_sample_cvae(train, discrete, epochs, seed, batch_size, posterior_codes=True,
                           bandwidth=0.0)


def balance_check(real_train, test, discrete, seed):
    """Ask the last conditional model for a 50/50 balance; what came back.

    Agreement: how often a classifier trained on the real training rows
    predicts the label each synthetic row was drawn for, with prior codes and
    with each class drawn from its training rows' posteriors (default
    bandwidth and ``bandwidth=0``). Real rows would score about the
    classifier's balanced accuracy on the real test rows (the mean of its
    recall on each class, which a 50/50 request weighs equally); its
    accuracy there is also reported.
    """
    vae = LAST_CVAE["model"]
    n = len(test)
    negative = next(c for c in vae.classes_ if c != POSITIVE)
    labels = np.where(np.arange(n) % 2 == 0, POSITIVE, negative).astype(object)
    position = list(real_train.columns).index(TARGET)
    X, y = real_train.drop(columns=TARGET), real_train[TARGET].astype(str).to_numpy()

    def agreement(synth, labels):
        synth.insert(position, TARGET, labels)
        return label_agreement(real_train, synth, discrete, seed)

    synth = vae.sample(n, random_state=seed, y=labels)
    got = float(np.mean(labels == POSITIVE))
    out = dict(seed=seed, requested_positive=0.5, sampled_positive=got,
               agreement=agreement(synth, labels),
               agreement_normal=agreement(with_normal_prior(vae).sample(
                   n, random_state=seed, y=labels), labels))
    for key, bandwidth in (("agreement_posterior", "auto"), ("agreement_posterior_bw0", 0.0)):
        parts = [vae.sample(int((labels == c).sum()), random_state=seed + i, y=c,
                            posterior_of=X[y == c], bandwidth=bandwidth)
                 for i, c in enumerate(vae.classes_)]
        drawn = np.concatenate([labels[labels == c] for c in vae.classes_])
        out[key] = agreement(pd.concat(parts, ignore_index=True), drawn)
    truth, pred = _predict(real_train, test, discrete, seed)
    out["real_test_accuracy"] = accuracy_score(truth, pred)
    out["real_test_balanced_accuracy"] = balanced_accuracy_score(truth, pred)
    return out


MODELS = {"sklearn_vae": fit_sample_vae, "sklearn_vae_normal": fit_sample_vae_normal,
          "sklearn_vae_posterior": fit_sample_vae_posterior,
          "sklearn_vae_posterior_bw0": fit_sample_vae_posterior_bw0,
          "sklearn_vae_cond": fit_sample_cvae,
          "sklearn_vae_cond_normal": fit_sample_cvae_normal,
          "sklearn_vae_cond_posterior": fit_sample_cvae_posterior,
          "sklearn_vae_cond_posterior_bw0": fit_sample_cvae_posterior_bw0,
          "TVAE": fit_sample_tvae}


def evaluate(name, synth, real_train, test, continuous, discrete, seed, fit_s, sample_s):
    acc, f1, macro = ml_efficacy(synth, test, discrete, seed)
    ks, tvd = marginal_fidelity(synth, test, continuous, discrete)
    pair = pairwise_gap(synth, test, continuous, discrete)
    dcr = distance_to_closest_record(synth, real_train, continuous, discrete, seed=seed)
    row = dict(model=name, seed=seed, accuracy=acc, f1=f1, macro_f1=macro, ks=ks,
               tvd=tvd, pairwise=pair, dcr=dcr, fit_s=fit_s, sample_s=sample_s)
    print(f"  {name:12s} acc={acc:.3f} f1={f1:.3f} macro-f1={macro:.3f} ks={ks:.3f} "
          f"tvd={tvd:.3f} "
          f"pair={pair:.3f} dcr={dcr:.3f} fit={fit_s:.1f}s sample={sample_s:.2f}s",
          flush=True)
    return row


def summarize(rows):
    keys = ["accuracy", "f1", "macro_f1", "ks", "tvd", "pairwise", "dcr", "fit_s",
            "sample_s"]
    out = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        sub = [r for r in rows if r["model"] == name]
        out[name] = {k: (float(np.mean([r[k] for r in sub if k in r])),
                         float(np.std([r[k] for r in sub if k in r]))) for k in keys}
    real = {r["seed"]: r for r in rows if r["model"] == "real (train rows)"}
    for name in out:
        sub = [r for r in rows if r["model"] == name and r["seed"] in real]
        for k in ("accuracy", "macro_f1"):
            ratios = [r[k] / real[r["seed"]][k] for r in sub]
            out[name][k + "_ratio"] = (float(np.mean(ratios)), float(np.std(ratios)))
    return out


def to_markdown(summary, args, n_train, n_test):
    fmt = {"accuracy": 3, "f1": 3, "macro_f1": 3, "accuracy_ratio": 3,
           "macro_f1_ratio": 3, "ks": 3, "tvd": 3, "pairwise": 3, "dcr": 2, "fit_s": 1,
           "sample_s": 2}
    lines = [
        f"{TABLE_TITLE[args.table]}: {n_train} training rows, {n_test} real test rows, "
        f"{args.epochs} epochs, "
        f"batch {args.batch_size}, seeds {args.seeds}; mean ± std over seeds. "
        "Accuracy / F1: HistGradientBoostingClassifier trained on the rows of each "
        "line, tested on real held-out rows (higher is better). KS (continuous) and "
        "TVD (categorical): marginal distance to the real test rows; pairwise: mean "
        "|difference| of association matrices (|Spearman|, correlation ratio, "
        "Cramer's V); lower is better. Ratios: synthetic / real-rows accuracy and "
        "macro-F1 of the same seed (the efficacy ratio; target >= 0.975); KS and TVD "
        "are SDMetrics' column-shape errors (target <= 0.02). DCR: median distance "
        "from a synthetic row to its closest training row (standardized continuous "
        "columns, one-hot categorical ones; 3000 rows): 0 for copies; "
        f"real held-out rows: {args.dcr_test:.2f}. "
        "`sklearn_vae` and `sklearn_vae_cond` draw prior codes, `sample(n)`, from the "
        "model's default prior, a Gaussian mixture fitted to the training rows' codes "
        "(`prior='mixture'`); the `_normal` lines sample the same models (same seed, "
        "same weights) with N(0, I) as their prior. "
        "`sklearn_vae_posterior`: the `sklearn_vae` model "
        "sampled with `sample(n, posterior_of=train)`, codes from the training rows' "
        "posteriors instead of the prior; `sklearn_vae_cond_posterior` likewise for "
        "`sklearn_vae_cond`, each class drawn from its own training rows' posteriors "
        "(`sample(n_c, y=c, posterior_of=X[labels == c])`). Both at `sample`'s default "
        "`bandwidth='auto'`: each row's posterior widened by the kernel whose mixture "
        "gives the rows' own codes the best leave-one-out likelihood; the `_bw0` "
        "lines sample the same models with `bandwidth=0` (each row's posterior as "
        "it is: closer to single training rows).",
        "",
        "| data | accuracy | F1 | macro-F1 | accuracy ratio | macro-F1 ratio | KS | TVD "
        "| pairwise | DCR | fit (s) | sample (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, stats in summary.items():
        cells = []
        for k, d in fmt.items():
            mean, std = stats[k]
            if name == "real (train rows)" and k in ("fit_s", "sample_s"):
                cells.append("—")
            else:
                cells.append(f"{mean:.{d}f} ± {std:.{d}f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _warm_up_torch():
    """Pay torch's one-time lazy imports (the first optimizer step pulls in
    torch._dynamo, ~2 s) before any timed fit, so neither model is charged."""
    param = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([param])
    param.sum().backward()
    optimizer.step()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300,
                        help="for both models (300: TVAE's default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=None,
                        help="subsample this many training rows (default: all)")
    parser.add_argument("--batch-size", type=int, default=250, help="for both models")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--cond-bandwidths", type=float, nargs="*", default=[],
                        help="also sample the conditional model's per-class posterior "
                             "codes at these bandwidth multiples (lines "
                             "sklearn_vae_cond_posterior_b<b>): the fidelity / distance "
                             "trade-off")
    parser.add_argument("--quick", action="store_true",
                        help="3 epochs, seed 0, 5000 training rows (smoke test)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--out", default="synth")
    parser.add_argument("--free-bits", type=float, default=None,
                        help="VAETransformer free_bits (default: the estimator's)")
    parser.add_argument("--init", choices=["pca", "random"], default=None,
                        help="VAETransformer init (default: the estimator's)")
    parser.add_argument("--vae-params", type=json.loads, default={},
                        help='more VAETransformer parameters, JSON (e.g. '
                             '\'{"max_steps": 30000}\')')
    parser.add_argument("--table", choices=list(TABLES), default="adult",
                        help="adult (the report table) or campaign (bank marketing, "
                             "the tuning table)")
    args = parser.parse_args(argv)
    global VAE_FREE_BITS, VAE_INIT, VAE_PARAMS, TARGET, POSITIVE
    VAE_FREE_BITS, VAE_INIT, VAE_PARAMS = args.free_bits, args.init, args.vae_params
    loader, TARGET, POSITIVE = TABLES[args.table]
    if args.quick:
        args.epochs, args.seeds, args.n_train = 3, [0], 5000
        if args.out == "synth":
            args.out = "synth_quick"
    torch.set_num_threads(args.threads)
    _warm_up_torch()
    # Adam imports torch._dynamo on first use (seconds): keep it out of the timings.
    importlib.import_module("torch._dynamo")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    df, continuous, discrete = loader()
    train_full, test = train_test_split(df, test_size=0.2, random_state=0,
                                        stratify=df[TARGET])
    train_full, test = train_full.reset_index(drop=True), test.reset_index(drop=True)
    if args.n_train and args.n_train < len(train_full):
        train_full = train_full.sample(args.n_train, random_state=0).reset_index(drop=True)
    print(f"{args.table}: {len(train_full)} train rows, {len(test)} test rows, "
          f"{args.epochs} epochs, seeds {args.seeds}", flush=True)

    rows, balance = [], []
    for seed in args.seeds:
        print(f"seed {seed}", flush=True)
        rows.append(evaluate("real (train rows)", train_full, train_full, test,
                             continuous, discrete, seed, 0.0, 0.0))
        for b in args.cond_bandwidths:
            synth, fit_s, sample_s = fit_sample_cvae(
                train_full, discrete, args.epochs, seed, args.batch_size,
                posterior_codes=True, bandwidth=b)
            rows.append(evaluate(f"sklearn_vae_cond_posterior_b{b:g}", synth, train_full,
                                 test, continuous, discrete, seed, fit_s, sample_s))
        for name in args.models:
            synth, fit_s, sample_s = MODELS[name](train_full, discrete, args.epochs,
                                                  seed, args.batch_size)
            rows.append(evaluate(name, synth, train_full, test, continuous, discrete,
                                 seed, fit_s, sample_s))
            if name == "sklearn_vae_cond":  # the balance check samples it every way
                check = balance_check(train_full, test, discrete, seed)
                balance.append(check)
                print(f"  50/50 request: {check['sampled_positive']:.3f} positive; a "
                      f"real-trained classifier agrees with {check['agreement']:.3f} of "
                      f"the labels ({check['agreement_normal']:.3f} with N(0, I) codes, "
                      f"{check['agreement_posterior']:.3f} / "
                      f"{check['agreement_posterior_bw0']:.3f} with posterior codes; "
                      f"its balanced accuracy on real test rows: "
                      f"{check['real_test_balanced_accuracy']:.3f})", flush=True)
    summary = summarize(rows)
    args.dcr_test = distance_to_closest_record(test, train_full, continuous, discrete)
    table = to_markdown(summary, args, len(train_full), len(test))
    if balance:
        table += (
            "\nConditional sampling (`sklearn_vae_cond`), asked for a 50/50 class "
            "balance (as many rows as the test set): share of >50K rows returned, and "
            "how often a HistGradientBoostingClassifier trained on the real training "
            "rows predicts the label each row was drawn for: with prior codes "
            "(`sample(n, y=labels)`: the default mixture prior, and N(0, I) for the "
            "same model), and with each class drawn from its training "
            "rows' posteriors (`posterior_of`, default bandwidth and 0). Real rows "
            "would agree about as often as the classifier's balanced accuracy on the "
            "real test rows (a 50/50 request weighs its recall on each class "
            "equally); its plain accuracy there is given too.\n\n"
            "| seed | requested >50K | returned >50K | agrees, prior | agrees, N(0, I) "
            "| agrees, posterior | agrees, posterior bw=0 | real test rows: balanced "
            "accuracy | accuracy |\n|---|---|---|---|---|---|---|---|---|\n"
            + "".join(f"| {b['seed']} | {b['requested_positive']:.3f} | "
                      f"{b['sampled_positive']:.3f} | {b['agreement']:.3f} | "
                      f"{b.get('agreement_normal', float('nan')):.3f} | "
                      f"{b['agreement_posterior']:.3f} | "
                      f"{b['agreement_posterior_bw0']:.3f} | "
                      f"{b['real_test_balanced_accuracy']:.3f} | "
                      f"{b['real_test_accuracy']:.3f} |\n" for b in balance))
    print()
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = dict(epochs=args.epochs, seeds=args.seeds, n_train=len(train_full),
                n_test=len(test), batch_size=args.batch_size,
                torch_threads=torch.get_num_threads(), machine=platform.machine(),
                python=platform.python_version())
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        dict(meta=meta, summary=summary, runs=rows, balance=balance), indent=2))
    (RESULTS / f"{args.out}.md").write_text(table)


if __name__ == "__main__":
    main()

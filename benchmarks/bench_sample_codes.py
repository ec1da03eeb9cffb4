"""Prior codes vs posterior codes for ``sample``: marginals on small tables.

For each table (breast cancer, wine, diabetes from scikit-learn; concrete,
banknote and red wine from ``../shared/data/impute/``) and seed: a 70/30
split, a ``VAETransformer`` fit on the 70%, then as many rows as the 30%
drawn from prior codes, ``sample(n)`` (the default ``prior="mixture"``: a
Gaussian mixture fitted to the training rows' codes; and the same fit with
``N(0, I)`` as its prior) and from posterior codes,
``sample(n, posterior_of=train)`` (the training rows'
posteriors). Also the test rows' mean log-likelihood (``score``) with
either prior. Reported per table: the mean Kolmogorov-Smirnov statistic
between each column's synthetic and held-out values (the training rows give
the sampling-noise floor), and DCR, the median distance from a synthetic row
to its closest training row in standardized units (held-out rows for
reference; 0 would be copies).

Usage::

    python benchmarks/bench_sample_codes.py                          # defaults
    python benchmarks/bench_sample_codes.py --beta 0.5 --n-components 16 \\
        --out sample_codes_beta05

Writes ``benchmarks/results/<out>.{json,md}`` (default ``sample_codes``).
"""

import argparse
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
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from sklearn_vae import VAETransformer
from sklearn_vae._kde import BANDWIDTH_GRID, SmoothedPosterior, _mixture_loglik
from sklearn_vae._prior import fit_latent_mixture, posterior_draws

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def tables():
    folder = Path(os.environ.get("SKLEARN_VAE_DATA", ROOT.parent / "shared" / "data"))
    folder = folder / "impute"
    out = {"breast_cancer": load_breast_cancer().data, "wine": load_wine().data,
           "diabetes": load_diabetes().data}
    if (folder / "concrete.csv").exists():
        out["concrete"] = pd.read_csv(folder / "concrete.csv").to_numpy()
        out["banknote"] = pd.read_csv(folder / "banknote.csv").drop(columns="Y").to_numpy()
        out["winered"] = pd.read_csv(folder / "winequality-red.csv").to_numpy()
    else:
        warnings.warn(f"no UCI tables under {folder}; scikit-learn's only", stacklevel=1)
    return out


def mean_ks(S, T):
    return float(np.mean([ks_2samp(S[:, j], T[:, j]).statistic for j in range(T.shape[1])]))


def bandwidth_check(vae, train, test, seed):
    """The chosen bandwidth, the leave-one-out curve, and the held-out rows' curve.

    The held-out curve scores one posterior draw of each held-out row's code
    under the mixture of the training rows' widened components, at each
    bandwidth of the grid: what the leave-one-out criterion stands in for.
    """
    codes = SmoothedPosterior(*vae._posterior_codes(vae._validate_for_inference(train)), seed)
    mu_t, sd_t = vae._posterior_codes(vae._validate_for_inference(test))
    loo = codes.leave_one_out_curve()
    z = mu_t + sd_t * np.random.RandomState(seed).standard_normal(mu_t.shape)
    ref = codes.components
    radius = codes.radius(ref)
    held = np.array([_mixture_loglik(z, codes.mu[ref], codes._variance(ref, radius, b))
                     for b in BANDWIDTH_GRID])
    return codes.select(), loo, held


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--n-components", type=int, default=5,
                        help="latent size (capped by the number of columns)")
    parser.add_argument("--init", choices=["pca", "random"], default=None,
                        help="VAETransformer init (default: the estimator's)")
    parser.add_argument("--out", default="sample_codes")
    args = parser.parse_args(argv)
    extra = {} if args.init is None else {"init": args.init}
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    records = []
    for name, X in tables().items():
        for seed in args.seeds:
            train, test = train_test_split(X, test_size=0.3, random_state=seed)
            t0 = time.perf_counter()
            vae = VAETransformer(n_components=min(args.n_components, X.shape[1]),
                                 beta=args.beta, random_state=seed, **extra).fit(train)
            fit_s = time.perf_counter() - t0
            prior = vae.sample(len(test), random_state=seed)  # the default: mixture prior
            normal = with_normal_prior(vae)
            normal_rows = normal.sample(len(test), random_state=seed)
            t0 = time.perf_counter()
            values, mask = vae.schema_.encode(train)
            fit_latent_mixture(posterior_draws(vae.module_, values, mask, 0), 0)
            mixture_s = time.perf_counter() - t0
            post = vae.sample(len(test), random_state=seed, posterior_of=train, bandwidth=0.0)
            t0 = time.perf_counter()
            auto = vae.sample(len(test), random_state=seed, posterior_of=train)
            auto_s = time.perf_counter() - t0
            h_auto, loo, held = bandwidth_check(vae, train, test, seed)
            scaler = StandardScaler().fit(train)
            nearest = NearestNeighbors(n_neighbors=1).fit(scaler.transform(train))

            def dcr(S, scaler=scaler, nearest=nearest):
                return float(np.median(nearest.kneighbors(scaler.transform(S))[0]))

            rec = dict(table=name, seed=seed, fit_s=fit_s, auto_s=auto_s, mixture_s=mixture_s,
                       mixture_size=0 if vae.latent_prior_ is None
                       else vae.latent_prior_.n_components,
                       mixture_diagonal=float(vae.latent_prior_ is not None and
                                              vae.latent_prior_.covariance_type == "diag"),
                       loglik_normal=normal.score(test), loglik_mixture=vae.score(test),
                       ks_normal=mean_ks(normal_rows, test), dcr_normal=dcr(normal_rows),
                       bandwidth=h_auto, loo_curve=loo.tolist(), heldout_curve=held.tolist(),
                       heldout_gain=float(held[list(BANDWIDTH_GRID).index(h_auto)] - held[0]),
                       heldout_best=float(BANDWIDTH_GRID[int(np.argmax(held))]),
                       ks_train=mean_ks(train, test), ks_prior=mean_ks(prior, test),
                       ks_posterior=mean_ks(post, test), ks_auto=mean_ks(auto, test),
                       dcr_test=dcr(test), dcr_prior=dcr(prior), dcr_posterior=dcr(post),
                       dcr_auto=dcr(auto))
            records.append(rec)
            print(f"{name:14s} seed {seed}: mixture of {rec['mixture_size']} "
                  f"{'diagonal' if rec['mixture_diagonal'] else 'full'} "
                  f"({mixture_s:.2f} s), held-out log-lik N(0, I) "
                  f"{rec['loglik_normal']:.2f} mixture {rec['loglik_mixture']:.2f}; KS N(0, I) "
                  f"{rec['ks_normal']:.3f} DCR {rec['dcr_normal']:.2f}", flush=True)
            print(f"{name:14s} seed {seed}: KS prior {rec['ks_prior']:.3f} posterior "
                  f"{rec['ks_posterior']:.3f} auto {rec['ks_auto']:.3f} (h={h_auto:.3f}; "
                  f"held-out rows' best h {rec['heldout_best']:.3f}) (train rows "
                  f"{rec['ks_train']:.3f}); DCR held-out {rec['dcr_test']:.2f} prior "
                  f"{rec['dcr_prior']:.2f} posterior {rec['dcr_posterior']:.2f} auto "
                  f"{rec['dcr_auto']:.2f}", flush=True)
    df = pd.DataFrame(records)
    per = df.groupby("table", sort=False).mean(numeric_only=True)
    cols = ["ks_train", "ks_normal", "ks_prior", "ks_posterior", "ks_auto", "dcr_test",
            "dcr_normal", "dcr_prior", "dcr_posterior", "dcr_auto", "bandwidth",
            "heldout_best", "heldout_gain"]
    prior_cols = ["mixture_size", "mixture_diagonal", "loglik_normal", "loglik_mixture",
                  "mixture_s", "fit_s"]
    init = "" if args.init is None else f", init={args.init!r}"
    lines = [f"`VAETransformer(n_components=min({args.n_components}, d), beta={args.beta}"
             f"{init})`, "
             f"70/30 splits, seeds {args.seeds}; mean KS of each column's synthetic vs "
             "held-out values (lower is better; train rows = sampling-noise floor); DCR: "
             "median distance to the closest training row, standardized units. Codes: "
             "posterior = `sample(n, posterior_of=train, "
             "bandwidth=0)`; auto = `sample(n, posterior_of=train)` (the bandwidth with "
             "the best leave-one-out likelihood of the training rows' codes; its mean "
             "is h). Held-out check: the bandwidth whose mixture of training-row "
             "components gives the held-out rows' codes the best likelihood (best h), "
             "and the nats per row gained by the chosen h over h=0 on those codes. "
             "Prior codes: N(0, I) = the same fit with `prior=\"normal\"`'s N(0, I); "
             "prior = `sample(n)` with the default `prior=\"mixture\"` (a Gaussian "
             "mixture fitted to the training rows' codes).", "",
             "| table | KS train rows | KS N(0, I) | KS prior | KS posterior | KS auto "
             "| DCR held-out | DCR N(0, I) | DCR prior | DCR posterior | DCR auto | h "
             "| best h, held-out | gain, nats | fit s | auto sample s |",
             "|---|" + "---:|" * 15]
    for name, row in per.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in cols)
                     + f" | {row['fit_s']:.1f} | {row['auto_s']:.2f} |")
    lines.append("| **mean** | " + " | ".join(f"{per[c].mean():.3f}" for c in cols)
                 + f" | {per['fit_s'].mean():.1f} | {per['auto_s'].mean():.2f} |")
    lines += ["", "The prior of `sample(n)` and `score_samples`: mean mixture size (0 = "
              "the held-out codes chose N(0, I)), the share of fits whose mixture has "
              "diagonal covariances, mean held-out log-likelihood "
              "(`score`, the test rows) with N(0, I) and with the mixture, the seconds "
              "the mixture's choice and fit take (included in fit s).", "",
              "| table | mixture size | diagonal | log-lik N(0, I) | log-lik mixture "
              "| mixture s | fit s |", "|---|" + "---:|" * 6]
    for name, row in per.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in prior_cols) + " |")
    lines.append("| **mean** | " + " | ".join(f"{per[c].mean():.2f}" for c in prior_cols)
                 + " |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(
        {"settings": vars(args), "records": records}, indent=2))
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Does ``sample(posterior_of=..., bandwidth="auto")`` pick a good kernel? Adult, in data space.

``bandwidth="auto"`` chooses the kernel multiple by the leave-one-out
likelihood of the rows' *codes*. What it stands for is the generative
model's fit to unseen *rows*: the log-likelihood of held-out rows under
``p(x) = integral of p_b(z) p(x | z) dz``, where ``p_b`` is the smoothed
aggregate posterior of the training rows at multiple ``b`` (the mixture the
rows are drawn from) instead of ``N(0, I)``. This benchmark computes that
curve on Adult with the synthesis benchmark's model (``bench_synth.py``:
``n_components=32``, ``beta=0.5``, 10,000 steps) for one seed:

- held-out rows: 300 real test rows; the training rows' mixture as the prior;
- leave-one-out rows: 300 training rows, each scored under the mixture of
  the other training rows' components;
- each row's ``log p(x)`` by importance sampling with the model's
  ``n_importance_samples`` draws from ``q(z | x)`` (as ``score_samples``),
  the prior term replaced by the mixture's log-density; encoded units (the
  same rows at every ``b``, so the curves compare);
- alongside: the code-space leave-one-out curve ``auto`` maximizes, its
  choice, and the same rows under the ``N(0, I)`` prior.

Usage::

    python benchmarks/bench_kernel_likelihood.py --seed 0

Writes ``benchmarks/results/<out>.{json,md}`` (default ``kernel_likelihood``).
Needs ``../shared/data/mixed/adult.csv``.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from bench_synth import TARGET, _vae, load_adult
from sklearn.model_selection import train_test_split

from sklearn_vae._kde import BANDWIDTH_GRID, SmoothedPosterior, mixture_log_density

RESULTS = Path(__file__).resolve().parent / "results"
MULTIPLES = [0.0, 0.25, 0.354, 0.5, 0.707, 1.0, 1.414, 2.0, 2.828, 4.0]


def importance_terms(vae, frame, eps):
    """Per row and draw: ``log p(x|z) - log q(z|x)`` and the draw ``z`` (float64)."""
    X = vae._validate_for_inference(frame)
    log_w = np.asarray(vae._importance(X, lambda log_w, *_: log_w.T, need_columns=False,
                                       need_params=False), dtype=np.float64)
    mu, sd = vae._posterior_codes(X)
    z = mu[:, None, :] + eps[None] * sd[:, None, :]
    return log_w - log_normal(z), z  # log_w holds log N(z; 0, I): take it out


def log_normal(z):
    """log N(z; 0, I) over the last axis."""
    return -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * np.log(2 * np.pi)


def mixture_log_density_at_draws(z, mu, var, exclude=None):
    """:func:`sklearn_vae._kde.mixture_log_density` at every draw ``z[j, k]``;
    ``exclude[j]`` leaves row ``j``'s component out for all its draws."""
    n, draws, k = z.shape
    left_out = None if exclude is None else np.repeat(exclude, draws)
    return mixture_log_density(z.reshape(-1, k), mu, var, left_out).reshape(n, draws)


def mean_log_px(terms, log_prior):
    log_w = terms + log_prior
    top = log_w.max(1, keepdims=True)
    return float(np.mean(top[:, 0] + np.log(np.exp(log_w - top).mean(1))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=300, help="rows scored per curve")
    parser.add_argument("--out", default="kernel_likelihood")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    df, _, _ = load_adult()
    train, test = train_test_split(df, test_size=0.2, random_state=0, stratify=df[TARGET])
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    t0 = time.perf_counter()
    vae = _vae(300, args.seed, 250).fit(train)
    print(f"fitted in {time.perf_counter() - t0:.1f} s", flush=True)

    mu, sd = vae._posterior_codes(vae._validate_for_inference(train))
    codes = SmoothedPosterior(mu, sd, args.seed)
    chosen = codes.select()
    code_curve = codes.leave_one_out_curve()
    radius = codes.radius(np.arange(len(mu)))
    eps = vae._shared_noise("cpu", torch.float32).numpy().astype(np.float64)
    rng = np.random.RandomState(args.seed)
    left_out = rng.choice(len(train), args.rows, replace=False)
    held_out = rng.choice(len(test), args.rows, replace=False)
    terms_loo, z_loo = importance_terms(vae, train.iloc[left_out], eps)
    terms_test, z_test = importance_terms(vae, test.iloc[held_out], eps)
    rows = [dict(multiple="N(0, I)", loo=mean_log_px(terms_loo, log_normal(z_loo)),
                 test=mean_log_px(terms_test, log_normal(z_test)))]
    for b in MULTIPLES:
        var = codes._variance(np.arange(len(mu)), radius, b)
        rows.append(dict(
            multiple=b,
            loo=mean_log_px(terms_loo, mixture_log_density_at_draws(z_loo, mu, var, left_out)),
            test=mean_log_px(terms_test, mixture_log_density_at_draws(z_test, mu, var))))
        print(f"b={b}: leave-one-out rows {rows[-1]['loo']:.2f}, test rows "
              f"{rows[-1]['test']:.2f}", flush=True)
    lines = [
        f"Adult, `bench_synth.py`'s model, seed {args.seed}: mean log p(x) (encoded "
        f"units, nats per row, {args.rows} rows each) with the smoothed aggregate "
        "posterior of the training rows at multiple b as the prior, for real test rows "
        "and for training rows left out of the mixture; the first line uses N(0, I). "
        f"`bandwidth='auto'` (code-space leave-one-out) chose b = {chosen:.3f}.", "",
        "| prior | leave-one-out training rows | test rows |", "|---|---:|---:|"]
    for r in rows:
        name = r["multiple"] if isinstance(r["multiple"], str) else f"b = {r['multiple']}"
        lines.append(f"| {name} | {r['loo']:.2f} | {r['test']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(dict(
        seed=args.seed, chosen=chosen, rows=rows,
        code_curve=dict(zip(map(float, BANDWIDTH_GRID), map(float, code_curve)))), indent=2))
    (RESULTS / f"{args.out}.md").write_text(text)


if __name__ == "__main__":
    main()

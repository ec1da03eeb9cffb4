"""What the defaults cost: seconds and memory of the estimators, side by side (issue 10).

Every section runs in its own subprocess (so peak RSS and the memory held
after a call belong to that section alone) on one torch thread, with the
estimators' DEFAULT parameters unless stated:

- ``grid``: ``GridSearchCV(VAETransformer(), {"n_components": [2, 5],
  "beta": [0.5, 1.0]}, cv=3)`` on the breast-cancer train split (426 rows).
- ``defaults``: one default fit of each estimator on breast cancer (569 x 30),
  diabetes (442 x 10) and digits (1797 x 64): seconds, ``n_iter_`` against
  ``max_iter`` (did early stopping fire?).
- ``impute``: ``VAEImputer()`` vs ``IterativeImputer()`` ``fit_transform`` on
  breast cancer with 30% MCAR, on a white-wine-sized 4898 x 11 table with 50%
  MCAR (the red-wine table of ``../shared/data/impute/`` tiled to 4898 rows,
  each copy jittered by 1% of each column's standard deviation; near-copies
  a model can memorize), on a 4898 x 11 table sampled from a Gaussian
  mixture fit to red wine (no near-copies) and on
  20,000 x 16 generated rows (tanh of a rank-4 signal plus noise) with 50%
  MCAR: seconds and RMSE on the removed entries (standardized units).
- ``score_1m``: ``score_samples`` and ``transform`` of a ``VAETransformer`` on
  1,000,000 x 50 generated rows: seconds, peak RSS increase during the call,
  RSS still held after it. The model is fit on 20,000 of the rows with
  ``max_iter=20`` (the cost of scoring does not depend on the weights).
- ``outlier``: ``VAEOutlierDetector()`` fit + score vs ``IsolationForest()``
  on ADBench ALOI (49,534 x 27, standardized): seconds and ROC-AUC.
- ``scale_200k``: on 200,000 x 30 generated rows, a default
  ``VAETransformer().fit`` and ``score_samples``: seconds, the ratio, and the
  peak RSS increase of scoring.

Fits that would run past ``--time-limit`` seconds are stopped there (a skorch
callback ends training at the end of that epoch, the estimator keeps the best
weights so far) and flagged ``time_limited`` in the results, never hidden.

``--quick`` is a smoke run (small sizes, ``max_iter`` capped, about 1.5
minutes); the full run takes about 17 minutes on the 2-core CPU of the
reports with today's training defaults (22 minutes with ``--time-limit 240``),
most of it in the default ``VAEImputer`` fits. Results go to
``benchmarks/results/cost.json`` and ``cost.md`` (``--out`` to change).

Usage::

    python benchmarks/bench_cost.py                  # full run
    python benchmarks/bench_cost.py --quick          # smoke run, ~1-2 minutes
    python benchmarks/bench_cost.py --sections score_1m scale_200k
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SECTIONS = ("grid", "defaults", "impute", "score_1m", "outlier", "scale_200k")


def data_dir():
    default = ROOT.parent / "shared" / "data"
    return Path(os.environ.get("SKLEARN_VAE_DATA", default))


# -- measurement helpers ----------------------------------------------------------

def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak():
    """Reset the kernel's peak-RSS counter (VmHWM) of this process (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim_heap():
    """Give freed heap memory back to the OS (glibc), so RSS counts live memory only."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(fn):
    """``fn()`` -> (result, seconds, peak RSS increase MB, RSS held after MB).

    Freed memory still mapped by the allocator (e.g. from an earlier fit) is
    returned first, so the increase is what the call itself needs; "held
    after" is measured without trimming, as a user would see it.
    """
    import gc

    gc.collect()
    _trim_heap()
    exact = _reset_peak()
    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peak = _status_mb("VmHWM") if exact else float("nan")
    after = _status_mb("VmRSS")
    return result, seconds, peak - before, after - before


def time_limited(cls, limit):
    """``cls`` whose training stops at the end of the epoch that passes ``limit`` s."""
    from skorch.callbacks import Callback

    from sklearn_vae._training._callbacks import StopTraining

    class TimeLimit(Callback):
        def on_train_begin(self, net, **kwargs):
            self.start_, self.hit_ = time.perf_counter(), False

        def on_epoch_end(self, net, **kwargs):
            if time.perf_counter() - self.start_ > limit:
                self.hit_ = True
                raise StopTraining  # ends fit() normally (a bare Ctrl-C would propagate)

    class Limited(cls):
        def _extra_callbacks(self, max_epochs, *args, **kwargs):
            return [*super()._extra_callbacks(max_epochs, *args, **kwargs),
                    ("time_limit", TimeLimit())]

    Limited.__name__ = Limited.__qualname__ = cls.__name__
    return Limited


def hit_limit(est):
    for name, cb in getattr(est.net_, "callbacks_", []):
        if name == "time_limit":
            return bool(getattr(cb, "hit_", False))
    return False


def make_lowrank(n, d, seed=0, rank=4, block=100_000):
    """tanh of a rank-``rank`` signal plus 0.1 noise, generated by blocks (float64)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rank, d))
    X = np.empty((n, d))
    for s in range(0, n, block):
        m = min(n, s + block) - s
        X[s:s + m] = np.tanh(rng.standard_normal((m, rank)) @ w)
        X[s:s + m] += 0.1 * rng.standard_normal((m, d))
    return X


def mcar(X, rate, seed):
    rng = np.random.RandomState(seed)
    miss = rng.uniform(size=X.shape) < rate
    miss[miss.all(axis=1), 0] = False  # keep one entry of each row
    Xm = X.copy()
    Xm[miss] = np.nan
    return Xm, miss


# -- sections ---------------------------------------------------------------------

def section_grid(args):
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import GridSearchCV, train_test_split

    from sklearn_vae import VAETransformer

    X, y = load_breast_cancer(return_X_y=True)
    X_train, _ = train_test_split(X, test_size=0.25, random_state=0, stratify=y)
    params = {} if not args.quick else {"max_iter": 5}
    grid = GridSearchCV(VAETransformer(random_state=0, **params),
                        {"n_components": [2, 5], "beta": [0.5, 1.0]}, cv=3)
    _, seconds, _, _ = measure(lambda: grid.fit(X_train))
    return {"rows": len(X_train), "fits": 13, "seconds": seconds,
            "best_params": grid.best_params_, "max_iter_cap": params.get("max_iter")}


def _tables():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

    return {
        "breast_cancer": load_breast_cancer().data,
        "diabetes": load_diabetes().data,
        "digits": load_digits().data.astype(np.float64),
    }


def section_defaults(args):
    from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

    rows = []
    for name, X in _tables().items():
        for cls in (VAETransformer, VAEOutlierDetector, VAEImputer):
            params = {"random_state": 0}
            if args.quick:
                params["max_iter"] = 5
            est = time_limited(cls, args.time_limit)(**params)
            _, seconds, _, _ = measure(lambda est=est, X=X: est.fit(X))
            rows.append({
                "data": name, "shape": list(X.shape), "estimator": cls.__name__,
                "seconds": seconds, "n_iter": int(est.n_iter_), "max_iter": est.max_iter,
                "early_stopping": est.early_stopping,
                "stopped_before_max_iter": int(est.n_iter_) < est.max_iter,
                "time_limited": hit_limit(est),
            })
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _wine_like(n_rows, jitter=0.01, seed=0):
    import pandas as pd

    red = (pd.read_csv(data_dir() / "impute" / "winequality-red.csv")
           .drop(columns="quality").to_numpy(float))
    reps = -(-n_rows // len(red))
    rng = np.random.default_rng(seed)
    tiled = np.tile(red, (reps, 1))[:n_rows]
    extra = max(0, n_rows - len(red))
    tiled[n_rows - extra:] += jitter * red.std(axis=0) * rng.standard_normal(
        (extra, red.shape[1]))
    return tiled


def _wine_resampled(n_rows, seed=0):
    """Red-wine-like rows without near-duplicates: a Gaussian mixture fit to
    the (standardized) red-wine table, sampled ``n_rows`` times. The tiled
    table keeps jittered copies of every row, which a model can memorize;
    this one has none."""
    import pandas as pd
    from sklearn.mixture import GaussianMixture

    red = (pd.read_csv(data_dir() / "impute" / "winequality-red.csv")
           .drop(columns="quality").to_numpy(float))
    mean, std = red.mean(axis=0), red.std(axis=0)
    gmm = GaussianMixture(n_components=8, covariance_type="full", random_state=seed)
    gmm.fit((red - mean) / std)
    sampled, _ = gmm.sample(n_rows)
    rows = np.random.default_rng(seed).permutation(n_rows)
    return sampled[rows] * std + mean


def section_impute(args):
    from sklearn.datasets import load_breast_cancer
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    from sklearn_vae import VAEImputer

    n_large = 2_000 if args.quick else 20_000
    n_wine = 1_000 if args.quick else 4_898
    tasks = [
        ("breast_cancer 30% MCAR", load_breast_cancer().data, 0.3),
        (f"wine-like {n_wine}x11 50% MCAR", _wine_like(n_wine), 0.5),
        (f"wine GMM-resampled {n_wine}x11 50% MCAR", _wine_resampled(n_wine), 0.5),
        (f"generated {n_large}x16 50% MCAR", make_lowrank(n_large, 16, seed=1), 0.5),
    ]
    rows = []
    for name, X, rate in tasks:
        Xm, miss = mcar(X, rate, seed=0)
        scale = np.nanstd(X, axis=0)
        params = {"random_state": 0}
        if args.quick:
            params["max_iter"] = 5
        for label, est in [
            ("VAEImputer()", time_limited(VAEImputer, args.time_limit)(**params)),
            ("IterativeImputer()", IterativeImputer(random_state=0)),
        ]:
            Xt, seconds, _, _ = measure(lambda est=est, Xm=Xm: est.fit_transform(Xm))
            err = (Xt[miss] - X[miss]) / np.broadcast_to(scale, X.shape)[miss]
            rows.append({
                "task": name, "shape": list(X.shape), "missing_rate": float(miss.mean()),
                "method": label, "seconds": seconds, "rmse": float(np.sqrt(np.mean(err ** 2))),
                "n_iter": int(getattr(est, "n_iter_", 0)),
                "max_iter": int(getattr(est, "max_iter", 0)),
                "time_limited": hit_limit(est) if hasattr(est, "net_") else False,
            })
            print(json.dumps(rows[-1]), flush=True)
    return rows


def section_score_1m(args):
    from sklearn_vae import VAETransformer

    n, d = (50_000, 50) if args.quick else (1_000_000, 50)
    X = make_lowrank(n, d)
    t0 = time.perf_counter()
    vae = VAETransformer(max_iter=5 if args.quick else 20, random_state=0).fit(X[:20_000])
    fit_s = time.perf_counter() - t0
    Z, transform_s, transform_peak, _ = measure(lambda: vae.transform(X))
    del Z
    scores, score_s, score_peak, held = measure(lambda: vae.score_samples(X))
    return {
        "shape": [n, d], "n_importance_samples": vae.n_importance_samples,
        "fit_rows": 20_000, "fit_max_iter": vae.max_iter, "fit_seconds": fit_s,
        "input_mb": X.nbytes / 2**20,
        "transform_seconds": transform_s, "transform_peak_extra_mb": transform_peak,
        "score_seconds": score_s, "score_peak_extra_mb": score_peak,
        "score_held_after_mb": held, "score_mean": float(np.mean(scores)),
        "score_over_transform": score_s / transform_s,
    }


def section_outlier(args):
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from sklearn_vae import VAEOutlierDetector

    d = np.load(data_dir() / "anomaly" / "1_ALOI.npz", allow_pickle=True)
    X, y = d["X"].astype(np.float64), d["y"]
    if args.quick:
        keep = np.random.RandomState(0).permutation(len(X))[:5_000]
        X, y = X[keep], y[keep]
    X = StandardScaler().fit_transform(X)
    rows = []
    params = {"random_state": 0}
    if args.quick:
        params["max_iter"] = 5
    for label, est in [
        ("VAEOutlierDetector()", time_limited(VAEOutlierDetector, args.time_limit)(**params)),
        ("IsolationForest()", IsolationForest(random_state=0)),
    ]:
        _, fit_s, _, _ = measure(lambda est=est: est.fit(X))
        scores, score_s, _, _ = measure(lambda est=est: est.score_samples(X))
        rows.append({
            "data": "ALOI", "shape": list(X.shape), "method": label,
            "fit_seconds": fit_s, "score_seconds": score_s, "seconds": fit_s + score_s,
            "roc_auc": float(roc_auc_score(y, -scores)),
            "n_iter": int(getattr(est, "n_iter_", 0)),
            "max_iter": int(getattr(est, "max_iter", 0)) if hasattr(est, "net_") else None,
            "time_limited": hit_limit(est) if hasattr(est, "net_") else False,
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def section_scale_200k(args):
    from sklearn_vae import VAETransformer

    n, d = (20_000, 30) if args.quick else (200_000, 30)
    X = make_lowrank(n, d, seed=2)
    params = {"random_state": 0}
    if args.quick:
        params["max_iter"] = 5
    vae = time_limited(VAETransformer, args.time_limit)(**params)
    _, fit_s, fit_peak, _ = measure(lambda: vae.fit(X))
    _, score_s, score_peak, held = measure(lambda: vae.score_samples(X))
    return {
        "shape": [n, d], "fit_seconds": fit_s, "n_iter": int(vae.n_iter_),
        "max_iter": vae.max_iter, "time_limited": hit_limit(vae),
        "score_seconds": score_s, "score_over_fit": score_s / fit_s,
        "score_peak_extra_mb": score_peak, "score_held_after_mb": held,
        "fit_peak_extra_mb": fit_peak, "n_importance_samples": vae.n_importance_samples,
    }


RUNNERS = {
    "grid": section_grid, "defaults": section_defaults, "impute": section_impute,
    "score_1m": section_score_1m, "outlier": section_outlier, "scale_200k": section_scale_200k,
}


# -- report -----------------------------------------------------------------------

def _f(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def to_markdown(res):
    meta = res["meta"]
    out = [
        f"Cost of the defaults (`bench_cost.py{' --quick' if meta['quick'] else ''}`): "
        f"{meta['machine']}, torch {meta['torch']} ({meta['threads']} thread), "
        f"sklearn {meta['sklearn']}; code: {meta['code']}. Whole run: "
        f"{meta['total_seconds']:.0f} s. Time limit per fit: {meta['time_limit']} s "
        "(`time_limited` = stopped there).",
        "",
    ]
    s = res["sections"]
    if "grid" in s:
        g = s["grid"]
        cap = f", max_iter={g['max_iter_cap']}" if g.get("max_iter_cap") else ""
        out += ["### GridSearchCV(VAETransformer(), n_components x beta, cv=3)", "",
                f"{g['rows']} rows (breast-cancer train split), {g['fits']} fits{cap}: "
                f"**{g['seconds']:.1f} s** (best: {g['best_params']}).", ""]
    if "defaults" in s:
        out += ["### One default fit", "",
                "| data | shape | estimator | seconds | n_iter_ / max_iter "
                "| stopped before max_iter | time-limited |", "|---|---|---|---:|---:|---|---|"]
        for r in s["defaults"]:
            out.append(f"| {r['data']} | {r['shape'][0]}x{r['shape'][1]} | {r['estimator']} | "
                       f"{r['seconds']:.1f} | {r['n_iter']} / {r['max_iter']} | "
                       f"{'yes' if r['stopped_before_max_iter'] else 'no'} | "
                       f"{'yes' if r['time_limited'] else 'no'} |")
        out.append("")
    if "impute" in s:
        out += ["### Imputation: fit_transform", "",
                "| task | missing | method | seconds | RMSE (std units) | n_iter | time-limited |",
                "|---|---:|---|---:|---:|---:|---|"]
        for r in s["impute"]:
            it = f"{r['n_iter']} / {r['max_iter']}" if r["method"].startswith("VAE") else (
                str(r["n_iter"]))
            out.append(f"| {r['task']} | {r['missing_rate']:.2f} | {r['method']} | "
                       f"{r['seconds']:.1f} | {r['rmse']:.3f} | {it} | "
                       f"{'yes' if r['time_limited'] else 'no'} |")
        out.append("")
    if "score_1m" in s:
        r = s["score_1m"]
        out += [f"### score_samples on {r['shape'][0]:,} x {r['shape'][1]} (VAETransformer, "
                f"K={r['n_importance_samples']})", "",
                f"Input {r['input_mb']:.0f} MB (float64); model fit on {r['fit_rows']:,} rows, "
                f"max_iter={r['fit_max_iter']} ({r['fit_seconds']:.0f} s).", "",
                "| call | seconds | peak RSS increase (MB) | RSS held after (MB) |",
                "|---|---:|---:|---:|",
                f"| transform | {r['transform_seconds']:.1f} | "
                f"{_f(r['transform_peak_extra_mb'], 0)} | - |",
                f"| score_samples | {r['score_seconds']:.1f} | "
                f"{_f(r['score_peak_extra_mb'], 0)} | {_f(r['score_held_after_mb'], 0)} |",
                "", f"score_samples / transform: {r['score_over_transform']:.1f}x", ""]
    if "outlier" in s:
        out += ["### Anomaly detection on ALOI", "",
                "| method | shape | fit s | score s | total s | ROC-AUC | n_iter | time-limited |",
                "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in s["outlier"]:
            it = f"{r['n_iter']} / {r['max_iter']}" if r["max_iter"] else "-"
            out.append(f"| {r['method']} | {r['shape'][0]}x{r['shape'][1]} | "
                       f"{r['fit_seconds']:.1f} | {r['score_seconds']:.1f} | {r['seconds']:.1f} | "
                       f"{r['roc_auc']:.3f} | {it} | {'yes' if r['time_limited'] else 'no'} |")
        out.append("")
    if "scale_200k" in s:
        r = s["scale_200k"]
        out += [f"### {r['shape'][0]:,} x {r['shape'][1]}: fit vs score_samples "
                f"(VAETransformer(), K={r['n_importance_samples']})", "",
                "| fit s | n_iter / max_iter | time-limited | score_samples s | score / fit "
                "| score peak RSS increase (MB) | held after (MB) |",
                "|---:|---:|---|---:|---:|---:|---:|",
                f"| {r['fit_seconds']:.1f} | {r['n_iter']} / {r['max_iter']} | "
                f"{'yes' if r['time_limited'] else 'no'} | {r['score_seconds']:.1f} | "
                f"{r['score_over_fit']:.2f} | {_f(r['score_peak_extra_mb'], 0)} | "
                f"{_f(r['score_held_after_mb'], 0)} |", ""]
    return "\n".join(out)


def _code_version():
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "sklearn_vae"], capture_output=True, text=True).stdout.strip()
        return f"commit {rev}" + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds after which a fit is stopped and flagged "
                             "(default: 120, 30 with --quick)")
    parser.add_argument("--out", default=str(RESULTS / "cost"),
                        help="path of the results without extension")
    parser.add_argument("--section-json", help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.time_limit is None:
        args.time_limit = 30.0 if args.quick else 120.0

    import torch

    torch.set_num_threads(1)
    if args.section_json:  # child: run one section, write its JSON
        (name,) = args.sections
        # The first optimizer a process builds imports torch._dynamo (~1.6 s
        # here); a hand-written loop pays it too. Pay it before timing.
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
        result = RUNNERS[name](args)
        Path(args.section_json).write_text(json.dumps(result))
        return

    import sklearn

    import sklearn_vae

    t0 = time.perf_counter()
    sections = {}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in args.sections:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "out.json"
            cmd = [sys.executable, __file__, "--sections", name, "--section-json", str(path),
                   "--time-limit", str(args.time_limit)] + (["--quick"] if args.quick else [])
            print(f"== {name}", flush=True)
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env)
            if proc.returncode or not path.exists():
                sections[name] = {"error": f"exit code {proc.returncode}"}
                continue
            sections[name] = json.loads(path.read_text())
            print(f"   {time.perf_counter() - t:.0f} s", flush=True)
    meta = {
        "quick": args.quick, "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "torch": torch.__version__, "sklearn": sklearn.__version__, "threads": 1,
        "code": (_code_version() if Path(sklearn_vae.__file__).is_relative_to(ROOT)
                 else f"package at {Path(sklearn_vae.__file__).parent}"),
        "package": str(Path(sklearn_vae.__file__).parent),
        "time_limit": args.time_limit, "total_seconds": time.perf_counter() - t0,
    }
    res = {"meta": meta, "sections": sections}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=2, default=str))
    ok = {k: v for k, v in sections.items() if "error" not in v}
    md = to_markdown({"meta": meta, "sections": ok})
    errors = [f"- {k}: {v['error']}" for k, v in sections.items() if "error" in v]
    if errors:
        md += "\n### Sections that failed\n\n" + "\n".join(errors) + "\n"
    out.with_suffix(".md").write_text(md + "\n")
    print(md)
    if errors:  # the tables are written, but the run did not do all it was asked
        sys.exit(f"bench_cost: {len(errors)} section(s) failed: "
                 + ", ".join(k for k, v in sections.items() if "error" in v))


if __name__ == "__main__":
    main()

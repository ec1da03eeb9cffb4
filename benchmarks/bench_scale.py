"""Scale: train with dask-ml's Incremental within a fixed budget, score millions of rows.

On a ``distributed.LocalCluster`` (worker processes, one thread each), for each
size in ``--rows``:

- ``X`` (rows x 50) is generated block by block as a dask array
  (``da.random`` normals times a fixed 50 x 50 mixing matrix, plus 0.1% planted
  outliers shifted by 6 in every column), so it is never held whole in memory;
- ``Incremental(VAEOutlierDetector(...))`` trains on the first
  ``--train-blocks`` blocks, one ``partial_fit`` pass each: a fixed budget,
  the same for every size;
- ``score_samples`` scores every row lazily, block by block; the scores are
  reduced on the workers (their sum and the ROC-AUC of the planted outliers per
  block), so nothing of size ``rows`` comes back to the client.

Reported: seconds and rows/s for training and scoring, and the peak resident
memory of each worker process (``ru_maxrss``; the workers are restarted before
each size, so it is that size's peak). Fit time should stay flat as rows grow,
scoring time grow linearly, and worker memory stay flat (one block at a time).

Usage::

    python benchmarks/bench_scale.py --rows 1000000 10000000
    python benchmarks/bench_scale.py --rows 100000 --quick    # smoke run

Writes ``benchmarks/results/scale.{json,md}`` (``--out``).
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
N_FEATURES = 50


def peak_rss_mb():
    import resource
    import sys

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def block_auc(scores, labels):
    """ROC-AUC of one block (anomaly score = -log-likelihood), or NaN without positives."""
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():
        return np.array([np.nan])
    return np.array([roc_auc_score(labels, -scores)])


def make_data(n_rows, block_rows, seed=0):
    import dask.array as da

    rs = da.random.RandomState(seed)
    mixing = np.random.RandomState(seed).normal(size=(N_FEATURES, N_FEATURES)) / np.sqrt(
        N_FEATURES)
    X = rs.normal(size=(n_rows, N_FEATURES), chunks=(block_rows, N_FEATURES)) @ mixing
    labels = (rs.uniform(size=(n_rows,), chunks=(block_rows,)) < 0.001).astype(np.int8)
    X = X + 6.0 * labels[:, None]
    return X, labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--block-rows", type=int, default=250_000)
    parser.add_argument("--train-blocks", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small network, small blocks")
    parser.add_argument("--out", default="scale")
    args = parser.parse_args(argv)

    import dask.array as da
    import torch
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster

    from sklearn_vae import VAEOutlierDetector

    if args.quick:
        args.block_rows = min(args.block_rows, 50_000)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=0)
    client = Client(cluster)
    rows_out = []
    try:
        for n_rows in args.rows:
            client.restart()  # fresh worker processes: per-size memory peaks
            X, labels = make_data(n_rows, args.block_rows)
            train = X[: args.train_blocks * args.block_rows]
            params = dict(random_state=0, hidden_layer_sizes=(16,) if args.quick else (64, 64))
            t0 = time.perf_counter()
            det = Incremental(VAEOutlierDetector(**params)).fit(train).estimator_
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            scores = det.score_samples(X)
            total = scores.sum()
            aucs = da.map_blocks(block_auc, scores, labels, dtype=float, chunks=(1,))
            total, aucs = client.compute([total, aucs], sync=True)
            score_s = time.perf_counter() - t0
            peaks = client.run(peak_rss_mb)
            row = dict(rows=n_rows, features=N_FEATURES, block_rows=args.block_rows,
                       train_rows=int(train.shape[0]), passes=int(det.n_iter_),
                       fit_s=fit_s, score_s=score_s, score_rows_per_s=n_rows / score_s,
                       train_rows_per_s=int(train.shape[0]) / fit_s,
                       mean_score=float(total) / n_rows,
                       mean_block_auc=float(np.nanmean(aucs)),
                       worker_peak_rss_mb=sorted(float(v) for v in peaks.values()))
            rows_out.append(row)
            print(json.dumps(row), flush=True)
    finally:
        client.close()
        cluster.close()

    meta = dict(workers=args.workers, threads_per_worker=1, machine=platform.machine(),
                torch=torch.__version__, block_rows=args.block_rows,
                train_blocks=args.train_blocks, quick=args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(dict(meta=meta, runs=rows_out),
                                                         indent=2))
    lines = [
        f"Scale (`bench_scale.py`): LocalCluster, {args.workers} worker processes x 1 "
        f"thread, {platform.machine()}, torch {torch.__version__}; blocks of "
        f"{args.block_rows:,} rows x {N_FEATURES}; `Incremental(VAEOutlierDetector())` "
        f"trained on the first {args.train_blocks} blocks (one pass each), then every row "
        "scored lazily (reduced on the workers). Peak RSS: each worker process, after "
        "a restart per size.",
        "",
        "| rows | train s | train rows/s | score s | score rows/s | mean block ROC-AUC "
        "(0.1% planted) | worker peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows_out:
        lines.append(
            f"| {r['rows']:,} | {r['fit_s']:.1f} | {r['train_rows_per_s']:,.0f} | "
            f"{r['score_s']:.1f} | {r['score_rows_per_s']:,.0f} | {r['mean_block_auc']:.3f} "
            f"| {', '.join(f'{v:.0f}' for v in r['worker_peak_rss_mb'])} |")
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

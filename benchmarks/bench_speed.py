"""Seconds per epoch: VAETransformer.fit vs a raw torch loop vs skorch's default path.

All three train the same ``VAEModule`` (same widths, batch size, loss, and the
same Adam: fused where torch supports it) on
the same synthetic data (D features, N rows, low-rank signal plus noise):

- ``raw``: a minimal hand-written loop; the data is one tensor, permuted once
  per epoch and sliced by index.
- ``skorch_default``: skorch's stock path (``skorch.dataset.Dataset`` +
  ``torch.utils.data.DataLoader``, one ``__getitem__`` per row), same loss.
- ``vae``: ``VAETransformer.fit`` (skorch ``NeuralNet`` with the package's
  device-tensor batch iterator, callbacks and history).

Per-epoch time is the median over all epochs but the first of each run
(warm-up), pooled over ``--repeats`` interleaved runs of the three paths. Results go
to ``benchmarks/results/speed.json`` and ``speed.md``.

Usage::

    python benchmarks/bench_speed.py                 # N = 20k and 100k, D = 32
    python benchmarks/bench_speed.py --device cuda   # the GPU comparison -> speed_cuda.*
    python benchmarks/bench_speed.py --sizes 20000 --epochs 4 --device cpu

``--device auto`` (the default) uses CUDA when torch sees a GPU, else the CPU.
Results of a CUDA run go to ``speed_cuda.json`` / ``speed_cuda.md`` unless
``--tag`` says otherwise, so they do not overwrite the CPU table.
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_vae import VAETransformer
from sklearn_vae._training import VAENet, adam
from sklearn_vae.nn import ColumnLayout, VAEModule

RESULTS = Path(__file__).resolve().parent / "results"


def make_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 4))
    w = rng.standard_normal((4, d))
    x = np.tanh(z @ w) + 0.1 * rng.standard_normal((n, d))
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def same_module(d, args):
    """The module ``VAETransformer()`` trains (its default ``init`` decides the
    linear paths); the data is complete, so no mask is passed, as in ``fit``."""
    linear_skip = VAETransformer().init == "pca"
    return VAEModule(ColumnLayout(d), args.n_components, args.hidden,
                     linear_skip=linear_skip)


def raw_loop(X, args, device):
    torch.manual_seed(0)
    d = X.shape[1]
    module = same_module(d, args).to(device)
    opt = adam(module.parameters(), lr=1e-3, weight_decay=1e-4)
    x_all = torch.from_numpy(X).to(device)
    gen = torch.Generator().manual_seed(0)
    n, bs = x_all.shape[0], args.batch_size
    times = []
    for _ in range(args.epochs):
        sync(device)
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen).to(device)
        x = x_all[perm]
        for start in range(0, n, bs):
            xb = x[start:start + bs]
            opt.zero_grad()
            out = module(xb)
            loss = module.negative_elbo(xb, None, out).mean()
            loss.backward()
            opt.step()
            loss.item()  # the same per-batch host sync skorch does to log the loss
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def skorch_default(X, args, device):
    torch.manual_seed(0)
    d = X.shape[1]
    module = same_module(d, args)
    net = VAENet(
        module, criterion=torch.nn.Identity, optimizer=adam,
        optimizer__weight_decay=1e-4, lr=1e-3, max_epochs=args.epochs,
        batch_size=args.batch_size, iterator_train__shuffle=True,
        train_split=None, device=device, verbose=0,
    )
    net.fit({"x": X})
    return [float(v) for v in net.history[:, "dur"]]


def vae_fit(X, args, device):
    vae = VAETransformer(
        n_components=args.n_components, hidden_layer_sizes=args.hidden,
        batch_size=args.batch_size, max_iter=args.epochs, early_stopping=False,
        n_iter_no_change=args.epochs + 1, tol=0.0, device=str(device), random_state=0,
    )
    t0 = time.perf_counter()
    vae.fit(X)
    total = time.perf_counter() - t0
    return [float(v) for v in vae.net_.history[:, "dur"]], total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--n-components", type=int, default=8)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="where all three paths train (auto: CUDA when available)")
    parser.add_argument("--skip-skorch-default-above", type=int, default=20_000,
                        help="skip the slow DataLoader path for larger N")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads for every path (VAETransformer trains small "
                             "networks on 1 thread; the raw loop is also timed with torch's "
                             "default thread count for reference)")
    parser.add_argument("--tag", default=None,
                        help="suffix for the result files (default: '' on CPU, '_cuda' on CUDA)")
    args = parser.parse_args(argv)
    args.hidden = tuple(args.hidden)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device on this machine")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    if args.tag is None:
        args.tag = "_cuda" if device.type == "cuda" else ""

    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    rows = []
    for n in args.sizes:
        X = make_data(n, args.features)
        # Interleave the paths and repeat, so drift in the machine's speed
        # hits all of them alike; per-epoch times are pooled over repeats.
        raw_t, vae_t, sk_t, raw_default_t, vae_default_t, totals = [], [], [], [], [], []
        for _ in range(args.repeats):
            raw_t += raw_loop(X, args, device)[1:]
            times, total = vae_fit(X, args, device)
            vae_t += times[1:]
            totals.append(total)
            if n <= args.skip_skorch_default_above:
                sk_t += skorch_default(X, args, device)[1:]
            if device.type == "cpu" and default_threads != args.threads:
                torch.set_num_threads(default_threads)
                raw_default_t += raw_loop(X, args, device)[1:]
                vae_default_t += vae_fit(X, args, device)[0][1:]
                torch.set_num_threads(args.threads)
        raw, vae = statistics.median(raw_t), statistics.median(vae_t)
        sk = statistics.median(sk_t) if sk_t else None
        raw_default = statistics.median(raw_default_t) if raw_default_t else None
        vae_default = statistics.median(vae_default_t) if vae_default_t else None
        vae_total = statistics.median(totals)
        row = {
            "n_samples": n, "n_features": args.features, "batch_size": args.batch_size,
            "raw_s_per_epoch": raw, "vae_s_per_epoch": vae,
            "raw_default_threads_s_per_epoch": raw_default,
            "vae_default_threads_s_per_epoch": vae_default,
            "skorch_default_s_per_epoch": sk, "vae_over_raw": vae / raw,
            "skorch_default_over_raw": None if sk is None else sk / raw,
            "vae_total_fit_s": vae_total,
        }
        rows.append(row)
        print(json.dumps(row))

    meta = {
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "torch": torch.__version__, "threads": args.threads,
        "torch_default_threads": default_threads,
        "epochs": args.epochs, "hidden": list(args.hidden),
        "n_components": args.n_components,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"speed{args.tag}"
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        f"Seconds per epoch (median of epochs 2..{args.epochs} over {args.repeats} "
        f"interleaved runs), device {meta['device']}"
        f" ({meta['device_name']}), torch {meta['torch']}, {meta['threads']} threads, "
        f"D={args.features}, hidden={list(args.hidden)}, latent={args.n_components}.",
        "",
        "| N | batch | raw torch loop | VAETransformer.fit | skorch default DataLoader "
        "| VAE / raw | skorch default / raw | raw loop, torch default threads "
        "| VAE, torch default threads |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sk = "-" if r["skorch_default_s_per_epoch"] is None else (
            f"{r['skorch_default_s_per_epoch']:.3f}")
        skr = "-" if r["skorch_default_over_raw"] is None else (
            f"{r['skorch_default_over_raw']:.2f}x")
        lines.append(
            f"| {r['n_samples']} | {r['batch_size']} | {r['raw_s_per_epoch']:.3f} | "
            f"{r['vae_s_per_epoch']:.3f} | {sk} | {r['vae_over_raw']:.2f}x | {skr} | "
            + ("-" if r["raw_default_threads_s_per_epoch"] is None
               else f"{r['raw_default_threads_s_per_epoch']:.3f} "
                    f"({meta['torch_default_threads']} threads)") + " | "
            + ("-" if r["vae_default_threads_s_per_epoch"] is None
               else f"{r['vae_default_threads_s_per_epoch']:.3f}") + " |"
        )
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

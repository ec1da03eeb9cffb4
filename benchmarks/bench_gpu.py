"""The GPU checks of issue 10 in one run (also runs on CPU, at small sizes, as a smoke test).

1. Training throughput: ``bench_speed.py`` on the device (``VAETransformer.fit``
   against a raw torch loop of the same module, same batches), at a small and a
   large batch; samples/s = rows / seconds per epoch.
2. Scoring ``--score-rows`` rows (default 10,000,000 x 50) with a model fitted
   on the device: ``score_samples`` and ``transform`` seconds, peak device memory
   (``torch.cuda.max_memory_allocated``) and what is still allocated after.
3. A GPU-fitted model saved with ``sklearn_vae.save`` and loaded on the CPU:
   its scores there against the GPU's (float32 on different hardware: close,
   not bit-identical).

Writes ``benchmarks/results/gpu_check.{json,md}`` (``--out``). Usage on a GPU
machine (skorch is the one dependency a bare CUDA image may lack: carry its
pure-Python wheel)::

    PYTHONPATH=. python benchmarks/bench_gpu.py --device cuda
    python benchmarks/bench_gpu.py --device cpu --score-rows 200000 \\
        --train-rows 20000 --speed-sizes 20000 --out gpu_check_cpu_smoke
"""

import argparse
import io
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from bench_speed import main as speed_main
from bench_speed import make_data

from sklearn_vae import VAETransformer, load, save

RESULTS = Path(__file__).resolve().parent / "results"


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def scoring(args, device):
    """Fit on ``train_rows``, then score and transform ``score_rows`` rows in blocks."""
    X = make_data(args.train_rows, args.features, seed=0)
    t0 = time.perf_counter()
    vae = VAETransformer(n_components=8, max_steps=args.fit_steps, batch_size=args.batch_size,
                         device=str(device), random_state=0).fit(X)
    sync(device)
    fit_s = time.perf_counter() - t0
    block = 1_000_000
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    score_s = transform_s = 0.0
    finite = True
    for start in range(0, args.score_rows, block):
        rows = make_data(min(block, args.score_rows - start), args.features, seed=1 + start)
        t0 = time.perf_counter()
        s = vae.score_samples(rows)
        score_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        vae.transform(rows)
        transform_s += time.perf_counter() - t0
        finite &= bool(np.isfinite(s).all())
    out = {"train_rows": args.train_rows, "fit_steps": args.fit_steps, "fit_s": fit_s,
           "score_rows": args.score_rows, "features": args.features,
           "score_samples_s": score_s, "transform_s": transform_s,
           "score_rows_per_s": args.score_rows / score_s, "scores_finite": finite}
    if device.type == "cuda":
        out["peak_memory_mb"] = (torch.cuda.max_memory_allocated(device) - before) / 2**20
        out["held_after_mb"] = (torch.cuda.memory_allocated(device) - before) / 2**20
    return vae, out


def moved_to_cpu(vae):
    """Save the fitted model and load it on the CPU; compare scores on 10,000 rows."""
    buffer = io.BytesIO()
    save(vae, buffer)
    buffer.seek(0)
    on_cpu = load(buffer, device="cpu")
    X = make_data(10_000, vae.n_features_in_, seed=99)
    here, there = vae.score_samples(X), on_cpu.score_samples(X)
    return {"loaded_device": str(next(on_cpu.module_.parameters()).device),
            "max_abs_score_diff": float(np.max(np.abs(here - there))),
            "max_rel_score_diff": float(np.max(np.abs(here - there) / np.abs(here).clip(1)))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--speed-sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--speed-batches", type=int, nargs="+", default=[128, 4096])
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--train-rows", type=int, default=200_000)
    parser.add_argument("--fit-steps", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--score-rows", type=int, default=10_000_000)
    parser.add_argument("--out", default="gpu_check")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device on this machine")
    device = torch.device(args.device)
    report = {"meta": {"device": str(device), "torch": torch.__version__,
                       "device_name": (torch.cuda.get_device_name(device)
                                       if device.type == "cuda" else platform.machine())}}
    speed = []
    for batch in args.speed_batches:
        tag = f"_{device.type}_b{batch}_check"
        speed_main(["--device", device.type, "--sizes", *map(str, args.speed_sizes),
                    "--batch-size", str(batch), "--epochs", "3", "--repeats", "2",
                    "--features", str(args.features), "--tag", tag])
        rows = json.loads((RESULTS / f"speed{tag}.json").read_text())["rows"]
        for r in rows:
            speed.append({"n": r["n_samples"], "batch": batch,
                          "raw_samples_per_s": r["n_samples"] / r["raw_s_per_epoch"],
                          "vae_samples_per_s": r["n_samples"] / r["vae_s_per_epoch"],
                          "vae_throughput_over_raw": r["raw_s_per_epoch"] / r["vae_s_per_epoch"]})
    report["speed"] = speed
    vae, report["scoring"] = scoring(args, device)
    report["moved_to_cpu"] = moved_to_cpu(vae) if device.type == "cuda" else None
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=1))
    lines = [f"GPU checks ({report['meta']}).", "",
             "| N | batch | raw loop samples/s | VAETransformer.fit samples/s "
             "| fit / raw throughput |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['n']} | {r['batch']} | {r['raw_samples_per_s']:,.0f} | "
              f"{r['vae_samples_per_s']:,.0f} | {r['vae_throughput_over_raw']:.2f} |"
              for r in speed]
    lines += ["", "Scoring: " + json.dumps(report["scoring"]),
              "", "GPU-fitted model on the CPU: " + json.dumps(report["moved_to_cpu"])]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

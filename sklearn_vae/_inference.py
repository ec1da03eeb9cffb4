"""Chunked inference: fixed-shape float32 passes under a memory budget.

How ``transform``, ``score_samples``, imputation and the other inference
paths of :class:`~sklearn_vae._base._BaseVAE` run the network:

- **Precision.** The network runs in its own dtype (float32), on the module
  as trained: no copy, on whatever device it lives. Per-row reductions that
  are cheap (the log-sum-exp over the K importance samples, sums of
  log-Jacobians, the latent share of per-column scores) are done in float64
  by the callers.
- **Batch invariance by computation order.** The network always sees chunks
  of exactly ``chunk`` rows (a multiple of 64); the last chunk is padded with
  all-missing rows. Every call therefore runs the same kernels on the same
  shapes, and a multiple of 64 rows keeps every row off the scalar tail of
  torch's vectorized loops (whose transcendental functions, e.g. ``exp``,
  can round differently from the vector path). A row's result is then
  bit-for-bit the same alone, in a large batch or in another order
  (``tests/test_inference.py`` checks it). The chunk size depends on the
  model, K and the budget only, never on the number of rows.
- **One CPU thread.** On CPU the passes run on one intra-op thread (the
  setting is restored after), because matmuls and element-wise kernels
  split across threads round differently with another thread count:
  results are then also independent of ``torch.set_num_threads``.
- **Memory budget.** Rows are encoded (``schema.encode``) and moved to the
  device block by block; blocks and the activations of one chunk each get
  half of ``budget`` bytes (:data:`INFERENCE_MEMORY_BUDGET` by default), and
  on CPU at most a cache-sized share of it (``_MAX_CHUNK_BYTES``,
  ``_MAX_BLOCK_BYTES``: faster on wide tables, same results).
  Chunks have at least 64 rows, so with a very large K one chunk may need
  more than the budget unless the caller also splits the K samples
  (``k_blocking``). The returned arrays (one row per input row) come on
  top. Nothing is kept after the call.
"""

from contextlib import contextmanager

import numpy as np
import torch

#: Working memory (bytes) of one inference call, besides its input and output.
INFERENCE_MEMORY_BUDGET = 256 * 2**20

#: The network's chunks are a multiple of this many rows (see module docstring).
CHUNK_MULTIPLE = 64

# Rows times importance samples per chunk that the network aims for, and a
# cap on rows per chunk. On CPU larger chunks are no faster (measured: 1.06 s
# for 20k rows x 30 columns, K=50, with 128 to 512 rows; 1.46 s with 1024)
# and a single row is padded to a whole chunk (7 ms with 128 rows, 29 ms with
# 512); on a GPU larger chunks amortize kernel launches.
_TARGET_SAMPLE_ROWS = {"cpu": 8192, "cuda": 1 << 18}
_MAX_CHUNK_ROWS = {"cpu": 1024, "cuda": 16384}
# On CPU a chunk's activations and an encoded block are also kept near the
# size of the caches, which matters on wide tables, where 8192 sample rows of
# decoder outputs are hundreds of MB that every element-wise kernel streams
# through memory. Measured with one thread (fastest of 3 interleaved runs,
# score_samples at defaults): InternetAds (1966 x 1555, K=10) 0.351 -> 0.319 s
# (chunk 192 -> 64 rows), ALOI (49,534 x 27) 0.292 -> 0.235 s, mnist (7603 x
# 100) 0.082 -> 0.073 s, 20,000 x 30 at K=50 0.541 -> 0.467 s. None on a GPU.
_MAX_CHUNK_BYTES = {"cpu": 32 << 20, "cuda": None}
_MAX_BLOCK_BYTES = {"cpu": 8 << 20, "cuda": None}


def module_dtype(module):
    """The floating dtype of ``module``'s parameters."""
    return next(module.parameters()).dtype


def _linear_widths(sequential):
    return [layer.out_features for layer in sequential
            if isinstance(layer, torch.nn.Linear)]


def encoded_blocks(module, values, mask, cond=None, *, inference=False, rows=4096):
    """``module.encode`` over encoded numpy rows, ``rows`` at a time: ``[(mu, logvar), ...]``.

    For code that already holds the encoded training rows (the latent
    diagnostics and the latent mixture at the end of ``fit``); runs under
    ``torch.inference_mode`` in the module's dtype, on its device.
    """
    param = next(module.parameters())

    def block(a, start):
        return torch.as_tensor(a[start:start + rows], dtype=param.dtype, device=param.device)

    with torch.inference_mode():
        return [module.encode(block(values, start), block(mask, start),
                              None if cond is None else block(cond, start),
                              inference=inference)
                for start in range(0, len(values), rows)]


def sample_row_bytes(module, *, columns=True):
    """Bytes of decoder activations per (row, importance sample), an upper estimate.

    Two hidden layers alive at once, the decoder outputs and a few
    temporaries of their size (likelihood terms), the per-column terms when
    ``columns``.
    """
    itemsize = torch.finfo(module_dtype(module)).bits // 8
    hidden = _linear_widths(module.decoder)
    n_out = hidden[-1]
    width = 2 * max(hidden) + 6 * n_out + 4 * module.n_components
    # A latent mixture prior: each component's projection of the code, twice.
    width += 2 * module.prior_components * module.n_components
    if columns:
        width += 2 * module.layout.n_columns
    return itemsize * width


def encoded_row_bytes(module):
    """Bytes per row of one encoded block (float64 encoding work + float32 copies)."""
    layout = module.layout
    return 8 * (4 * layout.n_values + 4 * layout.n_columns)


def plan_chunks(module, n_samples_k, device, *, budget=None, columns=True,
                k_blocking=False):
    """Rows per chunk, importance samples per pass, and rows per encoded block.

    Returns ``(chunk, k_block, block)``. ``chunk`` is a multiple of
    :data:`CHUNK_MULTIPLE` chosen so that ``n_samples_k`` samples of one chunk
    fit in half of ``budget``; with ``k_blocking`` the samples are split into
    passes of ``k_block`` when even the smallest chunk does not fit. The plan
    depends on the model, K, the device and the budget, never on the data.
    """
    budget = INFERENCE_MEMORY_BUDGET if budget is None else int(budget)
    half = max(1, budget // 2)
    per_sample = sample_row_bytes(module, columns=columns)
    k = max(1, int(n_samples_k))
    kind = "cuda" if torch.device(device).type == "cuda" else "cpu"
    chunk = min(half // (k * per_sample), _TARGET_SAMPLE_ROWS[kind] // k,
                _MAX_CHUNK_ROWS[kind])
    if _MAX_CHUNK_BYTES[kind]:
        chunk = min(chunk, _MAX_CHUNK_BYTES[kind] // (k * per_sample))
    chunk = int(max(CHUNK_MULTIPLE, chunk // CHUNK_MULTIPLE * CHUNK_MULTIPLE))
    k_block = k
    if k_blocking:
        k_block = int(min(k, max(1, half // (chunk * per_sample))))
    block_bytes = half if _MAX_BLOCK_BYTES[kind] is None else min(half, _MAX_BLOCK_BYTES[kind])
    block = block_bytes // encoded_row_bytes(module) // chunk * chunk
    block = int(max(chunk, block))
    return chunk, k_block, block


@contextmanager
def single_cpu_thread(device):
    """One intra-op thread for CPU inference; restore the setting after."""
    previous = torch.get_num_threads()
    change = torch.device(device).type == "cpu" and previous != 1
    if change:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if change and torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _as_tensors(result):
    parts = result if isinstance(result, tuple) else (result,)
    return tuple(torch.as_tensor(p) for p in parts), isinstance(result, tuple)


def run_chunks(load, n, fn, *, chunk, block, device, dtypes, pad=True):
    """Apply ``fn`` to every fixed-size chunk of ``n`` rows; numpy results.

    ``load(start, stop)`` returns a tuple of numpy arrays (or tensors) for rows
    ``start:stop`` (one block); each is moved to ``device`` with the dtype
    given in ``dtypes`` (``None`` keeps it). ``fn(*tensors)`` gets tensors of
    exactly ``chunk`` rows (the last one padded with zeros, i.e. all-missing
    rows, when ``pad``) and returns a tensor or a tuple of tensors (or numpy
    arrays) with one leading entry per row. Results stay on the device for a
    whole block and are copied to the host once per block; padded rows are
    dropped. Returns an array, or a tuple of arrays when ``fn`` returns a
    tuple.
    """
    device = torch.device(device)
    outputs, is_tuple = None, False
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = stop - start
        arrays = load(start, stop)
        tensors = []
        for a, dtype in zip(arrays, dtypes):
            t = a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(a))
            tensors.append(t.to(device=device, dtype=dtype or t.dtype))
        if pad and rows % chunk:
            total = -(-rows // chunk) * chunk
            tensors = [torch.cat([t, t.new_zeros((total - rows,) + t.shape[1:])])
                       for t in tensors]
        parts = []
        for i in range(0, tensors[0].shape[0], chunk):
            result, is_tuple = _as_tensors(fn(*(t[i:i + chunk] for t in tensors)))
            parts.append(result)
        del tensors
        merged = [torch.cat([p[j] for p in parts])[:rows].cpu().numpy()
                  for j in range(len(parts[0]))]
        del parts
        if outputs is None:
            outputs = [np.empty((n,) + m.shape[1:], dtype=m.dtype) for m in merged]
        for out, m in zip(outputs, merged):
            out[start:stop] = m
    if outputs is None:
        return None
    return tuple(outputs) if is_tuple else outputs[0]

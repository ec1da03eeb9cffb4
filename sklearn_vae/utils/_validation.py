"""Small validation helpers shared by the estimators."""

import os
import sys
import threading
from contextlib import contextmanager

import numpy as np
import sklearn
import skorch
import torch
from sklearn.utils import check_random_state

# Library code between a user's call and a warning of this package.
_LIBRARY_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (
    sys.modules[__name__.partition(".")[0]], sklearn, skorch))


def user_stacklevel():
    """``stacklevel`` for :func:`warnings.warn` that points at the user's code.

    Call it in the function that warns: it counts that frame and every frame
    above it inside this package, scikit-learn (``_fit_context``) and skorch,
    so the warning names the line that called ``fit`` (or ``sample``, ...)
    whatever the depth of wrappers in between.
    """
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    return level


def check_device(device):
    """Resolve ``device`` ("auto", "cpu", "cuda", "cuda:1", torch.device)."""
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device={device!r} is not a valid torch device; use 'auto', 'cpu' "
                "or 'cuda'."
            ) from exc
    if resolved.type not in ("cpu", "cuda"):
        why = {
            "mps": "inference runs in float64, which Apple's MPS backend does not "
                   "support",
            "meta": "meta tensors hold no data, so nothing can be trained",
        }.get(resolved.type, "only CPU and CUDA devices are supported")
        raise ValueError(
            f"device={device!r} is not supported: {why}. Use device='cpu', 'cuda' or "
            "'auto'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    return resolved


def saturating_cast(a, dtype):
    """``a.astype(dtype)``, with values beyond the range of ``dtype`` clipped to it.

    A float64 result near 3.4e38 cast to float32 would otherwise become inf.
    """
    a = np.asarray(a)
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and a.dtype.kind == "f" and dtype.itemsize < a.dtype.itemsize:
        big = np.finfo(dtype).max
        a = np.clip(a, -big, big)
    return a.astype(dtype, copy=False)


def draw_seed(random_state):
    """One int32 seed from ``random_state``.

    ``None`` draws fresh OS entropy instead of touching numpy's global
    RandomState, so the user's global RNG is left alone.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(np.iinfo(np.int32).max))
    rng = check_random_state(random_state)
    return int(rng.randint(np.iinfo(np.int32).max))


def torch_generator(seed, device="cpu"):
    """A torch ``Generator`` seeded with ``seed``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


# Below this many multiply-adds per batch, extra intra-op threads cost more in
# hand-offs than they save, and collapse when the CPU is shared.
_SMALL_WORK = 5e7


# Concurrent fits (threads) share torch's thread setting: the first to start
# records it, each sets its own count under the lock, the last to finish
# restores the recorded value. With torch's OpenMP backend (the default
# builds) the count is per calling thread, so a fit in one thread does not
# change the count another fit runs with.
_THREADS_LOCK = threading.Lock()
_THREADS_STATE = {"active": 0, "user": None}


@contextmanager
def cpu_threads(device, n_params, batch_size):
    """Run a small network's CPU training on one thread; restore the setting after.

    PyTorch splits every op across all cores. For the small MLPs of tabular
    models each op is tiny: on an idle 2-core machine one thread measured as
    fast as two (bench_speed: 0.218 vs 0.225 s/epoch), on a busy one 10x
    faster (load_digits fit: 7 s vs 77 s). The rule depends only on the
    model and batch size, never on timings, so a fixed ``random_state``
    still gives bit-identical fits (results differ by ulps between thread
    counts). Larger work, or a GPU, keeps torch's own setting: the count
    found when the fit (or the first of several concurrent fits) started.

    Thread-safe: fits running at once in several threads each train with the
    count they would use alone, and torch's setting is restored when the
    last one ends.
    """
    if torch.device(device).type != "cpu":
        yield
        return
    small = n_params * batch_size < _SMALL_WORK
    state = _THREADS_STATE
    with _THREADS_LOCK:
        if state["active"] == 0:
            state["user"] = torch.get_num_threads()
        state["active"] += 1
        user = state["user"]
        wanted = 1 if small else user
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
    try:
        yield
    finally:
        with _THREADS_LOCK:
            state["active"] -= 1
            if torch.get_num_threads() != user:
                torch.set_num_threads(user)

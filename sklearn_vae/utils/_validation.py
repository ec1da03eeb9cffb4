"""Small validation helpers shared by the estimators."""

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state


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
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' or device='cpu'."
        )
    return resolved


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


@contextmanager
def restore_cpu_threads():
    """Restore torch's CPU thread count on exit (training may change it)."""
    previous = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)

"""Internal helpers."""

from ._validation import (
    check_device,
    cpu_threads,
    draw_seed,
    saturating_cast,
    torch_generator,
    user_stacklevel,
)

__all__ = [
    "check_device",
    "cpu_threads",
    "draw_seed",
    "saturating_cast",
    "torch_generator",
    "user_stacklevel",
]

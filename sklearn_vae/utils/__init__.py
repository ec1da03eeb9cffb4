"""Internal helpers."""

from ._validation import check_device, draw_seed, torch_generator

__all__ = ["check_device", "draw_seed", "torch_generator"]

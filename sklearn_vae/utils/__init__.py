"""Internal helpers."""

from ._validation import check_device, draw_seed, restore_cpu_threads, torch_generator

__all__ = ["check_device", "restore_cpu_threads", "draw_seed", "torch_generator"]

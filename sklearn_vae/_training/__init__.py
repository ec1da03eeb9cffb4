"""Training engine: the only package that imports skorch."""

from ._callbacks import CosineSchedule, DivergenceGuard, EpochProgressBar, KLWarmup, TrimWarmup
from ._data import BatchIterator, TensorData
from ._net import VAENet, adam

__all__ = [
    "BatchIterator",
    "CosineSchedule",
    "DivergenceGuard",
    "EpochProgressBar",
    "KLWarmup",
    "TensorData",
    "TrimWarmup",
    "VAENet",
    "adam",
]

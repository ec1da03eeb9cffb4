"""Training engine: the only package that imports skorch."""

from ._callbacks import (
    DivergenceGuard,
    EarlyStopping,
    EpochProgressBar,
    KLWarmup,
    StopTraining,
    TrimWarmup,
)
from ._data import BatchIterator, TensorData
from ._net import VAENet, adam

__all__ = [
    "BatchIterator",
    "DivergenceGuard",
    "EarlyStopping",
    "EpochProgressBar",
    "KLWarmup",
    "StopTraining",
    "TensorData",
    "TrimWarmup",
    "VAENet",
    "adam",
]

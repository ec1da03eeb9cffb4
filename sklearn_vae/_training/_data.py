"""Tensors that live on the device, and a batch iterator that slices them.

skorch's default path builds a ``Dataset`` and a ``DataLoader`` that calls
``__getitem__`` once per row and collates; for tabular data that per-row Python
work dominates an epoch. Here a batch is a contiguous slice of a tensor that
was permuted once per epoch on the device.
"""

import torch


class TensorData:
    """Encoded values, their observation mask and an optional condition, as tensors.

    ``mask`` is None when every entry is observed: batches then carry no
    mask and the module takes its complete-data path (no ``[x, mask]``
    concatenation, half the encoder's first product on a wide table).
    ``cond`` (rows, n_conditions) is the one-hot label of a conditional model,
    or None.
    """

    def __init__(self, x, mask, cond=None):
        self.x = x
        self.mask = mask
        self.cond = cond

    def __len__(self):
        return self.x.shape[0]

    def to(self, device):
        cond = None if self.cond is None else self.cond.to(device)
        mask = None if self.mask is None else self.mask.to(device)
        return TensorData(self.x.to(device), mask, cond)

    def subset(self, index):
        cond = None if self.cond is None else self.cond[index]
        mask = None if self.mask is None else self.mask[index]
        return TensorData(self.x[index], mask, cond)


class BatchIterator:
    """Yield ``({"x": ..., "mask": ...}, None)`` batches of a :class:`TensorData`.

    A dataset with a condition adds ``"cond"`` to each batch dict; one with
    no missing entry (``mask`` None) leaves ``"mask"`` out.

    Used as skorch's ``iterator_train`` / ``iterator_valid``: skorch calls
    ``BatchIterator(dataset, batch_size=..., **iterator_kwargs)`` once per fit
    and iterates it once per epoch.

    Parameters
    ----------
    dataset : TensorData
    batch_size : int
    shuffle : bool, default=False
        Permute the rows at the start of every epoch.
    seed : int or None, default=None
        Seeds the permutation generator (one per iterator, so epochs differ
        but two fits with the same seed are identical).
    max_steps : int or None, default=None
        Total number of batches this iterator yields over all epochs (the
        training budget in optimizer steps); once reached, an epoch ends
        early and later epochs yield nothing. None: no limit.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=None, max_steps=None):
        self.dataset = dataset
        self.batch_size = max(1, int(batch_size))
        self.shuffle = shuffle
        self.max_steps = None if max_steps is None else int(max_steps)
        self.steps_ = 0
        self.generator = None
        if shuffle:
            self.generator = torch.Generator()
            self.generator.manual_seed(0 if seed is None else int(seed))

    def __len__(self):
        n = len(self.dataset)
        return (n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        x, mask = self.dataset.x, self.dataset.mask
        cond = getattr(self.dataset, "cond", None)
        n = x.shape[0]
        if self.shuffle and n > 1:
            perm = torch.randperm(n, generator=self.generator).to(x.device)
            x = x[perm]
            mask = None if mask is None else mask[perm]
            cond = None if cond is None else cond[perm]
        for start in range(0, n, self.batch_size):
            if self.max_steps is not None and self.steps_ >= self.max_steps:
                return
            self.steps_ += 1
            stop = start + self.batch_size
            batch = {"x": x[start:stop]}
            if mask is not None:
                batch["mask"] = mask[start:stop]
            if cond is not None:
                batch["cond"] = cond[start:stop]
            yield batch, None

"""skorch callbacks: KL warm-up, trimming warm-up, divergence guard, progress bar."""

import math
import sys

import torch
from skorch.callbacks import Callback, PrintLog
from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping


class StopTraining(KeyboardInterrupt):
    """How a callback ends training normally.

    skorch ends training when a callback raises ``KeyboardInterrupt`` (its
    ``EarlyStopping`` does); ``VAENet`` tells that apart from a real Ctrl-C,
    which it lets propagate, by this subclass.
    """


class EarlyStopping(_SkorchEarlyStopping):
    """skorch's ``EarlyStopping``, stopping with :class:`StopTraining`.

    The best weights are kept as detached clones of the module's tensors
    (skorch deep-copies the state dict: ~2.7 ms per improving epoch on a
    small model, a sizeable share of a short fit, for the same values).
    """

    def on_epoch_end(self, net, **kwargs):
        current_score = net.history[-1, self.monitor]
        if not self._is_score_improved(current_score):
            self.misses_ += 1
        else:
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(current_score)
            self.best_epoch_ = net.history[-1, "epoch"]
            if self.load_best:
                self.best_model_weights_ = {
                    key: value.detach().clone()
                    for key, value in net.module_.state_dict().items()}
        if self.misses_ == self.patience:
            if net.verbose:
                self._sink(f"Stopping since {self.monitor} has not improved in the last "
                           f"{self.patience} epochs.", verbose=net.verbose)
            raise StopTraining()


class QuietPrintLog(PrintLog):
    """skorch's ``PrintLog``, formatting nothing when nothing is printed.

    skorch's builds the epoch's table (``tabulate``) every epoch even with
    ``verbose=0``: ~1.2 ms per epoch, as much as a training step.
    """

    def on_epoch_end(self, net, **kwargs):
        if net.verbose or self.sink is not print:
            super().on_epoch_end(net, **kwargs)


class KLWarmup(Callback):
    """Ramp the KL weight linearly from ``beta / epochs`` to ``beta``.

    Sets ``net.kl_weight_`` at the start of every epoch; the validation loss
    always uses the full ``beta`` so early stopping compares like with like.
    """

    def __init__(self, epochs=0):
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # 1-based: skorch has opened this epoch's row
        frac = 1.0 if self.epochs <= 0 else min(1.0, epoch / self.epochs)
        net.kl_weight_ = net.beta * frac


class DivergenceGuard(Callback):
    """Stop with a clear error when training diverges.

    Two tests, on the training loss (negative bound, nats per row):

    - a batch loss that is NaN or infinite;
    - a loss that explodes relative to its own history without becoming
      inf: the median of the last ``window`` batch losses exceeds the loss
      of the first batch of this ``fit`` (the starting model) by more than
      ``factor`` times ``max(|first loss|, n_columns)``. The loss is a sum
      over columns and an untrained model scores about 1.4 nats per column,
      so with ``factor=100`` the bound is ~100 times worse than the
      untrained model. Healthy runs stayed below 2x (all three estimators
      on digits, breast cancer, Cauchy, t(0.7), lognormal, spiky and
      contaminated data, learning rates 1e-3 and 1e-2), a 50x margin;
      ``learning_rate_init=1`` mostly gave 1e5-1e10x, ``10`` gave 1e21x.
      The median over a window ignores single bad batches (a batch holding
      an extreme row cost up to 2000x the typical loss in healthy runs).

    The error names the likely causes, given by ``hint``.
    """

    def __init__(self, hint="", factor=100.0, window=25):
        self.hint = hint
        self.factor = factor
        self.window = window

    def on_train_begin(self, net, **kwargs):
        self.reference_ = None
        self.recent_ = []
        self.pending_ = []

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if not training or loss is None:
            return
        if getattr(net, "_defer_loss_sync", lambda: False)():
            # No host sync per step: keep the losses on the device and read
            # them all at the end of the epoch (one sync).
            if getattr(self, "pending_", None) is None:
                self.pending_ = []
            self.pending_.append(loss.detach())
            return
        self._observe(net, float(loss.detach()))

    def on_epoch_end(self, net, **kwargs):
        pending = getattr(self, "pending_", None)
        if pending:
            self.pending_ = []
            for value in torch.stack(pending).cpu().tolist():
                self._observe(net, value)
        if getattr(self, "recent_", None):
            self._check(net)

    def _observe(self, net, value):
        if not math.isfinite(value):
            epoch = len(net.history)
            raise FloatingPointError(
                f"Training diverged: the loss became {value} in epoch {epoch}. {self.hint}"
            )
        if getattr(self, "reference_", None) is None:
            self.on_train_begin(net)
            self.reference_ = value
        self.recent_ = (self.recent_ + [value])[-self.window:]
        if len(self.recent_) >= min(5, self.window):
            self._check(net)

    def _check(self, net):
        median = float(sorted(self.recent_)[len(self.recent_) // 2])
        n_columns = getattr(getattr(net.module_, "layout", None), "n_columns", 1)
        scale = max(abs(self.reference_), float(n_columns), 1.0)
        if median > self.reference_ + self.factor * scale:
            raise FloatingPointError(
                f"Training diverged: the training loss rose from {self.reference_:.4g} "
                f"(first batch) to {median:.4g} (median of the last {len(self.recent_)} "
                f"batches) in epoch {len(net.history)}. {self.hint}"
            )


class EpochProgressBar(Callback):
    """One tqdm bar over epochs showing the training (and validation) loss.

    The bar clears itself at the end of training and leaves one summary line
    (on stderr, as the bar): epochs run, the last training loss and the best
    validation loss, in nats per row of the standardized (encoded) data.
    """

    def __init__(self, total, name="training"):
        self.total = total
        self.name = name

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=self.total, desc="epochs", leave=False)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        postfix = {"loss": f"{row['train_loss']:.4g}"}
        if "valid_loss" in row:
            postfix["val"] = f"{row['valid_loss']:.4g}"
        self.bar_.set_postfix(postfix, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.close()
        history = net.history
        if not len(history):
            return
        line = (f"{self.name}: {len(history)} epochs (of at most {self.total}), "
                f"training loss {history[-1]['train_loss']:.4g}")
        if "valid_loss" in history[-1]:
            line += f", best validation loss {min(history[:, 'valid_loss']):.4g}"
        print(line + " (negative ELBO, nats per row, standardized units)", file=sys.stderr)

    def close(self):
        """Close the bar (also called when training is interrupted)."""
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()


class TrimWarmup(Callback):
    """Train on every row for ``epochs`` epochs (or ``steps`` steps), then trim ``fraction``.

    Sets ``net.trim_fraction_`` (read by ``VAENet.get_loss``): 0 during the
    first ``epochs`` epochs, ``fraction`` after, so the rows left out are
    those the partly trained model finds unusual. With ``steps`` (for fits
    of a single epoch, where an epoch count cannot express a warm-up) the
    switch happens after that many training batches of this fit instead, and
    at once in any epoch after the net's first (a warm start).
    """

    def __init__(self, fraction=0.0, epochs=0, steps=None):
        self.fraction = fraction
        self.epochs = epochs
        self.steps = steps

    def on_train_begin(self, net, **kwargs):
        self.batches_ = 0

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # 1-based: skorch has opened this epoch's row
        warmup = self.epochs if self.steps is None else 1
        net.trim_fraction_ = self.fraction if epoch > warmup else 0.0

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if self.steps is None or not training:
            return
        if self.batches_ >= self.steps:
            net.trim_fraction_ = self.fraction
        self.batches_ += 1



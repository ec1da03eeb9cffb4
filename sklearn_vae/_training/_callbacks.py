"""skorch callbacks: KL warm-up, trimming warm-up, divergence guard, progress bar."""

import math
import statistics
import time

from skorch.callbacks import Callback


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
    """Stop with a clear error as soon as the training loss is not finite."""

    def __init__(self, hint=""):
        self.hint = hint

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training and loss is not None and not math.isfinite(float(loss.detach())):
            epoch = len(net.history)
            raise FloatingPointError(
                f"Training diverged: the loss became {float(loss.detach())} in epoch {epoch}. "
                f"{self.hint}"
            )


class EpochProgressBar(Callback):
    """One tqdm bar over epochs showing the training (and validation) loss."""

    def __init__(self, total):
        self.total = total

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
        bar = self.__dict__.pop("bar_", None)
        if bar is not None:
            bar.close()


class TrimWarmup(Callback):
    """Train on every row for ``epochs`` epochs, then trim ``fraction``.

    Sets ``net.trim_fraction_`` (read by ``VAENet.get_loss``) at the start of
    every epoch: 0 during the first ``epochs`` epochs, ``fraction`` after,
    so the rows left out are those the partly trained model finds unusual.
    """

    def __init__(self, fraction=0.0, epochs=0):
        self.fraction = fraction
        self.epochs = epochs

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # 1-based: skorch has opened this epoch's row
        net.trim_fraction_ = self.fraction if epoch > self.epochs else 0.0


class ThreadTuner(Callback):
    """Pick the faster CPU thread count from the first training batches.

    PyTorch splits every op across all cores. For the small MLPs of tabular
    models that wins on an idle machine and loses badly on a busy one
    (measured on 2 cores: 0.33 vs 0.47 s/epoch idle, but 10x slower with
    another process running). So the first ``2 * trial_batches`` training
    batches alternate between ``torch.get_num_threads()`` and one thread;
    the rest of training uses whichever had the lower median batch time.
    The caller restores the user's setting after ``fit``.
    """

    def __init__(self, trial_batches=6):
        self.trial_batches = trial_batches

    def on_train_begin(self, net, **kwargs):
        import torch

        many = torch.get_num_threads()
        self.candidates_ = [many, 1] if many > 1 else []
        self.times_ = {c: [] for c in self.candidates_}
        self.step_ = 0
        self.chosen_ = many

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training or not self.candidates_:
            return
        import torch

        self.current_ = self.candidates_[self.step_ % 2]
        torch.set_num_threads(self.current_)
        self.start_ = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        if not training or not self.candidates_:
            return
        import torch

        self.times_[self.current_].append(time.perf_counter() - self.start_)
        self.step_ += 1
        if self.step_ >= 2 * self.trial_batches:
            # Drop each candidate's first batch (warm-up), keep the faster one.
            self.chosen_ = min(self.candidates_,
                               key=lambda c: statistics.median(self.times_[c][1:]))
            torch.set_num_threads(self.chosen_)
            self.candidates_ = []

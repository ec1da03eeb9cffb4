"""skorch callbacks: KL warm-up, trimming warm-up, divergence guard, progress bar."""

import math

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



class CosineSchedule(Callback):
    """Cosine decay of the learning rate over the planned optimizer steps.

    Step ``t`` of ``total`` uses ``lr * (final + (1 - final) * (1 + cos(pi t / total)) / 2)``:
    the full rate early, where large steps pay, annealed to ``final * lr``
    at the end of the budget, so the model training stops on is not the
    noisy iterate of a large fixed step (standard practice for training on a
    fixed budget). Early stopping may end training before ``total``.
    """

    def __init__(self, total, final=0.0):
        self.total = total
        self.final = final

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self.base_ = [group["lr"] for group in net.optimizer_.param_groups]

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        frac = min(1.0, self.step_ / max(1, self.total))
        factor = self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * frac))
        for group, base in zip(net.optimizer_.param_groups, self.base_):
            group["lr"] = base * factor
        self.step_ += 1

    def on_train_end(self, net, **kwargs):
        for group, base in zip(net.optimizer_.param_groups, self.__dict__.pop("base_", [])):
            group["lr"] = base

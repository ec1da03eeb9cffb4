"""The skorch bridge: a ``NeuralNet`` whose loss is the VAE's negative ELBO."""

import numpy as np
import torch
from skorch import NeuralNet

from ._callbacks import EpochProgressBar, QuietPrintLog, StopTraining
from ._data import TensorData


def adam(params, **kwargs):
    """Adam for the training loop: :class:`FlatAdam` where this torch supports it.

    Falls back to ``torch.optim.Adam`` fused into one kernel per device and
    dtype (~10% faster per epoch on Adult than the per-tensor loop), then to
    the plain one (older torch, or an unsupported device).
    """
    params = list(params)
    try:
        return FlatAdam(params, **kwargs)
    except (RuntimeError, TypeError, ValueError, AttributeError):
        pass
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # older torch, or unsupported device
        return torch.optim.Adam(params, **kwargs)


class FlatAdam(torch.optim.Adam):
    """Adam whose parameters, gradients and moments sit in one flat buffer per group.

    On the small networks this package trains, a step costs its per-tensor
    bookkeeping, not its arithmetic: ``torch.optim.Adam`` walks every
    parameter in Python on each ``step`` and ``zero_grad`` (about 0.6 ms of a
    3 ms step on the default transformer). Here each group's parameters are
    views into one contiguous tensor, and so are their gradients (autograd
    accumulates into them in place) and the Adam moments, so ``step`` is one
    fused kernel per group and ``zero_grad`` one fill. The update is Adam's
    (``torch._fused_adam_``, the kernel behind ``Adam(fused=True)``); results
    differ from the per-tensor optimizer by rounding only.

    The optimizer state is the usual per-parameter one (``exp_avg``,
    ``exp_avg_sq``, ``step``, as views), so ``state_dict`` and
    ``load_state_dict`` keep ``torch.optim.Adam``'s format. When the views
    have been cut (a ``deepcopy`` or pickle round trip, ``module.to``,
    gradients set to None, a loaded state), the next ``step`` or
    ``zero_grad`` rebuilds the buffers from the current values. A parameter
    left without a gradient counts as a zero gradient (its moments decay),
    where ``torch.optim.Adam`` would skip it; every parameter of the
    package's networks gets a gradient on every step.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         fused=True)
        for group in self.param_groups:
            kinds = {(p.dtype, p.device) for p in group["params"]}
            if len(kinds) > 1 or any(not p.is_floating_point() for p in group["params"]):
                raise ValueError("FlatAdam needs one floating dtype and device per group.")
            for dtype, device in kinds:  # the kernel runs here (fails on older torch)
                probe = torch.zeros(1, dtype=dtype, device=device)
                self._update([probe], [probe.clone()], [probe.clone()], [probe.clone()],
                             torch.ones((), dtype=torch.float32, device=device),
                             self.param_groups[0])
        self._flat = None
        self._link()

    @staticmethod
    def _update(data, grad, exp_avg, exp_avg_sq, step, group):
        beta1, beta2 = group["betas"]
        torch._fused_adam_(data, grad, exp_avg, exp_avg_sq, [], [step],
                           lr=float(group["lr"]), beta1=beta1, beta2=beta2,
                           weight_decay=group["weight_decay"], eps=group["eps"],
                           amsgrad=False, maximize=False)

    @torch.no_grad()
    def _link(self):
        """(Re)build each group's flat buffers from the current values."""
        flat = []
        for group in self.param_groups:
            params = group["params"]
            if not params:
                flat.append(None)
                continue
            data = params[0].new_empty(sum(p.numel() for p in params))
            grad, exp_avg, exp_avg_sq = (torch.zeros_like(data) for _ in range(3))
            step, offset, spans = 0.0, 0, []
            for p in params:
                span = slice(offset, offset + p.numel())
                data[span] = p.reshape(-1)
                if p.grad is not None:
                    grad[span] = p.grad.reshape(-1)
                state = self.state.get(p, {})
                if "exp_avg" in state:
                    exp_avg[span] = state["exp_avg"].reshape(-1)
                    exp_avg_sq[span] = state["exp_avg_sq"].reshape(-1)
                    step = max(step, float(state["step"]))
                spans.append(span)
                offset = span.stop
            step = torch.tensor(step, dtype=torch.float32, device=data.device)
            for p, span in zip(params, spans):
                p.data = data[span].view_as(p)
                p.grad = grad[span].view_as(p)
                self.state[p] = {"step": step, "exp_avg": exp_avg[span].view_as(p),
                                 "exp_avg_sq": exp_avg_sq[span].view_as(p)}
            ends = (params[0], params[-1])
            flat.append((data, grad, exp_avg, exp_avg_sq, step, ends,
                         [(p.data_ptr(), p.grad.data_ptr()) for p in ends]))
        self._flat = flat

    def _linked(self):
        flat = getattr(self, "_flat", None)  # None after unpickling (not in the state)
        if flat is None or len(flat) != len(self.param_groups):
            return False
        for group, entry in zip(self.param_groups, flat):
            if entry is None:
                if group["params"]:
                    return False
                continue
            ends, ptrs = entry[5], entry[6]
            if ends[0] is not group["params"][0] or ends[1] is not group["params"][-1]:
                return False
            for p, (data_ptr, grad_ptr) in zip(ends, ptrs):
                if p.data_ptr() != data_ptr or p.grad is None or p.grad.data_ptr() != grad_ptr:
                    return False
        return True

    def zero_grad(self, set_to_none=True):
        if not self._linked():
            self._link()
        for entry in self._flat:
            if entry is not None:
                entry[1].zero_()

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if not self._linked():
            self._link()
        for group, entry in zip(self.param_groups, self._flat):
            if entry is not None:
                data, grad, exp_avg, exp_avg_sq, step = entry[:5]
                step.add_(1)
                self._update([data], [grad], [exp_avg], [exp_avg_sq], step, group)
        return loss

    def state_dict(self):
        state = super().state_dict()
        # One step counter per parameter, as torch.optim.Adam keeps it: a
        # shared one would be advanced once per parameter after loading there.
        state["state"] = {key: {**value, "step": value["step"].clone()}
                          if "step" in value else value
                          for key, value in state["state"].items()}
        return state

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._link()

    @torch.no_grad()
    def unlink(self):
        """Give every parameter and moment its own storage (values unchanged).

        Pickling a view writes its whole storage: with the views linked, a
        default transformer pickled to 2.5 MB (16 parameters, each with the
        group's whole buffer, and twice that for the moments) instead of
        about 0.1 MB. The next ``step`` or ``zero_grad`` links them again.
        """
        for group in self.param_groups:
            for p in group["params"]:
                p.data = p.data.clone()
                p.grad = None
                state = self.state.get(p)
                if state and "exp_avg" in state:
                    self.state[p] = {key: value.clone() for key, value in state.items()}
        self._flat = None


_NOISE_STREAM = 0x6E6F6973  # "nois": tells the noise stream from others of one seed


class _Interrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch, which would swallow it."""


class VAENet(NeuralNet):
    """skorch ``NeuralNet`` training a :class:`~sklearn_vae.nn.VAEModule`.

    Batches are ``{"x": values, "mask": mask}`` dicts (with ``"cond"``, the
    one-hot label, for a conditional module, and no ``"mask"`` when the
    training data has no missing entry; see ``BatchIterator``);
    the module's forward takes them as keyword arguments. ``get_loss`` and
    ``get_dataset`` are overridden; ``infer`` passes the noise generator to
    the module; ``partial_fit`` (which ``fit`` calls) lets a
    ``KeyboardInterrupt`` propagate instead of ending training silently as
    skorch does, so the estimator can leave itself as it was.

    Parameters
    ----------
    beta : float
        Weight of the KL term in the objective.
    trim_fraction : float, default=0.0
        Fraction of the highest-loss rows of each batch left out of the loss
        (robustness to contaminated training data). Validation batches are
        trimmed alike, so early stopping monitors the same robust objective.
        Callbacks may switch it during training through ``trim_fraction_``
        (see ``TrimWarmup``).
    n_train_samples : int, default=1
        Importance samples of the training objective: 1 trains on the
        negative ELBO, ``K > 1`` on the negative IWAE bound with ``K`` draws
        (MIWAE), which is tighter and suits imputation.
    noise_seed : int or None, default=None
        Seeds the generator of the training noise (the draws of ``z``),
        through a ``SeedSequence`` stream of its own, so it shares no draws
        with generators seeded by the same number. The generator is created
        on the net's device at the start of every ``partial_fit`` and
        dropped at its end. None uses torch's global RNG.
    sync_losses : {"auto", "batch", "epoch"}, default="auto"
        When batch losses are read from the device: ``"batch"`` after every
        step (skorch's behaviour), ``"epoch"`` once per epoch (no host sync
        inside the epoch), ``"auto"``: ``"epoch"`` on CUDA, ``"batch"``
        elsewhere. The recorded history is the same.
    free_bits : float, default=0.0
        Free bits per latent dimension of the objective (see
        :meth:`VAEModule.negative_elbo`), on training and validation batches
        alike, so early stopping monitors the objective being optimized.
        (Monitoring the plain ELBO instead stopped fits early: raising a
        collapsed dimension's KL towards the floor first lowers the ELBO.)
        Only used with ``n_train_samples=1``.
    """

    def __getstate__(self):
        # Pickle each parameter and moment alone, not the flat buffer they view.
        optimizer = getattr(self, "optimizer_", None)
        if isinstance(optimizer, FlatAdam):
            optimizer.unlink()
        return super().__getstate__()

    def __init__(self, *args, beta=1.0, trim_fraction=0.0, n_train_samples=1,
                 noise_seed=None, sync_losses="auto", free_bits=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.free_bits = free_bits
        self.sync_losses = sync_losses
        self.beta = beta
        self.trim_fraction = trim_fraction
        self.n_train_samples = n_train_samples
        self.noise_seed = noise_seed

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        self.noise_generator_ = None
        seed = getattr(self, "noise_seed", None)  # None in nets pickled before it existed
        if seed is not None:
            # A stream of its own: the same seed also seeds the batch order
            # (and the caller's weight init), which must not share draws.
            stream = np.random.SeedSequence([int(seed), _NOISE_STREAM])
            self.noise_generator_ = torch.Generator(device=self.device)
            self.noise_generator_.manual_seed(int(stream.generate_state(1)[0]))
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except _Interrupted as exc:
            for _, cb in getattr(self, "callbacks_", []):
                if isinstance(cb, EpochProgressBar):
                    cb.close()
            raise exc.__cause__ from None
        finally:
            self.noise_generator_ = None

    def fit_loop(self, X, y=None, **fit_params):
        try:
            return super().fit_loop(X, y, **fit_params)
        except StopTraining:
            raise  # a callback ended training: skorch handles it as a normal stop
        except KeyboardInterrupt as exc:
            raise _Interrupted() from exc

    def _defer_loss_sync(self):
        """Whether batch losses stay on the device until the epoch ends.

        Reading a loss (``.item()``) waits for the device to finish the
        batch; on a GPU that stall every step leaves the device idle while
        Python queues the next one. With ``sync_losses="epoch"`` (what
        ``"auto"`` means on CUDA) the losses are kept as device tensors and
        read once, at the end of the epoch, before any epoch-level callback
        runs. The history is the same either way (``tests/test_reliability.py``
        checks it on CPU); only when per-batch callbacks see a float
        changes (:class:`DivergenceGuard` then checks at the epoch's end).
        """
        mode = getattr(self, "sync_losses", "auto")
        if mode == "auto":
            return torch.device(self.device).type == "cuda"
        return mode == "epoch"

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None or not self._defer_loss_sync():
            return super().run_single_epoch(iterator, training, prefix, step_fn,
                                            **fit_params)
        batches = self.history[-1]["batches"]
        pending = []  # (index in this epoch's batches, loss on the device, rows)
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            pending.append((len(batches) - 1, step["loss"].detach(), len(x["x"])))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if pending:
            values = torch.stack([loss for _, loss, _ in pending]).cpu().tolist()
            for (index, _, rows), value in zip(pending, values):
                batches[index][prefix + "_loss"] = value
                batches[index][prefix + "_batch_size"] = rows
        self.history.record(prefix + "_batch_count", len(pending))

    def infer(self, x, **fit_params):
        generator = getattr(self, "noise_generator_", None)
        if generator is not None:
            fit_params = {**fit_params, "generator": generator}
        if self.n_train_samples > 1:
            # get_loss draws K samples itself; a one-sample decode would be wasted.
            fit_params = {**fit_params, "decode": False}
        return super().infer(x, **fit_params)

    def initialize(self):
        super().initialize()
        self.kl_weight_ = self.beta
        self.trim_fraction_ = self.trim_fraction  # callbacks may switch it (TrimWarmup)
        return self

    @property
    def _default_callbacks(self):
        return [(name, QuietPrintLog() if name == "print_log" else cb)
                for name, cb in super()._default_callbacks]

    def _set_training(self, training=True):
        # skorch calls this before every batch: only switch when the mode
        # changes (training and validation alternate every epoch), and set
        # the flags directly: Module.train goes through Module.__setattr__
        # for every submodule (~0.35 ms a switch on the default network).
        module = self.module_
        if module.training != training:
            for sub in module.modules():
                sub.__dict__["training"] = training

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorData):
            return X
        return super().get_dataset(X, y)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        beta = self.kl_weight_ if training else self.beta
        if self.n_train_samples > 1:
            loss = self.module_.negative_iwae_bound(
                X["x"], X.get("mask"), self.n_train_samples, beta, out=y_pred,
                generator=getattr(self, "noise_generator_", None), cond=X.get("cond"))
        else:
            loss = self.module_.negative_elbo(X["x"], X.get("mask"), y_pred, beta,
                                              free_bits=getattr(self, "free_bits", 0.0))
        trim = getattr(self, "trim_fraction_", self.trim_fraction)
        if trim > 0 and loss.shape[0] > 1:
            keep = max(1, int(round(loss.shape[0] * (1.0 - trim))))
            loss = torch.topk(loss, keep, largest=False, sorted=False).values
        return loss.mean()

"""Save and load fitted estimators without pickle.

A file written by :func:`save` is a zip archive of three members:

- ``manifest.json``: format name and version, the versions of sklearn-vae,
  torch, scikit-learn and numpy that wrote it, the estimator's class, and
  the SHA-256 of the two other members;
- ``estimator.json``: the estimator's parameters and fitted attributes
  (schema, seed, loss curve, threshold, ...) and the skorch net's settings
  and history, as plain JSON. Python objects are limited to a fixed list
  of this package's classes (and sklearn's ``MissingIndicator`` and
  ``GaussianMixture``), rebuilt
  from their attribute dicts; arrays are lists of numbers (floats are
  written with ``repr``, so they come back bit for bit);
- ``tensors.pt``: the network's weights and the optimizer's state, read
  with ``torch.load(weights_only=True)``, which only rebuilds tensors and
  plain containers.

Loading therefore never runs code from the file (unlike ``pickle`` and
``joblib``). The checksums catch a corrupted or edited file; they are not a
signature: whoever can write the file can recompute them, so a file from an
untrusted source cannot run code but can still hold a model that gives
wrong answers.
"""

import hashlib
import inspect
import io
import json
import sys
import warnings
import zipfile

import numpy as np
import sklearn
import torch
from skorch.history import History

from . import _schema
from ._training import BatchIterator, VAENet, adam
from .nn import ColumnLayout, VAEModule
from .utils import check_device, user_stacklevel

FORMAT = "sklearn-vae"
FORMAT_VERSION = 1
_MEMBERS = ("manifest.json", "estimator.json", "tensors.pt")
# Plain settings of the skorch net that inference and warm starts use.
_NET_ATTRS = ("lr", "max_epochs", "batch_size", "beta", "trim_fraction", "n_train_samples",
              "noise_seed", "iterator_train__seed", "optimizer__weight_decay", "kl_weight_",
              "trim_fraction_", "optimizer__param_groups")


def _version():
    from . import __version__

    return __version__


def _estimator_classes():
    from ._imputer import VAEImputer
    from ._outlier import VAEOutlierDetector
    from ._transformer import VAETransformer

    return {cls.__name__: cls for cls in (VAETransformer, VAEImputer, VAEOutlierDetector)}


def _object_classes():
    """Classes whose instances are saved as their attribute dict."""
    from sklearn.impute import MissingIndicator
    from sklearn.mixture import GaussianMixture

    return {cls.__name__: cls for cls in (_schema.TabularSchema, _schema._Column,
                                          _schema._Standard, _schema._QuantileNormal,
                                          MissingIndicator, GaussianMixture)}


# -- plain-data encoding ----------------------------------------------------------

def _encode(value, where, memo=None):
    """``value`` as JSON-compatible data with type tags; TypeError if unsupported.

    Objects met twice (the schema lists its columns in two orders) are
    written once and referenced by ``{"__ref__": n}`` after that.
    """
    memo = {} if memo is None else memo
    pd = sys.modules.get("pandas")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float) and type(value) is float:
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if isinstance(value, bytes):
        return {"__bytes__": value.hex()}
    if isinstance(value, ColumnLayout):
        return {"__layout__": [value.n_continuous, value.n_binary, list(value.categories)]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where, memo) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where, memo) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, f"{where}.{k}", memo) for k, v in value.items()}
        return {"__dict__": [[_encode(k, where, memo), _encode(v, f"{where}[{k!r}]", memo)]
                             for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            data = value.ravel().tolist()
        elif value.dtype.kind in "OU":
            data = [_encode(v, where, memo) for v in value.ravel().tolist()]
        else:
            raise TypeError(f"{where}: cannot save an array of dtype {value.dtype}.")
        return {"__ndarray__": value.dtype.str, "shape": list(value.shape), "data": data}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str}
    if isinstance(value, np.random.RandomState):
        return {"__random_state__": _encode(value.get_state(legacy=True), where, memo)}
    if isinstance(value, torch.device):
        return {"__torch_device__": str(value)}
    if pd is not None:
        if value is pd.NA:
            return {"__pd_na__": True}
        if isinstance(value, pd.CategoricalDtype):
            categories = value.categories
            levels = categories.to_numpy(dtype=object)
            return {"__categorical_dtype__": _encode(levels, where, memo),
                    "categories_dtype": _encode(categories.dtype, where, memo),
                    "ordered": bool(value.ordered)}
        if isinstance(value, pd.StringDtype):
            return {"__string_dtype__": value.storage,
                    "na_value": _encode(value.na_value, where, memo)}
        if isinstance(value, pd.api.extensions.ExtensionDtype):
            name = str(value)
            if pd.api.types.pandas_dtype(name) != value:
                raise TypeError(f"{where}: cannot save the pandas dtype {value!r}.")
            return {"__pandas_dtype__": name}
    name = type(value).__name__
    if _object_classes().get(name) is type(value):
        if id(value) in memo:
            return {"__ref__": memo[id(value)][0]}
        memo[id(value)] = (len(memo), value)  # holds value, so ids stay unique
        return {"__object__": name, "id": memo[id(value)][0],
                "state": _encode(dict(vars(value)), where, memo)}
    raise TypeError(
        f"{where}: cannot save a value of type {type(value).__module__}.{name}; "
        "sklearn_vae.save stores plain data only (use pickle for custom objects)."
    )


def _decode(data, objects=None):
    """Inverse of :func:`_encode`; only the tags above are understood."""
    objects = {} if objects is None else objects
    if isinstance(data, list):
        return [_decode(v, objects) for v in data]
    if not isinstance(data, dict):
        return data
    tag = next(iter(data), "")
    if not tag.startswith("__"):  # a dict with string keys
        return {k: _decode(v, objects) for k, v in data.items()}
    if tag == "__scalar__":
        return np.dtype(_check_dtype(data["__scalar__"])).type(data["value"])
    if tag == "__bytes__":
        return bytes.fromhex(data["__bytes__"])
    if tag == "__layout__":
        n_cont, n_bin, cats = data["__layout__"]
        return ColumnLayout(int(n_cont), int(n_bin), tuple(int(c) for c in cats))
    if tag == "__tuple__":
        return tuple(_decode(v, objects) for v in data["__tuple__"])
    if tag == "__dict__":
        return {_hashable(_decode(k, objects)): _decode(v, objects)
                for k, v in data["__dict__"]}
    if tag == "__ndarray__":
        dtype = np.dtype(_check_dtype(data["__ndarray__"]))
        shape = tuple(int(s) for s in data["shape"])
        if dtype.kind in "OU":
            values = [_decode(v, objects) for v in data["data"]]
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out.astype(dtype).reshape(shape)
        return np.asarray(data["data"], dtype=dtype).reshape(shape)
    if tag == "__dtype__":
        return np.dtype(_check_dtype(data["__dtype__"]))
    if tag == "__random_state__":
        rng = np.random.RandomState()
        rng.set_state(_decode(data["__random_state__"], objects))
        return rng
    if tag == "__torch_device__":
        return torch.device(data["__torch_device__"])
    if tag in ("__pd_na__", "__categorical_dtype__", "__string_dtype__", "__pandas_dtype__"):
        import pandas as pd

        if tag == "__pd_na__":
            return pd.NA
        if tag == "__categorical_dtype__":
            categories = pd.Index(_decode(data["__categorical_dtype__"], objects),
                                  dtype=_decode(data["categories_dtype"], objects))
            return pd.CategoricalDtype(categories, ordered=bool(data["ordered"]))
        if tag == "__string_dtype__":
            return pd.StringDtype(data["__string_dtype__"],
                                  na_value=_decode(data["na_value"], objects))
        return pd.api.types.pandas_dtype(data["__pandas_dtype__"])
    if tag == "__ref__":
        if data["__ref__"] not in objects:
            raise ValueError("Invalid file: a reference to an unknown object.")
        return objects[data["__ref__"]]
    if tag == "__object__":
        cls = _object_classes().get(data["__object__"])
        if cls is None:
            raise ValueError(f"Invalid file: unknown object type {data['__object__']!r}.")
        obj = cls.__new__(cls)
        objects[data.get("id")] = obj
        state = _decode(data["state"], objects)
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise ValueError(f"Invalid file: bad attributes for {data['__object__']!r}.")
        obj.__dict__.update(state)
        return obj
    raise ValueError(f"Invalid file: unknown tag {tag!r}.")


def _check_dtype(code):
    if not isinstance(code, str) or np.dtype(code).kind not in "biufOU":
        raise ValueError(f"Invalid file: dtype {code!r} is not allowed.")
    return code


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


# -- tensors --------------------------------------------------------------------

def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def _net_state(net):
    module = net.module_
    hidden = getattr(module, "hidden_layer_sizes", None)
    if hidden is None:  # modules pickled before the attribute existed
        linears = [m for m in module.encoder if isinstance(m, torch.nn.Linear)]
        hidden = tuple(m.out_features for m in linears[:-1])
    return {
        "device": str(net.device),
        "attrs": {name: getattr(net, name) for name in _NET_ATTRS if hasattr(net, name)},
        "module": {"layout": module.layout, "n_components": module.n_components,
                   "hidden_layer_sizes": tuple(hidden),
                   "min_variance": module.min_variance.tolist(),
                   "heteroscedastic": module.heteroscedastic,
                   "n_conditions": getattr(module, "n_conditions", 0),
                   "linear_skip": getattr(module, "linear_skip", False),
                   "prior_components": module.prior_components,
                   "prior_classes": (module.prior_log_weights.shape[0]
                                     if module.prior_components else 1)},
        "history": [dict(row) for row in net.history],
    }


def _build_net(state, tensors, device):
    spec = state["module"]
    module = VAEModule(spec["layout"], spec["n_components"], spec["hidden_layer_sizes"],
                       min_variance=spec["min_variance"],
                       heteroscedastic=spec["heteroscedastic"],
                       n_conditions=spec.get("n_conditions", 0),
                       linear_skip=spec.get("linear_skip", False),
                       prior_components=spec.get("prior_components", 0),
                       prior_classes=spec.get("prior_classes", 1),
                       generator=torch.Generator())  # weights are overwritten below
    try:
        module.load_state_dict(tensors["module"], strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise ValueError(f"Invalid file: the weights do not fit the model ({exc}).") from exc
    attrs = state["attrs"]
    kwargs = {k: attrs[k] for k in ("lr", "max_epochs", "batch_size", "beta", "trim_fraction",
                                    "n_train_samples", "noise_seed") if k in attrs}
    net = VAENet(
        module,
        criterion=torch.nn.Identity,
        optimizer=adam,
        optimizer__weight_decay=attrs.get("optimizer__weight_decay", 0.0),
        # (pattern, options) pairs; JSON stored them as lists. Files from
        # before per-group rates have none: one group, as their optimizer state.
        optimizer__param_groups=[tuple(group) for group
                                 in attrs.get("optimizer__param_groups", [])],
        iterator_train=BatchIterator,
        iterator_train__shuffle=True,
        iterator_train__seed=attrs.get("iterator_train__seed"),
        iterator_valid=BatchIterator,
        train_split=None,
        device=device,
        verbose=0,
        **kwargs,
    )
    net.initialize()
    if tensors.get("optimizer") is not None:
        try:
            net.optimizer_.load_state_dict(tensors["optimizer"])
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"Invalid file: the optimizer state does not fit the model ({exc})."
            ) from exc
    net.history = History(state["history"])
    for name in ("kl_weight_", "trim_fraction_"):
        if name in attrs:
            setattr(net, name, attrs[name])
    return net


# -- public API -----------------------------------------------------------------

def save(estimator, file):
    """Save a fitted estimator without pickle.

    Parameters
    ----------
    estimator : VAETransformer, VAEImputer or VAEOutlierDetector
        A fitted estimator (subclasses are refused: use pickle for those).
    file : str, path-like or binary file object
        Where to write. The file is a zip archive holding JSON and the
        weights (see :func:`load`).

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from sklearn_vae import VAETransformer, load, save
    >>> X = np.random.RandomState(0).normal(size=(50, 3))
    >>> vae = VAETransformer(max_iter=2, random_state=0).fit(X)
    >>> buffer = io.BytesIO()
    >>> save(vae, buffer)
    >>> restored = load(io.BytesIO(buffer.getvalue()))
    >>> bool(np.array_equal(restored.transform(X), vae.transform(X)))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    classes = _estimator_classes()
    name = type(estimator).__name__
    if classes.get(name) is not type(estimator):
        raise TypeError(
            f"save supports {', '.join(classes)}; got {type(estimator).__qualname__}. "
            "Use pickle (only for files you trust) for other objects."
        )
    check_is_fitted(estimator)
    # Private caches (``_*_cache``, e.g. the detector's training scores) are
    # not saved: a loaded model recomputes what they held.
    state = {k: v for k, v in vars(estimator).items()
             if k != "net_" and not (k.startswith("_") and k.endswith("_cache"))}
    payload = {
        "params": _encode(state, name),
        "net": _encode(_net_state(estimator.net_), f"{name}.net_"),
    }
    buffer = io.BytesIO()
    net = estimator.net_
    torch.save({"module": _to_cpu(net.module_.state_dict()),
                "optimizer": _to_cpu(net.optimizer_.state_dict())
                if getattr(net, "optimizer_", None) is not None else None}, buffer)
    members = {
        "estimator.json": json.dumps(payload, allow_nan=True).encode(),
        "tensors.pt": buffer.getvalue(),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": name,
        "versions": {"sklearn_vae": _version(), "torch": torch.__version__,
                     "sklearn": sklearn.__version__, "numpy": np.__version__},
        "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()},
    }
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        for member, data in members.items():
            archive.writestr(member, data)


def load(file, *, device=None, allow_version_mismatch=False):
    """Load an estimator written by :func:`save`; never unpickles code.

    Parameters
    ----------
    file : str, path-like or binary file object
    device : str, torch.device or None, default=None
        Where to place the network. None: where it was trained when that
        device exists here, else the CPU (with a warning).
    allow_version_mismatch : bool, default=False
        Load a file written by another version of sklearn-vae (same file
        format). Off by default: the model's code may differ.

    Returns
    -------
    estimator : VAETransformer, VAEImputer or VAEOutlierDetector
        Fitted, with the same parameters, weights, schema and noise seed,
        so every method returns the same results as before saving.

    Raises
    ------
    ValueError
        When the file is not an sklearn-vae file, was modified or
        corrupted (checksum mismatch), uses another format version, or was
        written by another sklearn-vae version (unless allowed).
    """
    try:
        with zipfile.ZipFile(file) as archive:
            names = sorted(archive.namelist())
            if names != sorted(_MEMBERS):
                raise ValueError(
                    f"Not an sklearn-vae file: expected the members {list(_MEMBERS)}, "
                    f"found {names}."
                )
            raw = {name: archive.read(name) for name in _MEMBERS}
    except zipfile.BadZipFile as exc:
        raise ValueError(
            f"Not an sklearn-vae file (not a zip archive, or truncated): {exc}."
        ) from exc
    try:
        manifest = json.loads(raw["manifest.json"])
    except ValueError as exc:
        raise ValueError("Invalid file: manifest.json is not valid JSON.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError("Not an sklearn-vae file: the manifest names another format.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"The file uses format version {manifest.get('format_version')!r}; this "
            f"sklearn-vae ({_version()}) reads version {FORMAT_VERSION}. Load it with "
            f"the version that wrote it ({manifest.get('versions', {}).get('sklearn_vae')})."
        )
    for member in _MEMBERS[1:]:
        digest = hashlib.sha256(raw[member]).hexdigest()
        if digest != manifest.get("sha256", {}).get(member):
            raise ValueError(
                f"The file was modified or is corrupted: the checksum of {member} does not "
                "match its manifest. Save the estimator again from its source."
            )
    written_by = manifest.get("versions", {}).get("sklearn_vae")
    if written_by != _version() and not allow_version_mismatch:
        raise ValueError(
            f"The file was written by sklearn-vae {written_by}, this is {_version()}. "
            "Load it with that version, or pass allow_version_mismatch=True to try anyway."
        )
    cls = _estimator_classes().get(manifest.get("estimator"))
    if cls is None:
        raise ValueError(f"Invalid file: unknown estimator {manifest.get('estimator')!r}.")

    try:
        payload = json.loads(raw["estimator.json"])
        state = _decode(payload["params"])
        net_state = _decode(payload["net"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"Invalid file: estimator.json cannot be read ({exc}).") from exc
    try:
        tensors = torch.load(io.BytesIO(raw["tensors.pt"]), map_location="cpu",
                             weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and containers
        raise ValueError(
            f"Invalid file: tensors.pt holds more than tensors and plain containers ({exc})."
        ) from exc
    if not isinstance(tensors, dict) or not isinstance(tensors.get("module"), dict):
        raise ValueError("Invalid file: tensors.pt does not hold the model's weights.")
    if device is None:
        saved = torch.device(net_state["device"])
        if saved.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"The model was trained on {saved} but CUDA is not available here; it "
                "is loaded on the CPU (and its device parameter set to 'cpu', so it "
                "can go on training here).", UserWarning, stacklevel=user_stacklevel())
            saved = torch.device("cpu")
        device = saved
    device = check_device(device)

    if not isinstance(state, dict):
        raise ValueError("Invalid file: estimator.json's params are not a mapping.")
    estimator = cls.__new__(cls)
    estimator.__dict__.update({str(k): v for k, v in state.items()})
    _fill_new_params(estimator)
    estimator.net_ = _build_net(net_state, tensors, device)
    _check_consistent(estimator)
    # The device parameter follows where the model was loaded (unless "auto"),
    # so partial_fit / warm_start / clone(...).fit train there: a saved "cuda"
    # on a CPU-only machine would otherwise refuse to train.
    param = estimator.__dict__.get("device", "auto")
    if not (isinstance(param, str) and param == "auto"):
        if torch.device(param).type != device.type:
            estimator.device = device.type if device.index is None else str(device)
    return estimator


#: Fitted attributes every estimator of a file must have, and per class.
_FITTED = ("schema_", "n_features_in_", "_seed")
_FITTED_BY_CLASS = {"VAEImputer": ("_empty_features",),
                    "VAEOutlierDetector": ("offset_",)}


def _check_consistent(estimator):
    """``ValueError`` for a file whose parts disagree (an edited, re-checksummed one).

    Checks what later calls would otherwise trip over with an
    ``AttributeError`` or silently contradict: the fitted attributes the
    class needs, the width of the schema, and the per-dimension fitted
    attributes against the weights.
    """
    name = type(estimator).__name__
    missing = [a for a in _FITTED + _FITTED_BY_CLASS.get(name, ())
               if a not in estimator.__dict__]
    if missing:
        raise ValueError(f"Invalid file: the {name} lacks the fitted attributes {missing}.")
    if getattr(estimator.schema_, "n_features_", estimator.n_features_in_) != \
            estimator.n_features_in_:
        raise ValueError("Invalid file: the schema's width differs from n_features_in_.")
    # The fitted per-dimension attributes against the weights. (The
    # n_components parameter may differ: set after fit, it is for the next
    # fit, as PCA's; everything fitted reads n_components_ from the weights.)
    k = estimator.net_.module_.n_components
    for attr in ("kl_per_component_", "active_components_"):
        value = estimator.__dict__.get(attr)
        if value is not None and np.shape(value) != (k,):
            raise ValueError(
                f"Invalid file: {attr} has shape {np.shape(value)} but the weights have "
                f"{k} latent dimensions.")


def _fill_new_params(estimator):
    """Give a model saved before a parameter existed that parameter.

    The value that describes how the saved model behaves: the estimator's
    ``_LEGACY_PARAMS`` where the new parameter's default would claim a
    behaviour the old model lacks (``prior="normal"``, no category
    calibration), else the default. Without it ``get_params`` and ``clone``
    would fail on the loaded model.
    """
    legacy = getattr(type(estimator), "_LEGACY_PARAMS", {})
    signature = inspect.signature(type(estimator).__init__).parameters
    for name in type(estimator)._get_param_names():
        if name not in estimator.__dict__:
            setattr(estimator, name, legacy.get(name, signature[name].default))

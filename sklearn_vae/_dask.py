"""Dask collections in, lazy dask collections out: inference block by block.

The inference methods of the estimators (``transform``, ``score_samples``,
``score_samples_per_feature``, ``decision_function``, ``predict``) accept a
``dask.array.Array`` or a ``dask.dataframe.DataFrame`` of the training
columns and return the matching lazy collection: the method runs on every
row block (partition) separately, so the result equals the in-memory result
on the same rows (every row's result is independent of the other rows of its
block; see ``_inference.py``). The fitted estimator enters the graph once, as
one ``dask.delayed`` object, not once per task; it pickles with its weights,
schema and the optimizer's state (what ``partial_fit`` continues from), no
training data. Nothing is computed until the caller asks.

Training on dask collections goes through ``partial_fit``, e.g. with
``dask_ml.wrappers.Incremental`` (one call per block).
"""

import functools

import numpy as np


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (never imports dask: one needs it loaded)."""
    import sys

    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def blockwise(kind, *, dtype=None, width=None):
    """Map an inference method over the row blocks of a dask input, lazily.

    ``kind`` is "rows" (one value per row: a dask array, or a Series for a
    DataFrame) or "columns" (a row of ``width(est)`` values per row: a 2-d
    dask array, or a DataFrame with ``est.get_feature_names_out()`` or the
    training columns). ``dtype(X)`` gives the output dtype (default
    float64). Other inputs go to the method unchanged.
    """
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            if not is_dask_collection(X):
                return method(self, X, *args, **kwargs)
            return _map_blocks(self, method, X, args, kwargs, kind,
                               dtype=dtype, width=width)
        return wrapper
    return decorate


def _map_blocks(est, method, X, args, kwargs, kind, *, dtype, width):
    import dask
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    if any(a is not None for a in args) or any(v is not None for v in kwargs.values()):
        raise ValueError(
            f"{type(est).__name__}.{method.__name__} on a dask collection takes no other "
            "argument (a conditional model's y is not supported with dask input): call it "
            "on computed blocks instead.")
    out_dtype = np.dtype(dtype(X) if dtype else np.float64)
    model = dask.delayed(est, pure=True, traverse=False)
    if hasattr(X, "map_partitions"):  # a dask DataFrame
        return _map_partitions(est, method, X, kind, out_dtype, model)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-d dask array, got {X.ndim} dimensions.")
    n_features = getattr(est, "n_features_in_", X.shape[1])
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is "
                         f"expecting {n_features} features as input.")
    if len(X.chunks[1]) > 1:  # blocks of whole rows
        X = X.rechunk({1: -1})

    def run(block, fitted):
        if not len(block):  # an empty block (after a filter): an empty result
            return np.empty((0,) if kind == "rows" else (0, width(fitted)), out_dtype)
        return np.asarray(method(fitted, block), dtype=out_dtype)

    if kind == "rows":
        return X.map_blocks(run, model, drop_axis=1, dtype=out_dtype,
                            meta=np.empty((0,), out_dtype))
    n_out = width(est)
    return X.map_blocks(run, model, chunks=(X.chunks[0], (n_out,)), dtype=out_dtype,
                        meta=np.empty((0, n_out), out_dtype))


def _map_partitions(est, method, X, kind, out_dtype, model):
    import pandas as pd

    name = method.__name__
    if kind == "rows":
        meta = pd.Series(np.empty(0, out_dtype), name=name)

        def run(part, fitted):
            if not len(part):  # an empty partition (after a filter)
                return meta.set_axis(part.index, axis=0)
            return pd.Series(np.asarray(method(fitted, part), dtype=out_dtype),
                             index=part.index, name=name)
    else:
        columns = _output_columns(est, method)
        meta = pd.DataFrame({c: np.empty(0, out_dtype) for c in columns})
        if (name == "transform" and hasattr(est, "missing_values")
                and est.schema_.is_frame_):
            # The imputer keeps the table's columns and dtypes (less the columns
            # never observed in fit, plus the indicator's boolean columns).
            meta = X._meta
            if not est.keep_empty_features and est._empty_features.any():
                meta = meta.loc[:, ~est._empty_features]
            if est.add_indicator:
                names = est.indicator_.get_feature_names_out(
                    np.asarray(X.columns, dtype=object))
                meta = pd.concat([meta, pd.DataFrame({n: np.empty(0, bool) for n in names})],
                                 axis=1)

        def run(part, fitted):
            if not len(part):  # an empty partition (after a filter)
                return meta.set_axis(part.index, axis=0)
            out = method(fitted, part)
            if isinstance(out, pd.DataFrame):
                return out.set_axis(part.index, axis=0)
            return pd.DataFrame(np.asarray(out, dtype=out_dtype), index=part.index,
                                columns=columns)
    return X.map_partitions(run, model, meta=meta)


def _output_columns(est, method):
    if method.__name__ == "score_samples_per_feature":
        return [str(c) for c in est.feature_names_in_]
    return [str(c) for c in est.get_feature_names_out()]

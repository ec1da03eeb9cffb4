"""Command line: ``python -m sklearn_vae`` (also the ``sklearn-vae`` script)."""

import argparse
import math
import sys
import time
import warnings

import numpy as np


def _demo(args):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from . import VAETransformer

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.random_state, stratify=y
    )
    k = args.n_components
    print(f"load_digits: {X_train.shape[0]} train / {X_test.shape[0]} test rows, "
          f"{X.shape[1]} features, n_components={k}")

    models = {
        "PCA": PCA(n_components=k, random_state=args.random_state),
        "VAETransformer": VAETransformer(n_components=k, max_iter=args.max_iter,
                                         random_state=args.random_state,
                                         verbose=args.verbose),
    }
    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(X_train)
        fit_s = time.perf_counter() - t0
        Z_train, Z_test = model.transform(X_train), model.transform(X_test)
        mse = float(np.mean((model.inverse_transform(Z_test) - X_test) ** 2))
        clf = LogisticRegression(max_iter=2000).fit(Z_train, y_train)
        rows.append((name, mse, model.score(X_test), clf.score(Z_test, y_test), fit_s))
        if name == "VAETransformer":
            vae, Z_vae = model, Z_test
            epochs = model.n_iter_

    header = ("model", "recon MSE", "test log-lik", "LogReg acc", "fit s")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, mse, ll, acc, fit_s in rows:
        print(f"| {name} | {mse:.2f} | {ll:.1f} | {acc:.3f} | {fit_s:.1f} |")
    print(f"\n(held-out rows; log-likelihood = mean score_samples in nats per row; "
          f"VAE trained {epochs} epochs)")

    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
        except ImportError:
            print("matplotlib is not installed: skipping the latent-space plot "
                  "(pip install 'sklearn-vae[plot]').")
            return 0
        from .plotting import LatentSpaceDisplay

        display = LatentSpaceDisplay(Z_vae, y_test).plot()
        display.ax_.set_title(f"VAE latent space of held-out digits (n_components={k})")
        display.figure_.tight_layout()
        display.figure_.savefig(args.plot, dpi=120)
        print(f"latent-space scatter written to {args.plot}")
    del vae
    return 0


# -- table commands -----------------------------------------------------------------
#
# Tables are CSV (a header row; "-" is stdin/stdout) or Parquet (by the file's
# extension, .parquet or .pq; needs pyarrow). Models are files of
# sklearn_vae.save. One-shot commands (reduce, impute, outliers) fit on the
# input and apply the model in one call; fit / transform / score / sample /
# detect keep the model in a file between calls.

_ESTIMATORS = {"transformer": "VAETransformer", "imputer": "VAEImputer",
               "detector": "VAEOutlierDetector"}

_TABLE_COMMANDS = {
    "reduce": ("latent codes of each row (VAETransformer)",
               "the latent code of each row (VAETransformer.transform, the posterior "
               "mean), one column per latent dimension"),
    "impute": ("fill the missing entries (VAEImputer)",
               "the table with its missing (empty or NaN) entries filled by VAEImputer"),
    "outliers": ("anomaly score and flag per row (VAEOutlierDetector)",
                 "the table with two columns added by VAEOutlierDetector: anomaly_score "
                 "(minus the detector's score_samples, log p(row) with each entry's "
                 "share capped, entry_cap: higher is more anomalous) and is_outlier"),
}


def _fail(message):
    """End the command with exit status 1 and a one-line message on stderr."""
    raise SystemExit(f"sklearn-vae: {message}")


def _is_parquet(path):
    return str(path).lower().endswith((".parquet", ".pq"))


def _parquet_hint(exc):
    _fail("Parquet files need pyarrow: pip install 'sklearn-vae[parquet]' "
          "(or write CSV).")


def _read_table(path):
    import os

    import pandas as pd

    if path == "-":
        return _integers_kept(pd.read_csv(sys.stdin, dtype_backend="numpy_nullable"))
    if not os.path.exists(path):
        _fail(f"no such file: {path}")
    try:
        if _is_parquet(path):
            return pd.read_parquet(path)
        return _integers_kept(pd.read_csv(path, dtype_backend="numpy_nullable"))
    except ImportError as exc:
        _parquet_hint(exc)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        kind = "Parquet" if _is_parquet(path) else "CSV (with a header row)"
        _fail(f"could not read {path} as {kind}: {exc}")


def _integers_kept(df):
    """A CSV read with nullable dtypes, back to read_csv's defaults except where they
    lose something: an integer column with empty cells stays integer (Int64; the
    default reads it as float, and the model would then draw and impute fractions),
    and a bool column with empty cells stays boolean."""
    import pandas as pd

    out = {}
    for name, col in df.items():
        gaps = bool(col.isna().any())
        if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            out[name] = col if gaps else col.astype(col.dtype.numpy_dtype)
        elif pd.api.types.is_float_dtype(col.dtype):
            out[name] = col.astype("float64")
        else:  # text: object, as read_csv gives it
            out[name] = col.astype(object).where(col.notna(), np.nan)
    return pd.DataFrame(out, index=df.index)


def _check_writable(path, what="output"):
    """Fail before any work when ``path`` cannot be written (a fit would be lost)."""
    import os

    if not path or path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        _fail(f"cannot write the {what} to {path}: it is a directory; give a file name.")
    if not os.path.isdir(folder):
        _fail(f"cannot write the {what} to {path}: no such directory {folder}.")
    if not os.access(folder, os.W_OK):
        _fail(f"cannot write the {what} to {path}: {folder} is not writable.")


def _write_table(df, path):
    if path == "-":
        try:
            df.to_csv(sys.stdout, index=False)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader stopped early (| head): end quietly
            import os

            # Python's recipe: no further writes (nor the flush at exit) to the pipe.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        return
    try:
        if _is_parquet(path):
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False)
    except ImportError as exc:
        _parquet_hint(exc)
    except OSError as exc:
        _fail(f"could not write {path}: {exc.strerror or exc}")
    print(f"wrote {len(df)} rows x {df.shape[1]} columns to {path}", file=sys.stderr)


def _load_model(path, expected=None, command=""):
    """The estimator saved at ``path`` (one of ``expected`` class names, if given)."""
    import os

    from . import load

    if not os.path.exists(path):
        _fail(f"no such model file: {path}")
    try:
        est = load(path)
    except (ValueError, OSError) as exc:
        _fail(f"{path} is not a model saved by sklearn_vae.save: {exc}")
    if expected and type(est).__name__ not in expected:
        _fail(f"{path} holds a {type(est).__name__}; '{command}' needs a "
              f"{' or '.join(expected)}.")
    return est


def _fit_params(args, kind):
    params = {"random_state": args.random_state, "verbose": args.verbose}
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.categorical:
        params["categorical_features"] = args.categorical.split(",")
    n_components = getattr(args, "n_components", None)
    if n_components is None and kind == "transformer":
        n_components = 2  # the CLI's default for codes: a 2-D map
    if n_components is not None:
        params["n_components"] = n_components
    contamination = getattr(args, "contamination", None)
    if contamination is not None and kind != "detector":
        _usage_error(f"--contamination sets the outlier detector's threshold; a "
                     f"{kind} has none (use --estimator detector, or drop the option).")
    if kind == "detector" and contamination is not None:
        params["contamination"] = contamination
    return params


def _usage_error(message):
    """End the command with exit status 2 (a bad option) and a message on stderr."""
    print(f"sklearn-vae: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _contamination(text):
    """``--contamination``: 'auto' or a share of outliers in (0, 0.5]."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(
            f"expected 'auto' or a share of outliers in (0, 0.5], e.g. 0.05; got {text!r}")
    return value


def _fit(kind, X, args):
    from . import VAEImputer, VAEOutlierDetector, VAETransformer, save

    cls = {"transformer": VAETransformer, "imputer": VAEImputer,
           "detector": VAEOutlierDetector}[kind]
    est = cls(**_fit_params(args, kind)).fit(X)
    if getattr(args, "save", None):
        try:
            save(est, args.save)
        except OSError as exc:
            _fail(f"could not write {args.save}: {exc.strerror or exc}")
        print(f"saved the fitted {cls.__name__} to {args.save}", file=sys.stderr)
    return est


def _codes(est, X):
    import pandas as pd

    return pd.DataFrame(est.transform(X), columns=est.get_feature_names_out())


def _filled(est, X):
    import pandas as pd

    filled = est.transform(X)
    return filled if isinstance(filled, pd.DataFrame) else pd.DataFrame(
        filled, columns=est.get_feature_names_out())


def _flagged(est, X):
    out = X.copy()
    out["anomaly_score"] = -est.score_samples(X)
    out["is_outlier"] = est.predict(X) == -1
    return out


def _table_command(args):
    """reduce / impute / outliers (detect): fit on the table (or --model), apply."""
    kind = {"reduce": "transformer", "impute": "imputer", "outliers": "detector"}[args.command]
    _check_writable(args.output)
    _check_writable(args.save, "model")
    X = _read_table(args.input)
    if args.model:
        est = _load_model(args.model, [_ESTIMATORS[kind]], args.command)
    else:
        est = _fit(kind, X, args)
    apply = {"transformer": _codes, "imputer": _filled, "detector": _flagged}[kind]
    _write_table(apply(est, X), args.output)
    return 0


def _fit_command(args):
    _check_writable(args.save, "model")
    _fit(args.estimator, _read_table(args.input), args)
    return 0


def _transform_command(args):
    est = _load_model(args.model, ["VAETransformer", "VAEImputer"], "transform")
    X = _read_table(args.input)
    out = _codes(est, X) if type(est).__name__ == "VAETransformer" else _filled(est, X)
    _write_table(out, args.output)
    return 0


def _score_command(args):
    est = _load_model(args.model, command="score")
    X = _read_table(args.input)
    out = X.copy()
    out["log_likelihood"] = est.score_samples(X)
    print(f"mean log-likelihood: {out['log_likelihood'].mean():.3f} nats per row "
          "(in the table's own units; higher is more typical)", file=sys.stderr)
    _write_table(out, args.output)
    return 0


def _parse_given(est, items):
    """``["col=value", ...]`` as ``sample``'s ``given`` dict, values typed by the model."""
    from ._schema import CONTINUOUS

    names = [str(c) for c in getattr(est, "feature_names_in_", [])]
    given = {}
    for item in items:
        column, sep, text = item.partition("=")
        if not sep:
            _fail(f"--given takes COLUMN=VALUE, got {item!r}.")
        if column not in names:
            _fail(f"--given: no column {column!r} in this model; its columns: {names}.")
        spec = est.schema_.specs_[names.index(column)]
        if spec.kind == CONTINUOUS:
            try:
                given[column] = float(text)
            except ValueError:
                _fail(f"--given: column {column!r} is numeric, got {text!r}.")
        else:
            levels = {str(level): level for level in spec.levels}
            if text not in levels:
                _fail(f"--given: {text!r} is not a category of {column!r} seen in "
                      f"training: {sorted(levels)}.")
            given[column] = levels[text]
    return given


def _sample_command(args):
    import pandas as pd

    est = _load_model(args.model, command="sample")
    given = _parse_given(est, args.given) if args.given else None
    posterior_of = _read_table(args.posterior_of) if args.posterior_of else None
    extra = {}
    if args.bandwidth != "auto":
        if posterior_of is None:
            _fail("--bandwidth smooths the codes of --posterior-of; pass "
                  "--posterior-of TABLE as well.")
        try:
            extra["bandwidth"] = float(args.bandwidth)
        except ValueError:
            _fail(f"--bandwidth must be 'auto' or a number >= 0, got {args.bandwidth!r}.")
    rows = est.sample(args.n_samples, random_state=args.random_state, given=given,
                      posterior_of=posterior_of, **extra)
    if not isinstance(rows, pd.DataFrame):
        rows = pd.DataFrame(rows, columns=[str(c) for c in getattr(
            est, "feature_names_in_", [f"x{i}" for i in range(est.n_features_in_)])])
    _write_table(rows, args.output)
    return 0


def _add_fit_options(p, kinds):
    p.add_argument("--max-iter", type=int, default=None,
                   help="training epochs (default: the estimator's)")
    p.add_argument("--categorical", default="",
                   help="comma-separated names of the categorical columns (default: "
                        "the columns of text)")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--n-components", type=int, default=None,
                   help="latent dimensions (default: 2 for a transformer, the "
                        "estimator's own for an imputer or a detector)")
    if "detector" in kinds:
        p.add_argument("--contamination", type=_contamination, default=None,
                       help="detector only: 'auto' (default) or the expected share of "
                            "outliers, e.g. 0.05")


_TABLE_HELP = "table: CSV with a header row, or Parquet (.parquet); '-' for stdin"
_OUT_HELP = "file to write: CSV, or Parquet by its extension (default: CSV on stdout)"


def _add_table_command(sub, name, short, long):
    p = sub.add_parser(
        name, help=short,
        description=f"Read a table, write {long}. Fits the estimator on the table "
                    "with its defaults, or applies a model saved with --save. Columns of "
                    "text are categorical unless --categorical names them.")
    p.add_argument("input", help=_TABLE_HELP)
    p.add_argument("-o", "--output", default="-", help=_OUT_HELP)
    p.add_argument("--model", help="apply this saved model instead of fitting one")
    p.add_argument("--save", help="save the fitted model here (sklearn_vae.save format)")
    _add_fit_options(p, {"reduce": ["transformer"], "impute": [], "detect": ["detector"],
                         "outliers": ["detector"]}[name])
    return p


def _add_model_commands(sub):
    p = sub.add_parser(
        "fit", help="fit a model on a table and save it",
        description="Fit VAETransformer, VAEImputer or VAEOutlierDetector on a table "
                    "and save it (sklearn_vae.save format) for transform, score, "
                    "sample, impute or detect.")
    p.add_argument("input", help=_TABLE_HELP)
    p.add_argument("--estimator", choices=list(_ESTIMATORS), default="transformer",
                   help="which model (default: transformer)")
    p.add_argument("-o", "--save", "--output", dest="save", required=True,
                   help="model file to write")
    _add_fit_options(p, ["transformer", "detector"])
    p.set_defaults(handler=_fit_command)

    def with_model(name, handler, short, long, table=True):
        """A command that applies the model file given by --model."""
        p = sub.add_parser(name, help=short, description=long)
        if table:
            p.add_argument("input", help=_TABLE_HELP)
        p.add_argument("--model", required=True, help="model file written by 'fit'")
        p.add_argument("-o", "--output", default="-", help=_OUT_HELP)
        p.set_defaults(handler=handler)
        return p

    with_model("transform", _transform_command,
               "apply a saved model: codes (transformer) or filled table",
               "Apply a saved VAETransformer (the latent code of each row) or "
               "VAEImputer (the table with its missing entries filled).")
    with_model("score", _score_command, "log-likelihood of each row under a saved model",
               "The table with a log_likelihood column added: log p(row) in nats, in "
               "the table's own units (score_samples; a VAEOutlierDetector's caps each "
               "entry's share, entry_cap); the mean goes to stderr.")
    p = with_model("sample", _sample_command, "draw synthetic rows from a saved model",
                   "Draw synthetic rows in the training table's columns and types; with "
                   "--given, rows with those columns fixed (the others drawn by "
                   "posterior inference, sample(given=...)); with --posterior-of, codes "
                   "drawn from those rows' posteriors instead of the prior "
                   "(sample(posterior_of=...)).", table=False)
    p.add_argument("-n", "--n-samples", type=int, default=100, help="rows to draw")
    p.add_argument("--given", action="append", default=[], metavar="COLUMN=VALUE",
                   help="fix a column (repeat for several), e.g. --given sex=Female")
    p.add_argument("--posterior-of", default=None, metavar="TABLE",
                   help="draw codes from the posteriors of this table's rows (usually "
                        "the training table) instead of the model's prior: closer "
                        "marginals")
    p.add_argument("--bandwidth", default="auto", metavar="auto|H",
                   help="with --posterior-of: widen each row's posterior by a kernel of "
                        "this multiple of the row's neighbour radius; 'auto' (default) "
                        "picks it by leave-one-out likelihood, 0 keeps the posteriors "
                        "as they are (rows closer to single rows of the table)")
    p.add_argument("--random-state", type=int, default=0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="sklearn-vae",
        description="Variational autoencoders for tables (CSV or Parquet files). "
                    "One step: reduce, impute, outliers (or detect) fit on the table and "
                    "write the result. With a model file: fit, then transform, score, "
                    "sample, impute --model or detect --model. 'sklearn-vae COMMAND "
                    "--help' for a command's options. Exit status 1 with a message for "
                    "a bad file or table, 2 for bad options.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="VAETransformer vs PCA on load_digits",
                          description="VAETransformer vs PCA on scikit-learn's digits: "
                                      "held-out reconstruction, log-likelihood, and "
                                      "LogisticRegression accuracy on the codes.")
    demo.add_argument("--n-components", type=int, default=2)
    demo.add_argument("--max-iter", type=int, default=200)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--plot", default="latent_space.png",
                      help="PNG path for the latent scatter ('' to skip)")
    demo.add_argument("--verbose", type=int, default=0)
    for name, (short, long) in _TABLE_COMMANDS.items():
        _add_table_command(sub, name, short, long)
    detect = _add_table_command(sub, "detect", "the same as 'outliers'",
                                _TABLE_COMMANDS["outliers"][1])
    detect.set_defaults(alias_of="outliers")
    _add_model_commands(sub)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if getattr(args, "model", None) and not hasattr(args, "handler"):
        # A table command applying a saved model: the fitting options would be
        # ignored, so they are refused.
        given = [flag for flag, value in (
            ("--max-iter", args.max_iter), ("--n-components", args.n_components),
            ("--contamination", getattr(args, "contamination", None)),
            ("--categorical", args.categorical or None), ("--save", args.save))
            if value is not None]
        if given:
            _usage_error(f"{', '.join(given)} {'sets' if len(given) == 1 else 'set'} how "
                         "a model is fitted; with --model the saved model is applied as "
                         "it is. Drop them, or drop --model to fit a new one.")
    args.command = getattr(args, "alias_of", None) or args.command
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            if hasattr(args, "handler"):
                return args.handler(args)
            return _table_command(args)
        except (ValueError, TypeError) as exc:  # the estimators' input errors
            message = " ".join(str(exc).split())  # one line (sklearn's report has several)
            # The library's hint names a parameter the command line does not have.
            _fail(message.replace(
                "Set handle_unknown='ignore' to treat them as missing.",
                "Drop those rows, or fit the model on a table that has those levels."))


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"sklearn-vae: {category.__name__}: {message}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

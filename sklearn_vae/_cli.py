"""Command line: ``python -m sklearn_vae`` (also the ``sklearn-vae`` script)."""

import argparse
import sys
import time

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

_TABLE_COMMANDS = {
    "reduce": ("latent codes of each row (VAETransformer)",
               "the latent code of each row (VAETransformer.transform, the posterior "
               "mean), one column per latent dimension"),
    "impute": ("fill the missing entries (VAEImputer)",
               "the table with its missing (empty or NaN) entries filled by VAEImputer"),
    "outliers": ("anomaly score and flag per row (VAEOutlierDetector)",
                 "the table with two columns added by VAEOutlierDetector: anomaly_score "
                 "(minus log p(row): higher is more anomalous) and is_outlier"),
}


def _read_table(path):
    import pandas as pd

    if path == "-":
        return pd.read_csv(sys.stdin)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise SystemExit(f"sklearn-vae: no such file: {path}") from None


def _write_table(df, path):
    if path == "-":
        df.to_csv(sys.stdout, index=False)
    else:
        df.to_csv(path, index=False)
        print(f"wrote {len(df)} rows x {df.shape[1]} columns to {path}", file=sys.stderr)


def _estimator(args):
    """The fitted estimator: loaded from --model, or fit on the input table."""
    from . import VAEImputer, VAEOutlierDetector, VAETransformer, load, save

    cls = {"reduce": VAETransformer, "impute": VAEImputer,
           "outliers": VAEOutlierDetector}[args.command]
    X = _read_table(args.input)
    if args.model:
        est = load(args.model)
        if not isinstance(est, cls):
            raise SystemExit(f"sklearn-vae: {args.model} holds a {type(est).__name__}; "
                             f"'{args.command}' needs a {cls.__name__}.")
        return est, X
    params = {"random_state": args.random_state, "verbose": args.verbose}
    if args.max_iter is not None:
        params["max_iter"] = args.max_iter
    if args.categorical:
        params["categorical_features"] = args.categorical.split(",")
    if args.command == "reduce":
        params["n_components"] = args.n_components
    if args.command == "outliers":
        c = args.contamination
        params["contamination"] = c if c == "auto" else float(c)
    est = cls(**params).fit(X)
    if args.save:
        save(est, args.save)
        print(f"saved the fitted {cls.__name__} to {args.save}", file=sys.stderr)
    return est, X


def _table_command(args):
    import pandas as pd

    est, X = _estimator(args)
    if args.command == "reduce":
        out = pd.DataFrame(est.transform(X), columns=est.get_feature_names_out())
    elif args.command == "impute":
        filled = est.transform(X)
        out = filled if isinstance(filled, pd.DataFrame) else pd.DataFrame(
            filled, columns=est.get_feature_names_out())
    else:
        out = X.copy()
        out["anomaly_score"] = -est.score_samples(X)
        out["is_outlier"] = est.predict(X) == -1
    _write_table(out, args.output)
    return 0


def _add_table_command(sub, name, short, long):
    p = sub.add_parser(
        name, help=short,
        description=f"Read a CSV table, write {long}. Fits the estimator on the table "
                    "with its defaults, or applies a model saved with --save. Columns of "
                    "text are categorical unless --categorical names them.")
    p.add_argument("input", help="CSV file with a header row ('-' for stdin)")
    p.add_argument("-o", "--output", default="-", help="CSV file to write (default: stdout)")
    p.add_argument("--model", help="apply this saved model instead of fitting one")
    p.add_argument("--save", help="save the fitted model here (sklearn_vae.save format)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="training epochs (default: the estimator's)")
    p.add_argument("--categorical", default="",
                   help="comma-separated names of the categorical columns (default: "
                        "the columns of text)")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    if name == "reduce":
        p.add_argument("--n-components", type=int, default=2)
    if name == "outliers":
        p.add_argument("--contamination", default="auto",
                       help="'auto' or the expected share of outliers, e.g. 0.05")
    return p


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="sklearn-vae",
        description="Variational autoencoders for tables: reduce, impute or score a "
                    "CSV file, or run the demo. 'sklearn-vae COMMAND --help' for a "
                    "command's options.")
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return _table_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``python -m sklearn_vae demo`` (also the ``sklearn-vae`` script)."""

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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="sklearn-vae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="VAETransformer vs PCA on load_digits")
    demo.add_argument("--n-components", type=int, default=2)
    demo.add_argument("--max-iter", type=int, default=200)
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--plot", default="latent_space.png",
                      help="PNG path for the latent scatter ('' to skip)")
    demo.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""
How many latent dimensions does the VAE use?
============================================

Per-dimension KL against ``n_components``.

PCA reports ``explained_variance_ratio_``; a VAE's analogue is the information
each latent dimension carries, its mean KL divergence from the prior
(``kl_per_component_``, in nats). A dimension with KL near 0 has collapsed: its
code is the prior for every row and ``transform`` returns a near-constant
column. This script fits ``VAETransformer`` on digits at several
``n_components`` three ways: from a random start (``init="random"``) with the
plain ELBO, from a random start with free bits (``free_bits=0.5`` nats per
dimension), and with the default start from probabilistic PCA
(``init="pca"``), and plots the sorted per-dimension KL of each fit. From the
random start the extra dimensions of the larger models collapse; free bits or
the PCA start keep every dimension in use.

Run it with ``python docs/examples/plot_kl_per_component.py [--quick]``; the
figure is saved next to the script as ``plot_kl_per_component.png``. ``--quick``
(or ``SKLEARN_VAE_DOCS_QUICK=1``, how CI builds the docs) fits tiny models only.
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the figure is written to a file
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from sklearn_vae import VAETransformer  # noqa: E402

quick = "--quick" in sys.argv or bool(os.environ.get("SKLEARN_VAE_DOCS_QUICK"))
X = load_digits().data
ks = (2, 5) if quick else (2, 5, 10, 20)
settings = {"max_iter": 5, "hidden_layer_sizes": (16,)} if quick else {}

variants = {
    'init="random"': {"init": "random"},
    'init="random", free_bits=0.5': {"init": "random", "free_bits": 0.5},
    'init="pca" (default)': {},
}
fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
for ax, (title, params) in zip(axes, variants.items()):
    for k in ks:
        vae = VAETransformer(n_components=k, random_state=0, **params, **settings).fit(X)
        kl = np.sort(vae.kl_per_component_)[::-1]
        ax.plot(np.arange(1, k + 1), kl, marker="o", label=f"n_components={k}")
        print(f"{title}, n_components={k}: "
              f"{vae.n_active_components_} active, KL per dimension {np.round(kl, 2)}")
    if params.get("free_bits"):
        ax.axhline(params["free_bits"], color="grey", linestyle=":", linewidth=1)
    ax.set_title(title)
    ax.set_xlabel("latent dimension (sorted by KL)")
axes[0].set_ylabel("kl_per_component_ (nats)")
axes[-1].legend()
fig.suptitle("Digits: information per latent dimension")
fig.tight_layout()
if "__file__" in globals():  # run as a script (the docs gallery shows the figure itself)
    out = Path(__file__).with_suffix(".png")
    fig.savefig(out, dpi=100)
    print(f"saved {out}")

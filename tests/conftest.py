import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

# Tiny networks train faster on one thread than on several competing ones.
torch.set_num_threads(1)

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture(scope="session")
def blobs():
    X, y = make_blobs(n_samples=120, n_features=4, centers=3, random_state=0)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted_transformer(blobs):
    from sklearn_vae import VAETransformer

    X, _ = blobs
    return VAETransformer(n_components=2, **FAST).fit(X)


def low_rank_with_missing(n=300, p=6, frac=0.2, noise=0.1, seed=0):
    """Rank-2 data plus noise, and a copy with ``frac`` of entries set to NaN (MCAR)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 2)) @ rng.normal(size=(2, p)) + noise * rng.normal(size=(n, p))
    X_missing = X.copy()
    X_missing[rng.uniform(size=X.shape) < frac] = np.nan
    return X, X_missing

import numpy as np
import pytest

from sklearn_vae.plotting import LatentSpaceDisplay


def test_latent_space_display_from_estimator(blobs, fitted_transformer):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = blobs
    disp = LatentSpaceDisplay.from_estimator(fitted_transformer, X, y)
    offsets = disp.ax_.collections[0].get_offsets()
    np.testing.assert_allclose(offsets, fitted_transformer.transform(X), rtol=1e-6)
    assert disp.ax_.get_xlabel() == "vae0"

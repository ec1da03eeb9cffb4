"""sklearn_vae: variational autoencoders for tabular data, as scikit-learn estimators."""

from ._imputer import VAEImputer
from ._transformer import VAETransformer

__version__ = "0.1.0"

__all__ = ["VAEImputer", "VAETransformer", "__version__"]

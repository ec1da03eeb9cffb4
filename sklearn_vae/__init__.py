"""sklearn_vae: variational autoencoders for tabular data, as scikit-learn estimators."""

from ._imputer import VAEImputer
from ._outlier import VAEOutlierDetector
from ._persistence import load, save
from ._transformer import VAETransformer

__version__ = "0.1.0"

__all__ = ["VAEImputer", "VAEOutlierDetector", "VAETransformer", "__version__", "load", "save"]

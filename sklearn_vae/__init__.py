"""sklearn_vae: variational autoencoders for tabular data, as scikit-learn estimators."""

from ._imputer import VAEImputer
from ._outlier import VAEOutlierDetector
from ._persistence import load, save
from ._transformer import VAETransformer

__version__ = "0.1.0"

__all__ = ["VAEImputer", "VAEOutlierDetector", "VAEOversampler", "VAETransformer",
           "__version__", "load", "save"]


def __getattr__(name):
    # VAEOversampler needs the optional imbalanced-learn: imported on first use.
    if name == "VAEOversampler":
        try:
            from ._oversampler import VAEOversampler
        except ImportError as exc:
            if getattr(exc, "name", "") and exc.name.split(".")[0] == "imblearn":
                raise ImportError(
                    "VAEOversampler needs imbalanced-learn: pip install "
                    "'sklearn-vae[imbalanced]' (or imbalanced-learn).") from exc
            raise
        return VAEOversampler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

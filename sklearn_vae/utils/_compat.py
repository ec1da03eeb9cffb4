"""The one place that imports scikit-learn's private API (it moves between releases)."""

from sklearn.utils.validation import _check_feature_names_in

__all__ = ["_check_feature_names_in"]

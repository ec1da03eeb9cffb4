"""scikit-learn's own estimator checks, for every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer

FAST = dict(max_iter=2, hidden_layer_sizes=(8,), random_state=0)

# name of check -> reason, per estimator class. Aim: empty.
XFAIL: dict = {}


@parametrize_with_checks(
    [VAETransformer(**FAST), VAEImputer(**FAST), VAEOutlierDetector(**FAST)],
    expected_failed_checks=lambda est: XFAIL.get(type(est), {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)

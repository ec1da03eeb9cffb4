"""A kernel density estimate of the aggregate posterior, for ``sample(posterior_of=...)``.

The codes a decoder was trained on follow the *aggregate posterior*
``q(z) = mean_i q(z | x_i)``, a mixture of one Gaussian per row. Drawing
from that mixture exactly (``bandwidth=0``) gives faithful rows, but rows
close to single rows of the table when the posteriors are narrow (on Adult
their median distance to the closest training row was 0.25-0.38, against
0.90 for real held-out rows). Widening every component by a kernel smooths
the mixture towards the density the rows were drawn from.

The kernel is *adaptive*, as in variable-bandwidth kernel density
estimation: row ``i``'s kernel has, in each code dimension, the standard
deviation ``bandwidth * r_i / sqrt(k) * spread``, where ``r_i`` is the
distance from the row's code to its ``_NEIGHBOURS``-th nearest other code
(codes divided by each dimension's ``spread`` over the rows), ``k`` the
number of code dimensions. Where rows are dense (a common combination of
categories) the kernel stays narrow and does not leak into the next
cluster; a row alone in its region (the rows most at risk of being
reproduced) gets a wide one.

``bandwidth="auto"`` is chosen as a kernel density estimate's bandwidth is:
by maximizing the leave-one-out log-likelihood of the rows' own codes (each
row's code, one draw from its posterior, scored under the mixture of the
other rows' components). Too small a bandwidth puts the mass on the rows at
hand and scores an unseen row's code badly; too large a one blurs the
structure. ``benchmarks/bench_sample_codes.py`` checks the criterion
against the likelihood of held-out rows' codes.
"""

import numpy as np

#: Bandwidths tried by :func:`SmoothedPosterior.select`: 0 and a geometric
#: grid of ratio 2**0.25 from 1/16 to 4 (multiples of each row's neighbour radius).
BANDWIDTH_GRID = np.concatenate([[0.0], 2.0 ** (np.arange(-16, 9) / 4.0)])

#: The neighbour whose distance sets a row's kernel width.
_NEIGHBOURS = 10

#: Rows whose codes are scored in the leave-one-out selection; rows whose
#: codes serve as neighbours and components in it; rows whose components make
#: up the mixture drawn from (random subsets of larger tables, the second
#: within the third; :func:`kernel_rows` picks the third, before encoding).
#: The bandwidth chosen on a subset carries over to the whole: each row's
#: kernel is a multiple of its neighbour radius, which shrinks with more
#: rows as the density estimate needs it to (in k dimensions the best kernel
#: shrinks as n ** (-1 / (k + 4)), the radius as n ** (-1 / k); on Adult's
#: 26,048 rows the leave-one-out choice was 1.0 both on all rows and on
#: 10,000).
_MAX_QUERIES = 1000
_MAX_SELECTION = 10000
_MAX_COMPONENTS = 50000


def code_spread(mu, sd):
    """Per-dimension standard deviation of the aggregate posterior of rows ``(mu, sd)``."""
    return np.sqrt(mu.var(axis=0) + np.mean(sd ** 2, axis=0))


#: Queries scored at once by :func:`mixture_log_density` (its working memory
#: is about three float64 arrays of this many rows times the mixture's
#: components: 60 MB with 10,000 components).
_QUERY_CHUNK = 250


def mixture_log_density(z, mu, var, exclude=None):
    """log ``mean_i N(z_j; mu_i, diag(var_i))`` for each row ``z_j`` of ``z``.

    ``exclude[j]`` is the component left out for query ``j`` (leave-one-out).
    """
    inv = 1.0 / var
    weighted = (mu * inv).T
    const = -0.5 * (np.sum(mu ** 2 * inv, axis=1) + np.sum(np.log(2 * np.pi * var), axis=1))
    n = mu.shape[0] - (exclude is not None)
    out = np.empty(len(z))
    for start in range(0, len(z), _QUERY_CHUNK):
        q = z[start:start + _QUERY_CHUNK]
        # -0.5 sum_d (q_d - mu_id)^2 / var_id - 0.5 sum_d log(2 pi var_id), as matmuls.
        ll = -0.5 * (q ** 2) @ inv.T + q @ weighted + const
        if exclude is not None:
            ll[np.arange(len(q)), exclude[start:start + _QUERY_CHUNK]] = -np.inf
        top = ll.max(axis=1, keepdims=True)
        out[start:start + len(q)] = top[:, 0] + np.log(np.exp(ll - top).sum(axis=1))
    return out - np.log(n)


def _mixture_loglik(z, mu, var, exclude=None):
    """Mean over the rows of ``z`` of :func:`mixture_log_density`."""
    return float(np.mean(mixture_log_density(z, mu, var, exclude)))


class SmoothedPosterior:
    """The aggregate posterior of rows ``(mu, sd)``, each component widened adaptively.

    ``mu``, ``sd``: the rows' posterior means and standard deviations
    (float64, ``(n, k)``, at most ``_MAX_COMPONENTS`` rows: every row is a
    component of the mixture). ``random_state`` seeds the selection subset
    of a larger table and the leave-one-out draws.
    """

    def __init__(self, mu, sd, random_state):
        if mu.shape[0] > _MAX_COMPONENTS:
            raise ValueError(f"At most {_MAX_COMPONENTS} rows make up the mixture "
                             f"(kernel_rows picks them); got {mu.shape[0]}.")
        self.mu, self.sd = mu, sd
        self.spread = code_spread(mu, sd)
        self.spread[self.spread == 0] = 1.0  # a constant code dimension: nothing to scale
        self._rng = np.random.RandomState(random_state)
        n = mu.shape[0]
        self.components = np.arange(n)  # kernel_rows has already picked them
        self.selection = (self._rng.permutation(n)[:_MAX_SELECTION] if n > _MAX_SELECTION
                          else self.components)
        self._neighbours = {}

    def radius(self, rows, among=None):
        """Per-dimension neighbour radius ``r_i / sqrt(k)`` of the rows ``rows`` (indices).

        ``r_i``: distance from row ``i``'s scaled code to its ``_NEIGHBOURS``-th
        nearest code among the rows ``among`` (default: the mixture's
        components) other than itself; fewer neighbours among fewer rows, and
        0 for a table of one row.
        """
        from sklearn.neighbors import NearestNeighbors

        among = self.components if among is None else among
        if len(among) < 2:
            return np.zeros(len(rows))
        n_neighbours = min(_NEIGHBOURS, len(among) - 1)
        scaled = self.mu / self.spread
        if len(among) not in self._neighbours:  # the two subsets differ in size
            self._neighbours[len(among)] = NearestNeighbors(
                n_neighbors=n_neighbours + 1).fit(scaled[among])
        distance = self._neighbours[len(among)].kneighbors(scaled[rows])[0]
        # A row of ``among`` finds itself at distance 0: its neighbours start one later.
        own = np.isin(rows, among)
        r = np.where(own, distance[:, n_neighbours], distance[:, n_neighbours - 1])
        return r / np.sqrt(self.mu.shape[1])

    def _variance(self, rows, radius, bandwidth):
        return self.sd[rows] ** 2 + (bandwidth * radius)[:, None] ** 2 * self.spread ** 2

    def leave_one_out_curve(self, grid=BANDWIDTH_GRID):
        """Leave-one-out log-likelihood of the rows' codes at each bandwidth of ``grid``.

        Each of up to ``_MAX_QUERIES`` rows of the selection subset contributes
        one draw from its posterior, scored under the mixture of the subset's
        other components (their radii taken within the subset). Returns the
        mean log-likelihood per bandwidth.
        """
        score = self._loo_scorer()
        return np.array([score(b) for b in grid])

    def _loo_scorer(self):
        sel = self.selection
        radius = self.radius(sel, among=sel)
        queries = np.arange(min(_MAX_QUERIES, len(sel)))  # positions within sel
        z = self.mu[sel[queries]] + self.sd[sel[queries]] * self._rng.standard_normal(
            (len(queries), self.mu.shape[1]))

        def score(bandwidth):
            return _mixture_loglik(z, self.mu[sel], self._variance(sel, radius, bandwidth),
                                   exclude=queries)

        return score

    def select(self):
        """The bandwidth of :data:`BANDWIDTH_GRID` with the best leave-one-out likelihood.

        Searched coarse to fine (every fourth bandwidth, then the three on
        each side of the best): the full grid's choice when the curve has one
        peak, at half the cost. Fewer than two rows leave nothing to score:
        the bandwidth is then 0.
        """
        if len(self.selection) < 2:
            return 0.0
        score = self._loo_scorer()
        values = {}

        def best(positions):
            for i in positions:
                if i not in values:
                    values[i] = score(BANDWIDTH_GRID[i])
            return max(values, key=lambda i: (values[i], -i))

        top = best([0, *range(1, len(BANDWIDTH_GRID), 4)])
        if top > 0:
            top = best(range(max(1, top - 3), min(len(BANDWIDTH_GRID), top + 4)))
        return float(BANDWIDTH_GRID[top])

    def draw(self, pick, bandwidth, eps):
        """Codes of the rows ``pick``, each from its posterior widened by its kernel.

        ``eps`` is standard normal noise of shape ``(len(pick), k)``; with
        ``bandwidth=0`` this is exactly a draw from each picked row's posterior.
        """
        if bandwidth == 0:
            return self.mu[pick] + eps * self.sd[pick]
        rows, inverse = np.unique(pick, return_inverse=True)
        radius = self.radius(rows)[inverse]
        return self.mu[pick] + eps * np.sqrt(self._variance(pick, radius, bandwidth))


def kernel_rows(n_rows, random_state):
    """Which of ``n_rows`` rows make up the smoothed mixture: all, or a random
    ``_MAX_COMPONENTS`` of a larger table (sorted). Only these are encoded."""
    if n_rows <= _MAX_COMPONENTS:
        return np.arange(n_rows)
    return np.sort(np.random.RandomState(random_state).permutation(n_rows)[:_MAX_COMPONENTS])

"""SENSITIVITY SAMPLING (Algorithm 2, Theorem B.7 / 2.5, after Bansal et al. 2024) as used by
Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms for Euclidean Clustering".

For a bicriteria set S with clusters C_j, and x in C_j (Algorithm 2 line 2),

    μ(x) = 1/4 · ( 1/(k|C_j|) + cost(x,S)/(k·cost(C_j,S)) + cost(x,S)/cost(X,S) + Δ_x/cost(X,S) ),

with Δ_x = cost(C_j, S)/|C_j| (the paper writes Δ_p on line 1 and Δ_x on line 2: erratum,
same quantity). m points are drawn i.i.d. from μ and a point drawn with probability p
gets weight 1/(m·p).

Choices where the paper is silent:

- **Normalisation.** Σ_x μ(x) = 1/4·(c/k + c'/k + [cost > 0] + [cost > 0]) with c the number
  of nonempty clusters and c' those of positive cost; it is 1 only when |S| = k and every
  cost is positive. We sample from μ/Σμ (the issue: "normalise when |S| ≠ k") and weight by
  the realised probability.
- **Zero denominators.** A term whose denominator is 0 (a cluster of cost 0, or
  cost(X, S) = 0) is 0: its numerator is 0 too (every point of such a cluster sits on its
  center). All points identical: μ is uniform over each cluster, as it should be.
- **Constant-factor inputs.** In the blackboard protocol |C_j| and cost(C_j, S) come from
  DISTMORRIS (within [3/4, 5/4] w.h.p.) and cost(X, S) is their sum; that is the "O(1)
  approximation μ̃" of Algorithm 13 line 5.
- **Coreset size.** m = ceil(c_m · k/ε² · min(ε^{-2}, ε^{-z})) (Algorithm 13 line 2 with the
  Õ's constant and polylog written as one constant c_m, default 1).
"""

from __future__ import annotations

import math

import numpy as np

from ..clustering import assign


def coreset_size(k: int, eps: float, z: float, c_m: float = 1.0) -> int:
    """m = ceil(c_m · k/ε² · min(ε^-2, ε^-z)) (Algorithm 13 line 2)."""
    return max(1, math.ceil(c_m * k / eps**2 * min(eps ** -2, eps ** -z)))


def sensitivities(cost_x: np.ndarray, cluster: np.ndarray, sizes: np.ndarray, cluster_costs: np.ndarray,
                  k: int) -> np.ndarray:
    """μ(x) of Algorithm 2 line 2 (unnormalised), from per-cluster sizes and costs (exact or estimated)."""
    cost_x = np.asarray(cost_x, dtype=np.float64)
    cluster = np.asarray(cluster, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.float64)
    cluster_costs = np.asarray(cluster_costs, dtype=np.float64)
    total = float(cluster_costs.sum())

    def ratio(a, b):
        b = np.asarray(b, dtype=np.float64)
        out = np.zeros(np.broadcast(a, b).shape)
        np.divide(a, b, out=out, where=np.broadcast_to(b > 0, out.shape))
        return out

    size_j, cost_j = sizes[cluster], cluster_costs[cluster]
    mu = ratio(1.0, k * size_j) + ratio(cost_x, k * cost_j)
    if total > 0:
        mu += cost_x / total + ratio(cost_j, size_j) / total
    return mu / 4


def sensitivity_sampling(X: np.ndarray, S: np.ndarray, k: int, m: int, z: float, rng: np.random.Generator):
    """Algorithm 2, centralised (a reference for tests and benchmarks): (indices, weights).

    Exact |C_j| and cost(C_j, S); μ normalised; weight 1/(m·p).
    """
    idx, dist = assign(X, S)
    cost_x = dist**z
    sizes = np.bincount(idx, minlength=len(S)).astype(np.float64)
    costs = np.bincount(idx, weights=cost_x, minlength=len(S))
    mu = sensitivities(cost_x, idx, sizes, costs, k)
    p = mu / mu.sum()
    pick = rng.choice(len(X), size=m, p=p)
    return pick, 1.0 / (m * p[pick])

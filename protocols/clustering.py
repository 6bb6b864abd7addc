"""Clustering arithmetic shared by the protocols: distances, (k, z)-costs, weighted k-means.

Everything is vectorised and chunked by scikit-learn (``pairwise_distances_argmin_min``),
so a cost over 10^6 points never builds an n x k matrix at once.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin_min


def assign(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest center of each point, and its Euclidean distance."""
    if len(X) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if len(C) == 0:
        return np.full(len(X), -1), np.full(len(X), np.inf)
    index, dist = pairwise_distances_argmin_min(X, C)
    return index, dist


def point_costs(X: np.ndarray, C: np.ndarray, z: float = 2.0) -> np.ndarray:
    """cost(x, C) = min_c ||x - c||^z for every point x."""
    return assign(X, C)[1] ** z


def cost(X: np.ndarray, C: np.ndarray, z: float = 2.0, weights: np.ndarray | None = None) -> float:
    """The (k, z)-clustering cost sum_x w_x · min_c ||x - c||^z."""
    c = point_costs(X, C, z)
    return float(c.sum() if weights is None else weights @ c)


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, seed: int = 0, n_init: int = 5) -> np.ndarray:
    """k centers for a weighted point set (scikit-learn KMeans with sample_weight).

    With fewer distinct points than k, returns the distinct points (cost 0 is optimal).
    """
    distinct = np.unique(points, axis=0)
    if len(distinct) <= k:
        return distinct
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points, sample_weight=weights)
    return km.cluster_centers_

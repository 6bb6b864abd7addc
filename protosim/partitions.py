"""Partitions of a dataset's points across s sites.

:func:`partition` returns one sorted index array per site; together they cover
``range(n)`` exactly once. Empty sites are allowed and well defined: such a site simply
holds 0 points (more sites than points, more sites than clusters, an explicit size of 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .errors import ConfigError


@dataclass(frozen=True)
class PartitionSpec:
    """A registered partition kind and its one-line description (``protosim list``)."""

    name: str
    description: str
    split: Callable[..., list[np.ndarray]]


def partition(
    n_or_X: int | np.ndarray,
    s: int,
    kind: str = "uniform",
    *,
    rng: np.random.Generator | int | None,
    labels: np.ndarray | None = None,
    zipf_a: float = 1.5,
    assignment: np.ndarray | None = None,
    sizes: list[int] | None = None,
) -> list[np.ndarray]:
    """Split the indices ``0..n-1`` across ``s`` sites according to ``kind`` (see ``PARTITIONS``).

    ``n_or_X`` is the number of points or the points themselves (n = their first axis).
    ``rng`` (a numpy Generator or a seed) is used by the random kinds, uniform and skewed.
    Returns ``s`` sorted int64 arrays forming a disjoint cover of ``range(n)``.
    """
    n = _n(n_or_X)
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
        raise ConfigError(f"partition.s: must be an integer, got {s!r}")
    if s < 1:
        raise ConfigError(f"partition.s: must be >= 1, got {s}")
    if kind not in PARTITIONS:
        raise ConfigError(f"partition.kind: unknown kind {kind!r}; expected one of {', '.join(PARTITIONS)}")
    if kind != "explicit":
        for key, value in (("assignment", assignment), ("sizes", sizes)):
            if value is not None:
                raise ConfigError(f"partition.{key}: only used with kind 'explicit', not {kind!r}")
    return PARTITIONS[kind].split(
        n, int(s), rng=rng, labels=labels, zipf_a=zipf_a, assignment=assignment, sizes=sizes
    )


def _n(n_or_X: Any) -> int:
    if isinstance(n_or_X, (int, np.integer)) and not isinstance(n_or_X, bool):
        n = int(n_or_X)
    elif hasattr(n_or_X, "__len__"):
        n = len(n_or_X)
    else:
        raise ConfigError(f"partition.n: must be a number of points or an array of points, got {n_or_X!r}")
    if n < 1:
        raise ConfigError(f"partition.n: must be >= 1, got {n}")
    return n


def _generator(rng: Any, kind: str) -> np.random.Generator:
    if rng is None:
        raise ConfigError(f"partition.rng: kind {kind!r} is random and needs a numpy Generator or seed, got None")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"partition.rng: not a numpy Generator or seed: {rng!r} ({exc})") from None


def _split_sorted(order: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Cut ``order`` into consecutive pieces of ``sizes`` and sort each piece."""
    return [np.sort(part).astype(np.int64) for part in np.split(order, np.cumsum(sizes)[:-1])]


def _integers(key: str, values: Any, n: int | None) -> np.ndarray:
    """A 1-D integer array (integral floats allowed), of length ``n`` when given."""
    arr = np.asarray(values)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        expected = f"({n},)" if n is not None else "1-D"
        raise ConfigError(f"partition.{key}: must have shape {expected}, got shape {arr.shape}")
    integral = arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
    )
    if integral:
        return arr.astype(np.int64)
    raise ConfigError(f"partition.{key}: must hold integers, got dtype {arr.dtype}")


def _uniform(n, s, *, rng, **_):
    """Shuffle, then balanced consecutive pieces: sizes differ by at most one."""
    perm = _generator(rng, "uniform").permutation(n)
    sizes = np.full(s, n // s)
    sizes[: n % s] += 1
    return _split_sorted(perm, sizes)


def _by_cluster(n, s, *, labels, **_):
    """Cluster c (a non-negative integer label) goes to site c mod s."""
    if labels is None:
        raise ConfigError("partition.labels: kind 'by_cluster' needs cluster labels, got None")
    labels = _integers("labels", labels, n)
    if labels.min() < 0:
        i = int(np.argmax(labels < 0))
        raise ConfigError(f"partition.labels: must be >= 0, got {labels[i]} at index {i}")
    return _from_assignment(labels % s, s)


def _skewed(n, s, *, rng, zipf_a, **_):
    """Sizes proportional to 1/(i+1)**zipf_a (largest remainder), points shuffled."""
    if isinstance(zipf_a, bool) or not isinstance(zipf_a, (int, float, np.integer, np.floating)) \
            or not np.isfinite(zipf_a) or zipf_a < 0:
        raise ConfigError(f"partition.zipf_a: must be a finite number >= 0, got {zipf_a!r}")
    perm = _generator(rng, "skewed").permutation(n)
    return _split_sorted(perm, zipf_sizes(n, s, zipf_a))


def zipf_sizes(n: int, s: int, a: float) -> np.ndarray:
    """Site sizes proportional to ``1/(i+1)**a`` that sum to n (largest remainder rounding;
    ties go to the lower site index), so site 0 is the largest."""
    weights = 1.0 / np.arange(1, s + 1, dtype=np.float64) ** a
    quotas = n * weights / weights.sum()
    sizes = np.floor(quotas).astype(np.int64)
    short = n - int(sizes.sum())
    sizes[np.argsort(-(quotas - sizes), kind="stable")[:short]] += 1
    return sizes


def _explicit(n, s, *, assignment, sizes, **_):
    """``assignment[i]`` is point i's site; or ``sizes`` gives consecutive blocks in order."""
    if (assignment is None) == (sizes is None):
        raise ConfigError("partition.assignment: kind 'explicit' needs exactly one of assignment or sizes")
    if assignment is not None:
        sites = _integers("assignment", assignment, n)
        bad = (sites < 0) | (sites >= s)
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(f"partition.assignment: site id {sites[i]} at index {i} is outside [0, s={s})")
        return _from_assignment(sites, s)
    sizes_arr = _integers("sizes", sizes, None)
    if sizes_arr.shape[0] != s:
        raise ConfigError(f"partition.sizes: needs one size per site (s={s}), got {sizes_arr.shape[0]}: {list(sizes)}")
    if (sizes_arr < 0).any():
        i = int(np.argmax(sizes_arr < 0))
        raise ConfigError(f"partition.sizes: must be >= 0, got {sizes_arr[i]} at index {i}")
    if int(sizes_arr.sum()) != n:
        raise ConfigError(f"partition.sizes: must sum to n={n}, got {int(sizes_arr.sum())}: {list(sizes)}")
    return _split_sorted(np.arange(n), sizes_arr)


def _from_assignment(sites: np.ndarray, s: int) -> list[np.ndarray]:
    order = np.argsort(sites, kind="stable")  # stable: indices stay sorted within a site
    return [part.astype(np.int64) for part in np.split(order, np.cumsum(np.bincount(sites, minlength=s))[:-1])]


PARTITIONS: dict[str, PartitionSpec] = {
    spec.name: spec
    for spec in [
        PartitionSpec("uniform", "random balanced split: shuffle, then sizes differ by at most one", _uniform),
        PartitionSpec("by_cluster", "cluster c goes to site c mod s (needs labels); spare sites stay empty",
                      _by_cluster),
        PartitionSpec("skewed", "Zipf sizes 1/(i+1)**zipf_a with largest remainder rounding, points shuffled",
                      _skewed),
        PartitionSpec("explicit", "given site id per point (assignment), or consecutive blocks of given sizes",
                      _explicit),
    ]
}
"""Every partition kind a scenario can name, with a one-line description (``protosim list``)."""

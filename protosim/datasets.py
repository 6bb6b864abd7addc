"""Datasets a scenario can name: seeded generators, scikit-learn's bundled sets, local files.

Nothing is downloaded at run time. ``make_dataset({"name": "gaussian_mixture", "n": 1000,
"d": 2, "k": 5}, seed=7)`` returns a :class:`Dataset` with float64 points and, where the
source has them, ground-truth labels. :func:`quantise` maps points onto the integer grid
``[Δ]^d`` that the papers assume.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import ConfigError

_REQUIRED = object()


@dataclass
class Dataset:
    """Points ``X`` (float64, shape (n, d), C-contiguous, finite), optional integer ``labels``,
    the generator ``name`` and its resolved ``params`` (defaults filled in)."""

    X: np.ndarray
    labels: np.ndarray | None
    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.X = _check_points(self.X, f"dataset {self.name!r}")
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
            if self.labels.shape != (self.n,):
                raise ConfigError(
                    f"dataset {self.name!r}: labels have shape {self.labels.shape}, expected ({self.n},)"
                )

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: ``build(seed, **params) -> (X, labels)``; ``params`` maps each
    parameter to its default (``_REQUIRED`` when it has none)."""

    name: str
    description: str
    params: Mapping[str, Any]
    build: Callable[..., tuple[np.ndarray, np.ndarray | None]]


def make_dataset(spec: Mapping[str, Any], seed: int) -> Dataset:
    """Build the dataset a scenario's ``dataset`` table names; errors name ``dataset.<key>``."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"dataset: must be a table with a 'name' key, got {spec!r}")
    if "name" not in spec:
        raise ConfigError(f"dataset.name: missing; expected one of {', '.join(DATASETS)}")
    name = spec["name"]
    if name not in DATASETS:
        raise ConfigError(f"dataset.name: unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed: must be a non-negative integer, got {seed!r}")
    entry = DATASETS[name]
    params = {}
    for key, value in spec.items():
        if key == "name":
            continue
        if key not in entry.params:
            raise ConfigError(
                f"dataset.{key}: unknown key {key!r} (value {value!r}) for dataset {name!r}; "
                f"expected one of {', '.join(entry.params) or 'no parameters'}"
            )
        params[key] = value
    for key, default in entry.params.items():
        if key not in params:
            if default is _REQUIRED:
                raise ConfigError(f"dataset.{key}: missing; dataset {name!r} needs it")
            params[key] = default
    X, labels = entry.build(int(seed), **params)
    return Dataset(X=X, labels=labels, name=name, params=params)


# -- validation helpers -------------------------------------------------------------------


def _int(key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"dataset.{key}: must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigError(f"dataset.{key}: must be >= {minimum}, got {value}")
    return int(value)


def _float(key: str, value: Any, *, minimum: float | None = 0.0, strict: bool = False) -> float:
    """A finite number, ``>= minimum`` (``> minimum`` when ``strict``; no bound when None)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ConfigError(f"dataset.{key}: must be a finite number, got {value!r}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise ConfigError(f"dataset.{key}: must be {'>' if strict else '>='} {minimum:g}, got {value}")
    return float(value)


def _k_at_most_n(k: Any, n: int) -> int:
    k = _int("k", k)
    if k > n:
        raise ConfigError(f"dataset.k: must be <= n ({n}), got {k}")
    return k


def _check_points(X: Any, where: str) -> np.ndarray:
    """float64, 2-D, at least one row and column, C-contiguous, every coordinate finite."""
    try:
        X = np.ascontiguousarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: points must be numeric: {exc}") from None
    if X.ndim != 2:
        raise ConfigError(f"{where}: points must be 2-D (n, d), got shape {X.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ConfigError(f"{where}: need n >= 1 and d >= 1, got shape {X.shape}")
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ConfigError(f"{where}: non-finite value {X[row, col]} at row {row}, column {col}")
    return X


def _seed32(seed: int) -> int:
    """A 32-bit seed for scikit-learn, derived from any non-negative seed."""
    return int(np.random.SeedSequence(seed).generate_state(1)[0])


# -- generators ---------------------------------------------------------------------------


def _gaussian_mixture(seed, *, n, d, k, std, box, random_covariance, equal_sizes):
    n, d = _int("n", n), _int("d", d)
    k = _k_at_most_n(k, n)
    std, box = _float("std", std), _float("box", box)
    for key, value in (("random_covariance", random_covariance), ("equal_sizes", equal_sizes)):
        if not isinstance(value, bool):
            raise ConfigError(f"dataset.{key}: must be true or false, got {value!r}")
    rng = np.random.default_rng(seed)
    means = rng.uniform(-box, box, size=(k, d))
    # each point's component: uniform at random, or a shuffled floor(n/k) or ceil(n/k) each
    labels = rng.permutation(np.arange(n) % k) if equal_sizes else rng.integers(0, k, size=n)
    Z = rng.standard_normal((n, d))
    if random_covariance:
        # Cov_c = std² · Q diag(λ) Qᵀ with Q a random rotation and λ uniform in [0.25, 1.75].
        order = np.argsort(labels, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(labels, minlength=k))[:-1])
        for rows in members:
            Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            root = Q * np.sqrt(rng.uniform(0.25, 1.75, size=d))
            Z[rows] = Z[rows] @ root.T
    return means[labels] + std * Z, labels


def _blobs(seed, *, n, d, k, std, box):
    from sklearn.datasets import make_blobs

    n, d = _int("n", n), _int("d", d)
    k = _k_at_most_n(k, n)
    std, box = _float("std", std), _float("box", box)
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std,
                      center_box=(-box, box), random_state=_seed32(seed))
    return X, y


def _sklearn_prefix(loader: Callable, label: str, n: Any):
    data = loader()
    if n is not None:
        n = _int("n", n)
        if n > data.data.shape[0]:
            raise ConfigError(f"dataset.n: {label} has {data.data.shape[0]} points, got n={n}")
    return data.data[:n], data.target[:n]


def _digits(seed, *, n):
    from sklearn.datasets import load_digits

    return _sklearn_prefix(load_digits, "digits", n)


def _iris(seed, *, n):
    from sklearn.datasets import load_iris

    return _sklearn_prefix(load_iris, "iris", n)


def _uniform(seed, *, n, d, box):
    n, d, box = _int("n", n), _int("d", d), _float("box", box, strict=True)
    return np.random.default_rng(seed).uniform(0.0, box, size=(n, d)), None


def _identical(seed, *, n, d, value):
    n, d, value = _int("n", n), _int("d", d), _float("value", value, minimum=None)
    return np.full((n, d), value), np.zeros(n, dtype=np.int64)


def _path(path: Any) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"dataset.path: must be a file path, got {path!r}")
    if not os.path.isfile(path):
        raise ConfigError(f"dataset.path: no such file {str(path)!r}")
    return str(path)


def _npy(seed, *, path):
    path = _path(path)
    try:
        X = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"dataset.path: cannot read {path!r} as .npy: {exc}") from None
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "biuf":
        raise ConfigError(f"dataset.path: {path!r} must hold one numeric array, got {getattr(X, 'dtype', type(X))}")
    return _check_points(X, f"dataset.path {path!r}"), None


def _csv(seed, *, path, label_column, delimiter, header):
    path = _path(path)
    header = _int("header", header, minimum=0)
    if not isinstance(delimiter, str) or not delimiter:
        raise ConfigError(f"dataset.delimiter: must be a non-empty string, got {delimiter!r}")
    where = f"dataset.path {path!r}"
    try:
        with warnings.catch_warnings():  # an empty file is reported below as n = 0
            warnings.simplefilter("ignore", UserWarning)
            cells = np.loadtxt(path, dtype=str, delimiter=delimiter, skiprows=header, ndmin=2)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read as CSV: {exc}") from None
    cells = np.char.strip(cells)
    labels = None
    if label_column is not None:
        col = _int("label_column", label_column, minimum=-cells.shape[1])
        if col >= cells.shape[1]:
            raise ConfigError(f"dataset.label_column: {path!r} has {cells.shape[1]} columns, got {col}")
        labels = _labels(cells[:, col])
        cells = np.delete(cells, col, axis=1)
    try:
        X = cells.astype(np.float64)
    except ValueError:
        for (row, c), text in np.ndenumerate(cells):
            try:
                float(text)
            except ValueError:
                raise ConfigError(
                    f"{where}: value {str(text)!r} at row {row}, column {c} is not a number "
                    f"(rows after the {header} header row(s), columns without the label column)"
                ) from None
    return _check_points(X, where), labels


def _labels(column: np.ndarray) -> np.ndarray:
    """Integral numeric labels as they are; any other labels as codes 0.. in sorted order."""
    try:
        values = column.astype(np.float64)
    except ValueError:
        return np.unique(column, return_inverse=True)[1].astype(np.int64)
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return values.astype(np.int64)
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("gaussian_mixture", "n points from k Gaussians, means uniform in [-box, box]^d, seeded; "
                    "equal_sizes: every component gets floor(n/k) or ceil(n/k) points",
                    {"n": _REQUIRED, "d": _REQUIRED, "k": _REQUIRED, "std": 1.0, "box": 10.0,
                     "random_covariance": False, "equal_sizes": False}, _gaussian_mixture),
        DatasetSpec("blobs", "scikit-learn make_blobs: k isotropic Gaussian blobs in [-box, box]^d",
                    {"n": _REQUIRED, "d": _REQUIRED, "k": _REQUIRED, "std": 1.0, "box": 10.0}, _blobs),
        DatasetSpec("digits", "scikit-learn handwritten digits, 1797 x 64 with labels; n takes a prefix",
                    {"n": None}, _digits),
        DatasetSpec("iris", "scikit-learn iris, 150 x 4 with labels; n takes a prefix", {"n": None}, _iris),
        DatasetSpec("uniform", "n points uniform in [0, box]^d, seeded", {"n": _REQUIRED, "d": _REQUIRED, "box": 1.0},
                    _uniform),
        DatasetSpec("identical", "n copies of the point (value, ..., value): total cost 0 edge case",
                    {"n": _REQUIRED, "d": _REQUIRED, "value": 0.0}, _identical),
        DatasetSpec("npy", "a 2-D numeric array from a local .npy file", {"path": _REQUIRED}, _npy),
        DatasetSpec("csv", "a local CSV file; optional label_column, delimiter, header rows to skip",
                    {"path": _REQUIRED, "label_column": None, "delimiter": ",", "header": 0}, _csv),
    ]
}
"""Every dataset a scenario can name, with a one-line description (``protosim list``)."""


def quantise(X: np.ndarray, log2_delta: int) -> tuple[np.ndarray, float, np.ndarray]:
    """Declared quantisation of points onto the integer grid ``[Δ]^d``, ``Δ = 2**log2_delta``.

    The papers assume integer coordinates in ``{0, ..., Δ-1}^d``. This maps the bounding box
    of ``X`` affinely onto that grid and rounds: ``Xq = rint((X - offset) * scale)``, with
    ``offset`` the per-coordinate minimum and one ``scale`` for all coordinates (so distances
    keep their ratios; the widest side spans ``[0, Δ-1]``). ``X ≈ Xq / scale + offset``.
    All points identical: ``scale = 1`` and ``Xq = 0``. Returns ``(Xq, scale, offset)``.
    """
    X = _check_points(X, "quantise X")
    if isinstance(log2_delta, bool) or not isinstance(log2_delta, (int, np.integer)) or not 1 <= log2_delta <= 62:
        raise ConfigError(f"quantise log2_delta: must be an integer in [1, 62], got {log2_delta!r}")
    top = 2 ** int(log2_delta) - 1
    offset = X.min(axis=0)
    extent = float((X.max(axis=0) - offset).max())
    scale = top / extent if extent > 0 else 1.0
    Xq = np.rint((X - offset) * scale).astype(np.int64)
    np.clip(Xq, 0, top, out=Xq)
    return Xq, scale, offset

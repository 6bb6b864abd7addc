import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protosim.errors import ConfigError
from protosim.partitions import PARTITIONS, partition, zipf_sizes


def assert_cover(parts, n, s):
    assert len(parts) == s
    for p in parts:
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0)  # sorted, no repeats
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(n))


def make_args(kind, n, s, seed):
    rng = np.random.default_rng(seed)
    if kind == "by_cluster":
        return {"labels": rng.integers(0, 7, size=n)}
    if kind == "explicit":
        return {"assignment": rng.integers(0, s, size=n)}
    return {}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    s=st.integers(1, 40),
    kind=st.sampled_from(sorted(PARTITIONS)),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_kind_is_a_disjoint_cover(n, s, kind, seed):
    parts = partition(n, s, kind, rng=np.random.default_rng(seed), **make_args(kind, n, s, seed))
    assert_cover(parts, n, s)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 20), min_size=1, max_size=10).filter(lambda x: sum(x) > 0))
def test_explicit_sizes_are_consecutive_blocks(sizes):
    parts = partition(sum(sizes), len(sizes), "explicit", rng=None, sizes=sizes)
    assert_cover(parts, sum(sizes), len(sizes))
    assert [len(p) for p in parts] == sizes
    assert all(p.size == 0 or np.array_equal(p, np.arange(p[0], p[0] + p.size)) for p in parts)


@pytest.mark.parametrize("kind", ["uniform", "skewed"])
def test_deterministic_for_fixed_seed(kind):
    a = partition(1000, 7, kind, rng=np.random.default_rng(42))
    b = partition(1000, 7, kind, rng=42)
    c = partition(1000, 7, kind, rng=np.random.default_rng(43))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_uniform_is_balanced_and_accepts_points():
    parts = partition(np.zeros((103, 2)), 10, rng=0)
    assert sorted(len(p) for p in parts) == [10] * 7 + [11] * 3


def test_more_sites_than_points_leaves_sites_empty():
    parts = partition(3, 5, rng=0)
    assert_cover(parts, 3, 5)
    assert sum(len(p) == 0 for p in parts) == 2


def test_by_cluster_maps_c_mod_s():
    labels = np.array([0, 1, 2, 3, 4, 0, 4])
    parts = partition(7, 3, "by_cluster", rng=None, labels=labels)
    assert [p.tolist() for p in parts] == [[0, 3, 5], [1, 4, 6], [2]]
    parts = partition(7, 8, "by_cluster", rng=None, labels=labels)
    assert [len(p) for p in parts] == [2, 1, 1, 1, 2, 0, 0, 0]


def test_skew_shape():
    sizes = zipf_sizes(1000, 4, 1.0)  # quotas 480, 240, 160, 120
    assert sizes.tolist() == [480, 240, 160, 120]
    assert zipf_sizes(10, 3, 1.0).tolist() == [5, 3, 2]  # quotas 5.45, 2.73, 1.82: +1 to .82, .73
    assert zipf_sizes(9, 3, 0.0).tolist() == [3, 3, 3]
    parts = partition(1000, 4, "skewed", rng=1, zipf_a=1.0)
    assert [len(p) for p in parts] == [480, 240, 160, 120]
    steep = [len(p) for p in partition(1000, 10, "skewed", rng=1, zipf_a=2.0)]
    assert steep == sorted(steep, reverse=True) and steep[0] > 600


def test_registry_has_descriptions():
    assert set(PARTITIONS) == {"uniform", "by_cluster", "skewed", "explicit"}
    assert all(spec.description and spec.name == name for name, spec in PARTITIONS.items())


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((10, 0), {}, r"^partition.s: must be >= 1, got 0$"),
        ((10, 2.0), {}, r"partition.s: must be an integer, got 2.0"),
        ((0, 2), {}, r"partition.n: must be >= 1, got 0"),
        ((10, 2, "random"), {}, r"partition.kind: unknown kind 'random'; expected one of uniform, by_cluster"),
        ((10, 2, "by_cluster"), {}, r"partition.labels: kind 'by_cluster' needs cluster labels"),
        ((10, 2, "by_cluster"), {"labels": [0] * 9}, r"partition.labels: must have shape \(10,\), got shape \(9,\)"),
        ((3, 2, "by_cluster"), {"labels": [0, -1, 1]}, r"partition.labels: must be >= 0, got -1 at index 1"),
        ((3, 2, "by_cluster"), {"labels": [0, 0.5, 1]}, r"partition.labels: must hold integers"),
        ((3, 2, "explicit"), {"assignment": [0, 2, 1]}, r"partition.assignment: site id 2 at index 1 is outside \[0, s=2\)"),
        ((3, 2, "explicit"), {"sizes": [1, 1]}, r"partition.sizes: must sum to n=3, got 2"),
        ((3, 2, "explicit"), {"sizes": [3]}, r"partition.sizes: needs one size per site \(s=2\), got 1"),
        ((3, 2, "explicit"), {"sizes": [4, -1]}, r"partition.sizes: must be >= 0, got -1 at index 1"),
        ((3, 2, "explicit"), {}, r"needs exactly one of assignment or sizes"),
        ((3, 2, "uniform"), {"sizes": [1, 2]}, r"partition.sizes: only used with kind 'explicit'"),
        ((3, 2, "skewed"), {"zipf_a": -1}, r"partition.zipf_a: must be a finite number >= 0, got -1"),
        ((3, 2, "uniform"), {"rng": None}, r"partition.rng: kind 'uniform' is random"),
    ],
)
def test_errors_name_field_and_value(args, kwargs, message):
    kwargs = {"rng": 0, **kwargs}
    with pytest.raises(ConfigError, match=message):
        partition(*args, **kwargs)

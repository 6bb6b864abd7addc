import numpy as np
import pytest

from protosim.datasets import DATASETS, Dataset, make_dataset, quantise
from protosim.errors import ConfigError


def check_shape(ds, n, d):
    assert ds.X.shape == (n, d) and (ds.n, ds.d) == (n, d)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous


def test_registry_has_descriptions():
    assert {"gaussian_mixture", "blobs", "digits", "iris", "uniform", "identical", "npy", "csv"} <= set(DATASETS)
    for name, spec in DATASETS.items():
        assert spec.name == name and spec.description and "\n" not in spec.description


def test_gaussian_mixture_seeded_and_labelled():
    spec = {"name": "gaussian_mixture", "n": 500, "d": 3, "k": 4, "std": 0.1, "box": 50}
    a, b, c = make_dataset(spec, seed=1), make_dataset(spec, seed=1), make_dataset(spec, seed=2)
    check_shape(a, 500, 3)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)
    assert set(np.unique(a.labels)) <= set(range(4))
    assert np.abs(a.X).max() < 51
    for lab in np.unique(a.labels):  # tight clusters around their means
        assert a.X[a.labels == lab].std(axis=0).max() < 0.2
    assert a.params == {"n": 500, "d": 3, "k": 4, "std": 0.1, "box": 50, "random_covariance": False,
                        "equal_sizes": False}


def test_gaussian_mixture_equal_sizes():
    spec = {"name": "gaussian_mixture", "n": 1003, "d": 2, "k": 4, "std": 0.1, "equal_sizes": True}
    a = make_dataset(spec, seed=1)
    check_shape(a, 1003, 2)
    assert sorted(np.bincount(a.labels, minlength=4).tolist()) == [250, 251, 251, 251]
    assert np.array_equal(a.X, make_dataset(spec, seed=1).X)
    assert not np.array_equal(a.labels[:50], np.arange(50) % 4)  # shuffled, not in blocks
    random = make_dataset({**spec, "equal_sizes": False}, seed=1)  # the same means either way
    for lab in range(4):
        assert np.allclose(a.X[a.labels == lab].mean(axis=0), random.X[random.labels == lab].mean(axis=0), atol=0.05)
    with pytest.raises(ConfigError, match=r"dataset.equal_sizes: must be true or false, got 'yes'"):
        make_dataset({**spec, "equal_sizes": "yes"}, seed=1)


def test_gaussian_mixture_random_covariance():
    spec = {"name": "gaussian_mixture", "n": 4000, "d": 2, "k": 2, "random_covariance": True}
    ds = make_dataset(spec, seed=3)
    check_shape(ds, 4000, 2)
    for lab in range(2):
        eig = np.linalg.eigvalsh(np.cov(ds.X[ds.labels == lab].T))
        assert 0.15 < eig.min() and eig.max() < 2.0  # within [0.25, 1.75] up to sampling


def test_blobs_uniform_identical():
    blobs = make_dataset({"name": "blobs", "n": 90, "d": 2, "k": 3}, seed=5)
    check_shape(blobs, 90, 2)
    assert np.array_equal(blobs.X, make_dataset({"name": "blobs", "n": 90, "d": 2, "k": 3}, seed=5).X)
    assert sorted(np.unique(blobs.labels)) == [0, 1, 2]
    uni = make_dataset({"name": "uniform", "n": 100, "d": 4, "box": 2.0}, seed=0)
    check_shape(uni, 100, 4)
    assert uni.labels is None and uni.X.min() >= 0 and uni.X.max() <= 2.0
    same = make_dataset({"name": "identical", "n": 7, "d": 3, "value": -2.5}, seed=0)
    check_shape(same, 7, 3)
    assert np.all(same.X == -2.5) and np.all(same.labels == 0)


def test_digits_and_iris():
    digits = make_dataset({"name": "digits"}, seed=0)
    check_shape(digits, 1797, 64)
    assert digits.labels.shape == (1797,) and set(np.unique(digits.labels)) == set(range(10))
    prefix = make_dataset({"name": "digits", "n": 100}, seed=0)
    assert np.array_equal(prefix.X, digits.X[:100]) and np.array_equal(prefix.labels, digits.labels[:100])
    check_shape(make_dataset({"name": "iris"}, seed=0), 150, 4)
    with pytest.raises(ConfigError, match="dataset.n: digits has 1797 points, got n=2000"):
        make_dataset({"name": "digits", "n": 2000}, seed=0)


def test_npy(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12, dtype=np.int32).reshape(4, 3))
    ds = make_dataset({"name": "npy", "path": str(path)}, seed=0)
    check_shape(ds, 4, 3)
    np.save(path, np.arange(4.0))
    with pytest.raises(ConfigError, match=r"x.npy.*must be 2-D.*\(4,\)"):
        make_dataset({"name": "npy", "path": str(path)}, seed=0)
    bad = np.zeros((3, 2))
    bad[2, 1] = np.nan
    np.save(path, bad)
    with pytest.raises(ConfigError, match="x.npy.*non-finite value nan at row 2, column 1"):
        make_dataset({"name": "npy", "path": str(path)}, seed=0)
    with pytest.raises(ConfigError, match="dataset.path: no such file"):
        make_dataset({"name": "npy", "path": str(tmp_path / "missing.npy")}, seed=0)


def test_csv(tmp_path):
    path = tmp_path / "pts.csv"
    path.write_text("x;y;cls\n1;2;setosa\n3;4;virginica\n5;6;setosa\n")
    ds = make_dataset({"name": "csv", "path": str(path), "delimiter": ";", "header": 1, "label_column": -1}, seed=0)
    check_shape(ds, 3, 2)
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6]] and ds.labels.tolist() == [0, 1, 0]
    path.write_text("1,2,0.0\n3,4,10\n")
    ds = make_dataset({"name": "csv", "path": str(path), "label_column": 2}, seed=0)
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.labels.tolist() == [0, 10]
    path.write_text("1,2\n3,inf\n")
    with pytest.raises(ConfigError, match="pts.csv.*non-finite value inf at row 1, column 1"):
        make_dataset({"name": "csv", "path": str(path)}, seed=0)
    path.write_text("")
    with pytest.raises(ConfigError, match=r"pts.csv.*need n >= 1"):
        make_dataset({"name": "csv", "path": str(path)}, seed=0)
    path.write_text("1,2\n3,abc\n")
    with pytest.raises(ConfigError, match="pts.csv.*'abc' at row 1, column 1 is not a number"):
        make_dataset({"name": "csv", "path": str(path)}, seed=0)


@pytest.mark.parametrize(
    "spec, pattern",
    [
        ({"name": "gauss"}, r"dataset.name: unknown dataset 'gauss'; expected one of gaussian_mixture, blobs"),
        ({"name": "uniform", "n": 5, "d": 2, "nn": 3}, r"dataset.nn: unknown key 'nn' \(value 3\).*expected one of n, d, box"),
        ({"name": "uniform", "d": 2}, r"dataset.n: missing"),
        ({"name": "uniform", "n": 0, "d": 2}, r"dataset.n: must be >= 1, got 0"),
        ({"name": "uniform", "n": 3, "d": 0}, r"dataset.d: must be >= 1, got 0"),
        ({"name": "uniform", "n": 3.5, "d": 1}, r"dataset.n: must be an integer, got 3.5"),
        ({"name": "blobs", "n": 3, "d": 2, "k": 0}, r"dataset.k: must be >= 1, got 0"),
        ({"name": "gaussian_mixture", "n": 3, "d": 2, "k": 5}, r"dataset.k: must be <= n \(3\), got 5"),
        ({"name": "gaussian_mixture", "n": 3, "d": 2, "k": 1, "std": -1}, r"dataset.std: must be >= 0, got -1"),
        ({"name": "uniform", "n": 3, "d": 2, "box": float("nan")}, r"dataset.box: must be a finite number"),
        ({"n": 3}, r"dataset.name: missing"),
    ],
)
def test_bad_specs(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        make_dataset(spec, seed=0)


def test_dataset_validates_directly():
    with pytest.raises(ConfigError, match="labels have shape"):
        Dataset(np.zeros((3, 2)), np.zeros(2), "x")
    with pytest.raises(ConfigError, match="must be 2-D"):
        Dataset(np.zeros((2, 2, 2)), None, "x")


def test_quantise_grid_and_inverse():
    X = make_dataset({"name": "gaussian_mixture", "n": 200, "d": 3, "k": 2}, seed=4).X
    Xq, scale, offset = quantise(X, 10)
    assert Xq.dtype == np.int64 and Xq.min() == 0 and Xq.max() == 1023
    assert (Xq.max(axis=0) <= 1023).all()
    assert np.abs(Xq / scale + offset - X).max() <= 0.5 / scale + 1e-12


def test_quantise_identical_points_and_errors():
    Xq, scale, offset = quantise(np.full((4, 2), 3.0), 8)
    assert not Xq.any() and scale == 1.0 and offset.tolist() == [3.0, 3.0]
    with pytest.raises(ConfigError, match="log2_delta"):
        quantise(np.zeros((2, 2)), 0)
    with pytest.raises(ConfigError, match="non-finite"):
        quantise(np.array([[0.0, np.inf]]), 4)

import numpy as np
import pytest


@pytest.fixture
def parts():
    """Four sites with 3, 0, 1 and 6 points in d = 2 (one empty site, one with one point)."""
    rng = np.random.default_rng(0)
    return [rng.normal(size=(n, 2)) for n in (3, 0, 1, 6)]

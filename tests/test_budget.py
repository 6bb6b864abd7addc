import json
import math

import numpy as np
import pytest

from protosim.budget import (
    FIGURES,
    Budget,
    BudgetCheck,
    assert_budget,
    fit_exponent,
    fit_exponents,
    format_figure,
    pretty_bound,
)
from protosim.errors import ConfigError

BOUND = "4*(s*log2(n) + k*d*log2(n))"


class FakeResult:
    """The two members of RunResult that budgets use."""

    def __init__(self, params, figures):
        self.params = params
        self._figures = figures  # {(name, phase, party): value}

    def figure(self, name, phase=None, party=None):
        return self._figures[(name, phase, party)]


def run(bits, **params):
    params = {"s": 100, "n": 1024, "k": 10, "d": 64, "eps": 0.5, **params}
    return FakeResult(params, {("bits", None, None): bits})


def test_limit_evaluates_bound():
    b = Budget("Algorithm 10", "bits", BOUND)
    assert b.limit({"s": 100, "n": 1024, "k": 10, "d": 64}) == 29_600


def test_pass_message_exact():
    check = Budget("Algorithm 10", "bits", BOUND).check(run(29_000))
    assert check.ok
    assert check.message == (
        "Algorithm 10: allowed 29,600 bits (4·(s·log2 n + k·d·log2 n) at s=100, n=1024, k=10, d=64), "
        "measured 29,000"
    )


def test_fail_message_exact_non_integral_limit():
    check = Budget("Algorithm 10", "bits", BOUND).check(run(130_002, n=1797))
    assert not check.ok
    assert check.limit == pytest.approx(32_001.669092789427)
    assert check.message == (
        "Algorithm 10: allowed 32,001.669 bits (4·(s·log2 n + k·d·log2 n) at s=100, n=1797, k=10, d=64), "
        "measured 130,002"
    )


def test_equal_is_ok_and_params_in_order_of_appearance():
    check = Budget("B", "bits", "k*d*log2(n) + s").check(run(6_500))
    assert check.ok  # 10*64*10 + 100 == 6500
    assert list(check.params) == ["k", "d", "n", "s"]  # eps is not used, so not shown


def test_phase_party_and_units():
    result = FakeResult({"s": 4}, {("messages", "bicriteria", "site3"): 9.0, ("sim_time", None, None): 0.0123})
    check = Budget("Lemma 3", "messages", "2*s", phase="bicriteria", party="site3").check(result)
    assert check.message == "Lemma 3: allowed 8 messages (phase bicriteria) (party site3) (2·s at s=4), measured 9"
    t = Budget("T", "sim_time", "1.5").check(result)
    assert t.message == "T: allowed 1.500 s (1.5), measured 0.0123"


def test_assert_budget():
    b = Budget("Algorithm 10", "bits", BOUND)
    assert isinstance(assert_budget(run(10), b), BudgetCheck)
    with pytest.raises(AssertionError) as info:
        assert_budget(run(30_000), b)
    assert str(info.value) == Budget("Algorithm 10", "bits", BOUND).check(run(30_000)).message


def test_to_dict_is_json():
    d = Budget("A", "bits", "s*log2(n)").check(run(np.int64(5))).to_dict()
    assert set(d) == {"name", "figure", "limit", "measured", "ok", "bound", "params", "kind"}
    assert d["params"] == {"s": 100, "n": 1024} and d["ok"] is True
    json.dumps(d)


@pytest.mark.parametrize(
    "text, shown",
    [
        ("log2(n)/s", "(log2 n)/s"),
        ("n/log2(n)", "n/log2 n"),
        ("log2(n)**2", "(log2 n)^2"),
        ("a-(b+c)", "a - (b + c)"),
        ("max(s, k)*log2(n*d)", "max(s, k)·log2(n·d)"),
        ("ceil(log2(s))", "ceil(log2 s)"),
    ],
)
def test_pretty_bound(text, shown):
    assert pretty_bound(text) == shown


@pytest.mark.parametrize("x, shown", [(123456.0, "123,456"), (1234.5678, "1,234.568"), (0.000123, "0.000123")])
def test_format_figure(x, shown):
    assert format_figure(x) == shown


def test_bad_bound_names_budget_field_and_text():
    with pytest.raises(ConfigError, match=r"budget 'X', field 'bound'.*'4\*\(s'"):
        Budget("X", "bits", "4*(s")
    with pytest.raises(ConfigError, match="field 'bound'"):
        Budget("X", "bits", "__import__('os')")


def test_missing_parameter_is_config_error():
    with pytest.raises(ConfigError, match="budget 'X'.*needs parameter"):
        Budget("X", "bits", "q*n").limit({"n": 3})


def test_unknown_figure_and_misplaced_phase():
    with pytest.raises(ConfigError, match="unknown figure 'bitz'.*" + ", ".join(FIGURES)):
        Budget("X", "bitz", "1")
    with pytest.raises(ConfigError, match="field 'phase'.*not 'rounds'"):
        Budget("X", "rounds", "1", phase="p")


def test_from_dict():
    b = Budget.from_dict({"name": "A", "figure": "rounds", "bound": 6, "note": "Thm 1"})
    assert b.bound == "6" and b.limit({}) == 6
    with pytest.raises(ConfigError) as info:
        Budget.from_dict({"name": "A", "figure": "bits", "boundd": "1"})
    assert str(info.value) == (
        "budgets[0].boundd: unknown key; expected one of name, figure, bound, phase, party, note, kind"
    )
    with pytest.raises(ConfigError, match=r"^budgets\[2\]\.bound: missing"):
        Budget.from_dict({"name": "A", "figure": "bits"}, where="budgets[2]")
    with pytest.raises(ConfigError, match=r"^budgets\[0\]: budget 'A', field 'figure'"):
        Budget.from_dict({"name": "A", "figure": "bytes", "bound": "1"})


# -- fits ---------------------------------------------------------------------------------


def grid_rows(noise=None):
    rng = np.random.default_rng(0)
    rows = []
    for s in (10, 20, 40, 80, 160):
        for k in (2, 4, 8, 16):
            for _ in range(3 if noise else 1):
                y = 3 * s**1.0 * k**0.5
                if noise:
                    y *= math.exp(rng.normal(0, noise))
                rows.append({"s": s, "k": k, "bits": y})
    return rows


def test_fit_recovers_exponents_exactly():
    fit = fit_exponents(grid_rows(), ["s", "k"], "bits")
    assert fit.exponents["s"] == pytest.approx(1.0, abs=1e-9)
    assert fit.exponents["k"] == pytest.approx(0.5, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log2(3), abs=1e-9)
    assert fit.residual < 1e-9 and fit.n_points == 20


def test_fit_with_noise_within_tolerance():
    # 10% multiplicative log-normal noise, 60 points (three seeds per grid point): within 0.05.
    fit = fit_exponents(grid_rows(noise=0.1), ["s", "k"], "bits")
    assert fit.exponents["s"] == pytest.approx(1.0, abs=0.05)
    assert fit.exponents["k"] == pytest.approx(0.5, abs=0.05)
    assert 0.05 < fit.residual < 0.3 and fit.n_points == 60


def test_fit_exponent_single_key():
    fit = fit_exponent([1, 2, 4, 8], [5, 20, 80, 320])
    assert fit.exponents == {"x": pytest.approx(2.0)}


def test_fit_errors():
    rows = grid_rows()
    with pytest.raises(ConfigError, match=r"rows\[3\]\.bits: must be positive.*-1"):
        fit_exponents([*rows[:3], {"s": 1, "k": 1, "bits": -1}, *rows[4:]], ["s", "k"], "bits")
    with pytest.raises(ConfigError, match=r"rows\[0\]\.s: must be positive.*0"):
        fit_exponents([{**rows[0], "s": 0}, *rows[1:]], ["s", "k"], "bits")
    with pytest.raises(ConfigError, match="key 'k' does not vary"):
        fit_exponents([r for r in rows if r["k"] == 2], ["s", "k"], "bits")
    with pytest.raises(ConfigError, match="need at least 4 points for 3 unknowns, got 3"):
        fit_exponents(rows[:3], ["s", "k"], "bits")
    with pytest.raises(ConfigError, match="collinear"):
        fit_exponents([{"s": s, "k": s * s, "bits": s} for s in (1, 2, 4, 8)], ["s", "k"], "bits")
    with pytest.raises(ConfigError, match=r"rows\[0\]\.bits: missing"):
        fit_exponents([{"s": 1, "k": 1}] * 4, ["s", "k"], "bits")
    with pytest.raises(ConfigError, match="need at least 3 points"):
        fit_exponent([1, 2], [1, 2])


def test_lower_bound_budgets_hold_when_measured_is_at_least_the_limit():
    lower = Budget("Omega(s*k)", "bits", "s*k", kind="lower")
    ok = lower.check(FakeResult({"s": 10, "k": 4}, {("bits", None, None): 50.0}))
    assert ok.ok and ok.to_dict()["kind"] == "lower"
    bad = lower.check(FakeResult({"s": 10, "k": 4}, {("bits", None, None): 30.0}))
    assert not bad.ok
    assert bad.message == "Omega(s*k): needs at least 40 bits (s·k at s=10, k=4), measured 30"
    with pytest.raises(ConfigError, match="field 'kind': must be one of upper, lower, got 'middle'"):
        Budget("x", "bits", "1", kind="middle")

"""POWERAPPROX (Algorithm 5 of Cohen-Addad, Wang, Woodruff, Zhou, "Distributed Algorithms
for Euclidean Clustering", Appendix B; Theorem 2.3 / B.12).

POWERAPPROX(m, λ) returns the integer i with ``m <= λ**i < λ·m``. Whoever reads i decodes
``m̂ = λ**i``, a λ-approximation of m from above. The exponent travels as Elias gamma, so a
number of size poly(n) costs O(log log n) bits.

Wire format (our choice; the paper only says "O(log log n) bits"): the field is
``Gamma(base=0)`` of ``v = i + 1`` for ``m > 0`` and ``v = 0`` for ``m = 0`` (⊥, 1 bit). That
needs ``i >= 0``, i.e. ``m >= 1``: on the integer grid [Δ]^d every nonzero distance is >= 1,
so every nonzero cost D_j = Σ dist^z is >= 1 (z >= 1) and the exponent is never negative.
A value in (0, 1) is refused with a clear error rather than silently rounded. Quantities
that can be below 1 (the sensitivity totals of Algorithm 13) use :func:`power_approx`
directly with a ``Signed()`` field.

``v`` is non-increasing along a run of adaptive sampling (costs only drop as centers are
added), which Algorithm 10's updates exploit: a site posts the drop ``v_old - v_new`` in
Elias gamma (1 bit when nothing changed). See protocols/euclidean/blackboard.py.
"""

from __future__ import annotations

import math

import numpy as np

from protosim import Gamma, message


def power_approx(m: float, lam: float = 2.0) -> int | None:
    """Algorithm 5 POWERAPPROX: the integer i with ``m <= lam**i < lam*m``; None (⊥) for m = 0.

    Exact for integer m and lam = 2 (bit length); otherwise a float logarithm corrected by
    at most one step in each direction, so the defining inequality always holds in
    floating point as :func:`power_value` evaluates it.
    """
    if not lam > 1 or not math.isfinite(lam):
        raise ValueError(f"POWERAPPROX base lam must be a finite number > 1, got {lam!r}")
    if isinstance(m, (np.integer, np.floating)):
        m = m.item()
    if m < 0 or not math.isfinite(m):
        raise ValueError(f"POWERAPPROX needs a finite m >= 0, got {m!r}")
    if m == 0:
        return None
    if lam == 2 and float(m).is_integer():
        return (int(m) - 1).bit_length()
    i = math.ceil(math.log(m) / math.log(lam))
    while lam ** i < m:
        i += 1
    while lam ** (i - 1) >= m:
        i -= 1
    return i


def power_approx_array(m: np.ndarray, lam: float = 2.0) -> np.ndarray:
    """:func:`power_approx` over an array of m > 0 (float exponents; one correction step each way)."""
    m = np.asarray(m, dtype=np.float64)
    if (m <= 0).any():
        raise ValueError("power_approx_array needs m > 0 (use power_approx for 0)")
    i = np.ceil(np.log(m) / math.log(lam))
    i += lam ** i < m
    i -= lam ** (i - 1) >= m
    return i.astype(np.int64)


def power_value(i: int | None, lam: float = 2.0) -> float:
    """Decode POWERAPPROX: ``lam**i`` (0.0 for ⊥)."""
    return 0.0 if i is None else float(lam) ** i


def exponent_to_field(i: int | None) -> int:
    """The value ``v`` that travels in ``Gamma(base=0)``: 0 for ⊥, else ``i + 1`` (needs i >= 0)."""
    if i is None:
        return 0
    if i < 0:
        raise ValueError(
            f"POWERAPPROX exponent {i} < 0: the exponent travels as Elias gamma of i + 1 and needs "
            "m >= 1; on the integer grid every nonzero cost is >= 1, so the input is off the grid"
        )
    return i + 1


def field_to_exponent(v: int) -> int | None:
    """Inverse of :func:`exponent_to_field`."""
    return None if v == 0 else int(v) - 1


def field_value(v: int, lam: float = 2.0) -> float:
    """The decoded approximation ``lam**(v-1)`` for a field value v (0.0 for v = 0)."""
    return power_value(field_to_exponent(v), lam)


def field_values(v: np.ndarray, lam: float = 2.0) -> np.ndarray:
    """:func:`field_value` over an array of field values."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v > 0, float(lam) ** np.maximum(v - 1, 0), 0.0)


def gamma_bits(v: int) -> int:
    """Length of ``Gamma(base=0)`` of v >= 0: Elias gamma of v + 1, 2·floor(log2(v+1)) + 1 bits."""
    return 2 * (int(v) + 1).bit_length() - 1


@message
class PowerApprox:
    """One POWERAPPROX exponent on the board: ``v = i + 1`` (0 is ⊥, m = 0)."""

    v: Gamma(base=0)


def encode_power(m: float, lam: float = 2.0) -> PowerApprox:
    """The message that carries POWERAPPROX(m, lam)."""
    return PowerApprox(v=exponent_to_field(power_approx(m, lam)))

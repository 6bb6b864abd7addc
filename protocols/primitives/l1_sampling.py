"""L1SAMPLING (Algorithm 9, Lemma D.2 / Lemma 2.2) of Cohen-Addad, Wang, Woodruff, Zhou,
"Distributed Algorithms for Euclidean Clustering", Appendix D.2.

Tests whether the blackboard's D̃ = Σ D̃_j has drifted far above the true D = Σ D_j
(D̃_j >= D_j always). N times: sample site j with p_j = D̃_j / D̃; site j posts
r_j = POWERAPPROX(D_j, λ); T += λ^{r_j} / p_j. Return True iff α·T <= N·D̃.

**Erratum (λ).** Algorithm 9 sets λ = μ/4, α = 2μ; the proof of Lemma D.2 says λ = μ/2.
With λ = μ/2 the proof's chain gives α·T <= 2·N·D̃, which does not imply True; with
λ = μ/4 it gives α·T <= N·D̃ exactly. We use λ = μ/4 (so μ > 4 is required for λ > 1).

**The sample size N (our derivation; the paper's Hoeffding step is wrong).** The proof
bounds Z_i in [0, λD] when applying Hoeffding, but Z_i = D̃·D̂_j/D̃_j reaches λ·D̃, which is
μ² times larger in the case that matters, so "2·exp(-N)" does not follow. We size N with
the Chernoff–Hoeffding bound in its relative-entropy form, valid for independent
variables in [0, 1]: P(mean >= a) <= exp(-N·KL(a‖p)) for a > p (and the mirror bound).
Put Y = Z / (y_max·D̃) in [0, 1], with y_max = max D̂_j/D̃_j. True iff mean(Y) <= a with
a = 1/(α·y_max) = 1/(2μ·y_max).

- Case μ²D <= D̃: E[Y] = ΣD̂_j/(y_max D̃) <= λD/(y_max D̃) <= λ/(μ² y_max) = a/2.
- Case μD > D̃: E[Y] >= D/(y_max D̃) > 1/(μ y_max) = 2a.

So N = ceil(ln(1/δ) / min(KL(a‖a/2), KL(a‖2a))) gives each error probability <= δ.
y_max: D̂_j < λD_j <= λD̃_j in general (y_max = λ); when D̃_j is itself a power of λ (D̃_j
is a power of 2 from POWERAPPROX(·, 2) and λ = 2^{1/q}, e.g. μ = 8, λ = 2), D̂_j <= D̃_j
and y_max = 1. At μ = 8, y_max = 1: a = 1/16, N = ceil(79.5·ln(1/δ)).

**Message format (ours).** The coordinator names the N sampled sites as a multiset (the
order of the draws does not matter to T), in whichever of two self-delimiting forms is
shorter, flagged by two ``Opt`` bits: (a) sorted, each entry the Elias-gamma gap to the
previous one (``length=L1_N``), at most N·(2·log2(1 + s/N) + 1) bits by concavity of log;
(b) the count of every site in Elias gamma (``length=s``), at most s·(2·log2(1 + N/s) + 1)
bits. Both are at most the paper's N·ceil(log2 s) up to the constant. Each distinct
sampled site posts its exponent once, as a drop below a public reference: with
ρ_j = POWERAPPROX(D̃_j, λ) (public), D_j <= D̃_j gives r_j <= ρ_j, so the site posts
(ρ_j + 1) - v_j in Elias gamma, where v_j = r_j + 1 (0 when D_j = 0, so ⊥ is the largest
drop). Right after an update this is 0 or 1 (1 to 3 bits) instead of the 2·log2(r_j+2)+1
bits of the absolute exponent. Everyone reads the replies, so every party computes the
same decision from the board with :func:`l1_decision`; no decision message is needed.
"""

from __future__ import annotations

import math

import numpy as np

from protosim import Gamma, Opt, Vector, message

from .power_approx import (
    exponent_to_field,
    field_values,
    power_approx,
    power_approx_array,
)


def kl_bernoulli(a: float, p: float) -> float:
    """KL(a ‖ p) between Bernoulli(a) and Bernoulli(p)."""
    out = 0.0
    if a > 0:
        out += a * math.log(a / p)
    if a < 1:
        out += (1 - a) * math.log((1 - a) / (1 - p))
    return out


def y_max(lam: float, base: float = 2.0) -> float:
    """Largest D̂_j/D̃_j: 1 when D̃_j (a power of ``base``) is a power of lam, else lam."""
    q = math.log(base) / math.log(lam)
    return 1.0 if abs(q - round(q)) < 1e-12 and round(q) >= 1 else float(lam)


def l1_parameters(mu: float = 8.0, delta: float = 0.01) -> dict:
    """λ, α, y_max, threshold a, and N for L1SAMPLING(μ, δ) (see the module docstring)."""
    if not mu > 4:
        raise ValueError(f"L1SAMPLING needs mu > 4 (lambda = mu/4 > 1), got {mu!r}")
    if not 0 < delta < 1:
        raise ValueError(f"L1SAMPLING needs 0 < delta < 1, got {delta!r}")
    lam = mu / 4
    ym = y_max(lam)
    a = 1.0 / (2 * mu * ym)
    rate = min(kl_bernoulli(a, a / 2), kl_bernoulli(a, min(2 * a, 1.0)))
    return {"lam": lam, "alpha": 2 * mu, "y_max": ym, "a": a,
            "N": max(1, math.ceil(math.log(1 / delta) / rate)), "rate": rate}


@message
class SiteMultiset:
    """A multiset of L1_N site indices: sorted gaps or per-site counts, whichever is shorter."""

    gaps: Opt(Vector(Gamma(base=0), length="L1_N"))
    counts: Opt(Vector(Gamma(base=0), length="s"))


def _gamma_total(x: np.ndarray) -> int:
    x = np.asarray(x, dtype=np.int64) + 1
    return int(np.sum(2 * np.floor(np.log2(x)).astype(np.int64) + 1))


def encode_multiset(sites: np.ndarray, s: int) -> SiteMultiset:
    """The shorter of the two forms of the multiset ``sites`` over range(s)."""
    x = np.sort(np.asarray(sites, dtype=np.int64))
    gaps = np.diff(x, prepend=0)
    counts = np.bincount(x, minlength=s)
    if _gamma_total(gaps) <= _gamma_total(counts):
        return SiteMultiset(gaps=gaps, counts=None)
    return SiteMultiset(gaps=None, counts=counts)


def decode_multiset(ms: SiteMultiset) -> np.ndarray:
    """The sorted site indices of a SiteMultiset."""
    if (ms.gaps is None) == (ms.counts is None):
        raise ValueError("a SiteMultiset carries exactly one of gaps and counts")
    if ms.gaps is not None:
        return np.cumsum(np.asarray(ms.gaps, dtype=np.int64))
    counts = np.asarray(ms.counts, dtype=np.int64)
    return np.repeat(np.arange(len(counts)), counts)


@message
class L1Request:
    """The N sites sampled by L1SAMPLING line 3."""

    sites: SiteMultiset


@message
class L1Reply:
    """A sampled site's POWERAPPROX(D_j, λ): the drop (ρ_j + 1) - v_j below the public reference."""

    drop: Gamma(base=0)


def reference(D_tilde_j: float, lam: float) -> int:
    """The public reference field value ρ_j + 1, ρ_j = POWERAPPROX(D̃_j, λ) (D̃_j > 0)."""
    return exponent_to_field(power_approx(D_tilde_j, lam))


def reply_for(D_j: float, D_tilde_j: float, lam: float) -> L1Reply:
    """L1SAMPLING line 3, site side: r_j = POWERAPPROX(D_j, λ), posted as a drop."""
    v = exponent_to_field(power_approx(D_j, lam))
    ref = reference(D_tilde_j, lam)
    if v > ref:
        raise ValueError(f"L1SAMPLING needs D_j <= D̃_j, got D_j={D_j!r} > D̃_j={D_tilde_j!r}")
    return L1Reply(drop=ref - v)


def reply_value(drop: int, D_tilde_j: float, lam: float) -> float:
    """D̂_j = λ^{r_j} decoded from a reply (0.0 for ⊥)."""
    return float(field_values(np.array([reference(D_tilde_j, lam) - int(drop)]), lam)[0])


def l1_decision(sites: np.ndarray, D_tilde: np.ndarray, drops: dict[int, int], mu: float, N: int) -> bool:
    """L1SAMPLING lines 4-10 from the board: T = Σ λ^{r_j}/p_j over the sampled multiset.

    ``drops`` maps each distinct sampled site to its posted reply. Deterministic, so every
    party that reads the board reaches the same decision.
    """
    lam, alpha = mu / 4, 2 * mu
    D_tilde = np.asarray(D_tilde, dtype=np.float64)
    total = float(D_tilde.sum())
    js, counts = np.unique(np.asarray(sites, dtype=np.int64), return_counts=True)
    drop = np.array([drops[int(j)] for j in js], dtype=np.int64)
    v = power_approx_array(D_tilde[js], lam) + 1 - drop  # field values: r_j + 1, or 0 for ⊥
    if (v < 0).any():
        raise ValueError("an L1SAMPLING reply drops below ⊥")
    hat = field_values(v, lam)
    T = float(np.sum(counts * hat * (total / D_tilde[js])))
    return alpha * T <= N * total


def l1_sampling(coord, D_tilde: np.ndarray, N: int, mu: float):
    """Algorithm 9, coordinator side: post the sampled sites, read the replies, decide."""
    sites = coord.rng.choice(len(D_tilde), size=N, p=np.asarray(D_tilde, float) / float(np.sum(D_tilde)))
    coord.post(L1Request(sites=encode_multiset(sites, len(D_tilde))))
    drops = {}
    for _ in range(len(np.unique(sites))):
        reply = yield coord.read(L1Reply)
        drops[int(reply.sender[4:])] = int(reply.drop)
    return l1_decision(sites, D_tilde, drops, mu, N)


def serve_l1_sampling(site, index: int, D_j: float, D_tilde_j: float, mu: float):
    """Algorithm 9, site side: wait for the request; reply once if this site was sampled."""
    req = yield site.read(L1Request)
    sites = decode_multiset(req.sites)
    if index in sites:
        site.post(reply_for(D_j, D_tilde_j, mu / 4))
    return sites

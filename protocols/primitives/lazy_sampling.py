"""LAZYSAMPLING (Algorithm 4, Lemma B.11 / Lemma 2.1) of Cohen-Addad, Wang, Woodruff, Zhou,
"Distributed Algorithms for Euclidean Clustering", Appendix B.

The blackboard holds D̃_j >= D_j = Σ_{x in X_j} d_x for every site j. The coordinator picks
site i with probability D̃_i / D̃ and names it in ceil(log2 s) bits; site i answers with a
point y with probability d_y / D̃_i, and with ⊥ with the remaining probability
(D̃_i - D_i)/D̃_i. Hence Pr[not ⊥] = D/D̃ and, given not ⊥, Pr[y] = d_y / D (Lemma B.11).

Site side, exactly: draw u uniform in [0, D̃_i); if u < D_i answer the point whose
cumulative-weight interval contains u, else ⊥. One uniform per request; a point of weight
0 is never chosen.

Messages:

- ``SampleRequest``: one site index, ``UInt(clog2(s))`` — the issue's "a request names the
  site in ceil(log2 s) bits".
- ``SampleReply``: ``Opt(point)`` — 1 bit for ⊥, else 1 + d·log2Δ bits (grid coordinates).

Algorithm 10 batches 2^i requests in one post (``protocols/euclidean/blackboard.py``); the
replies are the same ``SampleReply`` posts, one per request.
"""

from __future__ import annotations

import numpy as np

from protosim import Opt, UInt, Vector, message


@message
class SampleRequest:
    """LAZYSAMPLING line 3: the coordinator names the site it samples from."""

    site: UInt("clog2(s)")


@message
class SampleReply:
    """LAZYSAMPLING line 4: a grid point, or None for ⊥."""

    point: Opt(Vector(UInt("log2Delta"), length="d"))


def draw_sites(rng: np.random.Generator, D_tilde: np.ndarray, b: int) -> np.ndarray:
    """LAZYSAMPLING line 2, b times: site indices i.i.d. with probability D̃_i / D̃."""
    D_tilde = np.asarray(D_tilde, dtype=np.float64)
    total = D_tilde.sum()
    if not total > 0:
        raise ValueError("LAZYSAMPLING needs D̃ > 0")
    return rng.choice(len(D_tilde), size=b, p=D_tilde / total)


def site_answers(rng: np.random.Generator, d_x: np.ndarray, D_tilde_i: float, c: int) -> list[int | None]:
    """LAZYSAMPLING line 4 for c requests to one site: local indices, or None (⊥).

    Needs ``D_i = Σ d_x <= D̃_i`` (the lemma's precondition); it is checked.
    """
    d_x = np.asarray(d_x, dtype=np.float64)
    cum = np.cumsum(d_x) if d_x.size else np.zeros(0)
    D_i = float(cum[-1]) if cum.size else 0.0
    if D_i > D_tilde_i * (1 + 1e-12):
        raise ValueError(f"LAZYSAMPLING precondition D_i <= D̃_i violated: D_i={D_i!r} > D̃_i={D_tilde_i!r}")
    u = rng.random(c) * D_tilde_i
    hit = u < D_i
    idx = np.searchsorted(cum, u[hit], side="right")
    out: list[int | None] = [None] * c
    for pos, j in zip(np.flatnonzero(hit), idx):
        out[pos] = int(min(j, len(d_x) - 1))
    return out


def answer(site, X: np.ndarray, d_x: np.ndarray, D_tilde_i: float, c: int) -> list[int | None]:
    """Post c ``SampleReply`` messages for c requests to this site; returns the local indices."""
    picks = site_answers(site.rng, d_x, D_tilde_i, c)
    for j in picks:
        site.post(SampleReply(point=None if j is None else X[j]))
    return picks


def collect(party, b: int):
    """Read b ``SampleReply`` posts (every party can); returns [(sender, point or None)] in board order.

    One read event for the whole batch. The list is built once per run for all the parties
    that read the same posts (``Party.shared``): treat it as read-only.
    """
    if b < 1:
        return []
    msgs = yield party.read(SampleReply, count=b)
    return party.shared(("collect", tuple(map(id, msgs))), lambda: [
        (msg.sender, None if msg.point is None else np.asarray(msg.point, dtype=np.int64)) for msg in msgs])


def lazy_sampling(coord, D_tilde: np.ndarray):
    """Algorithm 4, coordinator side: one request; returns the reply (point or None for ⊥)."""
    i = int(draw_sites(coord.rng, D_tilde, 1)[0])
    coord.post(SampleRequest(site=i))
    ((_, point),) = yield from collect(coord, 1)
    return i, point


def serve_lazy_sampling(site, index: int, X: np.ndarray, d_x: np.ndarray, D_tilde_i: float):
    """Algorithm 4, site side: wait for a request; answer if it names this site.

    Returns (requested site, local index or None).
    """
    req = yield site.read(SampleRequest)
    if req.site == index:
        j, = answer(site, X, d_x, D_tilde_i, 1)
        return req.site, j
    return req.site, None

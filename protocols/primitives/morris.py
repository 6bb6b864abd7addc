"""MORRIS (Algorithm 11) and DISTMORRIS (Algorithm 12) of Cohen-Addad, Wang, Woodruff, Zhou,
"Distributed Algorithms for Euclidean Clustering", Appendix D.4 (Theorem D.7, Lemma D.8).

MORRIS(r, n) applies n increments to a Morris counter in state r: each increment raises the
counter m by one with probability 2^-m. **Erratum:** the paper's line 5 returns r; the
algorithm must return the updated counter m, and :func:`morris` does.

Exact simulation without a loop per item (our implementation, exact in distribution): in
state m the number of increments up to and including the next bump is Geometric(2^-m).
So draw g ~ Geometric(2^-m); if g <= the increments left, bump and subtract g; else stop.
That is O(number of bumps) = O(log n) draws instead of n coin flips.
:func:`morris_per_item` is the literal loop, kept as the reference the tests compare with.
Counts are floats, so weighted counts (cluster costs in cost units) work the same way.

DISTMORRIS(ε): k sums N_j = Σ_i n_{i,j}, l independent counters per sum. Sites act in turn
(site order 0..s-1, skipping sites with no data, whose counts are publicly zero). Site i
reads the counters left by the sites before it, runs MORRIS on every (j, t) with its own
coins, and posts ⊥ or the list of (increment, j, t) triples. The estimate is
Ñ_j = (1/l) Σ_t (2^{m_{j,t}} - 1).

Wire format (ours; the paper says only "self-delimiting"): one ``Vector(Gamma(base=0))``
interleaving, for the changed counters in increasing flat index u = j·l + t, the gap
u - u_prev (the first gap is u itself) and the increment minus one. An empty vector is ⊥
and costs exactly 1 bit (gamma(1)). A post with q triples costs
gamma(2q+1) + Σ [gamma(gap+1) + gamma(inc)] bits, with gamma(x) = 2·floor(log2 x) + 1.
Gap coding makes the first site's post (which bumps almost every counter) cost about
1 + gamma(inc) bits per counter instead of log k + log l + gamma(inc); it needs no fixed
width for j, so k may be a value known only at run time (the size of a bicriteria set).

Number of copies. Theorem D.7 asks for l >= (γ/ε²)·log(1/δ) copies; Lemma D.8 takes
δ = 1/(100k) (the paper's Algorithm 12 line 1 says l = O(ε^-2 log(100k)), its proof says
O(log(100k)) at ε = 1/4; we follow Algorithm 12). We use l = ceil(γ/ε² · ln(100k)) with
γ = 1.25, measured: with 2·10^5 trials at n = 10^5 the failure probability of the mean of l
copies at ε = 1/4 was 13.4 %, 4.3 %, 1.5 %, 0.67 %, 0.12 %, 0.028 % for l = 16, 32, 48, 64,
96, 128, i.e. about exp(-1.8 - l/20). At l = 20·ln(100k) that is <= 0.17/(100k) per sum,
so all k sums are within ±ε with probability >= 99.8 % (Lemma D.8 needs 99 %).
"""

from __future__ import annotations

import math

import numpy as np

from protosim import Gamma, Vector, message

MORRIS_GAMMA = 1.25
"""γ of Theorem D.7 in l = ceil(γ/ε² ln(1/δ)); measured, see the module docstring."""


def morris(r: int, n: float, rng: np.random.Generator) -> int:
    """Algorithm 11 MORRIS(r, n): the counter after n increments from state r (not r itself).

    Geometric skip-ahead: exact in distribution, O(bumps) random draws.
    """
    if n < 0 or r < 0:
        raise ValueError(f"MORRIS needs r >= 0 and n >= 0, got r={r!r}, n={n!r}")
    m, left = int(r), float(n)
    while left > 0:
        g = float(rng.geometric(2.0 ** -m))
        if g > left:
            break
        m += 1
        left -= g
    return m


def morris_per_item(r: int, n: int, rng: np.random.Generator) -> int:
    """Algorithm 11 literally: n coin flips, each bumping m with probability 2^-m (reference)."""
    m = int(r)
    for _ in range(int(n)):
        if rng.random() < 2.0 ** -m:
            m += 1
    return m


def morris_many(r: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """MORRIS on many independent counters at once: states ``r`` (int array), counts ``n``.

    One vectorised geometric draw per bump round, over the counters still running.
    """
    m = np.array(r, dtype=np.int64, copy=True)
    left = np.broadcast_to(np.asarray(n, dtype=np.float64), m.shape).copy()
    if (left < 0).any() or (m < 0).any():
        raise ValueError("MORRIS needs counters >= 0 and counts >= 0")
    active = np.flatnonzero(left > 0)
    flat_m, flat_left = m.reshape(-1), left.reshape(-1)
    while active.size:
        g = rng.geometric(np.ldexp(1.0, -flat_m[active])).astype(np.float64)
        bump = g <= flat_left[active]
        hit = active[bump]
        flat_m[hit] += 1
        flat_left[hit] -= g[bump]
        active = hit
    return m


def morris_estimate(m: np.ndarray) -> np.ndarray:
    """Ñ = mean over the last axis (the l copies) of 2^m - 1."""
    return np.mean(np.ldexp(1.0, np.asarray(m, dtype=np.int64)) - 1.0, axis=-1)


def morris_copies(k: int, eps: float = 0.25, gamma: float = MORRIS_GAMMA) -> int:
    """l = ceil(γ/ε² · ln(100k)): copies per sum for DISTMORRIS(ε) over k sums (Algorithm 12 line 1)."""
    if k < 1 or not 0 < eps < 1:
        raise ValueError(f"need k >= 1 and 0 < eps < 1, got k={k!r}, eps={eps!r}")
    return max(1, math.ceil(gamma / eps**2 * math.log(100 * k)))


# -- the message and its coding ---------------------------------------------------------


@message
class DistMorrisPost:
    """One site's turn in DISTMORRIS: interleaved (gap of flat index j·l+t, increment - 1); empty = ⊥."""

    pairs: Vector(Gamma(base=0))


def encode_increments(old: np.ndarray, new: np.ndarray) -> DistMorrisPost:
    """The post for counters that moved from ``old`` to ``new`` (arrays of shape (k, l))."""
    delta = (np.asarray(new) - np.asarray(old)).reshape(-1)
    u = np.flatnonzero(delta)
    if (delta < 0).any():
        raise ValueError("Morris counters never decrease")
    if not u.size:
        return DistMorrisPost(pairs=np.zeros(0, np.int64))
    gaps = np.diff(u, prepend=0)
    gaps[0] = u[0]
    pairs = np.empty(2 * u.size, np.int64)
    pairs[0::2] = gaps
    pairs[1::2] = delta[u] - 1
    return DistMorrisPost(pairs=pairs)


def apply_increments(m: np.ndarray, post: DistMorrisPost) -> None:
    """Apply a post to the counters ``m`` (shape (k, l)) in place."""
    apply_all(m, [post])


def apply_all(m: np.ndarray, posts) -> None:
    """Apply several posts to the counters ``m`` (shape (k, l)) in place, in one scatter-add.

    Increments are integers, so the order of the posts does not matter: the result is the
    same as applying them one by one.
    """
    flat = m.reshape(-1)
    us, incs = [], []
    for post in posts:
        pairs = np.asarray(post.pairs, dtype=np.int64)
        if not pairs.size:
            continue
        u = np.cumsum(pairs[0::2])
        if u[-1] >= flat.size:
            raise ValueError(f"DISTMORRIS post names counter {int(u[-1])} of {flat.size}")
        us.append(u)
        incs.append(pairs[1::2] + 1)
    if len(us) == 1:
        flat[us[0]] += incs[0]  # one post names each counter at most once
    elif us:
        np.add.at(flat, np.concatenate(us), np.concatenate(incs))


def post_bits(post: DistMorrisPost) -> int:
    """Information bits of a post, by the formula in the module docstring (tests compare)."""
    pairs = np.asarray(post.pairs, dtype=np.int64)
    def g(x: int) -> int:  # Elias gamma of x >= 1
        return 2 * int(x).bit_length() - 1

    return g(len(pairs) + 1) + sum(g(int(v) + 1) for v in pairs)


# -- the roles ---------------------------------------------------------------------------


def dist_morris(party, counts: np.ndarray | None, k: int, l: int, turn: int | None, turns: int):
    """Algorithm 12 DISTMORRIS, run by every party that needs the estimates.

    ``counts``: this site's k numbers n_{i,j} (None for the coordinator). ``turn``: this
    site's place in the order (None: it does not post). ``turns``: how many sites post.
    Every party replays the posts in board order, so all end with the same counters m
    (shape (k, l)); returns (Ñ_1..Ñ_k, m).
    """
    with party.phase("dist_morris"):
        # Reads are batched: a party wakes once for the posts before its turn and once for
        # the rest (a party that never posts wakes once), not once per post.
        before = turn if turn is not None and 0 <= turn < turns else turns
        posts = list((yield party.read(DistMorrisPost, count=before))) if before else []
        if before < turns:
            m = _replayed(party, k, l, posts)
            new = morris_many(m, np.repeat(np.asarray(counts, np.float64)[:, None], l, axis=1), party.rng)
            party.post(encode_increments(m, new))
            posts += (yield party.read(DistMorrisPost, count=turns - before))
        m = _replayed(party, k, l, posts)
    return morris_estimate(m), m


class _Replay:
    """The counters after a prefix of one DISTMORRIS pass's posts, replayed once per run.

    Every party applies the same posts in board order; the sites, in turn, need the
    counters after 1, 2, ... posts and everyone the counters after all of them. The
    simulator keeps the latest prefix and extends it (Party.shared), so a pass costs
    O(posts), not O(parties x posts); each party gets its own copy.
    """

    def __init__(self, k: int, l: int):
        self.m = np.zeros((k, l), np.int64)
        self.ids: list[int] = []

    def after(self, posts: list) -> np.ndarray:
        ids = list(map(id, posts))  # posts stay on the board: ids are unique in the run
        n = len(self.ids)
        if n > len(ids) or self.ids != ids[:n]:  # not an extension: start again from these posts
            self.m[...] = 0
            n = 0
        apply_all(self.m, posts[n:])
        self.ids = ids
        return self.m.copy()


def _replayed(party, k: int, l: int, posts: list) -> np.ndarray:
    """The counters (shape (k, l)) after ``posts``, this party's copy."""
    if not posts:
        return np.zeros((k, l), np.int64)
    return party.shared(("dist_morris", k, l, id(posts[0])), lambda: _Replay(k, l)).after(posts)


def run_dist_morris(counts: np.ndarray, eps: float = 0.25, seed: int = 0, l: int | None = None, model=None):
    """Run DISTMORRIS(ε) on the blackboard with site i holding ``counts[i]`` (shape (s, k)).

    A harness for tests and benchmarks: every site takes its turn (a site whose counts are
    all zero still posts ⊥ here, as in Algorithm 12). Returns the RunResult, whose output
    is ``{"estimates": Ñ, "l": l}``.
    """
    from protosim import BlackboardModel, Simulation

    counts = np.asarray(counts, dtype=np.float64)
    s, k = counts.shape
    l = morris_copies(k, eps) if l is None else l
    sim = Simulation(model or BlackboardModel(), [np.zeros((0, 1))] * s, seed=seed,
                     params={"k": k, "morris_l": l}, protocol="dist_morris")

    def site_role(site, i):
        yield from dist_morris(site, counts[i], k, l, i, s)

    def coord_role(coord):
        est, _ = yield from dist_morris(coord, None, k, l, None, s)
        return {"estimates": est, "l": l}

    for i, site in enumerate(sim.sites):
        sim.spawn(site, site_role, i)
    return sim.run(sim.spawn(sim.coordinator, coord_role))

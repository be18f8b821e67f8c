"""Social networks: who can tell whom, with strong and weak ties.

Word of mouth travels along a social network. A scenario names one under ``network:`` by its
``kind``; every kind is built from the run's seed alone, so the same seed gives the same graph:

* ``fully_mixed`` — everyone meets everyone; no edges are built (the model works in closed form:
  on it, awareness by promotion and word of mouth is the Bass (1969) diffusion model);
* ``erdos_renyi`` — each pair of people is linked with the same probability (Erdős & Rényi 1959,
  the G(n, p) form of Gilbert 1959): degrees are binomial, nearly Poisson;
* ``watts_strogatz`` — a ring where each person knows the ``degree`` nearest, with a share of
  the ties rewired to random people: high clustering and short paths, a small world (Watts &
  Strogatz 1998);
* ``barabasi_albert`` — people join one by one and befriend ``attach`` others chosen in
  proportion to how many friends they already have: a few hubs, a heavy tail
  P(k) = 2m(m+1) / (k(k+1)(k+2)) (Barabási & Albert 1999; Bollobás et al. 2001);
* ``configuration`` — each person's degree drawn from a distribution, stubs paired at random,
  self-loops and repeated pairs erased (Bender & Canfield 1978; Molloy & Reed 1995);
* ``edge_list`` — the network read from a parquet or CSV file (columns ``a``, ``b`` and
  optionally ``strong``; person ids are row numbers 0..n-1).

Every tie is *strong* (close friends, family) or *weak* (acquaintances): Goldenberg, Libai &
Muller (2001, "Talk of the network", Marketing Letters 12(3)) show that weak ties, though each
carries less influence, speed diffusion as much as strong ones because they bridge groups. A tie is
strong with probability ``strong_share``, drawn once per undirected tie from its own stream, so
changing the share leaves the graph alone, and a higher share only turns weak ties strong.

The graph is stored as compressed sparse rows (:class:`SocialNetwork`): person ``i``'s contacts
are ``indices[indptr[i]:indptr[i + 1]]``, each undirected tie stored in both rows with the same
strong flag. A million people with mean degree 20 take about 110 MB (4 bytes per contact, one
per flag). Generators work on whole arrays, never person by person:

* Erdős–Rényi draws the pairs by geometric skips over the n(n − 1)/2 possible ones (Batagelj &
  Brandes 2005, "Efficient generation of large random networks", Phys. Rev. E 71), so it costs
  O(edges), not O(n²), and is exact;
* Watts–Strogatz rewires its chosen ties all at once and redraws the few that land on a tie that
  exists already or on the owner itself (the rule of Watts & Strogatz: no self-loops, no
  duplicates), keeping the number of ties;
* Barabási–Albert uses the copy trick of Batagelj & Brandes (2005): picking an endpoint of an
  earlier tie uniformly is picking a person in proportion to degree, and the endpoint of a tie
  chosen that way is itself a *pointer* to an earlier endpoint, so all draws are made at once and
  resolved by pointer jumping, in batches of newcomers that double in size. Each newcomer's ``m``
  friends are distinct (a repeated one is redrawn, as networkx does); the start is a star of
  ``m + 1`` people, as in networkx. The one departure from one-by-one growth: repeats within a
  batch are redrawn together, so a newcomer may redraw a repeat that an earlier newcomer's
  redraw, copied down the pointers, has just removed (measured: 47 of a million newcomers with
  m = 10, none with m = 3); the degree distribution matches the theory (a test checks it).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
import pyarrow.parquet as pq
import scipy.sparse as sp
from pydantic import Field, model_validator

from cxsim.distributions import Distribution
from cxsim.typed import NonNegative, Probability, Strict

_PURPOSE = 0x6E6574  # "net": keeps the network's draws apart from any other use of the seed
_STRUCTURE, _STRONG, _DEGREES = 0, 1, 2  # sub-streams: the graph, the tie strengths, the degrees
DEFAULT_STRONG_SHARE = 0.3
_CSV = (".csv", ".csv.gz")
_REDRAWS = 100  # Watts–Strogatz: draws of a rewired tie's new end before it is given up

StrongShare = Annotated[float, Field(ge=0, le=1)]


class NetworkError(Exception):
    """A network that cannot be built (a bad edge-list file, a degree too large for n, ...).

    ``field`` is the field of the network section at fault (``degree``, ``mean_degree``, ...);
    ``None`` for the edge-list file itself."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[type, tuple[str, str | None]]:  # keeps ``field`` in a pickle
        return type(self), (str(self), self.field)


# --------------------------------------------------------------------------------------------
# the scenario's network section


class _Ties(Strict):
    strong_share: StrongShare = Field(
        default=DEFAULT_STRONG_SHARE,
        description="Probability that a tie is strong (close friend, family) rather than weak "
        "(acquaintance); Goldenberg, Libai & Muller 2001.",
    )


class FullyMixed(_Ties):
    """Everyone meets everyone: no edges are built (the Bass model's assumption)."""

    kind: Literal["fully_mixed"]


class ErdosRenyi(_Ties):
    """Each pair of people is linked with the same probability (G(n, p))."""

    kind: Literal["erdos_renyi"]
    mean_degree: NonNegative = Field(description="Expected number of contacts per person.")


class WattsStrogatz(_Ties):
    """A ring of nearest neighbours with a share of ties rewired at random (small world)."""

    kind: Literal["watts_strogatz"]
    degree: Annotated[int, Field(ge=2)] = Field(
        description="Contacts per person on the ring before rewiring (k, even)."
    )
    rewire: Probability = Field(
        description="Probability that a tie is rewired to a random person (beta)."
    )

    @model_validator(mode="after")
    def _degree_even(self) -> WattsStrogatz:
        if self.degree % 2:
            raise ValueError(f"degree must be even (k/2 neighbours on each side), got "
                             f"{self.degree}")
        return self


class BarabasiAlbert(_Ties):
    """People join one by one and attach to others in proportion to their degree."""

    kind: Literal["barabasi_albert"]
    attach: Annotated[int, Field(ge=1)] = Field(
        description="Ties each newcomer makes (m); the mean degree is about 2m."
    )


class ConfigurationModel(_Ties):
    """Degrees drawn from a distribution (rounded), stubs paired at random."""

    kind: Literal["configuration"]
    degree: Distribution = Field(
        description="Distribution of the number of contacts, drawn per person and rounded; "
        "self-loops and repeated pairs are then erased, so a few people end with fewer."
    )


class EdgeList(Strict):
    """The network read from a parquet or CSV file with columns a, b and optionally strong."""

    kind: Literal["edge_list"]
    path: str = Field(
        description="A .parquet or .csv file (relative paths: from the scenario file's folder) "
        "with integer columns a and b (person ids: row numbers 0..n-1) and optionally a "
        "boolean column strong; each row is one undirected tie."
    )
    strong_share: StrongShare | None = Field(
        default=None,
        description="Probability that a tie is strong, when the file has no strong column "
        f"(default {DEFAULT_STRONG_SHARE}); not allowed when it has one.",
    )
    sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | None = Field(
        default=None,
        description="SHA-256 of the file's bytes (64 lowercase hex digits): the file must have "
        "it. Filled in when a scenario file is read, so that a run's scenario.json pins the "
        "file it ran with, and resuming refuses a file changed since.",
    )


def file_sha256(path: Path) -> str:
    """The SHA-256 of the bytes of the file at ``path``, in hex."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


NetworkSpec = Annotated[
    FullyMixed | ErdosRenyi | WattsStrogatz | BarabasiAlbert | ConfigurationModel | EdgeList,
    Field(discriminator="kind"),
]
"""Any network a scenario may name, chosen by its ``kind`` key."""


# --------------------------------------------------------------------------------------------
# the graph


@dataclass(frozen=True)
class SocialNetwork:
    """An undirected graph in compressed sparse rows: person ``i``'s contacts are
    ``indices[indptr[i]:indptr[i + 1]]`` (sorted) and ``strong`` flags each of them.

    Every tie appears in both its people's rows with the same flag; there are no self-loops and
    no repeated ties.
    """

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (2 * edges,) int32
    strong: np.ndarray  # (2 * edges,) bool

    def __post_init__(self) -> None:
        if self.indptr.dtype != np.int64 or self.indptr.ndim != 1 or self.indptr.size < 1:
            raise ValueError("indptr must be a non-empty one-dimensional int64 array")
        if self.indices.dtype != np.int32 or self.strong.dtype != np.bool_:
            raise ValueError("indices must be int32 and strong bool")
        if not self.indices.shape == self.strong.shape == (int(self.indptr[-1]),):
            raise ValueError("indices and strong must hold indptr[-1] entries each")

    @property
    def size(self) -> int:
        """The number of people."""
        return self.indptr.size - 1

    @property
    def edges(self) -> int:
        """The number of undirected ties."""
        return self.indices.size // 2

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return self.indptr.nbytes + self.indices.nbytes + self.strong.nbytes

    def degree(self, who: np.ndarray | None = None) -> np.ndarray:
        """Number of contacts of each person (of ``who`` if given)."""
        if who is None:
            return np.diff(self.indptr)
        return self.indptr[who + 1] - self.indptr[who]

    def contacts(self, who: np.ndarray, positions: bool = False) -> tuple[np.ndarray, ...]:
        """All contacts of the people ``who``, as three aligned arrays: the position in ``who``
        of the person whose contact it is, the contact, and whether the tie is strong; with
        ``positions``, a fourth: each entry's place in the network's arrays (unique per
        directed tie, a slot for random draws)."""
        who = np.asarray(who, dtype=np.int64)
        start = self.indptr[who]
        count = self.indptr[who + 1] - start
        owner = np.repeat(np.arange(who.size), count)
        # entry j of the result sits at start[owner] + (j - first entry of owner)
        first = np.cumsum(count) - count
        position = np.arange(int(count.sum()), dtype=np.int64)
        position += np.repeat(start - first, count)
        if positions:
            return owner, self.indices[position], self.strong[position], position
        return owner, self.indices[position], self.strong[position]

    def layer(self, strong: bool) -> SocialNetwork:
        """The same people with only their strong ties (``strong=True``) or only their weak
        ones: the two layers of Goldenberg, Libai & Muller (2001)."""
        keep = self.strong == strong
        kept_before = np.zeros(keep.size + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        return SocialNetwork(kept_before[self.indptr], self.indices[keep], self.strong[keep])

    def to_scipy(self) -> sp.csr_array:
        """The adjacency matrix: 1 for a weak tie, 2 for a strong one."""
        data = self.strong.view(np.uint8) + np.uint8(1)
        return sp.csr_array((data, self.indices, self.indptr), shape=(self.size, self.size))

    @classmethod
    def from_ties(cls, a: np.ndarray, b: np.ndarray, strong: np.ndarray, n: int
                  ) -> SocialNetwork:
        """The network of ``n`` people with the undirected ties ``a[i]``–``b[i]``, strong where
        ``strong[i]``; the ties must be distinct and join two different people."""
        if np.any(a == b):
            raise ValueError("a tie must join two different people")
        rows = np.concatenate([a, b]).astype(np.int32, copy=False)
        cols = np.concatenate([b, a]).astype(np.int32, copy=False)
        code = np.tile(strong.astype(np.uint8) + np.uint8(1), 2)  # never 0: no entry dropped
        matrix = sp.csr_array((code, (rows, cols)), shape=(n, n))
        del rows, cols, code
        matrix.sort_indices()
        if matrix.nnz != 2 * a.size:
            raise ValueError("ties must be distinct (a repeated tie was merged)")
        return cls(matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32, copy=False),
                   matrix.data == 2)


# --------------------------------------------------------------------------------------------
# building


def _generator(seed: int, part: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _PURPOSE, part]))


def build_network(spec: NetworkSpec, n: int, seed: int, base: Path | None = None
                  ) -> SocialNetwork | None:
    """The network ``spec`` describes over ``n`` people, the same for the same ``seed``;
    ``None`` for a fully mixed population. ``base`` is the folder relative edge-list paths
    start from (the scenario file's)."""
    if n < 1 or seed < 0:
        raise ValueError(f"need n >= 1 and seed >= 0, got n={n}, seed={seed}")
    if n >= 2**31:
        raise NetworkError(f"at most {2**31 - 1:,} people in a network, got {n:,}")
    if isinstance(spec, FullyMixed):
        return None
    rng = _generator(seed, _STRUCTURE)
    strong: np.ndarray | None = None
    share = DEFAULT_STRONG_SHARE if spec.strong_share is None else spec.strong_share
    if isinstance(spec, ErdosRenyi):
        a, b = erdos_renyi_ties(n, spec.mean_degree, rng)
    elif isinstance(spec, WattsStrogatz):
        a, b = watts_strogatz_ties(n, spec.degree, spec.rewire, rng)
    elif isinstance(spec, BarabasiAlbert):
        a, b = barabasi_albert_ties(n, spec.attach, rng)
    elif isinstance(spec, ConfigurationModel):
        a, b = configuration_ties(draw_degrees(spec, n, seed), rng)
    elif isinstance(spec, EdgeList):
        path = Path(spec.path)
        if base is not None and not path.is_absolute():
            path = base / path
        if spec.sha256 is not None and (found := file_sha256(path)) != spec.sha256:
            raise NetworkError(f"{path}: the file is not the one the scenario pins: its SHA-256 "
                               f"is {found}, the scenario's {spec.sha256} (the file has changed, "
                               "or another file has its path); remove sha256 to pin the file as "
                               "it is now", "sha256")
        a, b, strong = read_edge_list(path, n)
        if strong is not None and spec.strong_share is not None:
            raise NetworkError(f"{path}: the file has a strong column, so strong_share must not "
                               "be given as well", "strong_share")
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown network spec {spec!r}")
    if strong is None:
        strong = _generator(seed, _STRONG).random(a.size) < share
    return SocialNetwork.from_ties(a, b, strong, n)


# --------------------------------------------------------------------------------------------
# Erdős–Rényi


def bernoulli_successes(total: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of the successes among ``total`` Bernoulli(``p``) trials, found by
    geometric skips (Batagelj & Brandes 2005): O(successes), not O(total)."""
    if p <= 0 or total <= 0:
        return np.empty(0, dtype=np.int64)
    if p >= 1:
        return np.arange(total, dtype=np.int64)
    parts, last = [], -1
    while last < total - 1:
        remaining = (total - 1 - last) * p
        gaps = rng.geometric(p, int(remaining + 6 * math.sqrt(remaining) + 64))
        positions = np.cumsum(gaps)
        positions += last
        parts.append(positions[: np.searchsorted(positions, total)])
        last = int(positions[-1])
    return np.concatenate(parts)


def pair_of(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pair (u, v), v < u, at ``index`` in the order (1, 0), (2, 0), (2, 1), (3, 0), ...
    of all pairs: index = u(u − 1)/2 + v (exact for indices below 2**52)."""
    u = ((1 + np.sqrt(1 + 8 * index.astype(np.float64))) // 2).astype(np.int64)
    u -= u * (u - 1) // 2 > index  # float rounding: at most one off either way
    u += (u + 1) * u // 2 <= index
    v = index - u * (u - 1) // 2
    return u.astype(np.int32), v.astype(np.int32)


def erdos_renyi_ties(n: int, mean_degree: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The ties of G(n, p) with p = mean_degree / (n − 1)."""
    if mean_degree > n - 1:
        raise NetworkError(f"mean_degree {mean_degree} is more than the {n - 1} other people",
                           "mean_degree")
    pairs = n * (n - 1) // 2
    if pairs == 0:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    return pair_of(bernoulli_successes(pairs, mean_degree / (n - 1), rng))


# --------------------------------------------------------------------------------------------
# Watts–Strogatz


def watts_strogatz_ties(n: int, k: int, rewire: float, rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray]:
    """A ring where ``i`` is tied to ``i + 1 .. i + k/2``; each tie is rewired with probability
    ``rewire``: its far end moves to a person drawn at random, redrawn while that makes a
    self-loop or a tie that exists already. The number of ties stays n·k/2, except in a nearly
    complete graph, where a tie whose owner finds no one free in 100 draws is dropped."""
    if k >= n:
        raise NetworkError(f"degree {k} needs more than {n} people", "degree")
    half = k // 2
    owner = np.repeat(np.arange(n, dtype=np.int32), half)
    other = np.arange(1, half + 1, dtype=np.int32)[None, :] + np.arange(n, dtype=np.int32)[:, None]
    other = other.ravel()
    other[other >= n] -= n
    moved = rng.random(owner.size) < rewire
    pending = np.flatnonzero(moved)
    accepted = np.empty(0, dtype=np.int64)  # sorted keys of moved ties already placed
    for _ in range(_REDRAWS):
        if not pending.size:
            break
        other[pending] = rng.integers(0, n, pending.size, dtype=np.int32)
        a, b = owner[pending], other[pending]
        key = _key(a, b, n)
        bad = (a == b) | _on_ring(a, b, n, half, moved) | _contains(accepted, key)
        bad |= _repeats(np.where(bad, -1 - np.arange(key.size), key))  # among themselves
        accepted = np.sort(np.concatenate([accepted, key[~bad]]))
        pending = pending[bad]
    if pending.size:
        keep = np.ones(owner.size, dtype=bool)
        keep[pending] = False
        return owner[keep], other[keep]
    return owner, other


def _key(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """One int64 per undirected pair."""
    return np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)


def _contains(sorted_keys: np.ndarray, key: np.ndarray) -> np.ndarray:
    if not sorted_keys.size:
        return np.zeros(key.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, key), sorted_keys.size - 1)
    return sorted_keys[at] == key


def _repeats(key: np.ndarray) -> np.ndarray:
    """True where ``key`` equals a key earlier in the array (the first one is kept)."""
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    again = np.zeros(key.shape, dtype=bool)
    again[order[1:]] = ordered[1:] == ordered[:-1]
    return again


def _on_ring(a: np.ndarray, b: np.ndarray, n: int, half: int, moved: np.ndarray) -> np.ndarray:
    """Whether a–b is a ring tie that is still in place (not rewired)."""
    forward = (b.astype(np.int64) - a) % n  # b = a + forward: a owns it if forward <= half
    backward = n - forward
    owner = np.where(forward <= half, a, b).astype(np.int64)
    step = np.where(forward <= half, forward, backward)
    ring = (step >= 1) & (step <= half)
    slot = np.where(ring, owner * half + step - 1, 0)
    return ring & ~moved[slot]


# --------------------------------------------------------------------------------------------
# Barabási–Albert


def barabasi_albert_ties(n: int, m: int, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Preferential attachment: a star of ``m + 1`` people, then each newcomer ties to ``m``
    distinct earlier people drawn in proportion to their degree.

    Tie ``e`` is stored as the endpoints ``2e`` (the newcomer) and ``2e + 1`` (the one chosen);
    choosing a uniform endpoint among those before the newcomer's first tie is choosing in
    proportion to degree. A chosen odd endpoint copies an earlier choice, resolved by pointer
    jumping; newcomers are handled in batches that double in size, each batch's choices pointing
    only into earlier batches or earlier in the batch.
    """
    if m >= n:
        raise NetworkError(f"attach {m} needs more than {m} people (a star of m + 1 to start)",
                           "attach")
    ties = m * (n - m)  # the star's m, then m per newcomer m + 1 .. n - 1
    owner = np.empty(ties, dtype=np.int32)
    target = np.empty(ties, dtype=np.int32)
    owner[:m] = np.arange(1, m + 1)
    target[:m] = 0
    owner[m:] = np.repeat(np.arange(m + 1, n, dtype=np.int32), m)
    first = m + 1
    while first < n:
        last = min(n, 2 * first)
        _attach(owner, target, m * (first - m), m * (last - m), m, rng)
        first = last
    return owner, target


def _attach(owner: np.ndarray, target: np.ndarray, e0: int, e1: int, m: int,
            rng: np.random.Generator) -> None:
    """Choose the targets of ties ``e0 .. e1 - 1`` (whole newcomers), redrawing repeats."""
    limit = 2 * m * (owner[e0:e1].astype(np.int64) - m)  # endpoints before the newcomer's ties
    ref = rng.integers(0, limit)
    rows = target[e0:e1].reshape(-1, m)
    _resolve(ref, owner, target, e0, e0)
    check = np.arange(rows.shape[0])
    while True:
        row, col = _repeated_slots(rows[check])
        if not row.size:
            return
        slot = check[row] * m + col
        ref[slot] = rng.integers(0, limit[slot])
        start = int(slot.min()) - int(slot.min()) % m
        before = target[e0 + start:e1].copy()
        _resolve(ref, owner, target, e0, e0 + start)
        changed = (target[e0 + start:e1] != before).reshape(-1, m).any(axis=1)
        check = np.union1d(start // m + np.flatnonzero(changed), slot // m)


def _resolve(ref: np.ndarray, owner: np.ndarray, target: np.ndarray, e0: int, start: int
             ) -> None:
    """Set ``target[start:e0 + ref.size]`` from the chosen endpoints ``ref`` (ties before
    ``start`` are final): an even endpoint ``2e`` is ``owner[e]``, an odd ``2e + 1`` is
    ``target[e]``, which for ``e >= start`` is itself still a pointer ``ref[e - e0]``."""
    pointer = ref[start - e0:].copy()
    pending = np.arange(pointer.size)
    while pending.size:
        r = pointer[pending]
        tie = r >> 1
        odd = (r & 1).astype(bool)
        done = ~odd | (tie < start)
        target[start + pending[done]] = np.where(odd[done], target[tie[done]], owner[tie[done]])
        pending = pending[~done]
        pointer[pending] = pointer[tie[~done] - start]  # jump: copy what that tie copies


def _repeated_slots(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every entry equal to an earlier one in its row."""
    order = np.argsort(rows, axis=1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=1)
    row, col = np.nonzero(ordered[:, 1:] == ordered[:, :-1])
    return row, order[row, col + 1]


# --------------------------------------------------------------------------------------------
# configuration model


def draw_degrees(spec: ConfigurationModel, n: int, seed: int) -> np.ndarray:
    """Each person's wanted degree: the distribution drawn, rounded and kept within 0..n − 1;
    if the total is odd, one person (drawn at random) gets one more (or one fewer)."""
    rng = _generator(seed, _DEGREES)
    degree = np.clip(np.rint(spec.degree.ppf(rng.random(n))), 0, n - 1).astype(np.int64)
    if degree.sum() % 2:
        who = int(rng.integers(n))
        degree[who] += 1 if degree[who] < n - 1 else -1
    return degree


def configuration_ties(degree: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Stubs (person ``i`` repeated ``degree[i]`` times) shuffled and paired; self-loops and
    repeated pairs erased (the erased configuration model)."""
    n = degree.size
    stubs = np.repeat(np.arange(n, dtype=np.int32), degree)
    rng.shuffle(stubs)
    a, b = stubs[0::2], stubs[1::2]
    return _distinct(a[a != b], b[a != b], n)[:2]


def _distinct(a: np.ndarray, b: np.ndarray, n: int, strong: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each undirected pair once (strong if any of its copies is), by sorting pair keys
    (``np.unique`` is many times slower on ten million keys)."""
    key = _key(a, b, n)
    if strong is None:
        key.sort()
    else:
        order = np.argsort(key)
        key, strong = key[order], strong[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    if strong is not None and key.size:
        strong = np.logical_or.reduceat(strong, np.flatnonzero(first))
    key = key[first]
    return (key // n).astype(np.int32), (key % n).astype(np.int32), strong


# --------------------------------------------------------------------------------------------
# edge lists


def read_edge_list(path: Path, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The distinct ties of a parquet or CSV edge list over ``n`` people, and their strong flags
    if the file has a ``strong`` column. A tie listed twice (either way round) counts once, and
    is strong if any listing says so."""
    table = _read_table(path)
    columns = table.column_names
    for name in ("a", "b"):
        if name not in columns:
            shown = ", ".join(repr(c) for c in columns)
            raise NetworkError(f"{path}: no column {name!r} (columns: {shown}); "
                               "an edge list needs columns a and b, and optionally strong")
    unknown = [c for c in columns if c not in ("a", "b", "strong")]
    if unknown:
        raise NetworkError(f"{path}: unknown column {unknown[0]!r}; an edge list has columns "
                           "a, b and optionally strong")
    where = _row_namer(path)
    ends = []
    for name in ("a", "b"):
        column = table.column(name)
        if not pa.types.is_integer(column.type):
            raise NetworkError(f"{path}: column {name!r} must hold whole numbers (person ids), "
                               f"got {column.type}")
        values = _values(path, name, column, where).astype(np.int64)
        bad = np.flatnonzero((values < 0) | (values >= n))
        if bad.size:
            raise NetworkError(f"{path}: {where(bad[0])}: person id {values[bad[0]]} in column "
                               f"{name!r} is out of range: ids are row numbers 0..{n - 1} of a "
                               f"population of {n:,}")
        ends.append(values)
    a, b = ends
    loops = np.flatnonzero(a == b)
    if loops.size:
        raise NetworkError(f"{path}: {where(loops[0])}: person {a[loops[0]]} is tied to "
                           "themselves")
    strong = None
    if "strong" in columns:
        column = table.column("strong")
        if column.type != pa.bool_():
            raise NetworkError(f"{path}: column 'strong' must hold true or false, got "
                               f"{column.type}")
        strong = _values(path, "strong", column, where)
    return _distinct(a, b, n, strong)


def _read_table(path: Path) -> pa.Table:
    name = path.name.lower()
    if not path.exists():
        raise NetworkError(f"{path}: no such edge-list file")
    if not path.is_file():
        raise NetworkError(f"{path}: not a file")
    parquet = name.endswith((".parquet", ".pq"))
    if not parquet and not name.endswith(_CSV):
        raise NetworkError(f"{path}: unknown file type; an edge list is a .parquet or .csv file")
    try:
        if parquet:
            return pq.read_table(path)
        return pv.read_csv(path, convert_options=pv.ConvertOptions(column_types=_CSV_TYPES))
    except (pa.ArrowException, OSError) as error:
        if not parquet:
            _find_bad_cell(path)
        kind = "parquet" if parquet else "CSV"
        raise NetworkError(f"{path}: cannot read it as {kind}: {error}") from error


_CSV_TYPES = {"a": pa.int64(), "b": pa.int64(), "strong": pa.bool_()}
_CSV_CELLS = {  # what arrow's CSV reader takes for each type
    "a": ("a whole number (a person id)", r"^[+-]?[0-9]+$"),
    "b": ("a whole number (a person id)", r"^[+-]?[0-9]+$"),
    "strong": ("true or false", r"^(1|0|[Tt]rue|TRUE|[Ff]alse|FALSE)$"),
}


def _find_bad_cell(path: Path) -> None:
    """Raise a :class:`NetworkError` naming the line and column of the first cell of a CSV
    edge list that arrow could not convert; return if there is none (the file is otherwise
    malformed)."""
    try:
        table = pv.read_csv(path, convert_options=pv.ConvertOptions(
            column_types=dict.fromkeys(_CSV_TYPES, pa.string()), strings_can_be_null=True))
    except (pa.ArrowException, OSError):
        return
    for name in table.column_names:
        if name not in _CSV_CELLS:
            continue
        expected, pattern = _CSV_CELLS[name]
        column = table.column(name)
        bad = pc.and_(pc.is_valid(column), pc.invert(pc.match_substring_regex(column, pattern)))
        if pc.any(bad).as_py():
            row = pc.index(bad, True).as_py()
            raise NetworkError(f"{path}: line {row + 2}: column {name!r} must hold "
                               f"{expected}, got {column[row].as_py()!r}")


def _row_namer(path: Path) -> Callable[[int], str]:
    """How to point at a data row in messages: a CSV line number, or a parquet row number."""
    if path.name.lower().endswith(_CSV):
        return lambda row: f"line {row + 2}"  # after the header line
    return lambda row: f"row {row}"


def _values(path: Path, name: str, column: pa.ChunkedArray, where: Callable[[int], str]
            ) -> np.ndarray:
    """The column as a numpy array; an empty cell is an error naming its row."""
    if column.null_count:
        row = pc.index(pc.is_null(column), True).as_py()
        raise NetworkError(f"{path}: {where(row)}: column {name!r} is empty")
    return column.to_numpy()


__all__ = [
    "BarabasiAlbert",
    "ConfigurationModel",
    "EdgeList",
    "ErdosRenyi",
    "FullyMixed",
    "NetworkError",
    "NetworkSpec",
    "SocialNetwork",
    "WattsStrogatz",
    "build_network",
    "draw_degrees",
    "file_sha256",
    "read_edge_list",
]

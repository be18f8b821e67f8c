"""The journey graph: touchpoints as arrays, routing, and the checks a graph must pass.

A journey starts at an entry touchpoint (drawn by the entry weights), moves along weighted edges
and ends at an exit. The next touchpoint is drawn from the current one's outgoing edges; an edge's
weight may differ by segment and may be scaled by the customer's preference for the target's
channel. Without feedback the graph is an absorbing Markov chain (Kemeny & Snell 1960): the share
of journeys ending at each exit is given by the fundamental matrix N = (I − Q)⁻¹, see
:meth:`JourneyGraph.exit_shares`, which the validation tests compare with the simulation.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numba
import numpy as np

from cxsim.distributions import Constant, DistributionTable
from cxsim.problems import Problem, unknown
from cxsim.scenario import STAGES, Scenario


@dataclass(frozen=True)
class JourneyGraph:
    """A scenario's touchpoints and edges compiled into arrays indexed by touchpoint number."""

    ids: list[str]
    segments: list[str]
    channels: list[str]
    entry_weights: np.ndarray  # (touchpoints,) for first journeys
    returning_weights: np.ndarray  # (touchpoints,) for customers coming back
    is_exit: np.ndarray  # (touchpoints,) bool
    # edges, padded to the largest out-degree K (padding: target 0, weight 0)
    targets: np.ndarray  # (touchpoints, K) target touchpoint numbers
    weights: np.ndarray  # (touchpoints, segments, K) weights
    by_preference: np.ndarray  # (touchpoints, K) bool: scaled by channel preference
    cumulative: np.ndarray  # (touchpoints, segments, K) cumulative weights, normalised to 1
    forks: np.ndarray  # (touchpoints,) bool: more than one edge leaves
    rated: np.ndarray  # (touchpoints,) bool: shows the public rating
    to_purchase: np.ndarray  # (touchpoints, K) bool: the edge leads to a touchpoint that sells
    personalised: bool = field(init=False)  # any touchpoint personalised
    strained: bool = field(init=False)  # any touchpoint with a capacity
    weighted: bool = field(init=False)  # any importance other than 1
    forgotten: np.ndarray = field(init=False)  # (touchpoints,) bool: importance 0, not remembered
    forgets: bool = field(init=False)  # any touchpoint forgotten
    priced: bool = field(init=False)  # any price premium
    prevents: bool = field(init=False)  # any problems prevented by a proactive action
    entry_cumulative: tuple[np.ndarray, np.ndarray] = field(init=False)  # first, returning
    quality: DistributionTable  # one quality distribution per touchpoint
    stage: np.ndarray  # index into STAGES
    channel: np.ndarray  # index into channels
    importance: np.ndarray
    personalisation: np.ndarray
    price_premium: np.ndarray
    problem_probability: np.ndarray
    problem_severity: np.ndarray
    prevented: np.ndarray  # share of problems a proactive action prevents
    prevention_cost: np.ndarray  # cost of that action per problem it anticipates
    capacity: np.ndarray  # visits a day without strain (inf: none)
    load_sensitivity: np.ndarray
    cost_per_visit: np.ndarray
    revenue: np.ndarray
    duration_days: np.ndarray
    sells: np.ndarray  # bool: a purchase happens here (purchase stage, or revenue)

    def __post_init__(self) -> None:
        # terms of a moment of truth that this world can skip, worked out once
        object.__setattr__(self, "personalised", bool(self.personalisation.any()))
        object.__setattr__(self, "strained", bool(np.isfinite(self.capacity).any()))
        object.__setattr__(self, "weighted", bool((self.importance != 1).any()))
        object.__setattr__(self, "forgotten", self.importance == 0)
        object.__setattr__(self, "forgets", bool(self.forgotten.any()))
        object.__setattr__(self, "priced", bool(self.price_premium.any()))
        object.__setattr__(self, "prevents", bool(self.prevented.any()))
        object.__setattr__(self, "entry_cumulative", (np.cumsum(self.entry_weights),
                                                      np.cumsum(self.returning_weights)))

    @classmethod
    def compile(
        cls, scenario: Scenario, ids: list[str] | None = None, channels: list[str] | None = None
    ) -> JourneyGraph:
        """Compile ``scenario``'s graph, numbering touchpoints and channels as ``ids`` and
        ``channels`` list them (by default, in the scenario's order).

        ``ids`` may list touchpoints the scenario lacks (a strategy removed them, or the baseline
        has not added them yet): they are never entered, and a journey standing on one ends there.
        """
        ids = list(ids if ids is not None else scenario.touchpoints)
        channels = list(channels if channels is not None else scenario.channels())
        index = {tp: i for i, tp in enumerate(ids)}
        segments = list(scenario.population.segments)
        n = len(ids)
        present = [scenario.touchpoints.get(tp) for tp in ids]

        entry_weights, returning_weights = np.zeros(n), np.zeros(n)
        for tp, w in scenario.journey.entries.items():
            entry_weights[index[tp]] = w
        for tp, w in (scenario.journey.returning_entries or scenario.journey.entries).items():
            returning_weights[index[tp]] = w
        is_exit = np.array([tp is None or ids[i] in scenario.journey.exits
                            for i, tp in enumerate(present)])
        out = [scenario.journey.edges.get(t, {}) if t in scenario.touchpoints else {} for t in ids]
        k = max([len(edges) for edges in out] + [1])
        targets = np.zeros((n, k), dtype=np.intp)
        weights = np.zeros((n, len(segments), k))
        by_preference = np.zeros((n, k), dtype=bool)
        for i, edges in enumerate(out):
            for j, (target, edge) in enumerate(edges.items()):
                targets[i, j] = index[target]
                weights[i, :, j] = [edge.segments.get(s, edge.weight) for s in segments]
                by_preference[i, j] = edge.by_channel_preference
        quality = [tp.quality if tp else Constant(value=0.0) for tp in present]
        total = weights.sum(axis=2, keepdims=True)
        cumulative = np.cumsum(weights, axis=2) / np.where(total > 0, total, 1.0)
        cumulative[..., -1] = 1.0  # exactly: rounding must not leave room past the last edge

        def column(field: str, default: float = 0.0) -> np.ndarray:
            return np.array([getattr(tp, field) if tp else default for tp in present], dtype=float)

        sells = np.array([bool(tp and (tp.stage == "purchase" or tp.revenue > 0))
                          for tp in present])

        return cls(
            ids=ids,
            segments=segments,
            channels=channels,
            entry_weights=entry_weights,
            returning_weights=returning_weights,
            is_exit=is_exit,
            targets=targets,
            weights=weights,
            by_preference=by_preference,
            cumulative=cumulative,
            forks=(weights > 0).any(axis=1).sum(axis=1) > 1,
            rated=np.array([bool(tp and tp.shows_rating) for tp in present]),
            to_purchase=sells[targets] & (weights > 0).any(axis=1),
            quality=DistributionTable(quality),
            stage=np.array([STAGES.index(tp.stage) if tp else 0 for tp in present]),
            channel=np.array([channels.index(tp.channel) if tp else 0 for tp in present]),
            importance=column("importance"),
            personalisation=column("personalisation"),
            price_premium=column("price_premium"),
            problem_probability=column("problem_probability"),
            problem_severity=column("problem_severity"),
            prevented=column("prevented_share"),
            prevention_cost=column("prevention_cost") * (column("prevented_share") > 0),
            capacity=np.array([tp.capacity_per_day if tp and tp.capacity_per_day else np.inf
                               for tp in present]),
            load_sensitivity=column("load_sensitivity"),
            cost_per_visit=column("cost_per_visit"),
            revenue=column("revenue"),
            duration_days=column("duration_days").astype(np.int32),
            sells=sells,
        )

    # ----------------------------------------------------------------------------------------
    # routing: by entry_touchpoint and next_touchpoint (Population.entries, Population.move_on)

    def draw_quality(self, tp: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Experienced quality at touchpoints ``tp`` from uniform draws ``u`` (inverse CDF)."""
        return self.quality.ppf(tp, u)

    # ----------------------------------------------------------------------------------------
    # closed forms for validation

    def transition_matrix(self, segment: int = 0) -> np.ndarray:
        """Transition probabilities between touchpoints for one segment (rows of exits are 0)."""
        n = len(self.ids)
        p = np.zeros((n, n))
        for i in range(n):
            w = self.weights[i, segment]
            if not self.is_exit[i] and w.sum() > 0:
                np.add.at(p[i], self.targets[i], w / w.sum())
        return p

    def exit_shares(self, segment: int = 0) -> dict[str, float]:
        """Share of journeys ending at each exit, from the fundamental matrix N = (I − Q)⁻¹.

        With transient states T and absorbing states A, B = N·R gives the probability of being
        absorbed in each exit from each transient state (Kemeny & Snell 1960, ch. 3); starting
        from the entry distribution π, the exit shares are π·B (plus entries that are exits).
        """
        p = self.transition_matrix(segment)
        transient = np.flatnonzero(~self.is_exit)
        exits = np.flatnonzero(self.is_exit)
        q = p[np.ix_(transient, transient)]
        r = p[np.ix_(transient, exits)]
        fundamental = np.linalg.inv(np.eye(len(transient)) - q)
        start = self.entry_weights / self.entry_weights.sum()
        shares = start[transient] @ fundamental @ r + start[exits]
        return {self.ids[e]: float(s) for e, s in zip(exits, shares, strict=True)}


@numba.njit(cache=True, inline="always")
def entry_touchpoint(returning: bool, u: float, first: np.ndarray,
                     again: np.ndarray) -> int:  # pragma: no cover - compiled
    """The entry touchpoint of one customer: where u · total falls in the cumulative entry
    weights (:attr:`JourneyGraph.entry_cumulative`: ``again`` for a customer ``returning``
    for another journey, ``first`` for a first one)."""
    weights = again if returning else first
    return np.searchsorted(weights, u * weights[-1], side="right")


@numba.njit(cache=True, inline="always")
def next_touchpoint(at: int, segment: int, preference: np.ndarray, u: float, purchase_scale: float,
                    cumulative: np.ndarray, weights: np.ndarray, targets: np.ndarray,
                    by_preference: np.ndarray, to_purchase: np.ndarray, channel: np.ndarray,
                    w: np.ndarray) -> int:  # pragma: no cover - compiled
    """The next touchpoint of one customer of ``segment`` standing on touchpoint ``at`` (not an
    exit), with uniform draw ``u`` (for compiled code; the arrays are a graph's).

    The customer takes the edge where ``u`` falls in the cumulative weights of the edges
    leaving ``at``. An edge ``by_channel_preference`` weighs its weight × the customer's
    ``preference`` (their row of weights by channel) for the target's channel (plain weights
    for a customer who cares for none of the channels on offer). ``purchase_scale`` multiplies
    the weights of edges to purchase touchpoints (the public rating's pull on prospects; 1:
    none). ``w`` is scratch room for one row of weights.
    """
    edges = targets.shape[1]
    personal = pulled = False  # loops rather than .any(): numba compiles them faster
    for k in range(edges):
        personal |= by_preference[at, k]
        pulled |= purchase_scale != 1.0 and to_purchase[at, k]
    if personal or pulled:  # weights that depend on the customer
        total = 0.0
        for k in range(edges):
            w[k] = weights[at, segment, k]
            if by_preference[at, k]:
                w[k] *= np.float64(preference[channel[targets[at, k]]])
            total += w[k]
        for k in range(edges):
            if total <= 0.0:
                w[k] = weights[at, segment, k]
            if to_purchase[at, k]:
                w[k] *= purchase_scale
        for k in range(1, edges):
            w[k] += w[k - 1]
        for k in range(edges):
            w[k] /= w[edges - 1]
        row = w
    else:
        row = cumulative[at, segment]
    pick = 0
    for k in range(edges):
        pick += row[k] < u
    return targets[at, pick]  # u < 1, so the pick is an edge with positive weight


def graph_problems(scenario: Scenario) -> list[Problem]:
    """Everything wrong with a scenario's journey graph, each with the path of the field."""
    problems: list[Problem] = []
    known = scenario.touchpoints
    journey = scenario.journey
    segments = scenario.population.segments

    def unknown_touchpoint(path: tuple[str | int, ...], tp: str) -> None:
        problems.append(Problem(path, unknown("touchpoint", tp, known)))

    for which in ("entries", "returning_entries"):
        weights = getattr(journey, which) or {}
        for tp in weights:
            if tp not in known:
                unknown_touchpoint(("journey", which, tp), tp)
        if getattr(journey, which) is not None and sum(weights.values()) <= 0:
            problems.append(Problem(("journey", which), "entry weights must have a positive sum"))
    for i, tp in enumerate(journey.exits):
        if tp not in known:
            unknown_touchpoint(("journey", "exits", i), tp)
    for source, edges in journey.edges.items():
        if source not in known:
            unknown_touchpoint(("journey", "edges", source), source)
        if source in journey.exits and edges:
            problems.append(Problem(("journey", "edges", source),
                                    f"{source!r} is an exit: a journey ends there, so it can have "
                                    "no outgoing edges"))
        for target, edge in edges.items():
            if target not in known:
                unknown_touchpoint(("journey", "edges", source, target), target)
            for segment in edge.segments:
                if segment not in segments:
                    problems.append(Problem(("journey", "edges", source, target, "segments",
                                             segment), unknown("segment", segment, segments)))
        for segment in segments:
            if edges and sum(e.segments.get(segment, e.weight) for e in edges.values()) <= 0:
                problems.append(Problem(("journey", "edges", source),
                                        f"edge weights must have a positive sum (segment "
                                        f"{segment!r} has none)"))
    if problems:
        return problems

    starts = {**journey.entries, **(journey.returning_entries or {})}
    reached: set[str] = set()
    trapped: dict[str, list[str]] = {}  # touchpoint: segments that cannot leave it
    for segment in segments:
        def successors(tp: str, s: str = segment) -> list[str]:
            return [t for t, e in journey.edges.get(tp, {}).items() if e.segments.get(s, e.weight)]

        mine = _reachable([t for t, w in starts.items() if w > 0], successors)
        predecessors: dict[str, list[str]] = {tp: [] for tp in known}
        for tp in known:
            for t in successors(tp):
                predecessors[t].append(tp)
        leaves = _reachable(list(journey.exits), lambda tp, p=predecessors: p[tp])
        reached |= mine
        for tp in mine - leaves:
            trapped.setdefault(tp, []).append(segment)
    care = {tp for tp, spec in known.items() if spec.care is not None}
    off_graph = (care | set(scenario.care_touchpoints())) - reached  # met in service only
    for tp in known:
        if tp in off_graph:
            continue
        if tp not in reached:
            problems.append(Problem(("touchpoints", tp),
                                    "unreachable: no path from an entry leads here (nor is it "
                                    "a care touchpoint or the service follow-up)"))
        elif tp not in journey.exits and not journey.edges.get(tp):
            problems.append(Problem(("touchpoints", tp),
                                    "a dead end: not an exit and no edge leaves it "
                                    "(add it to journey.exits or give it an edge)"))
        elif tp in trapped:
            who = ("" if len(trapped[tp]) == len(segments)
                   else f" for segment {', '.join(map(repr, trapped[tp]))}")
            problems.append(Problem(("touchpoints", tp), f"a loop with no exit{who}: no path "
                                    "from here reaches an exit"))
    return problems


def _reachable(start: list[str], successors: object) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in successors(queue.popleft()):  # type: ignore[operator]
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen

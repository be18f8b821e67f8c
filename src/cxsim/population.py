"""The population: every customer a row of numpy arrays.

Each customer's traits and state are one record (:data:`MOMENT_FIELDS`, then the channel
preferences and :data:`JOURNEY_FIELDS`), and each field is seen as an array (:func:`records`):
code reads ``people.expectation[who]`` as it would a separate array, while the fields of one
customer sit together in memory. Traits are fixed at day 0, drawn per segment from the
scenario's distributions; state changes as customers move through their journeys. A customer's
row number is their *slot* in every keyed random stream (:mod:`cxsim.streams`). Rows are never
reused or compacted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numba
import numpy as np

from cxsim.distributions import Constant, DistributionTable
from cxsim.graph import JourneyGraph, entry_touchpoint, next_touchpoint
from cxsim.scenario import Scenario, Segment
from cxsim.streams import Streams, slot_uniform

NEVER = np.iinfo(np.int32).max
TRAITS = ("patience_minutes", "price_sensitivity", "personalisation_response", "talkativeness",
          "complain_propensity")


class Status(IntEnum):
    """Where a customer stands in the relationship."""

    PROSPECT = 0  # never bought; waits to become aware
    IN_JOURNEY = 1  # somewhere in the touchpoint graph
    BETWEEN = 2  # a customer between journeys, due back on ``due_day``
    CHURNED = 3  # gone for good
    LOST = 4  # a prospect whose first journey ended without a purchase (bought elsewhere)


MOMENT_FIELDS: tuple[tuple[str, type], ...] = (
    ("at", np.int16), ("segment", np.int8), ("existing", np.bool_), ("status", np.int8),
    ("journey_bought", np.bool_), ("journeys", np.int32), ("journey_moments", np.int32),
    ("expectation", np.float64), ("journey_quality", np.float64),
    ("journey_revenue", np.float64), ("journey_cost", np.float64),
    ("personalisation_response", np.float32), ("price_sensitivity", np.float32),
    ("complain_propensity", np.float32), ("patience_minutes", np.float32),
)
"""The fields of a customer's record that every moment of truth touches: its first 64 bytes.
The channel preferences follow, then :data:`JOURNEY_FIELDS` (see :func:`records`)."""
JOURNEY_FIELDS: tuple[tuple[str, type], ...] = (
    ("attitude", np.float64), ("talkativeness", np.float32), ("first_day", np.int32),
    ("journey_start", np.int32), ("purchases", np.int32), ("revenue", np.float64),
    ("cost", np.float64), ("clv", np.float64), ("churn_day", np.int32),
    ("last_recommend", np.int8), ("baseline_expectation", np.float32),
)
"""The fields touched about once a journey."""


def records(size: int, fields: list[tuple[Any, ...]],
            values: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """One record of ``fields`` (numpy structured-array fields: name, type and optionally
    shape) for each of ``size`` customers, with the starting ``values`` given (an array per
    customer or one value for all; the other fields are 0); returns each field seen as an array.

    A day touches a few hundred customers at random rows. In separate arrays each field of a
    customer is a cache miss of its own; in one record a customer's fields share a few cache
    lines, so a customer costs a few misses rather than one per field. The views read and
    write like any array (they are strided), so code that uses them does not know the
    difference. The values are written a block of customers at a time, so that the block stays
    in cache meanwhile.
    """
    table = np.zeros(size, dtype=np.dtype(fields, align=True))
    block = (1 << 18) // max(table.dtype.itemsize, 1)  # customers in 256 KiB of records
    for start in range(0, size, block):
        rows = slice(start, start + block)
        for name, value in (values or {}).items():
            table[name][rows] = value[rows] if np.ndim(value) else value
    return {name: table[name] for name in table.dtype.names}


@dataclass
class Population:
    """Traits and state of all customers, one array element per customer."""

    segment: np.ndarray
    existing: np.ndarray  # bool: a customer before day 0
    baseline_expectation: np.ndarray
    traits: dict[str, np.ndarray]
    channel_preference: np.ndarray  # customers × channels
    status: np.ndarray
    at: np.ndarray  # touchpoint number while in a journey, else -1
    due_day: np.ndarray  # day of the customer's next event (leave a touchpoint, start a journey)
    expectation: np.ndarray
    attitude: np.ndarray
    journeys: np.ndarray
    purchases: np.ndarray
    revenue: np.ndarray
    cost: np.ndarray
    clv: np.ndarray
    first_day: np.ndarray
    churn_day: np.ndarray
    last_recommend: np.ndarray
    journey_start: np.ndarray
    journey_quality: np.ndarray  # sum of experienced quality in the current journey
    journey_moments: np.ndarray
    journey_revenue: np.ndarray
    journey_bought: np.ndarray  # bool: the current journey reached a purchase
    journey_cost: np.ndarray
    memory: dict[str, np.ndarray] = field(default_factory=dict)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(Status), dtype=np.int64))

    active_attitude: float = 0.0  # sum of the attitudes of active customers, kept up to date

    def __post_init__(self) -> None:
        self.counts = np.bincount(self.status, minlength=len(Status)).astype(np.int64)
        active = (self.status == Status.IN_JOURNEY) | (self.status == Status.BETWEEN)
        self.active_attitude = float(self.attitude[active].sum())

    @property
    def size(self) -> int:
        return len(self.segment)

    def set_status(self, who: np.ndarray, status: Status) -> None:
        """Move customers ``who`` to ``status``, keeping the head counts per status and the
        attitude total of active customers."""
        self.active_attitude += _set_status(who, int(status), self.status, self.counts,
                                            self.attitude)

    def enter(self, who: np.ndarray, tp: np.ndarray, quality: np.ndarray, day: int,
              graph: JourneyGraph, rating_shift: float) -> np.ndarray:
        """Customers ``who`` are now at touchpoints ``tp`` of ``graph``, where they met
        ``quality`` on ``day``: due to leave after its duration, with its quality, revenue,
        purchase and cost added to their journeys; first-timers at a touchpoint that shows the
        public rating expect ``rating_shift`` more. Returns those due to leave today (where a
        touchpoint takes no days), in order."""
        leaving = np.empty_like(who)
        count = _enter(who, tp, quality, day, rating_shift, graph.rated, graph.duration_days,
                       graph.revenue, graph.sells, graph.cost_per_visit, self.journeys,
                       self.existing, self.expectation, self.at, self.due_day,
                       self.journey_quality, self.journey_moments, self.journey_revenue,
                       self.journey_bought, self.journey_cost, leaving)
        return leaving[:count]

    def step_of(self, who: np.ndarray) -> np.ndarray:
        """Each customer's journey number and step within it: the counter that keys the draws
        of a move, so that the k-th step of the j-th journey draws the same numbers whatever
        day it falls on (common random numbers survive a strategy that shifts journeys)."""
        return _steps(who, self.journeys, self.journey_moments)

    def entries(self, who: np.ndarray, serial: np.ndarray, graph: JourneyGraph,
                key: np.uint64) -> np.ndarray:
        """The entry touchpoints of ``graph`` where customers ``who`` start a journey
        (:func:`~cxsim.graph.entry_touchpoint`; the returning entries for customers, the first
        ones for prospects), drawn from stream ``key`` at their steps' ``serial``."""
        return _entries(who, serial, key, self.journeys, self.existing, *graph.entry_cumulative)

    def move_on(self, moving: np.ndarray, graph: JourneyGraph, key: np.uint64,
                purchase_scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Customers ``moving`` leave their touchpoints of ``graph``: those at an exit have
        finished their journeys; the others take an edge (:func:`~cxsim.graph.next_touchpoint`,
        drawn from stream ``key`` at their next step's serial where several edges leave;
        first-timers at a touchpoint that shows the public rating with ``purchase_scale``).
        Returns those finished, those moving on, where they go and their steps' serials
        (:meth:`step_of`)."""
        finished, onward = np.empty_like(moving), np.empty_like(moving)
        to = np.empty(len(moving), dtype=np.int64)
        serial = np.empty(len(moving), dtype=np.uint64)
        done = _move_on(moving, key, purchase_scale, self.at, self.journeys,
                        self.journey_moments, self.existing, self.segment,
                        self.channel_preference, graph.is_exit, graph.forks, graph.rated,
                        graph.cumulative, graph.weights, graph.targets, graph.by_preference,
                        graph.to_purchase, graph.channel, finished, onward, to, serial)
        going = len(moving) - done
        return finished[:done], onward[:going], to[:going], serial[:going]

    def start_journeys(self, who: np.ndarray, day: int, memory: dict[str, float]) -> None:
        """Customers ``who`` start a journey on ``day``: nothing met yet, and their journey
        memory at its start values (``memory``, see :mod:`cxsim.rules`)."""
        self.set_status(who, Status.IN_JOURNEY)
        _start_journeys(who, day, self.first_day, self.journey_start, self.journey_quality,
                        self.journey_moments, self.journey_revenue, self.journey_bought,
                        self.journey_cost)
        for name, start in memory.items():
            self.memory[name][who] = start

    def finish_journeys(self, who: np.ndarray, discount: np.ndarray) -> int:
        """Customers ``who`` are back from a journey: its revenue and cost are theirs, and
        its margin × ``discount`` adds to their lifetime value (a repeat journey's: the first
        journey wins the customer, CLV counts what follows, Gupta & Lehmann 2003). Returns
        how many were prospects until now (customers won)."""
        won = _finish_journeys(who, discount, self.journeys, self.existing, self.journey_revenue,
                               self.journey_cost, self.clv, self.revenue, self.cost,
                               self.purchases, self.at)
        self.set_status(who, Status.BETWEEN)
        return won

    def set_attitude(self, who: np.ndarray, values: np.ndarray) -> None:
        """New attitudes for customers ``who`` (each once)."""
        self.active_attitude += _change_attitudes(who, values, self.status, self.attitude)

    def hear(self, who: np.ndarray, heard: np.ndarray, attitude_influence: float,
             expectation_influence: float) -> None:
        """Messages heard by ``who`` (who may repeat), each ``heard`` (credibility × valence),
        move their attitudes by attitude_influence × heard and their expectations by
        expectation_influence × heard, in order."""
        self.active_attitude += _hear(who, heard, attitude_influence, expectation_influence,
                                      self.status, self.attitude, self.expectation)

    @property
    def active(self) -> int:
        """Customers in a journey or between journeys."""
        return int(self.counts[Status.IN_JOURNEY] + self.counts[Status.BETWEEN])

    def mean_active_attitude(self) -> float | None:
        """Mean attitude of active customers (in a journey or between journeys)."""
        count = self.active
        return self.active_attitude / count if count else None

    @classmethod
    def draw(cls, scenario: Scenario, streams: Streams, channels: list[str]) -> Population:
        """Draw the customers of ``scenario``: segments, traits, and who is a customer at day 0."""
        spec = scenario.population
        n = spec.size
        slots = np.arange(n)
        segments = list(spec.segments.values())
        shares = np.cumsum([s.share for s in segments])
        segment = np.minimum(
            np.searchsorted(shares / shares[-1], streams.uniform("segment", slots), side="right"),
            len(segments) - 1,
        ).astype(np.int8)

        groups = segment.astype(np.intp)

        def trait(name: str, pick: Callable[[Segment], Any]) -> np.ndarray:
            table = DistributionTable([pick(seg) for seg in segments])
            if table.constant:  # one value per segment: nothing to draw
                return table.loc.astype(np.float32)[groups]
            return table.ppf(groups, streams.uniform(f"trait.{name}", slots)).astype(np.float32)

        preference = np.ones((n, len(channels)), dtype=np.float32)
        for c, channel in enumerate(channels):  # a weight: negative draws count as 0
            preference[:, c] = np.maximum(0.0, trait(
                f"channel.{channel}",
                lambda seg, ch=channel: seg.channel_preferences.get(ch, Constant(value=1.0)),
            ))
        expectation = trait("expectation", lambda seg: seg.expectation)

        existing = streams.uniform("existing", slots) < spec.existing_customers
        status = np.where(existing, Status.BETWEEN, Status.PROSPECT).astype(np.int8)
        first_gap = trait("inter_purchase_days", lambda seg: seg.inter_purchase_days)
        due_day = np.where(  # prospects are never due: they wait to hear (cxsim.awareness)
            existing,
            np.floor(streams.uniform("first_visit", slots) * np.maximum(first_gap, 1)),
            NEVER,
        ).astype(np.int32)
        attitude = np.where(existing, trait("initial_attitude", lambda s: s.initial_attitude), 0.0)

        values = {name: trait(name, lambda seg, t=name: getattr(seg, t)) for name in TRAITS}
        values.update(segment=segment, existing=existing, status=status,
                      baseline_expectation=expectation, expectation=expectation,
                      attitude=attitude, channel_preference=preference)
        values.update({name: -1 for name in ("at", "first_day", "churn_day", "last_recommend",
                                             "journey_start")})
        state = records(n, [*MOMENT_FIELDS, ("channel_preference", np.float32, (len(channels),)),
                            *JOURNEY_FIELDS], values)
        traits = {name: state.pop(name) for name in TRAITS}
        return cls(traits=traits, due_day=due_day, **state)

    def ensure_memory(self, state: dict[str, float]) -> None:
        """Make the per-customer arrays a journey-memory rule keeps (see :mod:`cxsim.rules`)."""
        new = {name: start for name, start in state.items() if name not in self.memory}
        self.memory.update(records(self.size, [(name, np.float64) for name in new], new))


@numba.njit(cache=True, inline="always")
def _step(journey: int, moment: int) -> np.uint64:  # pragma: no cover - compiled
    """The serial of :meth:`Population.step_of`: journey number << 16 | step."""
    return (np.uint64(journey) << np.uint64(16)) | np.uint64(moment)


@numba.njit(cache=True)
def _steps(who: np.ndarray, journeys: np.ndarray,
           moments: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    serial = np.empty(who.shape[0], dtype=np.uint64)
    for i in range(who.shape[0]):
        serial[i] = _step(journeys[who[i]], moments[who[i]])
    return serial


@numba.njit(cache=True)
def _entries(who: np.ndarray, serial: np.ndarray, key: np.uint64, journeys: np.ndarray,
             existing: np.ndarray, first: np.ndarray,
             again: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:meth:`Population.entries`, one customer at a time."""
    entry = np.empty(who.shape[0], dtype=np.int64)
    for i in range(who.shape[0]):
        w = who[i]
        entry[i] = entry_touchpoint(journeys[w] > 0 or existing[w],
                                    slot_uniform(w, serial[i], key), first, again)
    return entry


@numba.njit(cache=True)
def _move_on(moving: np.ndarray, key: np.uint64, purchase_scale: float, at: np.ndarray,
             journeys: np.ndarray, moments: np.ndarray, existing: np.ndarray,
             segment: np.ndarray, preference: np.ndarray, is_exit: np.ndarray,
             forks: np.ndarray, rated: np.ndarray, cumulative: np.ndarray, weights: np.ndarray,
             targets: np.ndarray, by_preference: np.ndarray, to_purchase: np.ndarray,
             channel: np.ndarray, finished: np.ndarray, onward: np.ndarray, to: np.ndarray,
             serial: np.ndarray) -> int:  # pragma: no cover - compiled
    """:meth:`Population.move_on`, one customer at a time: those finished into ``finished``,
    the others into ``onward`` (with ``to`` and ``serial``), each in order; returns how many
    finished."""
    w = np.empty(targets.shape[1])
    done = going = 0
    for i in range(moving.shape[0]):
        c = moving[i]
        here = at[c]
        if is_exit[here]:
            finished[done] = c
            done += 1
            continue
        onward[going] = c
        serial[going] = _step(journeys[c], moments[c])
        if not forks[here]:  # where only one edge leaves, there is nothing to draw
            to[going] = targets[here, 0]
        else:
            first_timer = journeys[c] == 0 and not existing[c]
            scale = purchase_scale if rated[here] and first_timer else 1.0
            to[going] = next_touchpoint(here, segment[c], preference[c],
                                        slot_uniform(c, serial[going], key), scale, cumulative,
                                        weights, targets, by_preference, to_purchase, channel, w)
        going += 1
    return done


@numba.njit(cache=True)
def _start_journeys(who: np.ndarray, day: int, first_day: np.ndarray, start: np.ndarray,
                    quality: np.ndarray, moments: np.ndarray, revenue: np.ndarray,
                    bought: np.ndarray, cost: np.ndarray) -> None:  # pragma: no cover - compiled
    for w in who:
        if first_day[w] < 0:
            first_day[w] = day
        start[w] = day
        quality[w] = revenue[w] = cost[w] = 0.0
        moments[w] = 0
        bought[w] = False


@numba.njit(cache=True)
def _finish_journeys(who: np.ndarray, discount: np.ndarray, journeys: np.ndarray,
                     existing: np.ndarray, journey_revenue: np.ndarray, journey_cost: np.ndarray,
                     clv: np.ndarray, revenue: np.ndarray, cost: np.ndarray,
                     purchases: np.ndarray, at: np.ndarray) -> int:  # pragma: no cover
    won = 0
    for i in range(who.shape[0]):
        w = who[i]
        if journeys[w] > 0:
            clv[w] += (journey_revenue[w] - journey_cost[w]) * discount[i]
        else:
            won += not existing[w]
        revenue[w] += journey_revenue[w]
        cost[w] += journey_cost[w]
        purchases[w] += journey_revenue[w] > 0
        journeys[w] += 1
        at[w] = -1
    return won


@numba.njit(cache=True)
def _set_status(who: np.ndarray, status: int, statuses: np.ndarray, counts: np.ndarray,
                attitude: np.ndarray) -> float:  # pragma: no cover - compiled
    """:meth:`Population.set_status` in one pass; returns the change in the attitude total
    of active customers (in a journey or between journeys)."""
    change = 0.0
    active = status == Status.IN_JOURNEY or status == Status.BETWEEN
    for w in who:
        was = statuses[w] == Status.IN_JOURNEY or statuses[w] == Status.BETWEEN
        counts[statuses[w]] -= 1
        counts[status] += 1
        statuses[w] = status
        if was != active:
            change += attitude[w] if active else -attitude[w]
    return change


@numba.njit(cache=True)
def _hear(who: np.ndarray, heard: np.ndarray, attitude_influence: float,
          expectation_influence: float, status: np.ndarray, attitude: np.ndarray,
          expectation: np.ndarray) -> float:  # pragma: no cover - compiled
    """:meth:`Population.hear` in one pass; returns the change in the attitude total of
    active customers."""
    change = 0.0
    for i in range(who.shape[0]):
        w = who[i]
        moved = attitude_influence * heard[i]
        attitude[w] += moved
        if status[w] == Status.IN_JOURNEY or status[w] == Status.BETWEEN:
            change += moved
        expectation[w] += expectation_influence * heard[i]
    return change


@numba.njit(cache=True)
def _change_attitudes(who: np.ndarray, values: np.ndarray, status: np.ndarray,
                      attitude: np.ndarray) -> float:  # pragma: no cover - compiled
    """Attitudes of ``who`` replaced by ``values``; returns the change in the attitude total of
    active customers."""
    change = 0.0
    for i in range(who.shape[0]):
        w = who[i]
        if status[w] == Status.IN_JOURNEY or status[w] == Status.BETWEEN:
            change += values[i] - attitude[w]
        attitude[w] = values[i]
    return change


@numba.njit(cache=True)
def _enter(who: np.ndarray, tp: np.ndarray, quality: np.ndarray, day: int, rating_shift: float,
           rated: np.ndarray, duration: np.ndarray, revenue: np.ndarray, sells: np.ndarray,
           cost: np.ndarray, journeys: np.ndarray, existing: np.ndarray,
           expectation: np.ndarray, at: np.ndarray, due_day: np.ndarray,
           journey_quality: np.ndarray, journey_moments: np.ndarray,
           journey_revenue: np.ndarray, journey_bought: np.ndarray,
           journey_cost: np.ndarray, leaving: np.ndarray) -> int:  # pragma: no cover
    """:meth:`Population.enter`, one customer at a time; those due today into ``leaving``,
    returns how many."""
    count = 0
    for i in range(who.shape[0]):
        w, t = who[i], tp[i]
        if rated[t] and journeys[w] == 0 and not existing[w]:
            expectation[w] += rating_shift
        at[w] = t
        due_day[w] = day + duration[t]
        if duration[t] == 0:
            leaving[count] = w
            count += 1
        journey_quality[w] += quality[i]
        journey_moments[w] += 1
        journey_revenue[w] += revenue[t]
        journey_bought[w] |= sells[t]
        journey_cost[w] += cost[t]
    return count

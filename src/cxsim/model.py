"""JourneyModel: customers moving through a touchpoint graph, day by day.

The model is a :class:`mesa.Model`: Mesa owns the clock (one step a day) and the event schedule
(a strategy that starts on a given day is an event). The customers are not Mesa agents but rows
of numpy arrays (:class:`~cxsim.population.Population`): every phase works on all the customers
it concerns at once.

One day is a fixed sequence of phases, listed in :attr:`JourneyModel.phases`:

1. ``hear`` — prospects become aware through promotion and word of mouth (Bass diffusion,
   :mod:`cxsim.awareness`), or because a customer told them good news yesterday;
2. ``arrive`` — prospects who became aware and customers due back start a journey at an entry
   touchpoint, which is their first moment of truth;
3. ``travel`` — customers due to leave a touchpoint move along the graph to the next one and meet
   a moment of truth there (quality, disconfirmation, felt value, journey memory); customers at a
   touchpoint that takes no time move on the same day (hop after hop); at a staffed touchpoint
   they first wait in its line; a problem there makes some complain (a service episode) and
   leaves the others silent;
4. ``serve`` — the day's complaints, repeat contacts and escalations reach care touchpoints,
   queue for their servers, and the contacts that end today are judged, solved, escalated or
   given up (:mod:`cxsim.service`, :mod:`cxsim.queues`);
5. ``close_journeys`` — journeys that reached an exit (and have no service episode open) are
   evaluated (journey memory), attitude and expectation are updated and the customer says how
   likely they are to recommend (0–10); a prospect whose first journey bought nothing is lost;
6. ``talk`` — customers back from a journey tell others about it (word of mouth), which moves
   the receivers' attitude and expectation, and makes some prospects told good news aware;
7. ``review`` — some post a public review; the rating prospects read moves with them;
8. ``decide`` — each customer who finished a journey comes back after an inter-purchase time, or
   churns;
9. ``record`` — the day's figures are kept for the ``daily`` table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import mesa
import numba
import numpy as np
from mesa.time import Priority

from cxsim.awareness import Awareness, NetworkAwareness, thresholds
from cxsim.checks import rule_specs
from cxsim.distributions import DistributionTable
from cxsim.graph import JourneyGraph
from cxsim.network import build_network
from cxsim.population import NEVER, Population, Status
from cxsim.rules import (
    AttitudeUpdate,
    Disconfirmation,
    JourneyMemory,
    Loyalty,
    compiled_felt_value,
    compiled_recall,
    compiled_recommend,
    compiled_remember,
    compiled_return_probability,
    compiled_update,
    make_rule,
)
from cxsim.scenario import Scenario, Strategy
from cxsim.service import MAX_PATIENCE_RATIO, CareDesks, Contacts, ServiceDesk
from cxsim.streams import Streams, slot_uniform
from cxsim.word_of_mouth import talk

_NO_MASK = np.empty(0, dtype=np.bool_)  # compiled_remember: nobody left out
_NO_TOUCHPOINTS = np.empty(0, dtype=np.int64)  # compiled_remember: no touchpoint forgotten

MAX_HOPS_PER_DAY = 64
"""A customer makes at most this many moves in one day; the rest wait for the next day."""

Sink = Callable[[dict[str, np.ndarray]], None]
"""Receives a batch of events (moments, messages) as columns."""


class Moment(IntEnum):
    """What a moment of truth is, as the moments table's ``kind`` says."""

    JOURNEY = 0  # a touchpoint of the journey (arrive, travel)
    CONTACT = 1  # a care contact: a complaint's call, a retry, an escalation (serve)
    FOLLOW_UP = 2  # a proactive follow-up (service.follow_up)


@dataclass
class World:
    """What the model runs with: a scenario's graph and rules (the baseline's or a strategy's)."""

    scenario: Scenario
    graph: JourneyGraph
    disconfirmation: Disconfirmation
    memory: JourneyMemory
    attitude: AttitudeUpdate
    loyalty: Loyalty
    inter_purchase: DistributionTable  # one per segment
    desks: CareDesks
    felt_rule: tuple[int, np.ndarray] = field(init=False)  # compiled forms (cxsim.rules)
    memory_rule: tuple[int, np.ndarray] = field(init=False)
    attitude_rule: tuple[int, np.ndarray] = field(init=False)
    loyalty_rule: tuple[int, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.felt_rule = self.disconfirmation.compiled_form()
        self.memory_rule = self.memory.compiled_form()
        self.attitude_rule = self.attitude.compiled_form()
        self.loyalty_rule = self.loyalty.compiled_form()

    @classmethod
    def build(cls, scenario: Scenario, ids: list[str], channels: list[str]) -> World:
        rules = {kind: make_rule(kind, spec.rule, spec.model_extra or {})
                 for kind, (_, spec) in rule_specs(scenario).items()}
        gaps = [s.inter_purchase_days for s in scenario.population.segments.values()]
        return cls(scenario=scenario, graph=JourneyGraph.compile(scenario, ids, channels),
                   inter_purchase=DistributionTable(gaps), desks=CareDesks.compile(scenario, ids),
                   **rules)


@dataclass
class Today:
    """What happens on one day, gathered across phases."""

    day: int
    starting: np.ndarray
    moving: np.ndarray
    finishing: list[np.ndarray] = field(default_factory=list)
    finished: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int8))
    evaluation: np.ndarray = field(default_factory=lambda: np.empty(0))
    positive: int = 0  # messages told today
    reviews: int = 0  # reviews posted today
    negative: int = 0
    churned: int = 0
    lost: int = 0
    lost_cost: float = 0.0  # what the lost prospects' journeys cost
    aware: int = 0
    moments: int = 0
    problems: int = 0
    complaints: int = 0
    contacts: int = 0
    staff_cost: float = 0.0  # care touchpoints' servers
    care_cost: float = 0.0  # contacts, follow-ups, prevention (also in the journey costs)


class JourneyModel(mesa.Model):
    """Customer journeys through one scenario, optionally under one strategy.

    Args:
        scenario: the world of the baseline.
        replicate: replicate number; with the seed it keys every random stream, so that all
            strategies of one replicate share their random numbers (common random numbers).
        strategy: the strategy's patched scenario and its definition, or ``None`` for the
            baseline.
        channels: the channels to draw preferences for (default: those of the baseline and the
            strategy); give every channel of a run so that all its tables share one schema.

    Call :meth:`keep` to receive the moments of truth or the messages as they happen.
    """

    phases = ("hear", "arrive", "travel", "serve", "close_journeys", "talk", "review", "decide",
              "record")

    def __init__(
        self,
        scenario: Scenario,
        replicate: int = 0,
        strategy: tuple[Scenario, Strategy] | None = None,
        channels: list[str] | None = None,
    ) -> None:
        self.streams = Streams(scenario.seed, replicate)
        super().__init__(rng=self.streams.root)  # Mesa's own generator, unused by the rules
        worlds = [scenario] if strategy is None else [scenario, strategy[0]]
        ids = list(dict.fromkeys(tp for world in worlds for tp in world.touchpoints))
        channels = list(dict.fromkeys([*(channels or []),
                                       *(c for world in worlds for c in world.channels())]))
        self.world = World.build(scenario, ids, channels)
        from_start = strategy is not None and strategy[1].from_day == 0
        people_of = strategy[0] if from_start else scenario  # type: ignore[index]
        self.people = Population.draw(people_of, self.streams, self.world.graph.channels)
        self.people.ensure_memory(self.world.memory.state)
        prospect = self.people.status == Status.PROSPECT
        limits = thresholds(self.streams.uniform("awareness", np.arange(self.people.size)))
        self.network = build_network(scenario.word_of_mouth.network, self.people.size,
                                     self.streams.root)
        self.awareness: Awareness | NetworkAwareness = (
            Awareness(limits, np.flatnonzero(prospect)) if self.network is None
            else NetworkAwareness(self.network, limits, prospect))
        self.service = ServiceDesk(self.world.desks, self.people.size, scenario.horizon_days)
        self.visits = np.zeros(len(ids))  # visits per touchpoint today
        self.strain = np.ones(len(ids))  # problem multiplier per touchpoint from yesterday's load
        self.messages = [0, 0]  # positive, negative over the run
        self.rating = scenario.reviews.initial_rating  # the public rating, 1-5 stars
        self.adopted = int(self.people.existing.sum())  # customers at day 0 and won since
        self.lost = 0  # prospects whose first journey ended without a purchase
        self.told_aware = np.empty(0, dtype=np.int64)  # made aware by a message, start tomorrow
        self.reviews = 0
        self.strategy = strategy[1] if strategy else None
        self.strategy_active = False
        self.strategy_cost = 0.0
        self.daily: list[dict[str, float | None]] = []
        self.sinks: dict[str, tuple[Sink, np.ndarray]] = {}
        if strategy is not None:
            self._strategy_world = World.build(strategy[0], ids, channels)
            if strategy[1].from_day == 0:
                self.adopt_strategy()
            else:  # at the end of the day before from_day, after that day's step
                self.schedule_event(self.adopt_strategy, at=strategy[1].from_day,
                                    priority=Priority.LOW)

    def keep(self, events: str, sink: Sink, share: float = 1.0) -> None:
        """Send each day's ``events`` ("moments" or "messages") to ``sink`` as columns, for a
        random ``share`` of customers (chosen once, so their journeys are kept whole)."""
        slots = np.arange(self.people.size)
        self.sinks[events] = (sink, self.streams.uniform(f"{events}_sample", slots) < share)

    # ----------------------------------------------------------------------------------------
    # the clock

    @property
    def day(self) -> int:
        """Today's number, counting from 0 (Mesa counts steps from 1)."""
        return self.steps - 1

    def step(self) -> None:
        """One day: the phases in order."""
        self.today = self._begin_day()
        for phase in self.phases:
            getattr(self, phase)()

    def run(self) -> None:
        """Simulate the scenario's whole horizon."""
        self.run_for(self.world.scenario.horizon_days)

    def adopt_strategy(self) -> None:
        """From now on, run with the strategy's scenario."""
        self.world = self._strategy_world
        self.service.adopt(self.world.desks)
        self.strategy_active = True
        self.people.ensure_memory(self.world.memory.state)

    def _begin_day(self) -> Today:
        p = self.people
        due = np.flatnonzero(p.due_day == self.day)
        status = p.status[due]
        return Today(
            day=self.day,
            starting=due[status == Status.BETWEEN],
            moving=due[status == Status.IN_JOURNEY],
        )

    # ----------------------------------------------------------------------------------------
    # phases

    def hear(self) -> None:
        """Prospects become aware through promotion and word of mouth (cxsim.awareness); they
        start a first journey today."""
        p, scenario = self.people, self.world.scenario
        promotion, talk = scenario.population.awareness_per_day, scenario.word_of_mouth
        if isinstance(self.awareness, NetworkAwareness):
            aware = self.awareness.day(self.today.day, promotion, talk.contact_per_day,
                                       talk.strong_tie_weight, talk.weak_tie_weight)
        else:
            customers = p.size - int(p.counts[Status.PROSPECT] + p.counts[Status.LOST])
            aware = self.awareness.day(promotion, talk.imitation_per_day, customers, p.size)
        if len(self.told_aware):  # told good news yesterday
            aware, self.told_aware = np.concatenate([aware, self.told_aware]), self.told_aware[:0]
        self.today.aware = len(aware)
        if len(aware):
            self.today.starting = np.sort(np.concatenate([self.today.starting, aware]))

    def arrive(self) -> None:
        """Due customers start a journey at an entry touchpoint: their first moment of truth."""
        who, p, day = self.today.starting, self.people, self.today.day
        if not len(who):
            return
        p.start_journeys(who, day, self.world.memory.state)
        self.service.start_journeys(who)
        serial = p.step_of(who)
        again = self.meet(who, p.entries(who, serial, self.world.graph,
                                         self.streams.key("entry")), serial)
        self.today.moving = np.concatenate([self.today.moving, again])

    def travel(self) -> None:
        """Move due customers along the graph, hop after hop, until nobody moves today."""
        p, day = self.people, self.today.day
        moving = self.today.moving
        for _ in range(MAX_HOPS_PER_DAY):
            if not len(moving):
                return
            finished, moving, to, serial = p.move_on(moving, self.world.graph,
                                                     self.streams.key("route"),
                                                     self.rating_pull())
            self.today.finishing.append(finished)
            moving = self.meet(moving, to, serial)
        p.due_day[moving] = day + 1  # too many moves today: the rest move on tomorrow

    def rating_pull(self) -> float:
        """How the public rating scales edges to a purchase for first-timers at a touchpoint
        that shows it: (rating / initial rating) ** elasticity."""
        reviews = self.world.scenario.reviews
        return (self.rating / reviews.initial_rating) ** reviews.conversion_elasticity

    def meet(self, who: np.ndarray, tp: np.ndarray, serial: np.ndarray) -> np.ndarray:
        """Moments of truth: customers ``who`` arrive at touchpoints ``tp`` (at step ``serial``
        of their journeys, see :meth:`Population.step_of`). Returns those who move on again
        today (:meth:`Population.enter`).

        quality = draw from the touchpoint's distribution − the wait's penalty (in a line)
        − problem severity (if a problem occurs) + personalisation × the customer's
        responsiveness − price premium × price sensitivity;
        felt = importance × disconfirmation(quality, expectation), folded into journey memory.
        """
        graph, p, day, world = self.world.graph, self.people, self.today.day, self.world
        quality = graph.draw_quality(tp, self.streams.uniform("quality", who, serial=serial))
        wait = None
        if world.desks.on_journey:  # a desk or tables on the way: visitors queue there
            lined = world.desks.care[tp]
            if lined.any():
                wait = np.zeros(len(who))
                wait[lined] = self.service.visit(who[lined], tp[lined], day, self.streams,
                                                 serial[lined])
                quality -= self.wait_penalty(who, tp, wait)
        problem, expectation, felt, problems = self.experience(who, tp, serial, quality)
        self.keep_moments(who, tp, quality, expectation, felt, problem, wait, Moment.JOURNEY)
        complains = None
        if problems:  # complainers' bad moments wait for care's answer (cxsim.service)
            complains, complaints = self.service.complain(
                who, tp, problem, felt, p.traits["complain_propensity"],
                self.streams.key("complain"), serial, day, graph.forgotten)
            self.today.problems += problems
            self.today.complaints += complaints
        self.remember(who, felt, left_out=complains, tp=tp)
        reviews = world.scenario.reviews  # first-timers reading the rating expect more or less
        return p.enter(who, tp, quality, day, graph,
                       reviews.expectation_influence * (self.rating - reviews.initial_rating))

    def experience(self, who: np.ndarray, tp: np.ndarray, serial: np.ndarray,
                   quality: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """What befalls customers ``who`` at ``tp`` besides the touchpoint's quality, into
        ``quality`` (in place): a problem with the touchpoint's problem probability (× its
        strain), unless anticipated and prevented (at a cost), personalisation and price; then
        how it feels (:meth:`feel`). Returns who had a problem, their expectations, the felt
        values and how many had a problem."""
        graph, p, streams = self.world.graph, self.people, self.streams
        if graph.strained:  # busy touchpoints go wrong more often
            self.visits += np.bincount(tp, minlength=len(self.visits))
        problem = np.empty(len(who), dtype=np.bool_)
        anticipated = np.empty(len(who), dtype=np.bool_)
        expectation, felt = np.empty(len(who)), np.empty(len(who))
        rule, params = self.world.felt_rule  # a built-in rule: felt in the same pass
        problems = _experience(who, tp, serial, quality, streams.key("problem"),
                               streams.key("prevent"), graph.problem_probability, self.strain,
                               graph.prevented, graph.problem_severity, graph.personalisation,
                               p.traits["personalisation_response"], graph.price_premium,
                               p.traits["price_sensitivity"], p.expectation, graph.importance,
                               rule, params, problem, anticipated, expectation, felt)
        if not rule:
            felt = self.feel(tp, quality, expectation)
        if graph.prevents:  # anticipating needs prevents some problems, at a cost
            self.charge(who[anticipated], graph.prevention_cost[tp[anticipated]],
                        proactive=True)
        return problem, expectation, felt, problems

    def wait_penalty(self, who: np.ndarray, tp: np.ndarray, wait: np.ndarray) -> np.ndarray:
        """Quality lost by waiting ``wait`` minutes in a line at ``tp``: service.wait_penalty
        × wait / patience (the customer's patience_minutes × the line's patience_scale), at
        most twice a patience (waits across a night)."""
        return _wait_penalty(who, tp, wait, self.people.traits["patience_minutes"],
                             self.world.desks.patience_scale,
                             self.world.scenario.service.wait_penalty)

    def judge(self, who: np.ndarray, tp: np.ndarray, quality: np.ndarray, kind: Moment,
              wait: np.ndarray | None = None) -> np.ndarray:
        """A moment of truth of customers ``who`` at touchpoints ``tp`` besides their journeys'
        moments (``kind``: a care contact after ``wait`` minutes in line, a follow-up): the
        felt value of ``quality`` against their expectation (:meth:`feel`), folded into journey
        memory and kept for the moments table. Returns the felt values."""
        expectation = self.people.expectation[who]
        felt = self.feel(tp, quality, expectation)
        self.remember(who, felt, tp=tp)
        self.keep_moments(who, tp, quality, expectation, felt, None, wait, kind)
        return felt

    def keep_moments(self, who: np.ndarray, tp: np.ndarray, quality: np.ndarray,
                     expectation: np.ndarray, felt: np.ndarray, problem: np.ndarray | None,
                     wait: np.ndarray | None, kind: Moment) -> None:
        """Count moments of truth, and send them to the moments sink if there is one."""
        self.today.moments += len(who)
        if "moments" not in self.sinks:
            return
        graph, p = self.world.graph, self.people
        problem = np.zeros(len(who), dtype=bool) if problem is None else problem
        wait = np.zeros(len(who)) if wait is None else wait
        sink, kept = self.sinks["moments"]
        keep = kept[who]
        sink({
            "day": np.full(keep.sum(), self.today.day, dtype=np.int32),
            "customer": who[keep].astype(np.int64),
            "journey": p.journeys[who[keep]].astype(np.int32),
            "touchpoint": tp[keep],
            "channel": graph.channel[tp[keep]],
            "stage": graph.stage[tp[keep]],
            "kind": np.full(keep.sum(), kind, dtype=np.int8),
            "quality": quality[keep],
            "expectation": expectation[keep],
            "disconfirmation": (quality - expectation)[keep],
            "felt_value": felt[keep],
            "problem": problem[keep],
            "wait_minutes": wait[keep],
        })

    def feel(self, tp: np.ndarray, quality: np.ndarray, expectation: np.ndarray) -> np.ndarray:
        """Felt values of moments at touchpoints ``tp``: the touchpoint's importance ×
        the disconfirmation rule's felt value of ``quality`` against ``expectation`` (a built-in
        rule in one compiled pass)."""
        graph, (rule, params) = self.world.graph, self.world.felt_rule
        if rule:
            return _felt(rule, params, quality, expectation, graph.importance, tp)
        felt = self.world.disconfirmation.call("felt_value", quality, expectation,
                                               size=len(quality))
        return felt * graph.importance[tp] if graph.weighted else felt

    def remember(self, who: np.ndarray, felt: np.ndarray, left_out: np.ndarray | None = None,
                 tp: np.ndarray | None = None) -> None:
        """Fold moments ``felt`` into the journey memory of customers ``who``, but of those
        ``left_out`` (a mask over ``who``) and those at touchpoints ``tp`` of importance 0: a
        moment of no weight in memory leaves no trace there (it is not the journey's end)."""
        memory, (rule, params), graph = self.world.memory, self.world.memory_rule, self.world.graph
        if rule:
            first, second = (self.people.memory[name] for name in memory.state)
            compiled_remember(rule, params, first, second, who, felt,
                              _NO_MASK if left_out is None else left_out,
                              tp if tp is not None and graph.forgets else _NO_TOUCHPOINTS,
                              graph.forgotten)
            return
        if tp is not None and graph.forgets:
            forgotten = graph.forgotten[tp]
            left_out = forgotten if left_out is None else left_out | forgotten
        if left_out is not None:
            who, felt = who[~left_out], felt[~left_out]
        memory.call("remember", self.people.memory, who, felt)

    def recall(self, who: np.ndarray) -> np.ndarray:
        """The journey memory's evaluation of the journeys of customers ``who``."""
        memory, (rule, params) = self.world.memory, self.world.memory_rule
        if rule:
            first, second = (self.people.memory[name] for name in memory.state)
            return compiled_recall(rule, params, first, second, who)
        return memory.call("recall", self.people.memory, who, size=len(who))

    def serve(self) -> None:
        """Complaints, repeat contacts and escalations reach care touchpoints and queue there;
        the contacts that end today are judged and solved, escalated, retried or given up
        (:mod:`cxsim.service`). Customers whose episode closes at a journey's exit finish it."""
        desk, p, day, spec = self.service, self.people, self.today.day, self.world.scenario.service
        self.today.staff_cost = desk.staff(day)
        if not (desk.due or desk.ending):
            return
        calls = desk.contacts_for(day, self.streams, p.channel_preference,
                                  self.world.graph.channel, np.asarray(spec.hours))
        if len(calls.who):
            desk.queue(calls, day, self.streams, p.traits["patience_minutes"])
        self.today.contacts = len(calls.who)
        ended = desk.ending_today(day)
        if ended is not None:
            self.settle(ended)

    def settle(self, calls: Contacts) -> None:
        """Contacts that end today: each a moment of truth (see :mod:`cxsim.service` for its
        quality); then the held bad moments are released, less what a recovery forgives, and
        the unsolved are escalated or try again."""
        desk, desks, p, day = self.service, self.world.desks, self.people, self.today.day
        spec, graph, who = desks.spec, self.world.graph, calls.who
        serial = desk.contacts[who].astype(np.uint64)

        def draw(purpose: str) -> np.ndarray:
            return self.streams.uniform(purpose, who, serial=serial)

        served = ~calls.abandoned
        solved = served & (draw("resolve") < desks.resolution[calls.tp])
        spread = desk.answers(calls, self.streams.normal("answer", who, serial=serial))
        quality = _contact_quality(
            who, calls.tp, calls.wait, served, solved,
            graph.draw_quality(calls.tp, draw("contact_quality")), spread, p.expectation,
            p.traits["patience_minutes"], desks.patience_scale, spec.wait_penalty,
            spec.unresolved_penalty, spec.inconsistency_penalty)
        released, bad = desk.release_held(calls, solved)
        self.remember(released, bad)
        self.judge(who, calls.tp, quality, Moment.CONTACT, wait=calls.wait)
        self.charge(who, np.where(served, graph.cost_per_visit[calls.tp], 0.0))
        closing, escalated = desk.follow_on(calls, solved, day, self.streams, serial)
        if desks.follow_up >= 0 and desks.follow_up_after == "problem":
            self.follow_up(closing)
        finished = closing[desk.at_exit[closing]]
        desk.at_exit[finished] = False
        self.today.finishing.append(finished)
        if "contacts" in self.sinks:
            sink, kept = self.sinks["contacts"]
            keep = kept[who]
            sink({
                "day": calls.day[keep], "minute": calls.minute[keep],
                "customer": who[keep].astype(np.int64),
                "journey": p.journeys[who[keep]].astype(np.int32),
                "attempt": calls.attempt[keep].astype(np.int8),
                "touchpoint": calls.tp[keep], "channel": graph.channel[calls.tp[keep]],
                "outsourced": desks.outsourced[calls.tp[keep]],
                "wait_minutes": calls.wait[keep], "abandoned": calls.abandoned[keep],
                "resolved": solved[keep], "escalated": escalated[keep],
                "quality": quality[keep],
            })

    def follow_up(self, who: np.ndarray) -> None:
        """A proactive follow-up contact for a share of ``who``: a moment of truth at the
        follow-up touchpoint, with its cost."""
        desks, p = self.world.desks, self.people
        serial = p.journeys[who].astype(np.uint64)
        who = who[self.streams.uniform("follow_up", who, serial=serial)
                  < desks.follow_up_share]
        tp = np.full(len(who), desks.follow_up)
        quality = self.world.graph.draw_quality(
            tp, self.streams.uniform("follow_up_quality", who, serial=p.journeys[who]))
        self.judge(who, tp, quality, Moment.FOLLOW_UP)
        self.charge(who, self.world.graph.cost_per_visit[tp], proactive=True)

    def charge(self, who: np.ndarray, cost: np.ndarray, proactive: bool = False) -> None:
        """Service costs of customers ``who`` (each at most once): into their journeys' costs
        and the cost to serve — care contacts, or proactive actions (follow-ups, prevention)."""
        self.people.journey_cost[who] += cost
        total = float(cost.sum())
        self.today.care_cost += total
        if proactive:
            self.service.proactive_cost += total
        else:
            self.service.contact_cost += total

    def close_journeys(self) -> None:
        """Journeys that reached an exit: evaluate, update attitude, ask for a 0–10 score."""
        p, world = self.people, self.world
        who = np.concatenate(self.today.finishing) if self.today.finishing else np.empty(0, int)
        waiting = self.service.open[who]  # a service episode still open: wait for it
        if waiting.any():
            self.service.at_exit[who[waiting]] = True
            p.due_day[who[waiting]] = NEVER
            who = who[~waiting]
        lost = _bought_nothing_first(who, p.journeys, p.existing, p.journey_bought)
        if world.graph.sells.any() and lost.any():
            self.lose(who[lost])
            who = who[~lost]
        self.today.finished = who
        if not len(who):
            return
        if world.desks.follow_up >= 0 and world.desks.follow_up_after == "purchase":
            self.follow_up(who[p.journey_revenue[who] > 0])
        evaluation = self.recall(who)
        self.today.evaluation = evaluation
        self.update_attitudes(who, evaluation)
        scores = self.recommend(who)
        p.last_recommend[who] = scores
        self.today.scores = scores

        years = (p.journey_start[who] - p.first_day[who]) / 365.0
        rate = world.scenario.economics.discount_rate_per_year
        self.adopted += p.finish_journeys(who, (1.0 + rate) ** -years)

    def update_attitudes(self, who: np.ndarray, evaluation: np.ndarray) -> None:
        """The attitude rule's new attitudes and expectations of customers ``who`` after
        journeys they evaluate ``evaluation``, of the mean quality they met."""
        p, (rule, params) = self.people, self.world.attitude_rule
        if rule:
            attitude = _update_attitudes(rule, params, who, evaluation, p.attitude,
                                         p.expectation, p.journey_quality, p.journey_moments)
        else:
            mean_quality = p.journey_quality[who] / np.maximum(p.journey_moments[who], 1)
            attitude, p.expectation[who] = self.world.attitude.call(
                "update", p.attitude[who], p.expectation[who], evaluation, mean_quality,
                size=len(who))
        p.set_attitude(who, attitude)

    def recommend(self, who: np.ndarray) -> np.ndarray:
        """How likely customers ``who`` are to recommend, 0–10, by the loyalty rule."""
        p, (rule, params) = self.people, self.world.loyalty_rule
        noise = self.streams.normal("recommend", who, serial=p.journeys[who])
        if rule:
            return _recommend(rule, params, who, p.attitude, noise)
        return self.world.loyalty.call("recommend", p.attitude[who], noise, size=len(who),
                                       within=(0, 10), whole=True)

    def return_probability(self, who: np.ndarray) -> np.ndarray:
        """The chance of customers ``who`` to come back for another journey, by the loyalty
        rule."""
        p, (rule, params) = self.people, self.world.loyalty_rule
        if rule:
            return _return_probability(rule, params, who, p.attitude)
        return self.world.loyalty.call("return_probability", p.attitude[who], size=len(who),
                                       within=(0, 1))

    def lose(self, who: np.ndarray) -> None:
        """Prospects whose first journey ended without a purchase (they bought elsewhere): not
        customers, they leave for the run; what the journey cost still counts."""
        p = self.people
        self.today.lost_cost = float(p.journey_cost[who].sum())
        _lose(who, p.cost, p.journey_cost, p.at, p.due_day)
        p.set_status(who, Status.LOST)
        self.today.lost = len(who)
        self.lost += len(who)
        if isinstance(self.awareness, NetworkAwareness):
            self.awareness.forget(who, self.today.day + 1)

    def talk(self) -> None:
        """Customers back from a journey tell others about it (cxsim.word_of_mouth); what
        they hear moves the receivers' attitude and expectation."""
        spec, p, who = self.world.scenario.word_of_mouth, self.people, self.today.finished
        if spec.audience <= 0 or not len(who):
            return
        said = talk(who, self.today.evaluation, p.traits["talkativeness"][who], p.journeys[who],
                    spec, self.streams, self.network, p.size)
        p.hear(said.receiver, said.credibility * said.valence, spec.attitude_influence,
               spec.expectation_influence)
        if spec.awareness_per_message > 0:
            self.make_aware(said.receiver[said.valence > 0], spec.awareness_per_message)
        positive = int((said.valence > 0).sum())
        self.today.positive, self.today.negative = positive, len(said.valence) - positive
        self.messages[0] += self.today.positive
        self.messages[1] += self.today.negative
        if "messages" in self.sinks:
            sink, kept = self.sinks["messages"]
            keep = kept[said.sender]
            tie = np.where(said.strong, 2, 1) if self.network is not None else 0
            sink({
                "day": np.full(keep.sum(), self.today.day, dtype=np.int32),
                "sender": said.sender[keep], "receiver": said.receiver[keep],
                "valence": said.valence[keep],
                "tie": np.broadcast_to(tie, said.sender.shape)[keep],
            })

    def make_aware(self, told: np.ndarray, chance: float) -> None:
        """Prospects among ``told`` (one entry per positive message) become aware with
        ``chance`` per message, and start a first journey tomorrow."""
        aware = _told_aware(np.sort(told), self.people.status, int(Status.PROSPECT), chance,
                            self.streams.key("told_aware", self.today.day))
        if len(aware):
            self.awareness.convert(aware, self.today.day + 1)
            self.told_aware = aware

    def review(self) -> None:
        """Some customers back from a journey post a public review, more likely after an
        extreme one (a U-shape); the rating is an exponentially weighted mean of the reviews
        (the day's reviews enter together), answered negative reviews count half as bad."""
        spec, p, who = self.world.scenario.reviews, self.people, self.today.finished
        if spec.post_chance <= 0 or not len(who):
            return
        stars = _reviews(who, self.today.evaluation, p.journeys, spec.post_chance,
                         spec.extremity, spec.respond_share, self.streams.key("review"),
                         self.streams.key("review_answer"))
        if len(stars):
            keep = (1.0 - 1.0 / spec.window) ** len(stars)
            self.rating = self.rating * keep + float(stars.mean()) * (1.0 - keep)
        self.today.reviews = len(stars)
        self.reviews += len(stars)

    def decide(self) -> None:
        """Each customer who finished a journey comes back after an inter-purchase time, or
        churns."""
        p, day, world = self.people, self.today.day, self.world
        who = self.today.finished
        if not len(who):
            return
        stays = self.streams.uniform("return", who, serial=p.journeys[who]) < (
            self.return_probability(who))
        back = who[stays]
        u = self.streams.uniform("inter_purchase", back, serial=p.journeys[back])
        gap = world.inter_purchase.ppf(p.segment[back].astype(np.intp), u)
        _due_back(back, gap, day, p.due_day)
        gone = who[~stays]
        p.set_status(gone, Status.CHURNED)
        p.churn_day[gone] = day
        p.due_day[gone] = NEVER
        self.today.churned = len(gone)

    def record(self) -> None:
        """Keep the day's figures for the ``daily`` table; today's load strains tomorrow."""
        p, t, graph = self.people, self.today, self.world.graph
        if graph.strained:
            overload = np.maximum(self.visits / graph.capacity - 1.0, 0.0)
            self.strain = 1.0 + graph.load_sensitivity * overload
            self.visits[:] = 0
        if self.strategy_active and self.strategy is not None:  # journeys counted as revenue is
            self.strategy_cost += (self.strategy.cost.per_day
                                   + self.strategy.cost.per_journey * len(t.finished))
        finished = t.finished
        scores = t.scores
        self.daily.append({
            "day": t.day,
            "prospects": int(p.counts[Status.PROSPECT]),
            "aware": p.size - int(p.counts[Status.PROSPECT]),
            "newly_aware": t.aware,
            "active_customers": p.active,
            "in_journey": int(p.counts[Status.IN_JOURNEY]),
            "journeys_started": len(t.starting),
            "journeys_completed": len(finished),
            "moments": t.moments,
            "churned": t.churned,
            "lost": t.lost,
            "revenue": float(p.journey_revenue[finished].sum()),
            "cost": float(p.journey_cost[finished].sum()) + t.lost_cost + t.staff_cost,
            "mean_attitude": p.mean_active_attitude(),
            "messages_positive": t.positive,
            "messages_negative": t.negative,
            "reviews": t.reviews,
            "problems": t.problems,
            "complaints": t.complaints,
            "contacts": t.contacts,
            "service_cost": t.staff_cost + t.care_cost,
            "rating": self.rating,
            "adopted": self.adopted,
            "nps": nps(scores) if len(scores) else None,
        })


@numba.njit(cache=True)
def _told_aware(told: np.ndarray, status: np.ndarray, prospect: int, chance: float,
                key: np.uint64) -> np.ndarray:  # pragma: no cover - compiled
    """The prospects (``status`` = ``prospect``) among ``told`` (one entry per message, in
    row order) who become aware: told m times, with chance 1 − (1 − chance)^m, drawn from
    stream ``key``; in row order."""
    prospects = told[status[told] == prospect]
    aware = np.empty(prospects.shape[0], dtype=prospects.dtype)
    count, i = 0, 0
    while i < prospects.shape[0]:
        j = i
        while j < prospects.shape[0] and prospects[j] == prospects[i]:
            j += 1
        if slot_uniform(prospects[i], 0, key) < 1.0 - (1.0 - chance) ** np.float64(j - i):
            aware[count] = prospects[i]
            count += 1
        i = j
    return aware[:count]


@numba.njit(cache=True)
def _bought_nothing_first(who: np.ndarray, journeys: np.ndarray, existing: np.ndarray,
                          bought: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Whether each of ``who`` ends a first journey (a prospect's) without a purchase."""
    lost = np.empty(who.shape[0], dtype=np.bool_)
    for i in range(who.shape[0]):
        w = who[i]
        lost[i] = journeys[w] == 0 and not existing[w] and not bought[w]
    return lost


@numba.njit(cache=True)
def _lose(who: np.ndarray, cost: np.ndarray, journey_cost: np.ndarray, at: np.ndarray,
          due_day: np.ndarray) -> None:  # pragma: no cover - compiled
    """:meth:`JourneyModel.lose`'s bookkeeping: the journeys' costs count, the customers are
    nowhere and never due."""
    for w in who:
        cost[w] += journey_cost[w]
        at[w] = -1
        due_day[w] = NEVER


@numba.njit(cache=True)
def _due_back(who: np.ndarray, gap: np.ndarray, day: int,
              due_day: np.ndarray) -> None:  # pragma: no cover - compiled
    """Customers ``who`` are due back ``gap`` days (rounded, at least 1) after ``day``."""
    for i in range(who.shape[0]):
        due_day[who[i]] = day + np.int32(max(np.rint(gap[i]), 1.0))


@numba.njit(cache=True)
def _reviews(who: np.ndarray, value: np.ndarray, journeys: np.ndarray, post_chance: float,
             extremity: float, respond_share: float, review_key: np.uint64,
             answer_key: np.uint64) -> np.ndarray:  # pragma: no cover - compiled
    """The stars of the reviews that customers ``who``, back from journeys they evaluate
    ``value``, post (:meth:`JourneyModel.review`), one customer at a time: with chance
    post_chance · (1 − e^{−|value| / extremity}), 3 + value rounded into 1–5 stars; a review
    below 3 answered (chance ``respond_share``) counts half as bad. Draws at each customer's
    journey number, from streams ``review_key`` and ``answer_key``."""
    stars = np.empty(who.shape[0])
    count = 0
    for i in range(who.shape[0]):
        w = who[i]
        chance = post_chance * (1.0 - np.exp(-abs(value[i]) / extremity))
        if slot_uniform(w, journeys[w], review_key) < chance:
            given = min(max(np.rint(3.0 + value[i]), 1.0), 5.0)
            if given < 3 and slot_uniform(w, journeys[w], answer_key) < respond_share:
                given = (given + 3.0) / 2
            stars[count] = given
            count += 1
    return stars[:count]


@numba.njit(cache=True)
def _felt(rule: int, params: np.ndarray, quality: np.ndarray, expectation: np.ndarray,
          importance: np.ndarray, tp: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """importance × felt value by the built-in disconfirmation rule numbered ``rule``."""
    felt = np.empty(quality.shape[0])
    for i in range(quality.shape[0]):
        felt[i] = compiled_felt_value(rule, params, quality[i], expectation[i]) * importance[tp[i]]
    return felt


@numba.njit(cache=True)
def _waited(wait: float, patience: float, patience_scale: float,
            penalty: float) -> float:  # pragma: no cover - compiled
    """Quality lost by one wait: penalty · min(wait / mean patience, MAX_PATIENCE_RATIO)."""
    mean_patience = np.float64(patience) * patience_scale
    return penalty * min(wait / max(mean_patience, 1e-9), MAX_PATIENCE_RATIO)


@numba.njit(cache=True)
def _wait_penalty(who: np.ndarray, tp: np.ndarray, wait: np.ndarray, patience: np.ndarray,
                  patience_scale: np.ndarray,
                  penalty: float) -> np.ndarray:  # pragma: no cover - compiled
    """:meth:`JourneyModel.wait_penalty`, one customer at a time."""
    lost = np.empty(who.shape[0])
    for i in range(who.shape[0]):
        lost[i] = _waited(wait[i], patience[who[i]], patience_scale[tp[i]], penalty)
    return lost


@numba.njit(cache=True)
def _contact_quality(who: np.ndarray, tp: np.ndarray, wait: np.ndarray, served: np.ndarray,
                     solved: np.ndarray, drawn: np.ndarray, spread: np.ndarray,
                     expectation: np.ndarray, patience: np.ndarray, patience_scale: np.ndarray,
                     wait_penalty: float, unresolved_penalty: float,
                     inconsistency_penalty: float) -> np.ndarray:  # pragma: no cover
    """The quality of settled contacts (:mod:`cxsim.service`): the care touchpoint's ``drawn``
    quality if served, else the customer's expectation, less the wait's penalty, the
    unresolved penalty if not solved and the inconsistency penalty × the answers' spread."""
    quality = np.empty(who.shape[0])
    for i in range(who.shape[0]):
        met = drawn[i] if served[i] else expectation[who[i]]
        lost = (_waited(wait[i], patience[who[i]], patience_scale[tp[i]], wait_penalty)
                + unresolved_penalty * np.float64(not solved[i])
                + inconsistency_penalty * spread[i])
        quality[i] = met - lost
    return quality


@numba.njit(cache=True)
def _update_attitudes(rule: int, params: np.ndarray, who: np.ndarray, evaluation: np.ndarray,
                      attitude: np.ndarray, expectation: np.ndarray, journey_quality: np.ndarray,
                      journey_moments: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The new attitudes of ``who`` by the built-in attitude rule numbered ``rule`` (their
    new expectations in place), from each journey's mean quality."""
    new = np.empty(who.shape[0])
    for i in range(who.shape[0]):
        w = who[i]
        mean_quality = journey_quality[w] / max(journey_moments[w], 1)
        new[i], expectation[w] = compiled_update(rule, params, attitude[w], expectation[w],
                                                 evaluation[i], mean_quality)
    return new


@numba.njit(cache=True)
def _recommend(rule: int, params: np.ndarray, who: np.ndarray, attitude: np.ndarray,
               noise: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """0–10 scores of ``who`` by the built-in loyalty rule numbered ``rule``."""
    scores = np.empty(who.shape[0], dtype=np.int8)
    for i in range(who.shape[0]):
        scores[i] = compiled_recommend(rule, params, attitude[who[i]], noise[i])
    return scores


@numba.njit(cache=True)
def _return_probability(rule: int, params: np.ndarray, who: np.ndarray,
                        attitude: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Chances to come back of ``who`` by the built-in loyalty rule numbered ``rule``."""
    chance = np.empty(who.shape[0])
    for i in range(who.shape[0]):
        chance[i] = compiled_return_probability(rule, params, attitude[who[i]])
    return chance


@numba.njit(cache=True)
def _experience(who: np.ndarray, tp: np.ndarray, serial: np.ndarray, quality: np.ndarray,
                problem_key: np.uint64, prevent_key: np.uint64, probability: np.ndarray,
                strain: np.ndarray, prevented: np.ndarray, severity: np.ndarray,
                personalisation: np.ndarray, response: np.ndarray, premium: np.ndarray,
                sensitivity: np.ndarray, expectation_of: np.ndarray, importance: np.ndarray,
                rule: int, params: np.ndarray, problem: np.ndarray, anticipated: np.ndarray,
                expectation: np.ndarray, felt: np.ndarray) -> int:  # pragma: no cover - compiled
    """The terms of :meth:`JourneyModel.experience`, one customer at a time: a problem when
    u < probability × strain, anticipated then, and prevented when u' < prevented share;
    quality − severity · problem + personalisation · response − premium · sensitivity; the
    customer's expectation, and the felt value by the built-in disconfirmation rule numbered
    ``rule`` × importance (none for rule 0). Returns the number of problems."""
    problems = 0
    for i in range(who.shape[0]):
        w, t = who[i], tp[i]
        problem[i] = anticipated[i] = False
        if probability[t] > 0:
            chance = probability[t] * strain[t]
            problem[i] = anticipated[i] = slot_uniform(w, serial[i], problem_key) < chance
            if problem[i] and prevented[t] > 0:
                problem[i] = slot_uniform(w, serial[i], prevent_key) >= prevented[t]
        quality[i] -= problem[i] * severity[t]
        quality[i] += personalisation[t] * np.float64(response[w])
        quality[i] -= premium[t] * np.float64(sensitivity[w])
        problems += problem[i]
        expectation[i] = expectation_of[w]
        if rule:
            felt[i] = compiled_felt_value(rule, params, quality[i], expectation[i]) * importance[t]
    return problems


def nps(scores: np.ndarray) -> float:
    """Net Promoter Score: % promoters (9–10) − % detractors (0–6) (Reichheld 2003)."""
    scores = np.asarray(scores)
    promoters, detractors = np.count_nonzero(scores >= 9), np.count_nonzero(scores <= 6)
    return 100.0 * (promoters - detractors) / len(scores)

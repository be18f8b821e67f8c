"""Service episodes: what customers do about a problem, and what care does for them (rule 8).

A problem at a touchpoint is a bad moment of truth. The customer then complains or stays
silent, by their propensity to complain (most stay silent: TARP 1986, Goodman 1999): a silent
customer keeps the bad moment, and their loyalty decision sees it. A complaining customer opens a
*service episode*:

1. **Contact.** At a time of day drawn from ``service.hours``, the customer picks a care
   touchpoint (phone, chat, email, a desk…) among those open at that hour, by
   ``service.contact`` weight × their preference for its channel. An escalation or a retry on
   the same line comes in that touchpoint's opening hours.
2. **Queue.** The contact waits in that touchpoint's line (:mod:`cxsim.queues`): served by the
   first free server, or abandoned when the wait exceeds the customer's patience (a draw,
   exponential with mean patience_minutes × the channel's patience_scale: Erlang A).
3. **Judge.** The contact is a moment of truth: quality = the channel's quality draw
   − wait_penalty · min(wait / mean patience, 2) − unresolved_penalty (if not solved)
   − inconsistency_penalty · spread of the answers the customer met in this journey; an
   abandoned contact has no quality of its own (it counts as the customer's expectation).
4. **Resolve.** A served contact solves the problem with the channel's first-contact-resolution
   probability. Otherwise the customer is escalated (the channel's ``escalate_to``, the next
   day), or with chance ``retry`` contacts again the next day (switching channel with chance
   ``switch_channel``), up to ``max_attempts`` contacts; else the episode ends unsolved.

Service recovery (Maxham & Netemeyer 2002; de Matos et al. 2007): the bad moment of a complaint
is held back until its first contact is judged. If that contact solves the journey's first and
only problem, a share ``forgiveness`` of the bad moment is forgotten; a second problem in the same
journey is never forgiven (the double deviation of Bitner, Booms & Tetreault 1990). With peak–end
memory this makes the recovery paradox emerge, but only when the recovery is better than
expected and the failure was the only one: a well-handled contact becomes the journey's peak
and end, lifting it a little above a journey without a problem.

A journey does not end while a service episode is open: a customer who reached an exit waits
there until the episode closes (the episode belongs to the journey).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np

from cxsim.distributions import Constant, DistributionTable
from cxsim.queues import HOURS_PER_WEEK, MINUTES_PER_DAY, Served, ServiceLines, weekly_servers
from cxsim.scenario import Scenario, Service
from cxsim.streams import Streams, slot_uniform

MAX_PATIENCE_RATIO = 2.0
"""A wait counts against a contact at most twice a full patience (for waits across nights)."""


@dataclass(frozen=True)
class CareDesks:
    """A world's care touchpoints as arrays indexed by touchpoint number (others inert)."""

    care: np.ndarray  # bool: takes contacts
    contact_weight: np.ndarray
    servers: list[np.ndarray]  # servers by hour of the week (none where not care)
    open: np.ndarray  # (touchpoints, 168) bool
    service_minutes: DistributionTable
    patience_scale: np.ndarray
    resolution: np.ndarray  # first-contact resolution probability
    escalate_to: np.ndarray  # touchpoint number, -1 none
    cost_per_server_hour: np.ndarray
    target_minutes: np.ndarray  # answer within this for the service level
    answer: np.ndarray
    answer_sd: np.ndarray
    outsourced: np.ndarray
    visit_hours: np.ndarray  # (touchpoints, 24) arrivals of journey visitors by hour
    on_journey: bool  # journeys pass a care touchpoint (its visitors queue)
    follow_up: int  # touchpoint number, -1 none
    follow_up_after: str
    follow_up_share: float
    spec: Service  # the scenario's service section

    @classmethod
    def compile(cls, scenario: Scenario, ids: list[str]) -> CareDesks:
        n = len(ids)
        index = {tp: i for i, tp in enumerate(ids)}
        cares = [getattr(scenario.touchpoints.get(tp), "care", None) for tp in ids]
        servers = [weekly_servers(0 if c is None else c.servers) for c in cares]
        weight = np.zeros(n)
        for tp, w in scenario.service.contact.items():
            weight[index[tp]] = w

        def column(field: str, default: float = 0.0) -> np.ndarray:
            return np.array([default if c is None else getattr(c, field) for c in cares],
                            dtype=float)

        follow = scenario.service.follow_up
        visited = scenario.journey.touchpoints_on_the_way()
        return cls(
            care=np.array([c is not None for c in cares]),
            contact_weight=weight,
            servers=servers,
            open=np.array([s > 0 for s in servers]).reshape(n, HOURS_PER_WEEK),
            service_minutes=DistributionTable([Constant(value=0.0) if c is None
                                               else c.service_minutes for c in cares]),
            patience_scale=column("patience_scale", 1.0),
            resolution=column("first_contact_resolution"),
            escalate_to=np.array([-1 if c is None or c.escalate_to is None
                                  else index[c.escalate_to] for c in cares], dtype=np.int64),
            cost_per_server_hour=column("cost_per_server_hour"),
            target_minutes=np.array([
                scenario.service.service_level_minutes
                if c is None or c.answer_within_minutes is None else c.answer_within_minutes
                for c in cares]),
            answer=column("answer"),
            answer_sd=column("answer_sd"),
            outsourced=np.array([bool(c and c.outsourced) for c in cares]),
            visit_hours=np.array([[1.0] * 24 if c is None else c.visit_hours for c in cares]),
            on_journey=any(c is not None and tp in visited for tp, c in zip(ids, cares,
                                                                           strict=True)),
            follow_up=-1 if follow is None else index[follow.touchpoint],
            follow_up_after="" if follow is None else follow.after,
            follow_up_share=0.0 if follow is None else follow.share,
            spec=scenario.service,
        )

    @cached_property
    def anyone_complains(self) -> bool:
        return bool(self.contact_weight.any())


@dataclass
class Contacts:
    """A batch of contacts (one row each)."""

    who: np.ndarray
    tp: np.ndarray  # care touchpoint number; -1: to be chosen; -2 - t: chosen, avoiding t
    attempt: np.ndarray  # 1 for the first contact of an episode
    day: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    minute: np.ndarray = field(default_factory=lambda: np.empty(0))  # time of day
    wait: np.ndarray = field(default_factory=lambda: np.empty(0))
    abandoned: np.ndarray = field(default_factory=lambda: np.empty(0, bool))

    @staticmethod
    def join(batches: list[Contacts]) -> Contacts:
        if len(batches) == 1:
            return batches[0]
        return Contacts(**{name: np.concatenate([getattr(b, name) for b in batches])
                           for name in Contacts.__dataclass_fields__})

    def take(self, mask: np.ndarray) -> Contacts:
        return Contacts(**{name: getattr(self, name)[mask]
                           for name in Contacts.__dataclass_fields__})


@dataclass
class QueueDays:
    """Per care touchpoint and day: what the ``queues`` table reports."""

    arrivals: np.ndarray
    served: np.ndarray
    abandoned: np.ndarray
    waiting: np.ndarray  # difference array: +1 the day a contact arrives, −1 the day it leaves
    wait_sum: np.ndarray
    busy_minutes: np.ndarray
    server_hours: np.ndarray

    @classmethod
    def zeros(cls, touchpoints: int, days: int) -> QueueDays:
        return cls(*(np.zeros((touchpoints, days + 1)) for _ in range(7)))

    def count(self, tp: np.ndarray, day: int, served: Served, service: np.ndarray) -> None:
        """Count arrivals at ``tp`` on ``day`` by the day their service starts (or they give
        up; the last column takes everything after the horizon)."""
        _count(tp, day, served.start, served.wait, served.abandoned, service, self.arrivals,
               self.served, self.abandoned, self.waiting, self.wait_sum, self.busy_minutes)


@numba.njit(cache=True)
def _count(tp: np.ndarray, day: int, start: np.ndarray, wait: np.ndarray,
           abandoned: np.ndarray, service: np.ndarray, arrivals: np.ndarray, served: np.ndarray,
           gave_up: np.ndarray, waiting: np.ndarray, wait_sum: np.ndarray,
           busy_minutes: np.ndarray) -> None:  # pragma: no cover - compiled
    last = served.shape[1] - 1
    for i in range(tp.shape[0]):
        q, ends = tp[i], min(int(start[i] // MINUTES_PER_DAY), last)
        arrivals[q, day] += 1
        waiting[q, day] += 1
        waiting[q, ends] -= 1
        if abandoned[i]:
            gave_up[q, ends] += 1
        else:
            served[q, ends] += 1
            wait_sum[q, ends] += wait[i]
            busy_minutes[q, ends] += service[i]


class ServiceDesk:
    """The service episodes of one simulation: per-customer episode state, the contacts on
    their way, and the waiting lines of the care touchpoints (kept across a strategy's start).

    The model calls :meth:`complain` when problems happen, :meth:`contacts_for` and
    :meth:`queue` in its ``serve`` phase, and :meth:`outcome` to settle the contacts that end
    today.
    """

    def __init__(self, desks: CareDesks, size: int, horizon_days: int) -> None:
        self.desks = desks
        self.lines: ServiceLines | None = None
        self.care_seen = np.zeros(len(desks.care), dtype=bool)  # care in any world of the run
        self.open = np.zeros(size, dtype=bool)  # a service episode is open
        self.held = np.full(size, np.nan)  # felt value of the problem, held until contact
        self.failures = np.zeros(size, dtype=np.int8)  # problems in the current journey
        self.answer_low = np.full(size, np.inf)  # answers met in the current journey
        self.answer_high = np.full(size, -np.inf)
        self.at_exit = np.zeros(size, dtype=bool)  # journey reached an exit, episode open
        self.problems = np.zeros(size, dtype=np.int32)
        self.complaints = np.zeros(size, dtype=np.int32)  # episodes opened
        self.contacts = np.zeros(size, dtype=np.int32)
        self.due: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        """Contacts to make, by day: customers, touchpoints (as in :class:`Contacts`), attempts."""
        self.ending: dict[int, list[Contacts]] = {}  # contacts queued, by the day they end
        self.days = QueueDays.zeros(len(desks.care), horizon_days)
        self.first_contacts = [0, 0]  # answered, solved
        self.waits: list[np.ndarray] = []  # waits of served contacts
        self.visit_waits: list[np.ndarray] = []  # waits of journeys' visits to care lines
        self.offered = 0
        self.abandoned = 0
        self.in_time = 0  # served within their touchpoint's target answer time
        self.spread = [0.0, 0]  # answer spreads met after a journey's first answer: sum, count
        self.staff_cost = 0.0
        self.contact_cost = 0.0  # care contacts
        self.proactive_cost = 0.0  # follow-ups and prevention
        self.adopt(desks)

    def adopt(self, desks: CareDesks) -> None:
        """Work with a (strategy's) new care set-up; lines keep their waiting contacts."""
        self.desks = desks
        self.care_seen |= desks.care
        self.lines = ServiceLines(desks.servers, self.lines)
        hours = [self.lines.server_hours(weekday) * desks.care for weekday in range(7)]
        self.weekday_staff = [(h, float(h @ desks.cost_per_server_hour)) for h in hours]

    # ----------------------------------------------------------------------------------------
    # problems

    def start_journeys(self, who: np.ndarray) -> None:
        self.failures[who] = 0
        self.answer_low[who], self.answer_high[who] = np.inf, -np.inf

    def complain(self, who: np.ndarray, tp: np.ndarray, problem: np.ndarray, felt: np.ndarray,
                 propensity: np.ndarray, key: np.uint64, serial: np.ndarray, day: int,
                 forgotten: np.ndarray) -> tuple[np.ndarray, int]:
        """Customers ``who`` just met their touchpoints ``tp``, some with a ``problem`` (bad
        moments ``felt``): those who complain (their draw of stream ``key`` at ``serial`` below
        their ``propensity``, no episode already open) open an episode with a first contact
        today, and their bad moment is held back, unless its touchpoint is ``forgotten``
        (importance 0: nothing to remember). Returns who complains (mask over ``who``) and how
        many."""
        complains = np.zeros(len(who), dtype=np.bool_)
        count = _complain(who, tp, problem, felt, forgotten, propensity, key, serial,
                          self.desks.anyone_complains, self.problems, self.failures, self.open,
                          self.held, self.complaints, complains)
        if count:
            self.schedule(who[complains], np.full(count, -1), np.ones(count, np.int8), day)
        return complains, count

    def schedule(self, who: np.ndarray, tp: np.ndarray, attempt: np.ndarray, day: int) -> None:
        if len(who):
            self.due.setdefault(day, []).append((who, tp, attempt))

    # ----------------------------------------------------------------------------------------
    # contacts and queues

    def contacts_for(self, day: int, streams: Streams, preference: np.ndarray,
                     channel: np.ndarray, hours: np.ndarray) -> Contacts:
        """Today's contacts, each with its time of day and (where still open) its channel."""
        batches = self.due.pop(day, [])
        if not batches:
            return Contacts(*(np.empty(0, np.int64) for _ in range(3)))
        calls = Contacts(*(batches[0] if len(batches) == 1 else
                           (np.concatenate(parts) for parts in zip(*batches, strict=True))))
        serial = self.contacts[calls.who].astype(np.uint64)
        calls.day = np.full(len(calls.who), day, dtype=np.int32)
        calls.minute = np.empty(len(calls.who))
        _time_and_channel(
            calls.tp, calls.minute, calls.who, day, hours.astype(np.float64),
            self.desks.open, self.desks.contact_weight, preference, channel,
            streams.uniform("contact_time", calls.who, serial=serial),
            streams.uniform("contact_channel", calls.who, serial=serial))
        self.contacts[calls.who] += 1
        return calls

    def queue(self, calls: Contacts, day: int, streams: Streams, patience: np.ndarray) -> None:
        """Put ``calls`` in their touchpoints' lines; each is settled on the day it ends."""
        desks = self.desks
        serial = self.contacts[calls.who].astype(np.uint64)
        service = desks.service_minutes.ppf(
            calls.tp, streams.uniform("service_time", calls.who, serial=serial))
        mean_patience = patience[calls.who] * desks.patience_scale[calls.tp]
        give_up = -mean_patience * np.log1p(-streams.uniform("patience", calls.who,
                                                             serial=serial))
        served = self.wait_in_line(calls.tp, day, day * MINUTES_PER_DAY + calls.minute, service,
                                   give_up)
        calls.wait, calls.abandoned = served.wait, served.abandoned
        self.offered += len(calls.who)
        end = served.start + np.where(served.abandoned, 0.0, service)
        last = self.days.served.shape[1] - 1
        ending = np.minimum(end // MINUTES_PER_DAY, last).astype(np.int64)
        if ending.min() == ending.max():  # most days: every contact ends the day it came
            self.ending.setdefault(int(ending[0]), []).append(calls)
            return
        for d in np.unique(ending):
            self.ending.setdefault(int(d), []).append(calls.take(ending == d))

    def visit(self, who: np.ndarray, tp: np.ndarray, day: int, streams: Streams,
              serial: np.ndarray) -> np.ndarray:
        """Customers ``who`` whose journey reaches care touchpoints ``tp`` today queue there
        like contacts (arriving by the touchpoint's ``visit_hours``), but never give up.
        Returns their waits, minutes. Served in the order the model meets them: visitors of a
        later hop of the day who arrive before some already served take the gaps left between
        those services (see :mod:`cxsim.queues`)."""
        desks = self.desks
        minute = np.empty(len(who))
        _minutes_of_day(desks.visit_hours, tp, who, serial, streams.key("visit_time"), minute)
        service = desks.service_minutes.ppf(
            tp, streams.uniform("visit_service_time", who, serial=serial))
        served = self.wait_in_line(tp, day, day * MINUTES_PER_DAY + minute, service,
                                   np.full(len(who), np.inf))
        self.visit_waits.append(served.wait)
        return served.wait

    def wait_in_line(self, tp: np.ndarray, day: int, arrival: np.ndarray, service: np.ndarray,
                     give_up: np.ndarray) -> Served:
        """Serve arrivals at care touchpoints ``tp`` (minutes since day 0, arriving ``day``)
        and count them for the ``queues`` table by the day their service starts."""
        served = self.lines.serve(tp, arrival, service, give_up,  # type: ignore[union-attr]
                                  since=day * MINUTES_PER_DAY)
        self.days.count(tp, day, served, service)
        return served

    def ending_today(self, day: int) -> Contacts | None:
        batches = self.ending.pop(day, [])
        return Contacts.join(batches) if batches else None

    def staff(self, day: int) -> float:
        """Today's staff cost, also counting server-hours for utilisation."""
        hours, cost = self.weekday_staff[day % 7]  # server-hours per touchpoint, their cost
        self.days.server_hours[:, day] += hours
        self.staff_cost += cost
        return cost

    # ----------------------------------------------------------------------------------------
    # outcomes

    def answers(self, calls: Contacts, z: np.ndarray) -> np.ndarray:
        """The answers served contacts get; returns each customer's spread of answers met in
        this journey (0 for a first answer)."""
        spread = np.zeros(len(calls.who))
        total, count = _answers(calls.who, calls.tp, calls.abandoned, z, self.desks.answer,
                                self.desks.answer_sd, self.answer_low, self.answer_high, spread)
        self.spread[0] += total
        self.spread[1] += count
        return spread

    def release_held(self, calls: Contacts, solved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The held bad moments released by first contacts: (whose, felt after forgiveness)."""
        who, felt, answered, solved_first = _release_held(
            calls.who, calls.attempt, calls.abandoned, solved, self.held, self.failures,
            1.0 - self.desks.spec.forgiveness)
        self.first_contacts[0] += answered
        self.first_contacts[1] += solved_first
        return who, felt

    def follow_on(self, calls: Contacts, solved: np.ndarray, day: int, streams: Streams,
                  serial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """After settling ``calls``: escalate or retry the unsolved (retrying and switching
        channel with the chances of ``service.retry`` and ``service.switch_channel``, drawn at
        each contact's ``serial``). Returns the customers whose episode closes today and
        whether each was escalated."""
        spec = self.desks.spec
        escalated = np.empty(len(calls.who), dtype=np.bool_)
        who, tp, attempt, closing, abandoned, in_time = _follow_on(
            calls.who, calls.tp, calls.attempt, calls.abandoned, calls.wait, solved, serial,
            streams.key("retry"), spec.retry, streams.key("switch"), spec.switch_channel,
            self.desks.escalate_to, spec.max_attempts, self.desks.target_minutes, self.open,
            escalated)
        self.schedule(who, tp, attempt, day + 1)
        if len(calls.who):
            self.waits.append(calls.wait[~calls.abandoned])
            self.abandoned += abandoned
            self.in_time += in_time
        return closing, escalated


@numba.njit(cache=True)
def _follow_on(who: np.ndarray, tp: np.ndarray, attempt: np.ndarray, abandoned: np.ndarray,
               wait: np.ndarray, solved: np.ndarray, serial: np.ndarray, retry_key: np.uint64,
               retry: float, switch_key: np.uint64, switch: float, escalate_to: np.ndarray,
               max_attempts: int, target_minutes: np.ndarray, open_: np.ndarray,
               escalated: np.ndarray) -> tuple[
                   np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:  # pragma: no cover
    """:meth:`ServiceDesk.follow_on`, one contact at a time: an unsolved contact that was
    served escalates where its touchpoint escalates to, else one unsolved tries again (chance
    ``retry``; on another channel with chance ``switch``), while attempts remain. Returns
    tomorrow's contacts (customers, touchpoints, attempts: the escalations, then the retries),
    the customers whose episode closes (marked closed in ``open_``), and how many contacts gave
    up and were answered within their touchpoint's target."""
    n = who.shape[0]
    again = np.zeros(n, dtype=np.bool_)
    closes = np.zeros(n, dtype=np.bool_)
    gave_up = in_time = 0
    for i in range(n):
        more = attempt[i] < max_attempts
        escalated[i] = not solved[i] and not abandoned[i] and escalate_to[tp[i]] >= 0 and more
        again[i] = (not solved[i] and not escalated[i] and more
                    and slot_uniform(who[i], serial[i], retry_key) < retry)
        closes[i] = not escalated[i] and not again[i]
        gave_up += abandoned[i]
        in_time += wait[i] <= target_minutes[tp[i]] and not abandoned[i]
    order = np.concatenate((np.flatnonzero(escalated), np.flatnonzero(again)))
    next_tp = np.empty(order.shape[0], dtype=tp.dtype)
    for j in range(order.shape[0]):
        i = order[j]
        if escalated[i]:
            next_tp[j] = escalate_to[tp[i]]
        else:
            switching = slot_uniform(who[i], serial[i], switch_key) < switch
            next_tp[j] = -tp[i] - 2 if switching else tp[i]
    closing = who[closes]
    open_[closing] = False
    next_attempt = (attempt[order] + 1).astype(attempt.dtype)
    return who[order], next_tp, next_attempt, closing, gave_up, in_time


@numba.njit(cache=True)
def _answers(who: np.ndarray, tp: np.ndarray, abandoned: np.ndarray, z: np.ndarray,
             answer: np.ndarray, answer_sd: np.ndarray, low: np.ndarray, high: np.ndarray,
             spread: np.ndarray) -> tuple[float, int]:  # pragma: no cover - compiled
    """:meth:`ServiceDesk.answers`: each served contact gets answer + answer_sd · z of its
    touchpoint, widening its customer's range of answers (``low``, ``high``); ``spread``
    gets the range after all of today's answers. Returns the sum and the number of the
    spreads of contacts answered before (in an earlier contact of the journey)."""
    before = np.empty(who.shape[0], dtype=np.bool_)
    for i in range(who.shape[0]):
        before[i] = np.isfinite(low[who[i]])
    for i in range(who.shape[0]):
        if not abandoned[i]:
            given = answer[tp[i]] + answer_sd[tp[i]] * z[i]
            low[who[i]] = min(low[who[i]], given)
            high[who[i]] = max(high[who[i]], given)
    total, count = 0.0, 0
    for i in range(who.shape[0]):
        if not abandoned[i]:
            spread[i] = high[who[i]] - low[who[i]]
            if before[i]:
                total += spread[i]
                count += 1
    return total, count


@numba.njit(cache=True)
def _release_held(who: np.ndarray, attempt: np.ndarray, abandoned: np.ndarray,
                  solved: np.ndarray, held: np.ndarray, failures: np.ndarray, kept: float
                  ) -> tuple[np.ndarray, np.ndarray, int, int]:  # pragma: no cover - compiled
    """:meth:`ServiceDesk.release_held`: the contacts whose customers hold a bad moment
    release it, × ``kept`` (1 − forgiveness) when a first attempt solved the journey's only
    problem. Returns whose, the felt values, and how many of them were answered and solved."""
    first = np.flatnonzero(~np.isnan(held[who]))
    felt = np.empty(first.shape[0])
    answered = solved_first = 0
    for j in range(first.shape[0]):
        i = first[j]
        forgiven = solved[i] and attempt[i] == 1 and failures[who[i]] == 1
        felt[j] = held[who[i]] * (kept if forgiven else 1.0)
        answered += not abandoned[i]
        solved_first += solved[i]
    released = who[first]
    held[released] = np.nan
    return released, felt, answered, solved_first


@numba.njit(cache=True)
def _complain(who: np.ndarray, tp: np.ndarray, problem: np.ndarray, felt: np.ndarray,
              forgotten: np.ndarray, propensity: np.ndarray,
              key: np.uint64, serial: np.ndarray, anyone: bool, problems: np.ndarray,
              failures: np.ndarray, open_: np.ndarray, held: np.ndarray, complaints: np.ndarray,
              complains: np.ndarray) -> int:  # pragma: no cover - compiled
    """The episodes :meth:`ServiceDesk.complain` opens, one customer at a time; returns how
    many."""
    count = 0
    for i in range(who.shape[0]):
        if not problem[i]:
            continue
        w = who[i]
        problems[w] += 1
        failures[w] += 1
        if anyone and not open_[w] and slot_uniform(w, serial[i], key) < propensity[w]:
            open_[w] = complains[i] = True
            held[w] = np.nan if forgotten[tp[i]] else felt[i]
            complaints[w] += 1
            count += 1
    return count


@numba.njit(cache=True)
def _minute_in(profile: np.ndarray, total: float, u: float) -> float:  # pragma: no cover
    """Minutes after midnight at probability ``u`` of a day whose hours weigh ``profile``
    (``total`` its sum; uniform within each hour)."""
    x = u * total
    for hour in range(23):
        if x < profile[hour]:
            return 60.0 * (hour + min(x / profile[hour], 1.0 - 1e-9))
        x -= profile[hour]
    return 60.0 * (23 + min(max(x, 0.0) / max(profile[23], 1e-300), 1.0 - 1e-9))


@numba.njit(cache=True)
def _minutes_of_day(profiles: np.ndarray, tp: np.ndarray, who: np.ndarray, serial: np.ndarray,
                    key: np.uint64, minute: np.ndarray) -> None:  # pragma: no cover - compiled
    """Minutes after midnight for arrivals ``who`` at touchpoints ``tp``, each by its row of
    hourly ``profiles``, drawn from stream ``key`` at ``serial`` (in place)."""
    totals = np.zeros(profiles.shape[0])
    for t in range(profiles.shape[0]):  # a loop, not sum(axis=1): numba compiles it faster
        for hour in range(24):
            totals[t] += profiles[t, hour]
    for i in range(tp.shape[0]):
        u = slot_uniform(who[i], serial[i], key)
        minute[i] = _minute_in(profiles[tp[i]], totals[tp[i]], u)


@numba.njit(cache=True)
def _time_and_channel(tp: np.ndarray, minute: np.ndarray, who: np.ndarray, day: int,
                      hours: np.ndarray, open_: np.ndarray, weight: np.ndarray,
                      preference: np.ndarray, channel: np.ndarray, u_time: np.ndarray,
                      u_channel: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each contact's time of day and, where not yet chosen, its care touchpoint (in place).

    A contact to a given touchpoint (an escalation, a retry on the same line) comes in that
    touchpoint's opening hours, by the ``hours`` profile (any hour if it is closed all day).
    Otherwise the time comes from the profile, and the touchpoint is drawn by contact weight ×
    the customer's preference for its channel among those open at that hour (among all if
    none is open; by weight alone if the customer has no preference for any), avoiding the
    touchpoint a switching retry leaves (``tp`` = −2 − that touchpoint; −1: free choice).
    """
    first_hour = (day % 7) * 24
    count = weight.shape[0]
    all_day = hours.sum()
    open_hours = np.empty(24)
    w = np.empty(count)
    for i in range(tp.shape[0]):
        t = tp[i]
        if t >= 0:
            for h in range(24):
                open_hours[h] = hours[h] * open_[t, first_hour + h]
            in_hours = open_hours.sum()
            minute[i] = (_minute_in(open_hours, in_hours, u_time[i]) if in_hours > 0
                         else _minute_in(hours, all_day, u_time[i]))
            continue
        minute[i] = _minute_in(hours, all_day, u_time[i])
        hour = first_hour + int(minute[i] // 60.0)
        avoid = -t - 2
        total = opened = 0.0
        for k in range(count):
            w[k] = 0.0 if k == avoid else weight[k] * preference[who[i], channel[k]]
            total += w[k]
            opened += w[k] * open_[k, hour]
        if opened > 0:
            for k in range(count):
                w[k] *= open_[k, hour]
            total = opened
        elif total <= 0:
            for k in range(count):
                w[k] = weight[k]
                total += w[k]
        x, pick = u_channel[i] * total, count - 1
        for k in range(count):
            if x < w[k]:
                pick = k
                break
            x -= w[k]
        tp[i] = pick

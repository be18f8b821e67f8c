"""Waiting lines at service touchpoints: servers, first come first served, impatient customers.

A service touchpoint has a number of servers (agents, desk clerks, waiters) that may change by
hour of the week, and a waiting line served first come, first served. Contacts arrive at given
minutes; each needs a service time and has a patience. A contact is served by the first server
to become free (of several idle, the one idle longest); one who would wait longer than their
patience abandons and takes no server's time (reneging). Waits follow from capacity and load:
they are never a parameter.

Because the line is first come, first served, a contact's start depends only on the contacts
that arrived before it, so one pass over the contacts in arrival order gives every start time
exactly, including starts on a later day (the backlog). The pass is compiled with numba; each
line keeps its servers in a heap, so a contact costs a few operations times log(servers). A
line may be served in several batches a day (the visitors of each step of the journeys, then
the day's complaints): an arrival earlier than one already served is fitted into the gaps
between the services already given (first fit), so those served first keep their places.

Closed forms for validation: :func:`erlang_c` (M/M/c, Erlang 1917) and :func:`erlang_a`
(M/M/c+M, Palm 1943; Garnett, Mandelbaum & Reiman 2002), solved exactly as a birth–death chain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

MINUTES_PER_DAY = 1440
HOURS_PER_WEEK = 168


def weekly_servers(servers: int | list[int] | list[list[int]]) -> np.ndarray:
    """Servers on duty in each of the 168 hours of a week (Monday 0:00 first), from a constant,
    24 hourly numbers (every day alike) or 7 × 24 (one row per day of the week)."""
    table = np.asarray(servers, dtype=np.int64)
    if table.ndim == 0:
        return np.full(HOURS_PER_WEEK, int(table))
    return np.resize(table.ravel(), HOURS_PER_WEEK)


def _minutes_until_on_duty(lines: list[np.ndarray]) -> np.ndarray:
    """For line q, server k and hour h of the week: minutes from the start of hour h until k is
    next on duty (0 when on duty during h; infinite for a server never on duty).

    Server k is on duty in the hours whose number of servers exceeds k, so servers between two
    consecutive staffing levels share one timetable: it is worked out once per level."""
    count = max([int(servers.max(initial=0)) for servers in lines] + [1])
    until = np.full((len(lines), count, HOURS_PER_WEEK), np.inf)
    hours = np.arange(HOURS_PER_WEEK)
    for q, servers in enumerate(lines):
        below = 0
        for level in np.unique(servers[servers > 0]):
            on = np.flatnonzero(servers >= level)
            ahead = (on[None, :] - hours[:, None]) % HOURS_PER_WEEK  # hours to each on-duty hour
            until[q, below:level] = 60.0 * ahead.min(axis=1)
            below = level
    return until


@numba.njit(cache=True)
def _sift_down(key: np.ndarray, server: np.ndarray, size: int,
               i: int = 0) -> None:  # pragma: no cover - compiled
    """Restore the heap order (by key, then server number) below position ``i``, whose key
    grew."""
    while True:
        smallest, left = i, 2 * i + 1
        for child in (left, left + 1):
            if child < size and (key[child] < key[smallest] or (
                    key[child] == key[smallest] and server[child] < server[smallest])):
                smallest = child
        if smallest == i:
            return
        key[i], key[smallest] = key[smallest], key[i]
        server[i], server[smallest] = server[smallest], server[i]
        i = smallest


@numba.njit(cache=True)
def _on_duty(until: np.ndarray, t: float) -> float:  # pragma: no cover - compiled
    """The first time at or after ``t`` a server with timetable ``until`` is on duty."""
    hour = int(t // 60.0)
    delay = until[hour % 168]
    return t if delay == 0.0 else hour * 60.0 + delay


@numba.njit(cache=True)
def _earliest_fit(a: float, service: float, latest: float, gaps: np.ndarray, count: int,
                  free: float, until: np.ndarray) -> tuple[float, int]:  # pragma: no cover
    """One server's earliest start at or after ``a``, on duty, of a service that fits in one of
    its idle ``gaps`` (``gaps[:count]``: start, end; sorted, disjoint), looked for up to the
    start ``latest``; else after everything it has (its ``free`` time). Returns the start and
    the gap used (−1: after everything)."""
    low, high = 0, count  # the first gap that ends after a
    while low < high:
        middle = (low + high) // 2
        if gaps[middle, 1] <= a:
            low = middle + 1
        else:
            high = middle
    for m in range(low, count):
        if max(a, gaps[m, 0]) + service > gaps[m, 1]:
            continue  # cannot hold the service however late its server is on duty: no fit
        t = _on_duty(until, max(a, gaps[m, 0]))
        if t > latest:
            break
        if t + service <= gaps[m, 1]:
            return t, m
    return _on_duty(until, max(a, free)), -1


@numba.njit(cache=True, inline="always")
def _move_rows(rows: np.ndarray, source: int, stop: int,
               target: int) -> None:  # pragma: no cover - compiled
    """rows[target:target + stop − source] = rows[source:stop] (2 columns), where the two may
    overlap (as memmove does), without a temporary copy."""
    count = stop - source
    if target < source:
        for j in range(count):
            rows[target + j, 0], rows[target + j, 1] = rows[source + j, 0], rows[source + j, 1]
    else:
        for j in range(count - 1, -1, -1):
            rows[target + j, 0], rows[target + j, 1] = rows[source + j, 0], rows[source + j, 1]


@numba.njit(cache=True)
def _occupy(gaps: np.ndarray, count: int, m: int, start: float,
            end: float) -> int:  # pragma: no cover - compiled
    """Serve from ``start`` to ``end`` inside gap ``m``: what is left of it on either side stays
    a gap. Returns the new number of gaps (room for one more is needed)."""
    before, after = start > gaps[m, 0], end < gaps[m, 1]
    if before and after:
        _move_rows(gaps, m + 1, count, m + 2)
        gaps[m + 1, 0], gaps[m + 1, 1] = end, gaps[m, 1]
        gaps[m, 1] = start
        return count + 1
    if before:
        gaps[m, 1] = start
    elif after:
        gaps[m, 0] = end
    else:
        _move_rows(gaps, m + 1, count, m)
        return count - 1
    return count


@numba.njit(cache=True)
def _serve(first: int, line: np.ndarray, arrival: np.ndarray, service: np.ndarray,
           patience: np.ndarray, free: np.ndarray, until: np.ndarray, gaps: np.ndarray,
           gap_count: np.ndarray, latest: np.ndarray, start: np.ndarray,
           abandoned: np.ndarray) -> int:  # pragma: no cover - compiled
    """First come, first served over ``arrival`` (minutes since day 0, sorted) from contact
    ``first`` on, each contact in its ``line``: fills ``start`` and ``abandoned``, advances the
    servers' ``free`` times and keeps each server's idle gaps before its free time
    (``gaps[q, k, :gap_count[q, k]]``: start, end). Returns the contact it stopped at: the
    end, unless a server had no room for another gap.

    Each line keeps its servers in a binary heap by the earliest time each could start a
    contact. A server found off duty at that time is moved to its next time on duty and the
    heap looked at again, so the root is the server that can start soonest: a contact costs
    O(log servers), and a line of thousands of agents costs little more than a line of seven.

    A contact that arrives before the ``latest`` arrival a line has already served (it comes
    from a later batch of the same day) cannot be first come, first served: it takes the
    earliest gap that fits it on any server (first fit; looked for up to its patience, and at
    most a day ahead, else after everything a server has), so those served before it keep
    their places.
    """
    lines, count = free.shape
    key = np.empty((lines, count))
    server = np.empty((lines, count), dtype=np.int64)
    size = np.zeros(lines, dtype=np.int64)
    arriving = np.zeros(lines, dtype=np.bool_)
    for i in range(first, line.shape[0]):
        arriving[line[i]] = True
    for q in range(lines):  # the servers ever on duty, in a heap by free time
        if not arriving[q]:
            continue
        for k in range(count):
            if until[q, k, 0] < np.inf:
                server[q, size[q]], key[q, size[q]] = k, free[q, k]
                size[q] += 1
        for j in range(size[q] // 2 - 1, -1, -1):  # heapify, bottom up
            _sift_down(key[q], server[q], size[q], j)
    room = gaps.shape[2]
    for i in range(first, arrival.shape[0]):
        q, a = line[i], arrival[i]
        t, k, m = np.inf, -1, -1
        if a >= latest[q]:
            latest[q] = a
            while size[q] > 0:
                k = server[q, 0]
                t = key[q, 0] if key[q, 0] > a else a
                on_duty = _on_duty(until[q, k], t)
                if on_duty == t:
                    break
                key[q, 0] = on_duty  # off duty at t: next on duty then
                _sift_down(key[q], server[q], size[q])
        else:
            window = a + min(patience[i], MINUTES_PER_DAY)
            for j in range(count):  # by server number: the first that can start at a wins
                if until[q, j, 0] == np.inf:
                    continue  # never on duty
                s, g = _earliest_fit(a, service[i], window, gaps[q, j], gap_count[q, j],
                                     free[q, j], until[q, j])
                if s < t:
                    t, k, m = s, j, g
                    if t == a:
                        break
        if k < 0 or t - a > patience[i]:
            abandoned[i] = True
            start[i] = a + patience[i]
            continue
        if gap_count[q, k] == room:
            return i  # no room for another gap: more, and carry on from here
        abandoned[i] = False
        start[i] = t
        end = t + service[i]
        if m >= 0:
            gap_count[q, k] = _occupy(gaps[q, k], gap_count[q, k], m, t, end)
            continue
        if t > free[q, k]:  # idle until t
            gaps[q, k, gap_count[q, k]] = free[q, k], t
            gap_count[q, k] += 1
        free[q, k] = end
        for j in range(size[q]):  # the server's place in the heap (the root, but for gaps)
            if server[q, j] == k:
                if end > key[q, j]:
                    key[q, j] = end
                    _sift_down(key[q], server[q], size[q], j)
                break
    return arrival.shape[0]


@numba.njit(cache=True)
def _serve_in_order(first: int, line: np.ndarray, arrival: np.ndarray, service: np.ndarray,
                    patience: np.ndarray, free: np.ndarray, until: np.ndarray,
                    gaps: np.ndarray, gap_count: np.ndarray, latest: np.ndarray,
                    start: np.ndarray, abandoned: np.ndarray) -> int:  # pragma: no cover
    """:func:`_serve` on contacts given in any order: copied in arrival order (ties, equal
    minutes, are as good as impossible), and the results put back. Returns the contact (in
    arrival order) it stopped at."""
    order = np.argsort(arrival)
    ordered_start = np.empty(order.shape[0])
    ordered_abandoned = np.empty(order.shape[0], dtype=np.bool_)
    done = _serve(first, line[order], arrival[order], service[order], patience[order], free,
                  until, gaps, gap_count, latest, ordered_start, ordered_abandoned)
    for j in range(first, done):
        start[order[j]] = ordered_start[j]
        abandoned[order[j]] = ordered_abandoned[j]
    return done


@numba.njit(cache=True)
def _forget(gaps: np.ndarray, gap_count: np.ndarray,
            since: float) -> None:  # pragma: no cover - compiled
    """Drop the gaps that end by ``since``, keeping the others in order."""
    for q in range(gaps.shape[0]):
        for k in range(gaps.shape[1]):
            n = gap_count[q, k]
            gone = 0
            while gone < n and gaps[q, k, gone, 1] <= since:
                gone += 1
            if gone:
                _move_rows(gaps[q, k], gone, n, 0)
                gap_count[q, k] = n - gone


@numba.njit(cache=True)
def _room_wanted(line: np.ndarray, staffed: np.ndarray,
                 gap_count: np.ndarray) -> int:  # pragma: no cover - compiled
    """Gaps per server to make room for before serving contacts in ``line``: a contact adds at
    most one gap, so the most any server has plus twice a server's share of the busiest line,
    as a rule (a pass that still runs out stops and is carried on: see :func:`_serve`)."""
    arrivals = np.zeros(staffed.shape[0])
    for q in line:
        arrivals[q] += 1
    share = 0.0
    for q in range(staffed.shape[0]):
        share = max(share, arrivals[q] / staffed[q])
    most = 0
    for count in gap_count.ravel():
        most = max(most, count)
    return int(most + 2 * share) + 1


@dataclass
class Served:
    """What became of a batch of contacts, in the order given."""

    start: np.ndarray  # minute service started (since day 0); for abandons, when they gave up
    wait: np.ndarray  # minutes waited (to service, or to giving up)
    abandoned: np.ndarray  # bool


class ServiceLines:
    """The waiting lines of several service touchpoints, served in one compiled pass.

    Args:
        servers: for each line, servers on duty by hour of the week (see
            :func:`weekly_servers`).
        earlier: the lines of an earlier set-up (a strategy's start) to carry over: who is
            busy until when, and the gaps between; servers added now are free now.
    """

    def __init__(self, servers: list[np.ndarray], earlier: ServiceLines | None = None) -> None:
        self.servers = servers
        self.until = _minutes_until_on_duty(servers)
        self.weekday_hours = np.array([servers.reshape(7, 24).sum(axis=1) for servers in servers],
                                      dtype=float).reshape(len(servers), 7)
        self.free = np.zeros(self.until.shape[:2])
        self.staffed = np.maximum((self.until[:, :, 0] < np.inf).sum(axis=1), 1)  # per line
        self.gaps = np.zeros((*self.free.shape, 8, 2))  # per line and server: start, end
        self.gap_count = np.zeros(self.free.shape, dtype=np.int64)
        self.latest = np.full(len(servers), -np.inf)  # latest arrival served, per line
        self.forgotten_before = -np.inf  # gaps ending before this are gone
        if earlier is not None:
            lines, k = (min(a, b) for a, b in zip(earlier.free.shape, self.free.shape,
                                                    strict=True))
            self.free[:lines, :k] = earlier.free[:lines, :k]
            self.gaps = np.zeros((*self.free.shape, *earlier.gaps.shape[2:]))
            self.gaps[:lines, :k] = earlier.gaps[:lines, :k]
            self.gap_count[:lines, :k] = earlier.gap_count[:lines, :k]
            self.latest[:lines] = earlier.latest[:lines]
            self.forgotten_before = earlier.forgotten_before

    def serve(self, line: np.ndarray, arrival: np.ndarray, service: np.ndarray,
              patience: np.ndarray, since: float = -np.inf) -> Served:
        """Queue contacts arriving in ``line`` at minutes ``arrival`` (since day 0, any order)
        with their service times and patiences (minutes). Later calls should bring later
        arrivals; one that does not is fitted into the gaps (see :func:`_serve`). ``since``:
        no later call brings an arrival before this minute (gaps that end before it are
        forgotten)."""
        if since > self.forgotten_before:
            self.forgotten_before = since
            _forget(self.gaps, self.gap_count, since)
        start = np.empty(len(arrival))
        abandoned = np.empty(len(arrival), dtype=np.bool_)
        self._make_room(_room_wanted(line, self.staffed, self.gap_count))
        done = 0
        while done < len(arrival):
            done = _serve_in_order(done, line, arrival, service, patience, self.free,
                                   self.until, self.gaps, self.gap_count, self.latest, start,
                                   abandoned)
            if done < len(arrival):  # a server ran out of room for gaps after all
                self._make_room(2 * self.gaps.shape[2])
        return Served(start=start, wait=start - arrival, abandoned=abandoned)

    def _make_room(self, gaps: int) -> None:
        """Room for at least ``gaps`` gaps per server."""
        if gaps > self.gaps.shape[2]:
            grown = np.zeros((*self.gaps.shape[:2], max(gaps, 2 * self.gaps.shape[2]), 2))
            grown[:, :, :self.gaps.shape[2]] = self.gaps
            self.gaps = grown

    def server_hours(self, day: int) -> np.ndarray:
        """Server-hours on duty during ``day``, per line (for staff cost and utilisation)."""
        return self.weekday_hours[:, day % 7]


class ServiceQueue(ServiceLines):
    """One service touchpoint's servers and waiting line (a :class:`ServiceLines` of one)."""

    def __init__(self, servers: np.ndarray) -> None:
        super().__init__([servers])

    def serve(self, arrival: np.ndarray, service: np.ndarray,  # type: ignore[override]
              patience: np.ndarray) -> Served:
        return super().serve(np.zeros(len(arrival), dtype=np.int64), arrival, service,
                             patience)


# ---------------------------------------------------------------------------------------------
# closed forms, for validation


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """M/M/c (Erlang C): the probability that a contact waits and the mean wait, in the time
    unit of the rates. Needs arrival_rate < servers · service_rate.

    With load a = λ/μ, Erlang B by its recursion B_0 = 1, B_k = a·B_{k−1} / (k + a·B_{k−1})
    (stable for thousands of servers), then C = c·B_c / (c − a·(1 − B_c)) and
    W_q = C / (c·μ − λ)."""
    load = arrival_rate / service_rate
    if load >= servers:
        raise ValueError(f"unstable queue: load {load:g} ≥ {servers} servers")
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    p_wait = servers * blocking / (servers - load * (1.0 - blocking))
    return p_wait, p_wait / (servers * service_rate - arrival_rate)


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of the M/M/c+M queue (exponential patience)."""

    p_wait: float  # a contact finds all servers busy
    p_abandon: float  # a contact gives up before service
    mean_wait: float  # over all contacts, served or not


def erlang_a(arrival_rate: float, service_rate: float, servers: int, abandon_rate: float
             ) -> ErlangA:
    """M/M/c+M (Erlang A): the queue as a birth–death chain on the number of contacts present,
    born at rate λ, dying at min(n, c)·μ + max(n − c, 0)·θ, solved to machine precision.

    By PASTA a contact sees the stationary distribution π: P(wait) = Σ_{n≥c} π_n; abandonment
    P(ab) = θ·E[(N − c)⁺] / λ; mean wait E[W] = E[(N − c)⁺] / λ (Little's law on the line).
    """
    if abandon_rate <= 0:
        p_wait, mean_wait = erlang_c(arrival_rate, service_rate, servers)
        return ErlangA(p_wait=p_wait, p_abandon=0.0, mean_wait=mean_wait)
    log_pi = [0.0]
    n = 0
    while True:  # until the terms are negligible (death rate grows linearly beyond c)
        n += 1
        death = min(n, servers) * service_rate + max(n - servers, 0) * abandon_rate
        log_pi.append(log_pi[-1] + math.log(arrival_rate / death))
        if n > servers and log_pi[-1] < max(log_pi) - 50:
            break
    pi = np.exp(np.array(log_pi) - max(log_pi))
    pi /= pi.sum()
    queued = np.maximum(np.arange(len(pi)) - servers, 0)
    line = float((pi * queued).sum())
    return ErlangA(p_wait=float(pi[servers:].sum()), p_abandon=abandon_rate * line / arrival_rate,
                   mean_wait=line / arrival_rate)

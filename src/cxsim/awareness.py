"""Awareness: prospects hear of the brand through promotion and through word of mouth.

A prospect becomes aware (and starts a first journey) at the hazard rate

    λ(t) = r + q · F(t),   r = −ln(1 − p),

with p the daily chance through promotion (``population.awareness_per_day``), q the imitation
rate (``word_of_mouth.imitation_per_day``) and F(t) the share of the population that are
customers. On a fully mixed population this is the Bass (1969) diffusion model, whose adoption
curve F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t}) the validation tests compare with.

Each prospect draws once an exponential threshold Eᵢ = −ln uᵢ (from its slot of the keyed
streams) and becomes aware when the cumulative hazard H(t) = ∫λ passes it: that is exactly a
daily coin with the day's probability 1 − e^{−ΔH}. Because λ is the same for every prospect of a
fully mixed population, keeping the thresholds sorted makes a day cost what its new customers
are, not the population. With word of mouth, F changes within a day, so the day is integrated in
``STEPS_PER_DAY`` steps of Heun's method. The thresholds are the same in every strategy of a
replicate, so a strategy that raises p or q makes nobody aware later (common random numbers).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cxsim.network import SocialNetwork

STEPS_PER_DAY = 12
"""Steps of the within-day integration of the hazard when word of mouth spreads awareness."""


class Awareness:
    """The prospects' thresholds and the cumulative hazard of a fully mixed population."""

    def __init__(self, thresholds: np.ndarray, prospects: np.ndarray) -> None:
        self.who = prospects[_stable_order(thresholds[prospects])]  # by rising threshold
        self.thresholds = thresholds[self.who]
        self.converted = np.zeros(len(thresholds), dtype=bool)  # made aware otherwise
        self.passed = 0  # how many thresholds the hazard has passed
        self.hazard = 0.0  # cumulative hazard H

    def day(self, promotion: float, imitation: float, customers: int, population: int
            ) -> np.ndarray:
        """Prospects who become aware today (in row order), given today's promotion chance,
        imitation rate and the number of customers (the adopters) at the start of the day."""
        rate = -math.log1p(-promotion) if promotion < 1 else math.inf
        start = self.passed
        self.hazard, self.passed = _integrate(self.thresholds, self.hazard, self.passed, rate,
                                              imitation, customers, population,
                                              STEPS_PER_DAY if imitation > 0 else 1)
        aware = np.sort(self.who[start:self.passed])
        return aware[~self.converted[aware]]

    def convert(self, aware: np.ndarray, day: int) -> None:
        """Prospects ``aware`` were made aware otherwise (told by a customer), from ``day``."""
        self.converted[aware] = True



@numba.njit(cache=True)
def _integrate(thresholds: np.ndarray, hazard: float, passed: int, rate: float,
               imitation: float, customers: int, population: int,
               steps: int) -> tuple[float, int]:  # pragma: no cover - compiled
    """One day of H' = λ = r + q·F by Heun's method in ``steps`` steps (the rate at both ends
    of a step, averaged), F counting the ``customers`` at the start of the day and the
    prospects who passed their (sorted) ``thresholds`` since. Returns H and how many passed."""
    start = passed
    for _ in range(steps):
        now = rate + imitation * (customers + passed - start) / population
        ahead = np.searchsorted(thresholds, hazard + now / steps, side="right")
        later = rate + imitation * (customers + ahead - start) / population
        hazard += (now + later) / 2 / steps
        passed = np.searchsorted(thresholds, hazard, side="right")
    return hazard, passed


def _stable_order(values: np.ndarray) -> np.ndarray:
    """The indices that sort ``values``, equal values in index order (a stable sort). numpy's
    default sort is several times faster than its stable one, and gives the same order where no
    two values are equal, as nearly always here (they come from 53-bit uniform draws)."""
    order = np.argsort(values)
    ordered = values[order]
    if (ordered[1:] == ordered[:-1]).any():
        order = np.argsort(values, kind="stable")
    return order


def thresholds(u: np.ndarray) -> np.ndarray:
    """Exponential thresholds Eᵢ = −ln uᵢ from uniform draws."""
    return -np.log(u)


class Calendar:
    """Who is due on which day: reading a day costs what is due, not the population. Entries go
    stale when someone is rescheduled; the reader checks against the latest day."""

    def __init__(self) -> None:
        self._days: dict[int, list[np.ndarray]] = {}

    def add(self, who: np.ndarray, days: np.ndarray) -> None:
        keep = np.isfinite(days)
        who, days = who[keep], days[keep].astype(np.int64)
        if not len(who):
            return
        order = np.argsort(days, kind="stable")
        who, days = who[order], days[order]
        starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
        for day, group in zip(days[starts], np.split(who, starts[1:]), strict=True):
            self._days.setdefault(int(day), []).append(group)

    def pop(self, day: int) -> np.ndarray:
        found = self._days.pop(day, [])
        return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


class NetworkAwareness:
    """Awareness on a social network: prospect i's hazard is r + β·cᵢ, where cᵢ counts its
    contacts who are customers, each weighted by its tie (strong or weak), and
    β = −ln(1 − contact chance). cᵢ changes only when a contact becomes a customer, so each
    prospect's day of awareness is worked out once and again only when cᵢ changes: a day costs
    the new customers' contacts, not the population.
    """

    def __init__(self, network: SocialNetwork, thresholds: np.ndarray, prospect: np.ndarray
                 ) -> None:
        n = network.size
        self.network = network
        self.threshold = np.where(prospect, thresholds, np.inf)
        self.prospect = prospect.copy()
        self.hazard = np.zeros(n)  # cumulative hazard at the start of day `since`
        self.since = np.zeros(n, dtype=np.int64)
        self.told = np.zeros(n)  # weighted count of customer contacts (cᵢ)
        self.due = np.full(n, np.inf)  # day of awareness as now foreseen
        self.calendar = Calendar()
        self.rates = (math.nan, math.nan, math.nan, math.nan)
        self._customers = np.flatnonzero(~prospect)

    def _rate(self, who: np.ndarray) -> np.ndarray:
        promotion, beta, *_ = self.rates
        return promotion + beta * self.told[who]

    def _foresee(self, who: np.ndarray) -> None:
        rate = self._rate(who)
        with np.errstate(divide="ignore", invalid="ignore"):
            wait = np.where(rate > 0, (self.threshold[who] - self.hazard[who]) / rate, np.inf)
        self.due[who] = self.since[who] + np.floor(np.maximum(wait, 0))
        self.calendar.add(who, self.due[who])

    def _advance(self, who: np.ndarray, day: int) -> None:
        """Bring the cumulative hazard of ``who`` to the start of ``day``."""
        self.hazard[who] += self._rate(who) * (day - self.since[who])
        self.since[who] = day

    def day(self, today: int, promotion: float, contact: float, strong_weight: float,
            weak_weight: float) -> np.ndarray:
        """Prospects who become aware today (in row order)."""
        rates = (-math.log1p(-promotion) if promotion < 1 else math.inf,
                 -math.log1p(-contact) if contact < 1 else math.inf, strong_weight, weak_weight)
        if rates[2:] != self.rates[2:] and not math.isnan(self.rates[0]):
            raise ValueError("tie weights cannot change during a run")
        if rates != self.rates:  # the first day, or a strategy changed them: foresee anew
            everyone = np.flatnonzero(self.prospect)
            if not math.isnan(self.rates[0]):
                self._advance(everyone, today)
            else:
                self.rates = rates
                self._tell(self._customers, today)
            self.rates = rates
            self._foresee(everyone)
        noted = self.calendar.pop(today)
        aware = np.unique(noted[self.prospect[noted] & (self.due[noted] == today)])
        self.prospect[aware] = False
        self._tell(aware, today + 1)
        return aware

    def convert(self, aware: np.ndarray, day: int) -> None:
        """Prospects ``aware`` were made aware otherwise (told by a customer): they count as
        customers for their prospect contacts from ``day`` on."""
        aware = aware[self.prospect[aware]]
        self.prospect[aware] = False
        self._tell(aware, day)

    def forget(self, lost: np.ndarray, day: int) -> None:
        """People who turned out not to be customers (``lost`` prospects) no longer count for
        their prospect contacts from ``day`` on."""
        self._tell(lost, day, sign=-1.0)

    def _tell(self, customers: np.ndarray, day: int, sign: float = 1.0) -> None:
        """New ``customers`` count for their prospect contacts from ``day`` on (with
        ``sign`` −1: no longer count)."""
        if not len(customers):
            return
        _, contact, strong = self.network.contacts(customers)  # strong: the tie to the contact
        listening = self.prospect[contact]
        contact, strong = contact[listening], strong[listening]
        if not len(contact):
            return
        weight = sign * np.where(strong, self.rates[2], self.rates[3])
        heard = np.unique(contact)
        if day > 0:
            self._advance(heard, day)
        else:
            self.since[heard] = 0
        self.told += np.bincount(contact, weights=weight, minlength=self.network.size)
        if day > 0:
            self._foresee(heard)

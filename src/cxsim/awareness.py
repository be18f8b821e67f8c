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

import numpy as np

STEPS_PER_DAY = 48
"""Steps of the within-day integration of the hazard when word of mouth spreads awareness."""


class Awareness:
    """The prospects' thresholds and the cumulative hazard of a fully mixed population."""

    def __init__(self, thresholds: np.ndarray, prospects: np.ndarray) -> None:
        order = np.argsort(thresholds[prospects], kind="stable")
        self.who = prospects[order]  # prospects by rising threshold
        self.thresholds = thresholds[self.who]
        self.passed = 0  # how many thresholds the hazard has passed
        self.hazard = 0.0  # cumulative hazard H

    def day(self, promotion: float, imitation: float, customers: int, population: int
            ) -> np.ndarray:
        """Prospects who become aware today (in row order), given today's promotion chance,
        imitation rate and the number of customers (the adopters) at the start of the day."""
        rate = -math.log1p(-promotion) if promotion < 1 else math.inf
        steps = STEPS_PER_DAY if imitation > 0 else 1
        start = self.passed

        def hazard_rate(passed: int) -> float:
            return rate + imitation * (customers + passed - start) / population

        for _ in range(steps):  # Heun's method: the rate at both ends of the step, averaged
            now = hazard_rate(self.passed)
            ahead = self._passed_at(self.hazard + now / steps)
            self.hazard += (now + hazard_rate(ahead)) / 2 / steps
            self.passed = self._passed_at(self.hazard)
        return np.sort(self.who[start:self.passed])

    def _passed_at(self, hazard: float) -> int:
        return int(np.searchsorted(self.thresholds, hazard, side="right"))


def thresholds(u: np.ndarray) -> np.ndarray:
    """Exponential thresholds Eᵢ = −ln uᵢ from uniform draws."""
    return -np.log(u)

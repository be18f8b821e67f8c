"""A researcher's own rule, kept outside cxsim (the worked example of docs/rules.md).

Select it from a scenario with ``rule: my_rules:EndWeightedMemory`` once this folder is on the
Python path (``PYTHONPATH=examples``).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from cxsim.rules import JourneyMemory, RuleParams


class EndWeightedMemory(JourneyMemory):
    """A journey is remembered by its average moment, pulled towards how it ended.

    evaluation = (1 − w)·mean(felt) + w·felt_end, with w = ``end_weight``.

    With w = 0 this is the mean rule; with w = 1 only the end counts (a pure recency effect,
    cf. Ariely & Carmon 2000 on the weight of the final moments of an experience).
    """

    class Params(RuleParams):
        end_weight: float = Field(default=0.5, ge=0, le=1)

    state: ClassVar[dict[str, float]] = {"total": 0.0, "count": 0.0, "end": 0.0}

    def remember(self, memory: dict[str, np.ndarray], who: np.ndarray, felt: np.ndarray) -> None:
        memory["total"][who] += felt
        memory["count"][who] += 1
        memory["end"][who] = felt

    def recall(self, memory: dict[str, np.ndarray], who: np.ndarray) -> np.ndarray:
        w = self.params.end_weight
        mean = memory["total"][who] / np.maximum(memory["count"][who], 1)
        return (1 - w) * mean + w * memory["end"][who]

"""Agent rules: small, replaceable objects with one vectorised method each.

A rule belongs to one *kind* — the slot of the model where it runs:

* ``disconfirmation`` (``perception.disconfirmation``): felt value of a moment from quality and
  expectation;
* ``memory`` (``perception.memory``): a journey's evaluation from its moments;
* ``attitude`` (``perception.attitude``): attitude and expectation after a journey;
* ``loyalty`` (``loyalty``): likelihood to recommend (0–10) and the chance to come back.

Every method works on numpy arrays over a batch of customers (never one customer at a time).
A scenario picks a rule by its registered name (``rule: peak_end``) or by import path
(``rule: mypackage.rules:MyRule``), with its parameters beside it; the rule's ``Params`` model
validates them. To write a rule, subclass the kind's base class, give it a ``Params`` model and
the method, and put its equation and source in its docstring (see ``docs/rules.md``).
"""

from __future__ import annotations

import importlib
import math
from multiprocessing import parent_process
from typing import Any, ClassVar

import numba
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxsim.problems import Problem, from_validation_error

FloatArray = np.ndarray


class RuleParams(BaseModel):
    """Parameters of a rule; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Rule:
    """Base of all rules. ``kind`` names the slot; ``Params`` validates the parameters;
    ``methods`` are the kind's methods."""

    kind: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[RuleParams]] = RuleParams
    compiled: ClassVar[int] = 0
    """A built-in rule's number in its kind's compiled form (the end of this module); 0 for a
    rule that runs only as its numpy methods."""

    def __init__(self, params: RuleParams | None = None, **values: Any) -> None:
        self.params = params if params is not None else self.Params(**values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    def call(self, method: str, *arrays: Any, size: int | None = None,
             within: tuple[float, float] = (-math.inf, math.inf), whole: bool = False) -> Any:
        """``method`` of this rule on ``arrays`` (numpy arrays seen read-only, so that a rule
        cannot change the model's; a dict of arrays, a journey memory's state, stays
        writable), checked: what it returns (each array of a tuple) must be ``size`` finite
        numbers ``within`` the bounds, ``whole`` numbers if asked. Raises :class:`RuleError`
        naming the rule and the method when it raises or returns anything else. For a rule
        that runs as numpy (a researcher's); a built-in rule runs compiled."""
        name, slot = f"{type(self).__module__}:{type(self).__qualname__}.{method}", (self.slot,)
        try:
            result = getattr(self, method)(*(_read_only(a) for a in arrays))
        except RuleError:
            raise
        except Exception as error:
            raise RuleError([Problem(slot, f"{name} raised {type(error).__name__}: "
                             f"{error}")]) from error
        if size is not None:
            for part in result if isinstance(result, tuple) else (result,):
                wrong = _wrong_output(part, size, within, whole)
                if wrong:
                    raise RuleError([Problem(slot, f"{name} returned {wrong}")])
        return result

    @property
    def slot(self) -> str:
        """The scenario's field that chooses a rule of this kind."""
        return ".".join(SLOTS[self.kind])

    def compiled_form(self) -> tuple[int, np.ndarray]:
        """The rule's number in its kind's compiled form and its parameters (in the order of
        its ``Params`` fields), for the model's compiled passes; number 0 when it has none,
        as for a subclass of a built-in rule that overrides one of its methods."""
        owner = next(cls for cls in type(self).__mro__ if "compiled" in vars(cls))
        if not owner.compiled or any(getattr(type(self), name) is not getattr(owner, name)
                                     for name in (*self.methods, "state")
                                     if hasattr(owner, name)):
            return 0, np.empty(0)
        return owner.compiled, np.array([float(getattr(self.params, name))
                                         for name in owner.Params.model_fields])


SLOTS: dict[str, tuple[str, ...]] = {
    "disconfirmation": ("perception", "disconfirmation"), "memory": ("perception", "memory"),
    "attitude": ("perception", "attitude"), "loyalty": ("loyalty",),
}
"""Each kind of rule and the path of the scenario's field that chooses it."""


def _read_only(value: Any) -> Any:
    if not isinstance(value, np.ndarray):
        return value
    view = value.view()
    view.flags.writeable = False
    return view


def _wrong_output(values: Any, size: int, within: tuple[float, float], whole: bool) -> str:
    """What is wrong with a rule's output ``values`` for a batch of ``size``; empty if none."""
    values = np.asarray(values)
    if values.shape != (size,):
        return f"an array of shape {values.shape} for {size} customers (one number each)"
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype,
                                                                     np.complexfloating):
        return f"values of type {values.dtype}, not numbers"
    bad = ~np.isfinite(values) | (values < within[0]) | (values > within[1])
    if whole:
        bad |= values != np.round(values)
    if not bad.any():
        return ""
    expected = ("whole" if whole else "finite") + " numbers" + (
        f" within [{within[0]:g}, {within[1]:g}]" if np.isfinite(within).any() else "")
    return (f"{values[bad][0].item()!r} for {int(bad.sum())} of {size} customers, where "
            f"{expected} are expected")


# --------------------------------------------------------------------------------------------
# kinds


class Disconfirmation(Rule):
    """Felt value of a moment of truth: ``felt_value(quality, expectation) -> felt``."""

    kind = "disconfirmation"
    methods = ("felt_value",)

    def felt_value(self, quality: FloatArray, expectation: FloatArray) -> FloatArray:
        raise NotImplementedError


class JourneyMemory(Rule):
    """How a journey is remembered.

    ``state`` names the per-customer arrays the rule keeps during a journey and their value at the
    start of each journey; ``remember`` folds one moment's felt value into them (in place) and
    ``recall`` turns them into the journey's evaluation.
    """

    kind = "memory"
    methods = ("remember", "recall")
    state: ClassVar[dict[str, float]] = {}

    def remember(self, memory: dict[str, FloatArray], who: np.ndarray, felt: FloatArray) -> None:
        raise NotImplementedError

    def recall(self, memory: dict[str, FloatArray], who: np.ndarray) -> FloatArray:
        raise NotImplementedError


class AttitudeUpdate(Rule):
    """After a journey: ``update(attitude, expectation, evaluation, mean_quality)`` returns the
    new attitude and the new expectation."""

    kind = "attitude"
    methods = ("update",)

    def update(
        self,
        attitude: FloatArray,
        expectation: FloatArray,
        evaluation: FloatArray,
        mean_quality: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError


class Loyalty(Rule):
    """After a journey: ``recommend(attitude, noise)`` gives the 0–10 likelihood to recommend
    (``noise`` is a standard normal draw per customer) and ``return_probability(attitude)`` the
    chance to come back for another journey."""

    kind = "loyalty"
    methods = ("recommend", "return_probability")

    def recommend(self, attitude: FloatArray, noise: FloatArray) -> np.ndarray:
        raise NotImplementedError

    def return_probability(self, attitude: FloatArray) -> FloatArray:
        raise NotImplementedError


KINDS: dict[str, type[Rule]] = {
    base.kind: base for base in (Disconfirmation, JourneyMemory, AttitudeUpdate, Loyalty)
}
REGISTRY: dict[str, dict[str, type[Rule]]] = {kind: {} for kind in KINDS}


def register[R: type[Rule]](name: str) -> Any:
    """Class decorator: make a rule selectable from a scenario file by ``name``."""

    def add(cls: R) -> R:
        taken = REGISTRY[cls.kind].get(name)
        same = taken is not None and (taken.__module__, taken.__qualname__) == (
            cls.__module__, cls.__qualname__)  # a module imported again
        if taken is not None and not same:
            raise ValueError(f"the {cls.kind} rule name {name!r} is taken by {taken.__module__}."
                             f"{taken.__qualname__}; register {cls.__qualname__} by another name")
        REGISTRY[cls.kind][name] = cls
        return cls

    return add


# --------------------------------------------------------------------------------------------
# built-in rules

# their numbers in their kinds' compiled forms (the end of this module)
ASYMMETRIC, LINEAR = 1, 2
PEAK_END, MEAN, RECENCY = 1, 2, 3
EXPONENTIAL = 1
LOGISTIC = 1


@register("asymmetric")
class AsymmetricDisconfirmation(Disconfirmation):
    """Expectation disconfirmation with loss aversion.

    d = quality − expectation (Oliver 1980);
    felt = d if d ≥ 0, else λ·d with λ = ``loss_aversion`` (≥ 0; above 1, falling short hurts
    more than exceeding helps: Anderson & Sullivan 1993; Kahneman & Tversky 1979 estimate λ ≈ 2).
    """

    compiled = ASYMMETRIC

    class Params(RuleParams):
        loss_aversion: float = Field(default=2.0, ge=0)

    def felt_value(self, quality: FloatArray, expectation: FloatArray) -> FloatArray:
        d = quality - expectation
        return d + (self.params.loss_aversion - 1) * np.minimum(d, 0)


@register("linear")
class LinearDisconfirmation(Disconfirmation):
    """Symmetric disconfirmation: felt = quality − expectation (Oliver 1980)."""

    compiled = LINEAR

    def felt_value(self, quality: FloatArray, expectation: FloatArray) -> FloatArray:
        return quality - expectation


@register("peak_end")
class PeakEnd(JourneyMemory):
    """Peak–end rule (Kahneman, Fredrickson, Schreiber & Redelmeier 1993).

    evaluation = w·peak + (1 − w)·end, where *peak* is the felt value of the most intense moment
    (largest |felt|) and *end* the last one; w = ``peak_weight``. Duration is neglected.
    """

    compiled = PEAK_END

    class Params(RuleParams):
        peak_weight: float = Field(default=0.5, ge=0, le=1)

    state: ClassVar[dict[str, float]] = {"peak": 0.0, "end": 0.0}

    def remember(self, memory: dict[str, FloatArray], who: np.ndarray, felt: FloatArray) -> None:
        peak = memory["peak"][who]
        memory["peak"][who] = np.where(np.abs(felt) > np.abs(peak), felt, peak)
        memory["end"][who] = felt

    def recall(self, memory: dict[str, FloatArray], who: np.ndarray) -> FloatArray:
        w = self.params.peak_weight
        return w * memory["peak"][who] + (1 - w) * memory["end"][who]


@register("mean")
class MeanMemory(JourneyMemory):
    """Every moment counts equally: evaluation = mean of the felt values."""

    compiled = MEAN

    state: ClassVar[dict[str, float]] = {"total": 0.0, "count": 0.0}

    def remember(self, memory: dict[str, FloatArray], who: np.ndarray, felt: FloatArray) -> None:
        memory["total"][who] += felt
        memory["count"][who] += 1

    def recall(self, memory: dict[str, FloatArray], who: np.ndarray) -> FloatArray:
        return memory["total"][who] / np.maximum(memory["count"][who], 1)


@register("recency")
class RecencyWeightedMemory(JourneyMemory):
    """Recent moments weigh more: m ← (1 − w)·m + w·felt, starting from the first moment
    (an exponentially weighted mean; recency effects, Ariely & Carmon 2000)."""

    compiled = RECENCY

    class Params(RuleParams):
        recency_weight: float = Field(default=0.5, gt=0, le=1)

    state: ClassVar[dict[str, float]] = {"value": 0.0, "count": 0.0}

    def remember(self, memory: dict[str, FloatArray], who: np.ndarray, felt: FloatArray) -> None:
        w = np.where(memory["count"][who] == 0, 1.0, self.params.recency_weight)
        memory["value"][who] += w * (felt - memory["value"][who])
        memory["count"][who] += 1

    def recall(self, memory: dict[str, FloatArray], who: np.ndarray) -> FloatArray:
        return memory["value"][who].astype(np.float64)


@register("exponential")
class ExponentialAttitude(AttitudeUpdate):
    """Attitude and expectation as exponentially weighted memories of experience.

    attitude ← attitude + α·(evaluation − attitude)          (α = ``attitude_rate``)
    expectation ← expectation + β·(mean quality − expectation)  (β = ``expectation_rate``)

    Satisfaction feeds attitude, which carries over to the next journey (Oliver 1980); expectations
    adapt to the level of experienced quality, so good service raises the bar (adaptation-level
    theory, Helson 1964; Boulding et al. 1993).
    """

    compiled = EXPONENTIAL

    class Params(RuleParams):
        attitude_rate: float = Field(default=0.4, ge=0, le=1)
        expectation_rate: float = Field(default=0.2, ge=0, le=1)

    def update(
        self,
        attitude: FloatArray,
        expectation: FloatArray,
        evaluation: FloatArray,
        mean_quality: FloatArray,
    ) -> tuple[FloatArray, FloatArray]:
        p = self.params
        return (
            attitude + p.attitude_rate * (evaluation - attitude),
            expectation + p.expectation_rate * (mean_quality - expectation),
        )


@register("logistic")
class LogisticLoyalty(Loyalty):
    """Attitude drives recommendation and return.

    recommend = clip(round(a + b·attitude + σ·z), 0, 10), z ~ N(0, 1)
    P(return) = logistic(logit(r₀) + c·attitude)

    with a = ``recommend_intercept``, b = ``recommend_slope``, σ = ``recommend_noise``,
    r₀ = ``base_return`` (the chance to return at a neutral attitude) and c = ``return_slope``.
    The 0–10 scale and its promoter/detractor bands are Reichheld's (2003); the logistic choice
    model is McFadden's (1974). With c = 0 retention is the constant r₀, the setting of the
    closed-form CLV m·r/(1 + d − r) (Gupta & Lehmann 2003).
    """

    compiled = LOGISTIC

    class Params(RuleParams):
        recommend_intercept: float = 8.0
        recommend_slope: float = 1.0
        recommend_noise: float = Field(default=1.5, ge=0)
        base_return: float = Field(default=0.7, gt=0, lt=1)
        return_slope: float = 0.8

    def recommend(self, attitude: FloatArray, noise: FloatArray) -> np.ndarray:
        p = self.params
        score = p.recommend_intercept + p.recommend_slope * attitude + p.recommend_noise * noise
        return np.clip(np.rint(score), 0, 10).astype(np.int8)

    def return_probability(self, attitude: FloatArray) -> FloatArray:
        p = self.params
        logit = np.log(p.base_return / (1 - p.base_return)) + p.return_slope * attitude
        return 1.0 / (1.0 + np.exp(-logit))


# --------------------------------------------------------------------------------------------
# compiled forms of the built-in rules
#
# The model runs a built-in rule in the same compiled pass as the bookkeeping around it (see
# docs/rules.md): the rule's equation as in its numpy method, one customer at a time, chosen by
# the rule's number (a kind with one built-in rule so far takes the number and ignores it).
# tests/test_rules.py checks that each gives the numpy method's numbers.


@numba.njit(cache=True)
def compiled_felt_value(rule: int, params: np.ndarray, quality: float,
                        expectation: float) -> float:  # pragma: no cover - compiled
    """:meth:`Disconfirmation.felt_value` of one moment, by the built-in rule numbered ``rule``."""
    d = quality - expectation
    if rule == ASYMMETRIC:
        return d + (params[0] - 1) * min(d, 0.0)
    if rule == LINEAR:
        return d
    raise ValueError("no compiled disconfirmation rule of that number")


@numba.njit(cache=True)
def compiled_remember(rule: int, params: np.ndarray, first: np.ndarray, second: np.ndarray,
                      who: np.ndarray, felt: np.ndarray, left_out: np.ndarray, tp: np.ndarray,
                      forgotten: np.ndarray) -> None:  # pragma: no cover - compiled
    """:meth:`JourneyMemory.remember` by the built-in rule numbered ``rule``, for customers
    ``who`` but those ``left_out`` (a mask, or empty for none) and those at touchpoints ``tp``
    that are ``forgotten`` (empty ``tp``: none); ``first`` and ``second`` are the rule's
    ``state`` arrays in their order."""
    masked, placed = left_out.shape[0] > 0, tp.shape[0] > 0
    for i in range(who.shape[0]):
        if (masked and left_out[i]) or (placed and forgotten[tp[i]]):
            continue
        w, value = who[i], felt[i]
        if rule == PEAK_END:
            if abs(value) > abs(first[w]):
                first[w] = value
            second[w] = value
        elif rule == MEAN:
            first[w] += value
            second[w] += 1
        elif rule == RECENCY:
            weight = 1.0 if second[w] == 0 else params[0]
            first[w] += weight * (value - first[w])
            second[w] += 1
        else:
            raise ValueError("no compiled journey-memory rule of that number")


@numba.njit(cache=True)
def compiled_recall(rule: int, params: np.ndarray, first: np.ndarray, second: np.ndarray,
                    who: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:meth:`JourneyMemory.recall` by the built-in rule numbered ``rule``."""
    evaluation = np.empty(who.shape[0])
    for i in range(who.shape[0]):
        w = who[i]
        if rule == PEAK_END:
            evaluation[i] = params[0] * first[w] + (1 - params[0]) * second[w]
        elif rule == MEAN:
            evaluation[i] = first[w] / max(second[w], 1.0)
        elif rule == RECENCY:
            evaluation[i] = first[w]
        else:
            raise ValueError("no compiled journey-memory rule of that number")
    return evaluation


@numba.njit(cache=True)
def compiled_update(rule: int, params: np.ndarray, attitude: float, expectation: float,
                    evaluation: float,
                    mean_quality: float) -> tuple[float, float]:  # pragma: no cover - compiled
    """:meth:`AttitudeUpdate.update` of one customer, by the built-in rule numbered ``rule``."""
    return (attitude + params[0] * (evaluation - attitude),
            expectation + params[1] * (mean_quality - expectation))


@numba.njit(cache=True)
def compiled_recommend(rule: int, params: np.ndarray, attitude: float,
                       noise: float) -> int:  # pragma: no cover - compiled
    """:meth:`Loyalty.recommend` of one customer, by the built-in rule numbered ``rule``."""
    score = params[0] + params[1] * attitude + params[2] * noise
    return int(min(max(np.rint(score), 0.0), 10.0))


@numba.njit(cache=True)
def compiled_return_probability(rule: int, params: np.ndarray,
                                attitude: float) -> float:  # pragma: no cover - compiled
    """:meth:`Loyalty.return_probability` of one customer, by the built-in rule numbered
    ``rule``."""
    logit = np.log(params[3] / (1 - params[3])) + params[4] * attitude
    return 1.0 / (1.0 + np.exp(-logit))


# --------------------------------------------------------------------------------------------
# resolving a scenario's choice


class RuleError(Exception):
    """A rule choice that cannot be used, with its problems (paths relative to the rule spec)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.dotted}: {p.message}" for p in problems))
        self.problems = problems

    def __reduce__(self) -> tuple[type[RuleError], tuple[list[Problem]]]:
        return type(self), (self.problems,)  # rebuilt whole when a worker process raises it


def rule_class(kind: str, name: str) -> type[Rule]:
    """The rule class a scenario names: a registered name or ``package.module:Class``."""
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError, ValueError, TypeError) as error:
            raise RuleError([Problem(("rule",), f"cannot import {name!r}: {error}")]) from None
        except Exception as error:  # the module itself fails: say so, not a traceback
            raise RuleError([Problem(("rule",), f"importing {module_name!r} raised "
                                     f"{type(error).__name__}: {error}")]) from None
        if not (isinstance(cls, type) and issubclass(cls, KINDS[kind])):
            raise RuleError(
                [Problem(("rule",), f"{name!r} is not a {KINDS[kind].__name__} rule")]
            )
        missing = [m for m in KINDS[kind].methods if getattr(cls, m) is getattr(KINDS[kind], m)]
        if missing:
            raise RuleError([Problem(("rule",), f"{name!r} does not define "
                                     f"{' and '.join(missing)} (the methods of a "
                                     f"{KINDS[kind].__name__} rule: docs/rules.md)")])
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, RuleParams)):
            raise RuleError([Problem(("rule",), f"{name!r}: its Params must subclass "
                                     "cxsim.rules.RuleParams (a pydantic model)")])
        return cls
    try:
        return REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY[kind]))
        where = ("; a worker process knows only the names registered by the modules it "
                 "imports: name the rule as 'module:Class'") if parent_process() else ""
        raise RuleError([Problem(("rule",), f"unknown {kind} rule {name!r}; known: {known}, "
                                            f"or 'module:Class'{where}")]) from None


def make_rule(kind: str, name: str, params: dict[str, Any]) -> Rule:
    """Build the rule a scenario names, validating its parameters."""
    cls = rule_class(kind, name)
    try:
        return cls(cls.Params.model_validate(params))
    except ValidationError as error:
        raise RuleError(from_validation_error(error, cls.Params, params)) from None

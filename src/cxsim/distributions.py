"""Probability distributions a scenario file can name, for traits and touchpoint quality.

Each distribution turns uniform numbers into draws by its inverse CDF (``ppf``), so that one
customer's slot of a keyed stream (see :mod:`cxsim.streams`) always maps to the same value.
A bare number in a scenario file means a constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numba
import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic_core import core_schema
from scipy.special import ndtr, ndtri

from cxsim.streams import inverse_normal


class _Distribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values at the probabilities ``u`` (the inverse CDF)."""
        raise NotImplementedError


class Constant(_Distribution):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: float

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(u.shape, self.value)


class Normal(_Distribution):
    """Normal with mean ``mean`` and standard deviation ``sd``."""

    dist: Literal["normal"]
    mean_: float = Field(alias="mean")
    sd: float = Field(ge=0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.mean_ + self.sd * ndtri(u)


class TruncatedNormal(_Distribution):
    """Normal with ``mean`` and ``sd`` before truncation, restricted to [``low``, ``high``]."""

    dist: Literal["truncnormal"]
    mean_: float = Field(alias="mean")
    sd: float = Field(gt=0)
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def _bounds_ordered(self) -> TruncatedNormal:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def _standard_bounds(self) -> tuple[float, float]:
        """The bounds in standard units: α = (low − mean)/sd, β = (high − mean)/sd."""
        return (self.low - self.mean_) / self.sd, (self.high - self.mean_) / self.sd

    def inverse_cdf_terms(self) -> tuple[float, float, float, float, float] | None:
        """The inverse CDF as z = sign·Φ⁻¹(near + u·span) kept within the standard bounds
        [α, β], x = mean + sd·z: returns (near, span, sign, α, β). Below: near = Φ(α), span =
        Φ(β) − Φ(α), sign +1. When α > 0, where Φ(α) is close to 1 and would lose digits, it
        is worked in the upper tail: near = Φ(−α), span = Φ(−β) − Φ(−α), sign −1. None where
        the bounds are so far out that their tail underflows (span 0)."""
        a, b = self._standard_bounds()
        upper = a > 0
        near, far = (ndtr(-a), ndtr(-b)) if upper else (ndtr(a), ndtr(b))
        if not abs(far - near) > 1e-300:
            return None
        return float(near), float(far - near), -1.0 if upper else 1.0, a, b

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF (see :meth:`inverse_cdf_terms`); bounds whose tail underflows go to
        scipy's truncnorm."""
        terms = self.inverse_cdf_terms()
        if terms is None:
            from scipy import stats  # rare, and slow to import: only here

            return stats.truncnorm(*self._standard_bounds(), loc=self.mean_, scale=self.sd).ppf(u)
        near, span, sign, a, b = terms
        return self.mean_ + self.sd * np.clip(sign * ndtri(near + u * span), a, b)


class Beta(_Distribution):
    """Beta(``a``, ``b``) rescaled from [0, 1] to [``low``, ``high``]."""

    dist: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Beta:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        from scipy import stats  # slow to import: only where a beta is drawn

        return self.low + (self.high - self.low) * stats.beta.ppf(u, self.a, self.b)


class LogNormal(_Distribution):
    """Log-normal given by the ``mean`` and ``sd`` of the variable itself (not of its log)."""

    dist: Literal["lognormal"]
    mean_: float = Field(alias="mean", gt=0)
    sd: float = Field(ge=0)

    def _log_params(self) -> tuple[float, float]:
        sigma2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        mu, sigma = self._log_params()
        if sigma == 0:  # no spread: the mean itself
            return np.full(u.shape, self.mean_)
        return np.exp(mu + sigma * ndtri(u))


class Uniform(_Distribution):
    """Uniform on [``low``, ``high``]."""

    dist: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Uniform:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * u


class Exponential(_Distribution):
    """Exponential with mean ``mean`` (memoryless: service times and patience of the Erlang
    queues)."""

    dist: Literal["exponential"]
    mean_: float = Field(alias="mean", gt=0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return -self.mean_ * np.log1p(-u)


@dataclass(frozen=True)
class NumberShorthand:
    """Pydantic marker: a bare number in the file stands for ``{key: number, **extra}``.

    Validation expands the number first; the JSON Schema says "a number, or the full form".
    """

    key: str
    extra: tuple[tuple[str, str], ...] = ()

    def expand(self, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {**dict(self.extra), self.key: value}
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_before_validator_function(self.expand, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"anyOf": [{"type": "number"}, handler(schema)]}


Distribution = Annotated[
    Constant | Normal | TruncatedNormal | Beta | LogNormal | Uniform | Exponential,
    Field(discriminator="dist"),
    NumberShorthand("value", (("dist", "constant"),)),
]
"""Any distribution a scenario may name, chosen by its ``dist`` key; a bare number is a constant."""


NORMAL, EXPONENTIAL, UNIFORM = 0, 1, 2
"""The standard forms z of :class:`DistributionTable`: Φ⁻¹ (of u squeezed between two
probabilities, for a truncated normal), −ln(1 − u) (mean 1), u."""

FORM, LOC, SCALE, EXP, NEAR, SPAN, SIGN, LOW, HIGH = COLUMNS = range(9)
"""The columns of :attr:`DistributionTable.parameters`, one row per group: the standard form;
x = loc + scale·z, then exp(x) where EXP is 1; for the normal form z = SIGN·Φ⁻¹(NEAR + u·SPAN)
kept within [LOW, HIGH] (0, 1, 1, ±∞ for a normal without bounds)."""


class DistributionTable:
    """One distribution per group (per touchpoint, per segment), drawn for many at once.

    Most distributions are x = g(loc + scale·z) with z a standard form's inverse CDF at u and g
    the identity or exp: normal, truncated normal and log-normal (z from Φ⁻¹), exponential
    (z = −ln(1 − u)), uniform (z = u) and constant (scale 0). So a batch mixing groups is drawn
    in one compiled pass; other distributions (beta, and a truncated normal whose bounds' tail
    underflows) are drawn group by group.
    """

    def __init__(self, distributions: list[Any]) -> None:
        self.distributions = distributions
        self.parameters = np.array([self._parameters(d) for d in distributions],
                                   dtype=float).reshape(-1, len(COLUMNS))
        self.loc = self.parameters[:, LOC]
        self.general = np.isnan(self.loc)
        self.any_general = bool(self.general.any())
        spread = ~self.general & (self.parameters[:, SCALE] != 0)  # constants need no z
        self.forms = sorted({int(f) for f in self.parameters[spread, FORM]})
        self.constant = not self.forms and not self.any_general  # needs no draws

    @staticmethod
    def _parameters(distribution: Any) -> tuple[float, ...]:
        """The row of :attr:`parameters` for ``distribution`` (loc nan: drawn by its own
        inverse CDF, group by group)."""
        unbounded = (0.0, 1.0, 1.0, -math.inf, math.inf)
        if isinstance(distribution, Normal):
            return NORMAL, distribution.mean_, distribution.sd, False, *unbounded
        if isinstance(distribution, TruncatedNormal) and (
                terms := distribution.inverse_cdf_terms()):
            return NORMAL, distribution.mean_, distribution.sd, False, *terms
        if isinstance(distribution, Constant):
            return NORMAL, distribution.value, 0.0, False, *unbounded
        if isinstance(distribution, LogNormal):
            mu, sigma = distribution._log_params()
            if sigma == 0:  # no spread: the mean itself
                return NORMAL, distribution.mean_, 0.0, False, *unbounded
            return NORMAL, mu, sigma, True, *unbounded
        if isinstance(distribution, Exponential):
            return EXPONENTIAL, 0.0, distribution.mean_, False, *unbounded
        if isinstance(distribution, Uniform):
            return UNIFORM, distribution.low, distribution.high - distribution.low, False, \
                *unbounded
        return NORMAL, math.nan, math.nan, False, *unbounded

    def ppf(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Values for individuals of ``group`` at probabilities ``u``."""
        # constants alone (or beside distributions drawn group by group) need no z
        values = _standard(group, u, self.parameters) if self.forms else self.loc[group]
        if self.any_general:
            other = self.general[group]
            for g in np.unique(group[other]):
                here = group == g
                values[here] = self.distributions[g].ppf(u[here])
        return values


@numba.njit(cache=True, inline="always")
def _standard_value(g: int, u: float, parameters: np.ndarray) -> float:  # pragma: no cover
    """g(loc + scale · z) at probability ``u`` for group ``g`` of ``parameters`` (see
    :data:`FORM`): z its standard form at u, g = exp where EXP, and loc alone for a
    constant."""
    if parameters[g, SCALE] == 0.0:
        return parameters[g, LOC]
    if parameters[g, FORM] == NORMAL:
        z = parameters[g, SIGN] * inverse_normal(parameters[g, NEAR] + u * parameters[g, SPAN])
        z = min(max(z, parameters[g, LOW]), parameters[g, HIGH])
    elif parameters[g, FORM] == EXPONENTIAL:
        z = -np.log1p(-u)
    else:
        z = u
    value = parameters[g, LOC] + parameters[g, SCALE] * z
    return np.exp(value) if parameters[g, EXP] else value


@numba.njit(cache=True)
def _standard(group: np.ndarray, u: np.ndarray,
              parameters: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`_standard_value` for each element."""
    values = np.empty(u.shape[0])
    for i in range(u.shape[0]):
        values[i] = _standard_value(group[i], u[i], parameters)
    return values

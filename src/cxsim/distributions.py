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

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF: with standard bounds α, β, z = Φ⁻¹(Φ(α) + u·(Φ(β) − Φ(α))), worked
        in the upper tail (through Φ(−z)) when α > 0, where Φ(α) is close to 1 and would lose
        digits; bounds so far out that their tail underflows go to scipy's truncnorm."""
        a, b = (self.low - self.mean_) / self.sd, (self.high - self.mean_) / self.sd
        upper = a > 0
        near, far = (ndtr(-a), ndtr(-b)) if upper else (ndtr(a), ndtr(b))
        if not abs(far - near) > 1e-300:  # the bounds' tail underflows
            from scipy import stats  # rare, and slow to import: only here

            return stats.truncnorm(a, b, loc=self.mean_, scale=self.sd).ppf(u)
        z = ndtri(near + u * (far - near))
        return self.mean_ + self.sd * np.clip(-z if upper else z, a, b)


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
"""The standard forms z of :class:`DistributionTable`: Φ⁻¹(u), −ln(1 − u) (mean 1), u."""


class DistributionTable:
    """One distribution per group (per touchpoint, per segment), drawn for many at once.

    Most distributions are x = g(loc + scale·z) with z a standard form's inverse CDF at u and g
    the identity or exp: normal and log-normal (z = Φ⁻¹(u)), exponential (z = −ln(1 − u)),
    uniform (z = u) and constant (scale 0). So a batch mixing groups is drawn with a few array
    operations; other distributions (truncated normal, beta) are drawn group by group.
    """

    def __init__(self, distributions: list[Any]) -> None:
        self.distributions = distributions
        shapes = [self._shape(d) for d in distributions]
        self.loc = np.array([s[0] for s in shapes])
        self.scale = np.array([s[1] for s in shapes])
        self.log = np.array([s[2] for s in shapes])
        self.form = np.array([s[3] for s in shapes])  # NORMAL, EXPONENTIAL or UNIFORM
        self.general = np.isnan(self.loc)
        self.any_general = bool(self.general.any())
        spread = ~self.general & (self.scale != 0)  # constants need no z
        self.forms = sorted({int(f) for f in self.form[spread]})
        self.constant = not self.forms and not self.any_general  # needs no draws

    @staticmethod
    def _shape(distribution: Any) -> tuple[float, float, bool, int]:
        """loc, scale, whether exp(·), and the standard form of ``distribution`` (loc nan: drawn
        by its own inverse CDF, group by group)."""
        if isinstance(distribution, Normal):
            return distribution.mean_, distribution.sd, False, NORMAL
        if isinstance(distribution, Constant):
            return distribution.value, 0.0, False, NORMAL
        if isinstance(distribution, LogNormal):
            mu, sigma = distribution._log_params()
            if sigma == 0:  # no spread: the mean itself
                return distribution.mean_, 0.0, False, NORMAL
            return mu, sigma, True, NORMAL
        if isinstance(distribution, Exponential):
            return 0.0, distribution.mean_, False, EXPONENTIAL
        if isinstance(distribution, Uniform):
            return distribution.low, distribution.high - distribution.low, False, UNIFORM
        return math.nan, math.nan, False, NORMAL

    def ppf(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Values for individuals of ``group`` at probabilities ``u``."""
        if not self.forms:  # constants (and distributions drawn group by group)
            values = self.loc[group]
        else:
            values = _standard(group, u, self.form, self.loc, self.scale, self.log)
        if self.any_general:
            other = self.general[group]
            for g in np.unique(group[other]):
                here = group == g
                values[here] = self.distributions[g].ppf(u[here])
        return values


@numba.njit(cache=True, inline="always")
def _standard_value(g: int, u: float, form: np.ndarray, loc: np.ndarray, scale: np.ndarray,
                    log: np.ndarray) -> float:  # pragma: no cover - compiled
    """g(loc + scale · z) at probability ``u`` for group ``g``: z its standard form at u
    (Φ⁻¹(u), −ln(1 − u) or u), g = exp for log groups, and loc alone for a constant."""
    if scale[g] == 0.0:
        return loc[g]
    if form[g] == NORMAL:
        z = inverse_normal(u)
    elif form[g] == EXPONENTIAL:
        z = -np.log1p(-u)
    else:
        z = u
    value = loc[g] + scale[g] * z
    return np.exp(value) if log[g] else value


@numba.njit(cache=True)
def _standard(group: np.ndarray, u: np.ndarray, form: np.ndarray, loc: np.ndarray,
              scale: np.ndarray, log: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """:func:`_standard_value` for each element."""
    values = np.empty(u.shape[0])
    for i in range(u.shape[0]):
        values[i] = _standard_value(group[i], u[i], form, loc, scale, log)
    return values

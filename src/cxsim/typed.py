"""The building blocks of cxsim's typed configuration: a strict base model and common fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Id = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]
Probability = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


class Strict(BaseModel):
    """Base of every section: unknown keys are refused; types are strict (YAML's ``yes`` is not
    the number 1, ``"20000"`` is not a number) and numbers must be finite."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True,
                              strict=True, allow_inf_nan=False)

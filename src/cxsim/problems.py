"""Problems found in a scenario, and how they read.

A :class:`Problem` names a field by its path (``touchpoints.checkout.quality.sd``) and says what
was expected. Pydantic's errors are translated here into short, plain messages
("must be >= 0, got -1"), with a "did you mean" hint for unknown keys.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (a field path) and what."""

    path: Path
    message: str

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path) or "(top level)"


def alike(problems: list[Problem],
          pattern: Callable[[Problem], str | None]) -> list[list[Problem]]:
    """``problems`` in groups, in order: those that one field pattern with a ``*``
    (``pattern`` of a problem: the pattern that set its field, or None) made alike at its
    matches, the same message at paths of one length, together; every other problem alone."""
    groups: dict[object, list[Problem]] = {}
    for i, problem in enumerate(problems):
        made_by = pattern(problem)
        key = (made_by, problem.message, len(problem.path)) if made_by and "*" in made_by else i
        groups.setdefault(key, []).append(problem)
    return list(groups.values())


def places(problems: list[Problem]) -> str:
    """Where a group of :func:`alike` problems is: the one problem's dotted path, or all
    their paths in one with ``*`` where they differ, and how many
    (``touchpoints.*.qualityy (11 places)``)."""
    if len(problems) == 1:
        return problems[0].dotted
    columns = zip(*(problem.path for problem in problems), strict=True)
    starred = ".".join(str(parts[0]) if len(set(parts)) == 1 else "*" for parts in columns)
    return f"{starred} ({len(problems)} places)"


def unknown(what: str, name: str, known: Iterable[str], listed: str = "known") -> str:
    """"unknown WHAT 'NAME'" with its :func:`hint`."""
    return f"unknown {what} {name!r}{hint(name, known, listed)}"


def hint(name: str, known: Iterable[str], listed: str = "known") -> str:
    """For a ``name`` not among ``known``: "; did you mean ...?" with the closest of them, or
    else them (after ``listed``; the first :data:`LISTED` of many), if there are any."""
    known = list(known)
    close = closest(name, known)
    if close is not None:
        return f"; did you mean {close!r}?"
    more = f" and {len(known) - LISTED} more" if len(known) > LISTED else ""
    return f"; {listed}: {', '.join(known[:LISTED])}{more}" if known else ""


LISTED = 20
"""At most this many known names are listed after an unknown one."""


def closest(name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The name among ``known`` that ``name`` most likely meant: the closest by difflib's
    ratio (at least ``cutoff``), else one that ``name`` is the start of (cut short)."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=cutoff)
    return close[0] if close else next((k for k in known if name and k.startswith(name)), None)


def shown(value: Any) -> str:
    """``value`` as a message quotes it, cut to 60 characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


HOURS = 24  # the length of a list of hours of the day (service.hours, care.visit_hours)

TAG_KEYS = ("dist", "kind")  # the keys that say which member of a tagged union is meant


def _tags(member: Any) -> tuple[Any, ...]:
    """The tag values that select ``member`` of a tagged union ('normal' for a distribution,
    'watts_strogatz' for a network); empty when it is not such a member."""
    if not (isinstance(member, type) and issubclass(member, BaseModel)):
        return ()
    field = next((member.model_fields[k] for k in TAG_KEYS if k in member.model_fields), None)
    return typing.get_args(field.annotation) if field is not None else ()


def _field_names(model: type[BaseModel] | None, loc: Path) -> list[str]:
    """The field names allowed at ``loc`` below ``model`` (empty when it cannot tell)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part)) or next(
                (f for f in current.model_fields.values() if f.alias == part), None
            )
            if field is None:
                return []
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        if origin is dict:
            current = typing.get_args(current)[1]
        elif origin is list:
            current = typing.get_args(current)[0]
        elif origin in (typing.Union, types.UnionType):
            tagged = [m for m in typing.get_args(current) if part in _tags(m)]
            if not tagged:
                return []
            current = tagged[0]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _message(error: dict[str, Any], model: type[BaseModel] | None) -> str:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    got = f", got {shown(given)}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
              "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit:g}{got}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        return unknown("key", key, _field_names(model, tuple(error["loc"][:-1])), "allowed")
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected', '?')}{got}"
    if kind == "union_tag_invalid":
        what = "network kind" if _tag_key(ctx) == "kind" else "distribution"
        return f"unknown {what} {ctx.get('tag')!r}; must be one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        if _tag_key(ctx) == "kind":
            return "a network needs a 'kind' key (fully_mixed, erdos_renyi, watts_strogatz, ...)"
        return "a distribution needs a 'dist' key (or write a plain number for a constant)"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        what = "a whole number" if kind.startswith("int") else "a number"
        return f"must be {what}{got}"
    if kind == "finite_number":
        return f"must be a finite number{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind in ("string_type",):
        return f"must be text{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (key: value lines){got}"
    if kind == "list_type":
        return f"must be a list{got}"
    if kind == "string_pattern_mismatch":
        return ("must be a name of letters, digits, '_' or '-', not starting with a digit or "
                f"'-'{got}")
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length" if kind == "too_short" else "max_length")
        if kind == "too_short" and bound == 1:
            return f"must not be empty{got}"
        if bound == HOURS:  # the lists of the hours of a day
            return (f"must have exactly {HOURS} numbers, one per hour of the day (0:00 first), "
                    f"got {ctx.get('actual_length', '?')}")
        return f"must have {'at least' if kind == 'too_short' else 'at most'} {bound} items{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']}{got}"


def _tag_key(ctx: dict[str, Any]) -> str:
    """The key of a tagged union's tag named in a pydantic error's context."""
    return str(ctx.get("discriminator", "dist")).strip("'")


def _data_path(data: Any, loc: Path, missing: bool = False) -> tuple[Path, tuple[Path, str] | None]:
    """``loc`` without the parts pydantic adds that are not in the data (union tags), and
    where it passes through a member of an untagged union: the union's path and the member's
    label (e.g. ``list[constrained-int]`` for a list of numbers), or ``None``. ``missing``:
    the error is a missing key (the last part of ``loc``, not in the data either)."""
    path: list[str | int] = []
    member: tuple[Path, str] | None = None
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part not in data and part in (
                data.get(key) for key in TAG_KEYS):
            continue  # the tag of a tagged union, e.g. 'normal' in quality.normal.sd
        is_key = isinstance(data, dict) and (part in data or (missing and i == len(loc) - 1))
        if isinstance(part, str) and not is_key:  # a mapping where a union has none
            member = member or (tuple(path), part)
            continue
        path.append(part)
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return tuple(path), member


def from_validation_error(
    error: ValidationError, model: type[BaseModel] | None, data: Any = None, prefix: Path = ()
) -> list[Problem]:
    """Translate a pydantic error on ``data`` into problems whose paths start with ``prefix``.

    A value that fits no member of an untagged union (``servers``: a number, 24 numbers or 7
    lists of 24) is judged by the member it was meant for: of the members whose type it has,
    the one with the fewest problems (``servers: -1``: must be >= 0). If it has the type of
    none, one problem joins what each member expects (must be a whole number or a list)."""
    problems: list[Problem] = []
    unions: dict[Path, dict[str, list[tuple[Path, dict[str, Any]]]]] = {}
    errors = error.errors(include_url=False)
    meant = _meant_keys(errors, model)
    for e in errors:
        if e["type"] == "missing" and tuple(e["loc"]) in meant:
            continue  # a misspelt key: its "did you mean" says all there is to say
        path, member = _data_path(data, tuple(e["loc"]), e["type"] == "missing")
        if member is None:
            problems.append(Problem(prefix + path, _message(e, model)))
        else:
            unions.setdefault(member[0], {}).setdefault(member[1], []).append((path, e))
    for where, members in unions.items():
        typed = [found for found in members.values()
                 if not all(_wrong_type(e) and path == where for path, e in found)]
        if typed:
            best = min(typed, key=len)
            problems += [Problem(prefix + path, _message(e, model)) for path, e in best]
        else:
            expected = [_message(e, model).removeprefix("must be ").split(", got ")[0]
                        for found in members.values() for _, e in found]
            problems.append(Problem(prefix + where, f"must be {' or '.join(dict.fromkeys(
                expected))}, got {shown(next(iter(members.values()))[0][1].get('input'))}"))
    return problems


def _meant_keys(errors: list[Any], model: type[BaseModel] | None) -> set[Path]:
    """Where pydantic's ``errors`` show an unknown key, the key it most likely meant (the
    "did you mean" of :func:`_message`), as a location like pydantic's."""
    meant = set()
    for e in errors:
        if e["type"] == "extra_forbidden":
            where = tuple(e["loc"][:-1])
            close = closest(str(e["loc"][-1]), _field_names(model, where))
            if close is not None:
                meant.add((*where, close))
    return meant


def _wrong_type(error: dict[str, Any]) -> bool:
    """Whether pydantic's error says the value has another type than the field's."""
    return error["type"].endswith(("_type", "_parsing")) or error["type"] == "int_from_float"

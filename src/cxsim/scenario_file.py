"""Reading a scenario file: YAML with positions, command-line overrides, located errors.

Every problem is reported as ``FILE:LINE:COLUMN: FIELD.PATH: what was expected``, one line per
problem, e.g. ``scenarios/x.yaml:14:9: touchpoints.checkout.quality.sd: must be >= 0, got -1``.
A problem that comes from a ``--set`` override names the override instead of a line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cxsim.checks import strategy_worlds, world_problems
from cxsim.network import NetworkError, build_network, file_sha256
from cxsim.problems import Problem, alike, from_validation_error, places
from cxsim.scenario import Scenario
from cxsim.strategies import PatchError, set_path
from cxsim.sweep import sweep_problems

Position = tuple[int, int]


class ScenarioError(Exception):
    """A scenario that cannot be used; ``lines`` holds one located message per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[list[str]]]:
        return type(self), (self.lines,)  # rebuilt whole when a worker process raises it


class _Located:
    """YAML data with the line and column of every key and value, by field path."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.keys: dict[tuple[str, ...], Position] = {(): (1, 1)}
        self.values: dict[tuple[str, ...], Position] = {(): (1, 1)}
        self.overrides: dict[tuple[str, ...], str] = {}
        self.duplicates: list[tuple[tuple[str, ...], Position]] = []
        self.collections: set[tuple[str, ...]] = set()
        self._nodes = 0
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: tuple[str, ...],
              ancestors: frozenset[int] = frozenset()) -> None:
        self.values[path] = _mark(node)
        self._nodes += 1
        if id(node) in ancestors:
            raise _RefusedError(node, "an alias refers to a node that contains it "
                                "(endless nesting)")
        if self._nodes > MAX_NODES:
            raise _RefusedError(node, f"more than {MAX_NODES:,} values once aliases are expanded")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.collections.add(path)
            ancestors = ancestors | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    self.duplicates.append(((*path, key), _mark(key_node)))
                seen.add(key)
                self.keys[(*path, key)] = _mark(key_node)
                self._walk(value_node, (*path, key), ancestors)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.keys[(*path, str(i))] = _mark(item)
                self._walk(item, (*path, str(i)), ancestors)

    def locate_all(self, problems: list[Problem]) -> list[str]:
        """:meth:`locate` each of ``problems``, but one line for those that an override with
        a ``*`` made alike at its matches (:func:`~cxsim.problems.alike`)."""
        return [self.locate(group[0]) if len(group) == 1 else
                f"{self.override_of(group[0])}: {places(group)}: {group[0].message}"
                for group in alike(problems, lambda p: (self.override_of(p) or "").partition(
                    "=")[0])]

    def override_of(self, problem: Problem) -> str | None:
        """The override (``--set PATH=VALUE``) that set the field of ``problem`` or one
        above or below it, if one did."""
        path = tuple(str(part) for part in problem.path)
        return next((option for overridden, option in self.overrides.items()
                     if overridden[:len(path)] == path or path[:len(overridden)] == overridden),
                    None)

    def locate(self, problem: Problem) -> str:
        """``FILE:LINE:COL: path: message`` (or the override that caused it)."""
        path = tuple(str(part) for part in problem.path)
        option = self.override_of(problem)
        if option is not None:
            return f"{option}: {problem.dotted}: {problem.message}"
        for n in range(len(path), -1, -1):
            prefix = path[:n]
            if prefix in self.keys or prefix in self.values:
                exact = n == len(path)
                value_error = (exact and "unknown key" not in problem.message
                               and prefix not in self.collections)
                table = self.values if value_error and prefix in self.values else self.keys
                line, column = table.get(prefix, self.values.get(prefix, (1, 1)))
                return f"{self.source}:{line}:{column}: {problem.dotted}: {problem.message}"
        return f"{self.source}: {problem.dotted}: {problem.message}"  # pragma: no cover


MAX_NODES = 1_000_000
"""More values than this (once YAML aliases are expanded) is refused, not walked."""


class _RefusedError(Exception):
    def __init__(self, node: yaml.Node, reason: str) -> None:
        super().__init__(reason)
        self.position = _mark(node)


def _mark(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


YAML_HINTS = (
    ("mapping values are not allowed", "a ':' where none can be: a line indented deeper than "
     "the key above it (keys of one mapping start in one column), or text with ': ' in it, "
     "which needs quotes (description: 'Check-in: fast')"),
    ("expected <block end>", "this line is indented differently from the lines above it: keys "
     "of one mapping start in one column (use spaces, not tabs)"),
    ("could not find expected ':'", "a key without its ':', or a line indented as if it "
     "continued the one above"),
    ("expected ',' or ']'", "a list opened with '[' is not closed with ']'"),
    ("expected ',' or '}'", "a mapping opened with '{' is not closed with '}'"),
    ("found character '\\t'", "a tab: YAML indents with spaces only"),
)
"""What usually causes PyYAML's commonest complaints, said to the person who wrote the file."""


def _one_line(error: yaml.YAMLError) -> str:
    """A YAML error's reason on one line, without PyYAML's excerpt of the file, and what
    usually causes it (:data:`YAML_HINTS`)."""
    if isinstance(error, yaml.MarkedYAMLError):
        text = " ".join(str(part) for part in (error.context, error.problem) if part)
    else:
        text = str(error)
    text = " ".join(text.split())
    cause = next((hint for found, hint in YAML_HINTS if found in text), None)
    return f"{text} — {cause}" if cause else text


def parse_override(text: str) -> tuple[str, Any]:
    """``PATH=VALUE`` from the command line; VALUE is read as YAML (``365``, ``[a, b]``)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError([f"--set {text}: expected PATH=VALUE, e.g. population.size=1000"])
    try:
        return path.strip(), yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError as error:
        raise ScenarioError([f"--set {text}: the value is not valid YAML: {_one_line(error)}"]
                            ) from None


def parse_scenario(
    text: str, source: str = "<scenario>", overrides: Iterable[str] = (),
    base: Path | None = None,
) -> Scenario:
    """Validate scenario ``text``; ``overrides`` are ``PATH=VALUE`` strings applied first.
    Files the scenario names (an edge list) are found from the folder ``base`` (the scenario
    file's) when their paths are relative, and written into the scenario as absolute paths.

    Raises :class:`ScenarioError` listing every problem found.
    """
    try:
        located = _Located(text, source)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ScenarioError([f"{where}: not valid YAML: {_one_line(error)}"]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise ScenarioError([f"{source}:{line}:{column}: not valid YAML: character "
                             f"{error.character!r} is not allowed in a YAML file"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{source}: not valid YAML: {_one_line(error)}"]) from None
    except _RefusedError as error:
        line, column = error.position
        raise ScenarioError([f"{source}:{line}:{column}: {error}"]) from None
    if located.data is None:
        raise ScenarioError([f"{source}: the file is empty; a scenario needs at least name, "
                             "population, touchpoints and journey (see scenarios/hotel.yaml)"])
    if not isinstance(located.data, dict):
        raise ScenarioError([f"{source}:1:1: a scenario must be a mapping of fields (name: ..., "
                             f"population: ...), got a {type(located.data).__name__}"])
    lines = [f"{source}:{line}:{col}: {'.'.join(path)}: duplicate key (the last one would win)"
             for path, (line, col) in located.duplicates]
    if lines:  # what the file means is unclear: the other checks would mislead
        raise ScenarioError(lines)
    overrides = list(overrides)
    _unpin_a_changed_network(located.data, [o.partition("=")[0] for o in overrides])
    for text_ in overrides:
        dotted, value = parse_override(text_)
        try:
            for path in set_path(located.data, dotted, value):
                path = tuple(str(p) for p in path)
                # from the first part the file does not have: all of it comes from the override
                new = next((n for n in range(1, len(path)) if path[:n] not in located.keys),
                           len(path))
                located.overrides[path[:new]] = f"--set {text_}"
        except PatchError as error:
            lines.append(f"--set {text_}: {error}")
    _anchor_files(located.data, base)
    try:
        scenario = Scenario.model_validate(located.data)
    except ValidationError as error:
        problems = from_validation_error(error, Scenario, located.data)
    else:
        problems = scenario_problems(scenario)
    lines += located.locate_all(problems)
    if lines:
        raise ScenarioError(lines)
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read and validate the scenario file at ``path`` (see :func:`parse_scenario`)."""
    path = Path(path)
    if not path.exists():
        raise ScenarioError([f"{path}: no such file"])
    if path.is_dir():
        raise ScenarioError([f"{path}: is a directory, not a scenario file"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([f"{path}: not a text file (it is not UTF-8)"]) from None
    except OSError as error:
        raise ScenarioError([f"{path}: cannot read: {error.strerror}"]) from None
    return parse_scenario(text, str(path), overrides, base=path.parent)


def _network_data(data: dict[str, Any]) -> Any:
    """The ``word_of_mouth.network`` section of scenario data, if it has one."""
    talk = data.get("word_of_mouth")
    return talk.get("network") if isinstance(talk, dict) else None


def _unpin_a_changed_network(data: dict[str, Any], paths: list[str]) -> None:
    """Drop the edge list's pinned SHA-256 (in place) when ``paths`` (of overrides) change the
    network but not the pin: the file is then pinned as it is now (:func:`_anchor_files`)."""
    network = _network_data(data)
    changed = [p for p in paths if p.strip().startswith("word_of_mouth.network")]
    if isinstance(network, dict) and changed and not any(p.strip().endswith(".sha256")
                                                         for p in changed):
        network.pop("sha256", None)


def _anchor_files(data: dict[str, Any], base: Path | None) -> None:
    """Make a relative edge-list path start from ``base``, and pin the file by its SHA-256
    unless the scenario gives one (in place)."""
    network = _network_data(data)
    if not isinstance(network, dict) or network.get("kind") != "edge_list":
        return
    path = network.get("path")
    if not isinstance(path, str):
        return
    if base is not None and not Path(path).is_absolute():
        network["path"] = path = str((base / path).resolve())
    if "sha256" not in network and Path(path).is_file():
        network["sha256"] = file_sha256(Path(path))


def scenario_problems(scenario: Scenario) -> list[Problem]:
    """What the schema cannot tell of a valid ``scenario``: the files it names, the checks
    across its fields and rules (:func:`cxsim.checks.world_problems`), then, if those pass,
    its strategies' patched worlds and its sweep."""
    problems = file_problems(scenario) + world_problems(scenario)
    return problems or strategy_worlds(scenario)[1] + sweep_problems(scenario)


def file_problems(scenario: Scenario) -> list[Problem]:
    """Files the scenario names that are not there, and a network that cannot be built over
    the population (an edge list's bad cells or ids, a degree above the population): the
    network is built once here, so that the run does not fail on it later."""
    network = scenario.word_of_mouth.network
    path = getattr(network, "path", None)
    where = ("word_of_mouth", "network")
    if path is not None and not Path(path).is_file():
        return [Problem((*where, "path"), f"no such edge-list file {path}")]
    try:
        build_network(network, scenario.population.size, scenario.seed)
    except NetworkError as error:
        field = error.field or ("path" if path is not None else None)
        return [Problem((*where, field) if field else where, str(error))]
    return []


def override(scenario: Scenario, overrides: Iterable[str] | dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` with fields changed by dotted path, validated again.

    ``overrides`` is ``{"population.size": 1000}`` or ``["population.size=1000"]``.
    """
    if isinstance(overrides, dict):
        overrides = [
            f"{k}={yaml.safe_dump(v, default_flow_style=True, width=math.inf).strip()}"
            .removesuffix("\n...")
            for k, v in overrides.items()
        ]
    overrides = list(overrides)
    text = yaml.safe_dump(scenario.model_dump(mode="json", by_alias=True), sort_keys=False)
    return parse_scenario(text, f"<scenario {scenario.name}>", overrides)

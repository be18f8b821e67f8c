"""Bad input: a catalogue of broken scenario files, each refused with a located, one-line message.

Every case starts from the valid example scenarios/hotel.yaml and breaks one thing: it edits the
YAML text (so that we know on which line the mistake sits) or changes the loaded data and dumps it
again. ``load_scenario`` must raise :class:`ScenarioError` whose ``lines`` include one naming the
file (or the ``--set`` override), the field path and a key phrase of the message, at the line of
the mistake. Cases marked ``bug=`` are known faults of src/ (xfail, strict: fix the bug, then drop
the mark). The last tests run the real ``cxsim validate`` command.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxsim.scenario_file import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
HOTEL = (ROOT / "scenarios" / "hotel.yaml").read_text(encoding="utf-8")

Build = Callable[[Path], Path]
"""Writes the bad input into a folder and returns the path to load."""


# --------------------------------------------------------------------------------------------
# ways to build a bad file


def text(content: str, name: str = "bad.yaml") -> Build:
    """A file holding exactly ``content``."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_text(content, encoding="utf-8")
        return path

    return build


def edit(*pairs: tuple[str, str]) -> Build:
    """hotel.yaml with each ``old`` text (which must occur exactly once) replaced by ``new``."""

    def build(folder: Path) -> Path:
        content = HOTEL
        for old, new in pairs:
            assert content.count(old) == 1, f"hotel.yaml changed: {old!r} is not there once"
            content = content.replace(old, new)
        return text(content)(folder)

    return build


def change(old: str, new: str) -> Build:
    """hotel.yaml with one text replaced."""
    return edit((old, new))


def beside_an_edge_list(csv: str) -> Build:
    """hotel.yaml with an edge list ``edges.csv`` holding ``csv`` in its folder."""

    def build(folder: Path) -> Path:
        (folder / "edges.csv").write_text(csv, encoding="utf-8")
        return text(HOTEL, "hotel.yaml")(folder)

    return build


EDGE_LIST = "word_of_mouth.network={kind: edge_list, path: edges.csv}"


def data(mutate: Callable[[dict[str, Any]], None]) -> Build:
    """hotel.yaml loaded, changed by ``mutate`` and dumped again."""
    scenario = copy.deepcopy(yaml.safe_load(HOTEL))
    mutate(scenario)
    return text(yaml.safe_dump(scenario, sort_keys=False))


def put(dotted: str, value: Any) -> Build:
    """hotel.yaml with the field at ``dotted`` set to ``value``."""

    def mutate(scenario: dict[str, Any]) -> None:
        *parents, last = dotted.split(".")
        for key in parents:
            scenario = scenario[key]
        scenario[last] = value

    return data(mutate)


def drop(dotted: str) -> Build:
    """hotel.yaml without the field at ``dotted``."""

    def mutate(scenario: dict[str, Any]) -> None:
        *parents, last = dotted.split(".")
        for key in parents:
            scenario = scenario[key]
        del scenario[last]

    return data(mutate)


def latin1() -> Build:
    """hotel.yaml saved as Latin-1 with an accented letter (not UTF-8)."""

    def build(folder: Path) -> Path:
        path = folder / "bad.yaml"
        content = HOTEL.replace("Paying the bill", "Payer l'addition \u00e9")
        path.write_bytes(content.encode("latin-1"))
        return path

    return build


def missing() -> Build:
    return lambda folder: folder / "no_such_scenario.yaml"


def directory() -> Build:
    def build(folder: Path) -> Path:
        (folder / "scenario.yaml").mkdir()
        return folder / "scenario.yaml"

    return build


# --------------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class Case:
    id: str
    build: Build
    path: str | None  # the field path named (or a parent of it); None: the file as a whole
    message: str  # a key phrase of the message
    at: str | int | None = None  # the expected line: the line holding this text
    override: str | None = None  # a --set PATH=VALUE given with the file
    bug: str | None = None  # a known fault of src/: the case is expected to fail


ROOM_QUALITY = "quality: {dist: normal, mean: 7.6, sd: 1.0}"
ROOM = "  room:\n    description"
RESTAURANT = "  restaurant:\n    description"
SPA = "  spa:\n    stage: use\n    channel: in_person\n    p: product\n    quality: 8\n"
SPA_WITH_NOTE = SPA.replace("  spa:\n", "  spa:\n    # opened in May, not on the website yet\n\n")

CASES = [
    # missing required fields
    Case("missing-name", change("name: hotel\n", ""), "name", "required field is missing", 1),
    Case("missing-population", drop("population"), "population", "required field is missing", 1),
    Case("missing-quality", change(f"    {ROOM_QUALITY}\n", ""),
         "touchpoints.room.quality", "required field is missing", ROOM),
    Case("missing-exits", change("  exits: [checkout, booked_elsewhere]\n", ""),
         "journey.exits", "required field is missing", "journey:\n  entries"),
    Case("missing-sd", change(ROOM_QUALITY, "quality: {dist: normal, mean: 7.6}"),
         "touchpoints.room.quality.sd", "required field is missing", "mean: 7.6}"),
    # mistyped fields
    Case("size-text", change("  size: 20000", "  size: many"),
         "population.size", "must be a whole number, got 'many'", "size: many"),
    Case("duration-fraction", change("    duration_days: 2", "    duration_days: 1.5"),
         "touchpoints.room.duration_days", "must be a whole number, got 1.5", "duration_days"),
    Case("service-maybe",
         change("    p: people\n    service: true\n    quality: {dist: normal, mean: 7.0",
                "    p: people\n    service: maybe\n    quality: {dist: normal, mean: 7.0"),
         "touchpoints.contact_centre.service", "must be true or false, got 'maybe'", "maybe"),
    Case("stage-unknown", change("    stage: awareness", "    stage: discovery"),
         "touchpoints.search_reviews.stage", "must be one of", "discovery"),
    Case("quality-text", change(ROOM_QUALITY, "quality: good"),
         "touchpoints.room.quality", "must be a mapping", "quality: good"),
    Case("name-with-space", change("name: hotel", "name: city hotel"),
         "name", "must be a name of letters", "name: city hotel"),
    Case("exits-not-list", change("  exits: [checkout, booked_elsewhere]", "  exits: checkout"),
         "journey.exits", "must be a list", "exits: checkout"),
    Case("seed-negative", change("seed: 20261123", "seed: -1"), "seed", "must be >= 0, got -1",
         "seed: -1"),
    Case("size-boolean", change("  size: 20000", "  size: yes"), "population.size",
         "must be a whole number, got True", "size: yes"),
    Case("size-quoted", change("  size: 20000", '  size: "20000"'), "population.size",
         "must be a whole number, got '20000'", "size: \""),
    Case("quality-nan", change(ROOM_QUALITY, "quality: {dist: normal, mean: .nan, sd: 1.0}"),
         "touchpoints.room.quality.mean", "must be a finite number", ".nan"),
    Case("importance-infinite", change("    importance: 1.5", "    importance: .inf"),
         "touchpoints.room.importance", "must be a finite number", ".inf"),
    # unknown keys at every level, most with a did-you-mean
    Case("unknown-key-top", change("horizon_days: 365", "horizon_day: 365"),
         "horizon_day", "unknown key 'horizon_day'; did you mean 'horizon_days'?", "horizon_day"),
    Case("unknown-key-population", change("  existing_customers:", "  existing_customer:"),
         "population.existing_customer",
         "unknown key 'existing_customer'; did you mean 'existing_customers'?", "existing_cust"),
    Case("unknown-key-segment", change("      expectation: {dist: normal, mean: 7.5",
                                       "      expectaton: {dist: normal, mean: 7.5"),
         "population.segments.business.expectaton",
         "unknown key 'expectaton'; did you mean 'expectation'?", "expectaton"),
    Case("unknown-key-touchpoint", change("    importance: 1.5", "    importanc: 1.5"),
         "touchpoints.room.importanc", "unknown key 'importanc'; did you mean 'importance'?",
         "importanc:"),
    Case("unknown-key-distribution",
         change(ROOM_QUALITY, "quality: {dist: normal, mean: 7.6, sd: 1.0, skew: 0.2}"),
         "touchpoints.room.quality.skew", "unknown key 'skew'", "skew"),
    Case("unknown-key-journey", change("  entries: {search_reviews: 1}",
                                       "  entry: {search_reviews: 1}"),
         "journey.entry", "unknown key 'entry'; did you mean 'entries'?", "entry:"),
    Case("unknown-key-edge", change("booking_website: {weight: 0.7, by_channel_preference: true}",
                                    "booking_website: {weight: 0.7, by_channel: true}"),
         "journey.edges.search_reviews.booking_website.by_channel",
         "unknown key 'by_channel'; did you mean 'by_channel_preference'?", "by_channel:"),
    Case("unknown-key-rule-param", change("peak_weight: 0.5", "peak_wieght: 0.5"),
         "perception.memory.peak_wieght", "unknown key 'peak_wieght'; did you mean 'peak_weight'?",
         "peak_wieght"),
    Case("unknown-key-loyalty-param", change("  base_return:", "  base_retrun:"),
         "loyalty.base_retrun", "did you mean 'base_return'?", "base_retrun"),
    Case("unknown-key-strategy", change("    cost: {per_day: 10}", "    costs: {per_day: 10}"),
         "strategies.faster_checkin.costs", "unknown key 'costs'; did you mean 'cost'?", "costs:"),
    Case("unknown-key-strategy-cost", change("{per_day: 10}", "{per_week: 10}"),
         "strategies.faster_checkin.cost.per_week", "unknown key 'per_week'", "per_week"),
    Case("unknown-key-output", change("  moments: all", "  moment: all"),
         "output.moment", "unknown key 'moment'; did you mean 'moments'?", "moment: all"),
    Case("unknown-key-economics", change("  discount_rate_per_year:", "  discount_rate:"),
         "economics.discount_rate", "did you mean 'discount_rate_per_year'?", "discount_rate:"),
    # distributions
    Case("unknown-distribution", change(ROOM_QUALITY, "quality: {dist: gauss, mean: 7.6, sd: 1}"),
         "touchpoints.room.quality", "unknown distribution 'gauss'", "gauss"),
    Case("sd-negative", change("{dist: normal, mean: 7.2, sd: 1.0}\n    price_premium",
                               "{dist: normal, mean: 7.2, sd: -1}\n    price_premium"),
         "touchpoints.checkout.quality.sd", "must be >= 0, got -1", "sd: -1"),
    Case("uniform-bounds-reversed", change("{dist: uniform, low: 0.2, high: 0.8}",
                                           "{dist: uniform, low: 0.8, high: 0.2}"),
         "population.segments.business.price_sensitivity", "must not exceed high", "low: 0.8"),
    # the journey graph
    Case("edge-to-unknown", change("    restaurant: {checkout: 1}",
                                   "    restaurant: {checkout: 1, spa: 1}"),
         "journey.edges.restaurant.spa", "unknown touchpoint 'spa'", "spa: 1"),
    Case("edge-to-misspelt", change("    restaurant: {checkout: 1}",
                                    "    restaurant: {chekout: 1}"),
         "journey.edges.restaurant.chekout", "did you mean 'checkout'?", "chekout: 1"),
    Case("edge-segment-misspelt", change("segments: {business: 0.6}",
                                         "segments: {busines: 0.6}"),
         "journey.edges.room.restaurant.segments.busines",
         "unknown segment 'busines'; did you mean 'business'?", "busines: 0.6"),
    Case("entry-unknown", change("  entries: {search_reviews: 1}", "  entries: {lobby: 1}"),
         "journey.entries.lobby", "unknown touchpoint 'lobby'", "lobby"),
    Case("exit-unknown", change("  exits: [checkout, booked_elsewhere]",
                                "  exits: [checkout, farewell]"),
         "journey.exits.1", "unknown touchpoint 'farewell'", "farewell"),
    Case("unreachable", change("    revenue: 320\n", f"    revenue: 320\n{SPA}"),
         "touchpoints.spa", "unreachable: no path from an entry leads here", "  spa:"),
    Case("unreachable-after-comment",
         change("    revenue: 320\n", f"    revenue: 320\n{SPA_WITH_NOTE}"),
         "touchpoints.spa", "unreachable", "  spa:"),
    Case("loop-without-exit",
         edit(("      restaurant: {weight: 0.4, segments: {business: 0.6}}\n      checkout: 0.6",
               "      restaurant: 1"),
              ("    restaurant: {checkout: 1}", "    restaurant: {room: 1}")),
         "touchpoints.room", "a loop with no exit", ROOM),
    Case("loop-without-exit-for-one-segment",
         edit(("      checkout: 0.6", "      checkout: {weight: 0.6, segments: {business: 0}}"),
              ("    restaurant: {checkout: 1}", "    restaurant: {room: 1}")),
         "touchpoints.room", "a loop with no exit for segment 'business'", ROOM),
    Case("dead-end", change("    restaurant: {checkout: 1}\n", ""),
         "touchpoints.restaurant", "a dead end: not an exit and no edge leaves it",
         RESTAURANT),
    Case("exit-with-edges", change("    restaurant: {checkout: 1}\n",
                                   "    restaurant: {checkout: 1}\n    checkout: {room: 1}\n"),
         "journey.edges.checkout", "is an exit: a journey ends there", "checkout: {room: 1}"),
    Case("entry-weights-zero", change("{search_reviews: 1}", "{search_reviews: 0}"),
         "journey.entries", "entry weights must have a positive sum", "search_reviews: 0"),
    Case("edge-weight-negative", change("      checkout: 0.6", "      checkout: -0.6"),
         "journey.edges.room.checkout", "must be >= 0, got -0.6", "checkout: -0.6"),
    # probabilities, shares and the population
    Case("problem-probability-negative",
         change("    problem_probability: 0.03", "    problem_probability: -0.03"),
         "touchpoints.booking_website.problem_probability", "must be >= 0, got -0.03", "-0.03"),
    Case("problem-probability-above-1",
         change("    problem_probability: 0.05", "    problem_probability: 1.5"),
         "touchpoints.reception.problem_probability", "must be <= 1, got 1.5",
         "problem_probability: 1.5"),
    Case("existing-customers-above-1",
         change("  existing_customers: 0.25", "  existing_customers: 1.25"),
         "population.existing_customers", "must be <= 1, got 1.25", "1.25"),
    Case("awareness-negative", change("  awareness_per_day: 0.002", "  awareness_per_day: -0.002"),
         "population.awareness_per_day", "must be >= 0, got -0.002", "-0.002"),
    Case("shares-not-summing-to-1", change("      share: 0.6", "      share: 0.5"),
         "population.segments", "segment shares must sum to 1, got 0.9", "  segments:"),
    Case("share-zero", change("      share: 0.4", "      share: 0"),
         "population.segments.business.share", "must be > 0, got 0", "share: 0\n"),
    Case("population-empty", change("  size: 20000", "  size: 0"),
         "population.size", "must be > 0, got 0", "size: 0"),
    Case("no-segments", put("population.segments", {}),
         "population.segments", "must not be empty", "segments: {}"),
    Case("channel-unknown", change("{web: 3, phone: 1}", "{web: 3, fax: 1}"),
         "population.segments.business.channel_preferences.fax", "unknown channel 'fax'", "fax"),
    Case("channel-preference-negative", change("{web: 3, phone: 1}", "{web: -3, phone: 1}"),
         "population.segments.business.channel_preferences.web", "must be >= 0, got -3",
         "web: -3"),
    # rules
    Case("rule-unknown", change("{rule: peak_end,", "{rule: peak_middle,"),
         "perception.memory.rule", "unknown memory rule 'peak_middle'", "peak_middle"),
    Case("rule-parameter-out-of-range", change("loss_aversion: 2.0", "loss_aversion: -1"),
         "perception.disconfirmation.loss_aversion", "must be >= 0, got -1", "loss_aversion"),
    Case("rule-parameter-unknown-for-rule", change("{rule: asymmetric,", "{rule: linear,"),
         "perception.disconfirmation.loss_aversion", "unknown key 'loss_aversion'",
         "loss_aversion"),
    Case("rule-not-importable", change("  rule: logistic", "  rule: acme.rules:Loyalty"),
         "loyalty.rule", "cannot import 'acme.rules:Loyalty'", "acme"),
    Case("rule-wrong-kind", change("  rule: logistic", "  rule: cxsim.rules:PeakEnd"),
         "loyalty.rule", "is not a Loyalty rule", "PeakEnd"),
    Case("rule-empty-module", change("  rule: logistic", "  rule: :Loyalty"),
         "loyalty.rule", "cannot import", ":Loyalty"),
    Case("rule-relative-module", change("  rule: logistic", "  rule: .rules:Loyalty"),
         "loyalty.rule", "cannot import", ".rules:Loyalty"),
    Case("rule-spec-not-mapping", change("  memory: {rule: peak_end, peak_weight: 0.5}",
                                         "  memory: peak_end"),
         "perception.memory", "must be a mapping", "memory: peak_end"),
    # strategies
    Case("strategy-unknown-field", change("touchpoints.reception.care.service_minutes:",
                                          "touchpoints.reception.care.service_minute:"),
         "strategies.faster_checkin.set.touchpoints.reception.care.service_minute",
         "unknown key 'service_minute'; did you mean 'service_minutes'?", "service_minute:"),
    Case("strategy-misspelt-touchpoint", change("      touchpoints.room.personalisation: 0.3",
                                                "      touchpoints.rooom.personalisation: 0.3"),
         "strategies.personalised_welcome.set.touchpoints.rooom.personalisation",
         "did you mean 'room'?", "rooom.personalisation"),
    Case("strategy-named-baseline", change("  faster_checkin:\n", "  baseline:\n"),
         "strategies.baseline", "'baseline' is the scenario itself", "  baseline:"),
    Case("strategy-sets-fixed-field", change("      touchpoints.room.personalisation: 0.3",
                                             "      seed: 1"),
         "strategies.personalised_welcome.set.seed", "a strategy cannot change 'seed'", "seed: 1"),
    Case("strategy-removes-nothing", change("    cost: {per_journey: 3}\n",
                                            "    cost: {per_journey: 3}\n"
                                            "    remove: [touchpoints.spa]\n"),
         "strategies.personalised_welcome.remove.0", "no field 'spa'", "touchpoints.spa"),
    Case("strategy-wildcard-matches-nothing",
         change("      touchpoints.room.personalisation: 0.3",
                "      journey.edges.room.checkout.segments.*: 0.5"),
         "strategies.personalised_welcome.set.journey.edges.room.checkout.segments.*",
         "'*' matches nothing", "segments.*"),
    Case("strategy-value-out-of-range", change("touchpoints.reception.personalisation: 0.6",
                                               "touchpoints.reception.personalisation: 1.6"),
         "strategies.personalised_welcome.set.touchpoints.reception.personalisation",
         "after the patch, touchpoints.reception.personalisation: must be <= 1, got 1.6", "1.6"),
    Case("strategy-breaks-graph", change("    cost: {per_journey: 3}\n",
                                         "    cost: {per_journey: 3}\n"
                                         "    remove: [journey.edges.restaurant]\n"),
         "strategies.personalised_welcome", "after the patch, touchpoints.restaurant: a dead end",
         "  personalised_welcome:"),
    Case("strategy-late-trait-change",
         change("      journey.exits: [follow_up_email, booked_elsewhere]\n",
                "      journey.exits: [follow_up_email, booked_elsewhere]\n"
                "      population.segments.business.share: 0.5\n"),
         "strategies.follow_up_after_stay.set.population.segments.business.share",
         "traits are drawn on day 0", "business.share"),
    # duplicate keys
    Case("duplicate-top-key", change("horizon_days: 365\n", "horizon_days: 365\nseed: 7\n"),
         "seed", "duplicate key", "seed: 7"),
    Case("duplicate-touchpoint", change(RESTAURANT, ROOM),
         "touchpoints.room", "duplicate key", "  room:\n    description: Dinner"),
    Case("duplicate-flow-key", change(ROOM_QUALITY, ROOM_QUALITY[:-1] + ", mean: 8.1}"),
         "touchpoints.room.quality.mean", "duplicate key", "mean: 8.1}"),
    # the file itself
    Case("not-yaml-ini", text("[scenario]\nname = hotel\nsize = 100\n"), None, "not valid YAML",
         "name = hotel"),
    Case("not-yaml-tab", change("  size: 20000", "\tsize: 20000"), None, "not valid YAML",
         "\tsize"),
    Case("not-yaml-unclosed", change(ROOM_QUALITY, ROOM_QUALITY[:-1]), None,
         "a mapping opened with '{' is not closed with '}'"),
    Case("not-yaml-colon-in-text", change("description: Booking a room online.",
                                          "description: Booking: a room online."), None,
         "text with ': ' in it, which needs quotes", "Booking: a room"),
    Case("not-yaml-control-character", change("Paying the bill", "Paying \x1b[1mthe bill"),
         None, "not valid YAML", "Paying"),
    Case("two-documents", text(HOTEL + "---\nname: other\n"), None, "another document", "---"),
    Case("empty-file", text(""), None, "the file is empty"),
    Case("only-comments", text("# a scenario, one day\n"), None, "the file is empty"),
    Case("top-level-list", text("- name: hotel\n- name: other\n"), None,
         "must be a mapping of fields", 1),
    Case("top-level-text", text("scenarios/hotel.yaml\n"), None, "got a str", 1),
    Case("not-utf8", latin1(), None, "not a text file"),
    Case("missing-file", missing(), None, "no such file"),
    Case("directory", directory(), None, "is a directory"),
    Case("recursive-alias", change("description: Paying the bill and leaving.",
                                   "description: &d [*d]"), None, "endless nesting", "&d"),
    # --set overrides
    Case("set-bad-value", text(HOTEL, "hotel.yaml"), "population.size", "must be > 0, got -5",
         override="population.size=-5"),
    Case("set-without-equals", text(HOTEL, "hotel.yaml"), None, "expected PATH=VALUE",
         override="population.size"),
    Case("set-into-a-number", text(HOTEL, "hotel.yaml"), None, "cannot go into 'x'",
         override="population.size.x=1"),
    Case("set-index-out-of-range", text(HOTEL, "hotel.yaml"), None, "index 3 is out of range",
         override="journey.exits.3=farewell"),
    Case("set-unknown-field", text(HOTEL, "hotel.yaml"), "touchpoints.reception.qualty",
         "unknown key 'qualty'", override="touchpoints.reception.qualty.mean=8"),
    Case("set-misspelt-touchpoint", text(HOTEL, "hotel.yaml"), "touchpoints.rooom",
         "unknown key 'rooom'; did you mean 'room'?", override="touchpoints.rooom.quality.mean=8"),
    Case("set-touchpoint-cut-short", text(HOTEL, "hotel.yaml"), "touchpoints.rec",
         "unknown key 'rec'; did you mean 'reception'?", override="touchpoints.rec.quality.mean=8"),
    Case("strategy-into-a-section-the-touchpoint-lacks", text(HOTEL, "hotel.yaml"), None,
         "touchpoints.room.care is not set (the scenario has none): to add one, set the whole of "
         "touchpoints.room.care",
         override="strategies.room_staff={set: {touchpoints.room.care.servers: 3}}"),
    Case("set-wildcard-into-a-number", text(HOTEL, "hotel.yaml"), None,
         "touchpoints.booked_elsewhere.quality is 7.0, not a mapping",
         override="touchpoints.*.quality.mean=8"),
    Case("set-creates-an-incomplete-section", text(HOTEL.replace(
        "perception:\n  disconfirmation: {rule: asymmetric, loss_aversion: 2.0}\n"
        "  memory: {rule: peak_end, peak_weight: 0.5}\n"
        "  attitude: {rule: exponential, attitude_rate: 0.4, expectation_rate: 0.2}\n", ""),
        "hotel.yaml"), "perception.memory.rule", "required field is missing",
        override="perception.memory.peak_weight=0.3"),
    Case("set-value-not-yaml", text(HOTEL, "hotel.yaml"), None, "not valid YAML",
         override="name=[unclosed"),
    # service episodes and queues
    Case("contact-unknown-touchpoint", change("contact: {reception: 2, guest_line: 1}",
                                              "contact: {reception: 2, guest_phone: 1}"),
         "service.contact.guest_phone", "unknown touchpoint 'guest_phone'", "contact:"),
    Case("contact-without-care", change("contact: {reception: 2, guest_line: 1}",
                                        "contact: {reception: 2, room: 1}"),
         "service.contact.room", "has no care section", "contact:"),
    Case("escalation-loop", change("      patience_scale: 20\n",
                                   "      patience_scale: 20\n      escalate_to: reception\n"),
         "touchpoints.duty_manager.care.escalate_to", "escalation loop", "escalate_to: recep"),
    Case("escalation-unknown", change(
        "      escalate_to: duty_manager\n      cost_per_server_hour: 28",
        "      escalate_to: manager\n      cost_per_server_hour: 28"),
         "touchpoints.reception.care.escalate_to", "unknown touchpoint 'manager'",
         "escalate_to: manager"),
    Case("servers-23-hours", change(
        "servers: [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]",
        "servers: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]"),
         "touchpoints.guest_line.care.servers", "24 numbers (one per hour)",
         "servers: [0, 0, 0, 0, 0, 0, 1"),
    Case("servers-negative", change(
        "      servers: [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]\n"
        "      service_minutes: {dist: exponential, mean: 10}",
        "      servers: -2\n      service_minutes: {dist: exponential, mean: 10}"),
         "touchpoints.duty_manager.care.servers", ">= 0", "servers: -2"),
    Case("servers-one-negative-number", text(HOTEL, "hotel.yaml"),
         "touchpoints.duty_manager.care.servers", "must be >= 0, got -1",
         override="touchpoints.duty_manager.care.servers=-1"),
    Case("servers-not-a-number", text(HOTEL, "hotel.yaml"),
         "touchpoints.duty_manager.care.servers", "must be a whole number or a list, got 1.5",
         override="touchpoints.duty_manager.care.servers=1.5"),
    Case("care-unknown-key", change("      first_contact_resolution: 0.9\n",
                                    "      first_contact_resolution: 0.9\n      fcr: 0.9\n"),
         "touchpoints.duty_manager.care.fcr", "unknown key 'fcr'", "fcr:"),
    Case("hours-too-few", put("service.hours", [1] * 23), "service.hours",
         "exactly 24 numbers, one per hour of the day (0:00 first), got 23"),
    Case("contact-hours-all-zero", put("service.hours", [0] * 24), "service.hours",
         "the hours must have a positive sum"),
    Case("visit-hours-all-zero", text(HOTEL, "hotel.yaml"),
         "touchpoints.reception.care.visit_hours", "the hours must have a positive sum",
         override="touchpoints.reception.care.visit_hours=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                  "0,0,0,0,0,0,0]"),
    Case("follow-up-unknown", text(HOTEL, "hotel.yaml"), "service.follow_up.touchpoint",
         "unknown touchpoint 'thank_you'", override="service.follow_up={touchpoint: thank_you}"),
    Case("fcr-above-one", change("      first_contact_resolution: 0.9\n",
                                 "      first_contact_resolution: 1.2\n"),
         "touchpoints.duty_manager.care.first_contact_resolution", "<= 1", "resolution: 1.2"),
    # word of mouth: a network is a tagged union on 'kind', as a distribution is on 'dist'
    Case("network-unknown-key", text(HOTEL, "hotel.yaml"), "word_of_mouth.network.strong_shar",
         "did you mean 'strong_share'?",
         override="word_of_mouth.network={kind: watts_strogatz, degree: 4, strong_shar: 0.3}"),
    Case("network-unknown-kind", text(HOTEL, "hotel.yaml"), "word_of_mouth.network",
         "unknown network kind 'small_world'",
         override="word_of_mouth.network={kind: small_world}"),
    Case("network-without-kind", text(HOTEL, "hotel.yaml"), "word_of_mouth.network",
         "a network needs a 'kind' key", override="word_of_mouth.network={degree: 4}"),
    Case("network-degree-above-population", text(HOTEL, "hotel.yaml"),
         "word_of_mouth.network.degree", "degree 30000 needs more than 20000 people",
         override="word_of_mouth.network={kind: watts_strogatz, degree: 30000, rewire: 0.1}"),
    Case("edge-list-id-out-of-range", beside_an_edge_list("a,b\n0,1\n1,20000\n"),
         "word_of_mouth.network.path", "line 3: person id 20000 in column 'b' is out of range",
         override=EDGE_LIST),
    Case("edge-list-not-a-bool", beside_an_edge_list("a,b,strong\n0,1,true\n2,3,maybe\n"),
         "word_of_mouth.network.path",
         "line 3: column 'strong' must hold true or false, got 'maybe'", override=EDGE_LIST),
    Case("edge-list-not-a-number", beside_an_edge_list("a,b\n0,1\n2.5,3\n"),
         "word_of_mouth.network.path", "line 3: column 'a' must hold a whole number",
         override=EDGE_LIST),
]


def line_of(content: str, fragment: str) -> int:
    """The number of the line where ``fragment`` (which must occur once) starts."""
    assert content.count(fragment) == 1, f"{fragment!r} must occur exactly once"
    return content[: content.index(fragment)].count("\n") + 1


def names(line: str, dotted: str) -> bool:
    """Whether a problem line names the field ``dotted`` (or a field inside it)."""
    return f": {dotted}:" in line or f": {dotted}." in line


@pytest.mark.parametrize("case", [
    pytest.param(case, id=case.id,
                 marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
    for case in CASES
])
def test_bad_input_is_refused_with_a_located_message(case: Case, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, [case.override] if case.override else [])
    lines = refused.value.lines
    assert lines, "a ScenarioError must say what is wrong"
    located = re.compile(re.escape(str(path)) + r"(:\d+:\d+)?: \S")
    for line in lines:
        assert "\n" not in line, f"one problem, one line: {line!r}"
        assert located.match(line) or line.startswith("--set "), line

    where = f"--set {case.override}" if case.override else str(path)
    found = [line for line in lines
             if line.startswith(where) and case.message in line
             and (case.path is None or names(line, case.path))]
    assert found, f"no line naming {where}, {case.path} and {case.message!r} in:\n" + "\n".join(
        lines)
    if case.at is not None:
        match case.at:
            case int():
                number = case.at
            case _:
                number = line_of(path.read_text(), case.at)
        assert any(line.startswith(f"{path}:{number}:") for line in found), (
            f"expected line {number}:\n" + "\n".join(found))


def test_a_value_that_fits_no_member_of_a_union_is_one_problem(tmp_path: Path) -> None:
    for value in ("-1", "1.5", "[1, -2" + ", 1" * 22 + "]", "{monday: 2}"):
        with pytest.raises(ScenarioError) as refused:
            load_scenario(text(HOTEL, "hotel.yaml")(tmp_path),
                          [f"touchpoints.duty_manager.care.servers={value}"])
        assert len(refused.value.lines) == 1, refused.value.lines
        assert "constrained-int" not in refused.value.lines[0]


def test_a_duplicate_key_is_the_only_problem_reported(tmp_path: Path) -> None:
    # a second 'room' in place of 'restaurant': restaurant is gone, and the edges into it would
    # be reported too, though the duplicate is the mistake
    with pytest.raises(ScenarioError) as refused:
        load_scenario(change(RESTAURANT, ROOM)(tmp_path))
    assert len(refused.value.lines) == 1 and "duplicate key" in refused.value.lines[0]


def test_a_misspelt_required_key_is_one_problem(tmp_path: Path) -> None:
    # 'sise' is unknown and 'size' is missing: one mistake, one message with the hint
    with pytest.raises(ScenarioError) as refused:
        load_scenario(change("  size: 20000", "  sise: 20000")(tmp_path))
    [line] = refused.value.lines
    assert "population.sise: unknown key 'sise'; did you mean 'size'?" in line


def test_a_pattern_with_a_star_reports_alike_problems_once(tmp_path: Path) -> None:
    touchpoints = len(yaml.safe_load(HOTEL)["touchpoints"])
    with pytest.raises(ScenarioError) as refused:
        load_scenario(text(HOTEL, "hotel.yaml")(tmp_path), ["touchpoints.*.qualityy=1"])
    assert refused.value.lines == [
        f"--set touchpoints.*.qualityy=1: touchpoints.*.qualityy ({touchpoints} places): "
        "unknown key 'qualityy'; did you mean 'quality'?"]
    # in a strategy, after an entry for one touchpoint that the pattern overrides: the problem
    # is the pattern's, at its line
    path = change("touchpoints.room.personalisation: 0.3",
                  "touchpoints.*.personalisation: -0.3")(tmp_path)
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    [line] = refused.value.lines
    assert line.startswith(f"{path}:{line_of(path.read_text(), '*.personalisation: -0.3')}:")
    assert (f"after the patch, touchpoints.*.personalisation ({touchpoints} places): must be "
            ">= 0, got -0.3") in line


def test_catalogue_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


def test_every_problem_of_a_file_is_reported_on_its_own_line(tmp_path: Path) -> None:
    broken = {  # field path: (the edit, the text on the expected line)
        "population.size": (("  size: 20000", "  size: many"), "size: many"),
        "touchpoints.room.importanc": (("    importance: 1.5", "    importanc: 1.5"), "importanc:"),
        "touchpoints.reception.problem_probability":
            (("    problem_probability: 0.05", "    problem_probability: 1.5"), "ity: 1.5"),
        "touchpoints.room.quality": ((ROOM_QUALITY, "quality: {dist: gauss, mean: 7.6}"), "gauss"),
        "output.moment": (("  moments: all", "  moment: all"), "moment:"),
    }
    path = edit(*(pair for pair, _ in broken.values()))(tmp_path)
    content = path.read_text()
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path)
    lines = refused.value.lines
    assert len(lines) == len(broken), "\n".join(lines)
    for dotted, (_, fragment) in broken.items():
        [line] = [line for line in lines if f": {dotted}: " in line]
        assert line.startswith(f"{path}:{line_of(content, fragment)}:"), line


# --------------------------------------------------------------------------------------------
# the command line


def cxsim(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cxsim.cli", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cxsim_validate_refuses_bad_files_without_a_traceback(tmp_path: Path) -> None:
    files, cwd = tmp_path / "files", tmp_path / "cwd"
    files.mkdir()
    cwd.mkdir()
    bad = change("  size: 20000", "  size: many")(files)
    line = line_of(bad.read_text(), "size: many")
    hotel = text(HOTEL, "hotel.yaml")(files)
    runs = {  # arguments: what stderr must say
        (str(bad),): f"{bad}:{line}:9: population.size: must be a whole number, got 'many'",
        (str(files / "nope.yaml"),): f"{files / 'nope.yaml'}: no such file",
        (str(hotel), "--set", "population.size"): "--set population.size: expected PATH=VALUE",
    }
    started = {args: cxsim("validate", *args, cwd=cwd) for args in runs}  # run side by side
    for args, expected in runs.items():
        out, err = started[args].communicate(timeout=120)
        assert started[args].returncode == 2, (args, out, err)
        assert "Traceback" not in out + err, err
        assert out == "", out
        assert err.startswith("error: the scenario has 1 problem:"), err
        assert expected in err, err
    assert list(cwd.iterdir()) == [], "validate must not create files"


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``cxsim validate`` started on every example scenario at once (each run takes seconds)."""
    cwd = tmp_path_factory.mktemp("cwd")
    runs = {p.name: cxsim("validate", str(p), cwd=cwd) for p in SCENARIOS}
    yield {"cwd": cwd, **runs}
    for run in runs.values():
        if run.poll() is None:
            run.kill()
        run.communicate()


@pytest.mark.parametrize("scenario", [p.name for p in SCENARIOS])
def test_cxsim_validate_accepts_the_example_scenarios(
    scenario: str, validations: dict[str, Any]
) -> None:
    run = validations[scenario]
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert f"{scenario}: valid." in out
    assert list(validations["cwd"].iterdir()) == []


def test_a_new_touchpoint_named_like_another_can_be_added_and_linked() -> None:
    # near-miss refusal is for typos: a name the scenario defines is no typo
    scenario = load_scenario(Path("scenarios/hotel.yaml"), [
        "touchpoints.room_2={stage: use, channel: in_person, p: place, quality: 7}",
        "journey.edges.room_2.checkout=1", "journey.edges.room.room_2=1"])
    assert "room_2" in scenario.touchpoints
    assert "checkout" in scenario.journey.edges["room_2"]

"""The scenario file: one world, typed and validated.

A scenario describes the population, the touchpoint graph, the rules of perception and loyalty,
the horizon, the replicates and the seed, and its *strategies* (named what-ifs). This module holds
the typed schema (pydantic v2; unknown keys are refused). Reading a file with line numbers and
reporting problems lives in :mod:`cxsim.scenario_file`; the checks that span several fields (a
graph every journey can leave, shares that sum to one) live in :mod:`cxsim.checks`.

Scales: quality and expectation are on a 0–10 scale (like a rating); durations say their unit in
the field name (``duration_days``, ``inter_purchase_days``, ``patience_minutes``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from cxsim.distributions import Constant, Distribution, Exponential, Normal, NumberShorthand
from cxsim.network import FullyMixed, NetworkSpec
from cxsim.typed import Id, NonNegative, Probability, Strict

Stage = Literal["awareness", "consideration", "purchase", "use", "service", "post_purchase"]
STAGES: tuple[str, ...] = Stage.__args__  # type: ignore[attr-defined]
SevenPs = Literal[
    "people", "process", "physical_evidence", "product", "price", "place", "promotion"
]


def _const(value: float) -> Constant:
    return Constant(value=value)


def _exponential(mean: float) -> Exponential:
    return Exponential(dist="exponential", mean=mean)


class Segment(Strict):
    """A named group of customers whose traits are drawn from the same distributions."""

    share: Annotated[float, Field(gt=0, le=1)] = Field(
        description="Share of the population in this segment; shares of all segments sum to 1."
    )
    expectation: Distribution = Field(
        default_factory=lambda: Normal(dist="normal", mean=7.0, sd=1.0),
        description="Baseline expectation of quality, 0-10 scale.",
    )
    patience_minutes: Distribution = Field(
        default_factory=lambda: _const(10.0),
        description="How long the customer waits before abandoning a queue, minutes.",
    )
    price_sensitivity: Distribution = Field(
        default_factory=lambda: _const(1.0),
        description="Multiplies a touchpoint's price_premium into lost quality points.",
    )
    personalisation_response: Distribution = Field(
        default_factory=lambda: _const(1.0),
        description="Quality points gained at a fully personalised touchpoint (personalisation 1).",
    )
    talkativeness: Distribution = Field(
        default_factory=lambda: _const(0.5),
        description="Propensity to tell others about a journey, 0-1 (used by word of mouth).",
    )
    complain_propensity: Distribution = Field(
        default_factory=lambda: _const(0.3),
        description="Probability of complaining after a problem, 0-1 (used by service episodes).",
    )
    channel_preferences: dict[str, Distribution] = Field(
        default_factory=dict,
        description="Weight of each channel for this segment (missing channels weigh 1); "
        "edges marked by_channel_preference are scaled by it.",
    )
    inter_purchase_days: Distribution = Field(
        default_factory=lambda: _const(90.0),
        description="Days from the end of one journey to the start of the next, if the customer "
        "comes back.",
    )
    initial_attitude: Distribution = Field(
        default_factory=lambda: _const(0.0),
        description="Attitude of existing customers at the start (felt-value scale, 0 = neutral).",
    )


class Population(Strict):
    """Who the customers are."""

    size: Annotated[int, Field(gt=0)] = Field(description="Number of simulated people.")
    segments: dict[Id, Segment] = Field(min_length=1)
    existing_customers: Probability = Field(
        default=0.0, description="Share of the population that are customers at day 0."
    )
    awareness_per_day: Probability = Field(
        default=0.0,
        description="Daily chance that a prospect becomes aware through promotion and starts a "
        "first journey (the p of Bass diffusion, as a daily probability).",
    )


Servers = Annotated[int, Field(ge=0)] | list[Annotated[int, Field(ge=0)]] | list[
    list[Annotated[int, Field(ge=0)]]]


class Care(Strict):
    """A service touchpoint with servers and a waiting line (phone, chat, email, a desk): for
    customers who contact it about a problem, and — when it is on the journey's edges — for
    every customer whose journey passes it (a check-in desk, tables of a restaurant)."""

    servers: Servers = Field(
        description="Servers on duty: a number, 24 numbers (one per hour of the day, every day) "
        "or 7 lists of 24 (Monday first). Hours with 0 servers are closed.")
    service_minutes: Distribution = Field(
        default_factory=lambda: _exponential(6.0),
        description="Handling time of one contact, minutes.")
    patience_scale: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="Multiplies customers' patience_minutes on this channel (an "
        "email waits far longer than a phone call: e.g. 200).")
    first_contact_resolution: Probability = Field(
        default=0.7, description="Chance that a served contact solves the problem.")
    escalate_to: Id | None = Field(
        default=None, description="Care touchpoint an unresolved contact is passed to (the next "
        "day), e.g. a specialist; without it the customer may contact again.")
    cost_per_server_hour: NonNegative = Field(default=0.0, description="Staff cost.")
    answer_within_minutes: NonNegative | None = Field(
        default=None, description="Target answer time of this channel for the service level "
        "(e.g. 0.5 on the phone, 1440 for email); default: service.service_level_minutes.")
    answer: float = Field(
        default=0.0, description="The answer (policy) this channel gives, on any scale: "
        "customers who meet different answers across channels perceive inconsistency.")
    answer_sd: NonNegative = Field(
        default=0.0, description="Spread of answers between contacts of this channel.")
    outsourced: bool = Field(default=False, description="Run by an outsourced team.")
    visit_hours: list[NonNegative] = Field(
        default_factory=lambda: [1.0] * 24, min_length=24, max_length=24,
        description="When the touchpoint is on the journey: relative number of visitors "
        "arriving in each hour of the day (0:00 first), e.g. check-ins in the afternoon.")

    @field_validator("servers")
    @classmethod
    def _a_day_or_a_week(cls, servers: Any) -> Any:
        if isinstance(servers, list):
            days = servers if servers and isinstance(servers[0], list) else [servers]
            if len(days) not in (1, 7) or any(len(day) != 24 for day in days):
                shape = " × ".join(map(str, [len(days), *sorted({len(d) for d in days})]))
                raise ValueError("give a number, 24 numbers (one per hour) or 7 lists of 24 "
                                 f"(one per day of the week), got {shape}")
        return servers


class Touchpoint(Strict):
    """A node of the journey graph: one place or moment where the customer meets the brand."""

    description: str = ""
    stage: Stage
    channel: Id = Field(description="web, phone, chat, email, social, store, in_person, ...")
    p: SevenPs = Field(description="Which of the 7 Ps this touchpoint mostly expresses.")
    service: bool = Field(default=False, description="A direct service interaction.")
    quality: Distribution = Field(description="Experienced quality, 0-10 scale.")
    importance: NonNegative = Field(
        default=1.0, description="Weight of this moment of truth in the felt value."
    )
    personalisation: Probability = Field(
        default=0.0, description="Level of personalisation, 0 (none) to 1 (full)."
    )
    price_premium: NonNegative = Field(
        default=0.0,
        description="How far the price sits above what customers think fair, in quality points "
        "(scaled by each customer's price_sensitivity).",
    )
    problem_probability: Probability = Field(
        default=0.0, description="Chance that something goes wrong at a visit."
    )
    problem_severity: NonNegative = Field(
        default=3.0, description="Quality points lost when something goes wrong."
    )
    capacity_per_day: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="Visits a day this touchpoint handles without strain; above "
        "it problems grow with the load (see load_sensitivity). Default: no strain.")
    load_sensitivity: NonNegative = Field(
        default=1.0, description="problem chance = problem_probability × (1 + load_sensitivity "
        "× max(0, load − 1)), load = yesterday's visits / capacity_per_day.")
    cost_per_visit: NonNegative = 0.0
    revenue: NonNegative = Field(default=0.0, description="Revenue per visit (where a purchase "
                                 "happens).")
    duration_days: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Days spent here before moving on (0: move on the same day)."
    )
    shows_rating: bool = Field(
        default=False, description="Prospects read the public rating here (search results, "
        "review sites): it shifts their expectation and their way on to a purchase.")
    prevented_share: Probability = Field(
        default=0.0, description="Share of problems here that a proactive action prevents "
        "(anticipating needs, e.g. an outage notice).")
    prevention_cost: NonNegative = Field(
        default=0.0, description="Cost of the proactive action per problem it anticipates "
        "here, prevented or not (e.g. a notice and a credit); counted in cost to serve.")
    care: Care | None = Field(
        default=None, description="Makes this a care touchpoint customers contact about "
        "problems (see service.contact).")


class Edge(Strict):
    """A possible next step. Weights are relative among the edges leaving one touchpoint."""

    weight: NonNegative = 1.0
    segments: dict[Id, NonNegative] = Field(
        default_factory=dict, description="Weight for customers of these segments instead."
    )
    by_channel_preference: bool = Field(
        default=False,
        description="Scale the weight by the customer's preference for the target's channel.",
    )


EdgeSpec = Annotated[Edge, NumberShorthand("weight")]


class Journey(Strict):
    """The touchpoint graph: where journeys start, how they move on, where they end."""

    entries: dict[Id, NonNegative] = Field(min_length=1, description="Entry touchpoints, weighted.")
    returning_entries: dict[Id, NonNegative] | None = Field(
        default=None,
        description="Entry touchpoints of customers coming back for another journey (default: "
        "the same as entries), e.g. straight to booking instead of search and reviews.",
    )
    edges: dict[Id, dict[Id, EdgeSpec]] = Field(
        default_factory=dict,
        description="edges[from][to]: a weight or {weight, segments, by_channel_preference}.",
    )
    exits: list[Id] = Field(min_length=1, description="Touchpoints where a journey ends.")

    def touchpoints_on_the_way(self) -> set[str]:
        """Touchpoints a journey can be at: the entries and every edge's target."""
        return {*self.entries, *(self.returning_entries or {}),
                *(target for edges in self.edges.values() for target in edges)}


class RuleSpec(BaseModel):
    """Which rule to use, by registered name or ``package.module:Class``, and its parameters."""

    model_config = ConfigDict(extra="allow")
    rule: str


class Perception(Strict):
    """How moments of truth become a journey evaluation, an attitude and expectations."""

    disconfirmation: RuleSpec = Field(default_factory=lambda: RuleSpec(rule="asymmetric"))
    memory: RuleSpec = Field(default_factory=lambda: RuleSpec(rule="peak_end"))
    attitude: RuleSpec = Field(default_factory=lambda: RuleSpec(rule="exponential"))


class Credibility(Strict):
    """How much a word-of-mouth message is believed, by the tie it comes over."""

    strong: NonNegative = Field(default=2.0, description="From a strong tie (family, friends).")
    weak: NonNegative = Field(default=1.0, description="From a weak tie (acquaintances).")
    stranger: NonNegative = Field(
        default=1.0, description="From anyone, on a fully mixed population.")


class WordOfMouth(Strict):
    """Customers telling others about the brand: awareness, and messages after journeys."""

    network: NetworkSpec = Field(
        default_factory=lambda: FullyMixed(kind="fully_mixed"),
        description="Who can tell whom: fully_mixed (everyone), or a network (erdos_renyi, "
        "watts_strogatz, barabasi_albert, configuration, edge_list).")
    imitation_per_day: NonNegative = Field(
        default=0.0,
        description="On a fully mixed population: the rate at which prospects become aware "
        "through customers, per day at full adoption (the q of Bass diffusion).")
    contact_per_day: Probability = Field(
        default=0.0,
        description="On a network: the daily chance that a customer makes a prospect contact "
        "aware (a weak tie; strong ties count strong_tie_weight times).")
    strong_tie_weight: NonNegative = Field(
        default=2.0,
        description="How many times contact_per_day's rate a strong tie carries (Goldenberg, "
        "Libai & Muller 2001: strong ties are told more often and believed more).")
    weak_tie_weight: NonNegative = Field(
        default=1.0, description="The same for weak ties (0 silences them).")
    audience: Annotated[float, Field(ge=0, le=1000)] = Field(
        default=0.0,
        description="People a customer who talks about a journey tells, on average (0: nobody "
        "talks about journeys; awareness still spreads by the rates above).")
    awareness_per_message: Probability = Field(
        default=0.3,
        description="Chance that a prospect told good news (a positive message) becomes aware "
        "of the brand and starts a first journey the next day. Bad news makes nobody aware; it "
        "lowers what the prospect expects and feels (the influences below).")
    credibility: Credibility = Field(
        default_factory=Credibility,
        description="How much a message is believed, by its tie: the receiver's attitude and "
        "expectation move by influence × credibility × valence.")
    extremity: Annotated[float, Field(gt=0)] = Field(
        default=1.0, description="Felt value at which the chance to talk reaches 63% of the "
        "customer's talkativeness (P = talkativeness·(1 − e^{−|v|/extremity})).")
    negativity_bias: NonNegative = Field(
        default=2.0, description="How much more a dissatisfied customer talks (Anderson 1998).")
    valence_noise: NonNegative = Field(
        default=0.5, description="Spread of a message's valence around the journey's evaluation.")
    attitude_influence: NonNegative = Field(
        default=0.05, description="A receiver's attitude moves by this × credibility × valence.")
    expectation_influence: NonNegative = Field(
        default=0.05,
        description="A receiver's expectation moves by this × credibility × valence.")


class Reviews(Strict):
    """Public reviews and the rating prospects read (Chevalier & Mayzlin 2006)."""

    post_chance: Probability = Field(
        default=0.0, description="Chance to post a review after a very extreme journey; it "
        "falls to 0 for a journey that met expectations: post_chance·(1 − e^{−|v|/extremity}).")
    extremity: Annotated[float, Field(gt=0)] = 1.0
    initial_rating: Annotated[float, Field(ge=1, le=5)] = Field(
        default=4.0, description="The rating before any simulated review (1–5 stars).")
    window: Annotated[int, Field(ge=1)] = Field(
        default=200, description="The rating is an exponentially weighted mean of about the "
        "last `window` reviews.")
    expectation_influence: NonNegative = Field(
        default=0.5, description="A prospect reading the rating expects this many quality "
        "points more per star above initial_rating (less below).")
    conversion_elasticity: NonNegative = Field(
        default=1.0, description="Edges from a rating touchpoint to a purchase touchpoint are "
        "weighted by (rating / initial_rating) ** conversion_elasticity for prospects.")
    respond_share: Probability = Field(
        default=0.0, description="Share of negative reviews the business answers; an answered "
        "review's stars move halfway back to neutral (3).")


class FollowUp(Strict):
    """A proactive contact the company makes: itself a moment of truth, with its cost."""

    touchpoint: Id = Field(description="The touchpoint of the follow-up (its quality, cost).")
    after: Literal["problem", "purchase"] = Field(
        default="problem", description="After a problem's service episode closes, or at the "
        "end of every journey with a purchase.")
    share: Probability = Field(default=1.0, description="Share of those customers followed up.")


class Service(Strict):
    """Service episodes: what customers do about a problem, and how care answers (rule 8)."""

    contact: dict[Id, NonNegative] = Field(
        default_factory=dict,
        description="Care touchpoints a complaining customer may contact, weighted; each weight "
        "is scaled by the customer's preference for the touchpoint's channel, and channels "
        "closed at that hour are skipped. Empty: nobody complains.")
    hours: list[NonNegative] = Field(
        default_factory=lambda: [1.0] * 24, min_length=24, max_length=24,
        description="Relative number of contacts made in each hour of the day (0:00 first).")
    max_attempts: Annotated[int, Field(ge=1)] = Field(
        default=3, description="Contacts per problem at most (first, repeats, escalations).")
    retry: Probability = Field(
        default=0.6, description="Chance that a customer whose contact failed (abandoned or "
        "unresolved without escalation) tries again the next day.")
    switch_channel: Probability = Field(
        default=0.3, description="Chance that a retry goes to another channel.")
    wait_penalty: NonNegative = Field(
        default=2.0, description="Quality points a contact loses for a wait as long as the "
        "customer's patience (in proportion for shorter waits).")
    unresolved_penalty: NonNegative = Field(
        default=2.0, description="Quality points a contact loses when it does not solve the "
        "problem.")
    inconsistency_penalty: NonNegative = Field(
        default=1.0, description="Quality points a contact loses per unit of spread between the "
        "answers the customer has met in this journey.")
    forgiveness: Probability = Field(
        default=0.8, description="Share of the bad moment of a journey's first problem that is "
        "forgotten when it is solved at the first contact; a second problem in the journey is "
        "never forgiven (double deviation).")
    service_level_minutes: NonNegative = Field(
        default=0.5, description="Target answer time for the service level KPI, minutes, for "
        "care touchpoints without their own answer_within_minutes.")
    follow_up: FollowUp | None = Field(
        default=None, description="A proactive follow-up contact (a strategy lever).")


class Economics(Strict):
    """Money: discounting for customer lifetime value."""

    discount_rate_per_year: NonNegative = 0.1


def _yaml_switch(value: Any) -> Any:
    """YAML 1.1 reads a bare ``off``/``on`` as false/true: take them as the words."""
    return {False: "off", True: "all"}.get(value, value) if isinstance(value, bool) else value


class Output(Strict):
    """What a run writes besides the customers, daily and kpis tables."""

    moments: Annotated[Literal["all", "sample", "off"], BeforeValidator(_yaml_switch)] = Field(
        default="all", description="Moments of truth table: all, a sample of customers, or off.")
    moments_sample: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.1, description="Share of customers whose moments are kept when moments=sample."
    )
    messages: Annotated[Literal["all", "sample", "off"], BeforeValidator(_yaml_switch)] = Field(
        default="off", description="Word-of-mouth messages table: all, a sample of senders, or "
        "off.")
    contacts: Annotated[Literal["all", "sample", "off"], BeforeValidator(_yaml_switch)] = Field(
        default="all", description="Service contacts table: all, a sample of customers, or off.")
    contacts_sample: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.1, description="Share of customers whose contacts are kept when "
        "contacts=sample.")
    messages_sample: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.1, description="Share of senders whose messages are kept when messages=sample.")


class StrategyCost(Strict):
    """What a strategy costs on top of the touchpoints' own costs."""

    per_day: NonNegative = Field(default=0.0, description="Money per day, from from_day on.")
    per_journey: NonNegative = Field(
        default=0.0, description="Money per journey completed, from from_day on.")


class Strategy(Strict):
    """A named what-if: a patch over the scenario, from a given day on, with its cost."""

    description: str = ""
    cost: StrategyCost = Field(default_factory=StrategyCost)
    from_day: Annotated[int, Field(ge=0)] = 0
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="Field paths to new values, e.g. 'touchpoints.*.personalisation': 0.3; "
        "a new key adds a touchpoint or an edge.",
    )
    remove: list[str] = Field(
        default_factory=list, description="Field paths to delete (a touchpoint, an edge, ...)."
    )


class SweepParameter(Strict):
    """One swept field: a range (``low``, ``high``) or a list of ``values`` (grid only)."""

    low: float | None = None
    high: float | None = None
    values: list[Any] | None = Field(default=None, min_length=1)
    steps: Annotated[int, Field(ge=2)] = Field(
        default=3, description="Grid points between low and high (grid design only).")
    integer: bool = Field(default=False, description="Round the values to whole numbers.")

    @model_validator(mode="after")
    def _range_or_values(self) -> SweepParameter:
        if (self.values is None) == (self.low is None or self.high is None):
            raise ValueError("give either low and high, or values")
        if self.values is None and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class Sweep(Strict):
    """Run the scenario at many design points: each sets the swept fields, then every strategy
    and replicate runs there (results partitioned by ``point``)."""

    design: Literal["grid", "lhs", "sobol", "saltelli", "morris"] = Field(
        default="grid",
        description="grid: every combination; lhs: Latin hypercube; sobol: scrambled Sobol "
        "sequence (both scipy.stats.qmc); saltelli and morris: the samples that Sobol indices "
        "and Morris screening need (cxsim sensitivity, pip install 'cxsim[sensitivity]').")
    points: Annotated[int, Field(ge=1)] = Field(
        default=16,
        description="lhs, sobol: the number of points; saltelli: N, giving N·(k+2) points for "
        "k parameters; morris: trajectories, giving r·(k+1) points.")
    parameters: dict[str, SweepParameter] = Field(
        min_length=1, description="Field paths (as for --set) and their ranges or values.")


class Scenario(Strict):
    """One world to simulate, and the what-ifs to compare in it."""

    name: Id
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    replicates: Annotated[int, Field(ge=1)] = 5
    horizon_days: Annotated[int, Field(ge=1)] = 365
    population: Population
    touchpoints: dict[Id, Touchpoint] = Field(min_length=1)
    journey: Journey
    perception: Perception = Field(default_factory=Perception)
    loyalty: RuleSpec = Field(default_factory=lambda: RuleSpec(rule="logistic"))
    word_of_mouth: WordOfMouth = Field(default_factory=WordOfMouth)
    reviews: Reviews = Field(default_factory=Reviews)
    service: Service = Field(default_factory=Service)
    economics: Economics = Field(default_factory=Economics)
    output: Output = Field(default_factory=Output)
    strategies: dict[Id, Strategy] = Field(default_factory=dict)
    sweep: Sweep | None = None

    def care_touchpoints(self) -> list[str]:
        """Touchpoints service episodes reach: those customers contact, where those escalate
        to (and so on), and the follow-up's; in first-reached order."""
        reached = list(self.service.contact)
        for tp in reached:  # grows as escalations are found
            care = getattr(self.touchpoints.get(tp), "care", None)
            if care is not None and care.escalate_to and care.escalate_to not in reached:
                reached.append(care.escalate_to)
        if self.service.follow_up is not None:
            reached.append(self.service.follow_up.touchpoint)
        return list(dict.fromkeys(reached))

    def channels(self) -> list[str]:
        """The channels of all touchpoints, in first-seen order."""
        return list(dict.fromkeys(tp.channel for tp in self.touchpoints.values()))


class _SchemaWithDefaults(GenerateJsonSchema):
    """A JSON Schema that shows the defaults made by a factory (a segment's traits, a care
    section's service time, the network ...) as well as the plain ones, so that an editor
    shows every default on hover."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return schema.get("default", NoDefault)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (``cxsim schema``), defaults included."""
    return Scenario.model_json_schema(by_alias=True, schema_generator=_SchemaWithDefaults)


__all__ = [
    "STAGES",
    "Edge",
    "Journey",
    "Population",
    "RuleSpec",
    "Scenario",
    "Segment",
    "Strategy",
    "Touchpoint",
    "scenario_json_schema",
]

"""Results: the tables of a simulation, written as a hive-partitioned parquet dataset.

A run folder holds one folder per table, partitioned by strategy and replicate::

    RUN/customers/strategy=baseline/replicate=0/part-0.parquet
    RUN/moments/strategy=baseline/replicate=0/part-0.parquet
    RUN/contacts/...   RUN/messages/...   RUN/daily/...   RUN/queues/...   RUN/kpis/...
    RUN/scenario.yaml   RUN/run.json

Every file carries in its key-value metadata the canonical scenario (JSON), the seed, the
strategy, the replicate and the cxsim version. Files are written under a temporary name and
renamed when complete, so a reader never sees half a file and an interrupted run loses nothing
that had finished. The columns of every table are described in ``docs/results.md``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cxsim import __version__
from cxsim.model import JourneyModel, Moment, nps
from cxsim.population import Status
from cxsim.scenario import STAGES

TABLES = ("customers", "moments", "contacts", "daily", "queues", "kpis")  # by default
COMPRESSION = "zstd"


@dataclass(frozen=True)
class Provenance:
    """Where a table comes from: written into every file's metadata."""

    scenario_json: str
    seed: int
    strategy: str
    replicate: int
    point: dict[str, Any] | None = None  # the design point's values, in a sweep

    def metadata(self, table: str) -> dict[bytes, bytes]:
        found = {
            b"cxsim.scenario": self.scenario_json.encode(),
            b"cxsim.seed": str(self.seed).encode(),
            b"cxsim.strategy": self.strategy.encode(),
            b"cxsim.replicate": str(self.replicate).encode(),
            b"cxsim.version": __version__.encode(),
            b"cxsim.table": table.encode(),
        }
        if self.point is not None:
            found[b"cxsim.point"] = json.dumps(self.point).encode()
        return found


def partition(root: Path, table: str, strategy: str, replicate: int,
              point: int | None = None) -> Path:
    """The file of one table of one strategy and replicate (and design point, in a sweep)."""
    folder = root / table if point is None else root / table / f"point={point}"
    return folder / f"strategy={strategy}" / f"replicate={replicate}" / "part-0.parquet"


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_table(table: pa.Table, path: Path, provenance: Provenance, name: str) -> Path:
    """Write ``table`` to ``path`` atomically, with the provenance in its metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(provenance.metadata(name))
    tmp = _temporary(path)
    pq.write_table(table, tmp, compression=COMPRESSION)
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class EventTable:
    """A table of events a simulation emits day by day in batches (moments, messages)."""

    name: str
    schema: pa.Schema
    names: Callable[[JourneyModel], dict[str, pa.Array]]  # the dictionary columns' names

    def table(self, batches: list[dict[str, np.ndarray]], names: dict[str, pa.Array]
              ) -> pa.Table:
        """The events of ``batches`` (columns as the model emits them) as one table."""
        def column(field: pa.Field) -> pa.Array:
            coded = pa.types.is_dictionary(field.type)
            values = (np.concatenate([b[field.name] for b in batches]) if batches else
                      np.empty(0, dtype=np.int32 if coded else field.type.to_pandas_dtype()))
            if coded:
                return pa.DictionaryArray.from_arrays(values.astype(np.int32), names[field.name])
            return pa.array(values, type=field.type)

        return pa.table([column(f) for f in self.schema], schema=self.schema)


class BatchWriter:
    """Streams one event table of one simulation into a parquet file, day by day.

    Batches are buffered and written as row groups, so memory stays flat however long the run;
    the file appears under its final name only when :meth:`close` is called.
    """

    ROWS_PER_GROUP = 1 << 20

    def __init__(self, path: Path, provenance: Provenance, table: EventTable,
                 model: JourneyModel) -> None:
        self.path, self.table = path, table
        self.names = table.names(model)
        self.schema = table.schema.with_metadata(provenance.metadata(table.name))
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(_temporary(path), self.schema, compression=COMPRESSION)
        self._batches: list[dict[str, np.ndarray]] = []
        self._rows = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> None:
        rows = len(next(iter(batch.values())))
        if rows:
            self._batches.append(batch)
            self._rows += rows
            if self._rows >= self.ROWS_PER_GROUP:
                self._flush()

    def _flush(self) -> None:
        if self._batches:
            table = self.table.table(self._batches, self.names)
            self._writer.write_table(table.replace_schema_metadata(self.schema.metadata))
        self._batches, self._rows = [], 0

    def close(self) -> Path:
        self._flush()
        self._writer.close()
        os.replace(_temporary(self.path), self.path)
        return self.path


class BatchBuffer:
    """Keeps one event table of a simulation in memory (for :func:`cxsim.simulate`)."""

    def __init__(self, table: EventTable, model: JourneyModel) -> None:
        self.table, self.names = table, table.names(model)
        self.batches: list[dict[str, np.ndarray]] = []

    def __call__(self, batch: dict[str, np.ndarray]) -> None:
        self.batches.append(batch)

    def result(self) -> pa.Table:
        return self.table.table(self.batches, self.names)


_TEXT = pa.dictionary(pa.int32(), pa.string())


def _moment_names(model: JourneyModel) -> dict[str, pa.Array]:
    graph = model.world.graph  # every world of a model numbers touchpoints and channels alike
    return {"touchpoint": pa.array(graph.ids), "channel": pa.array(graph.channels),
            "stage": pa.array(list(STAGES)), "kind": pa.array([m.name.lower() for m in Moment])}


MOMENTS = EventTable("moments", pa.schema([
    ("day", pa.int32()), ("customer", pa.int64()), ("journey", pa.int32()),
    ("touchpoint", _TEXT), ("channel", _TEXT), ("stage", _TEXT), ("kind", _TEXT),
    ("quality", pa.float64()),
    ("expectation", pa.float64()), ("disconfirmation", pa.float64()),
    ("felt_value", pa.float64()), ("problem", pa.bool_()), ("wait_minutes", pa.float64()),
]), _moment_names)
"""One row per moment of truth (:meth:`JourneyModel.meet`)."""

TIES = ("none", "weak", "strong")
MESSAGES = EventTable("messages", pa.schema([
    ("day", pa.int32()), ("sender", pa.int64()), ("receiver", pa.int64()),
    ("valence", pa.float64()), ("tie", _TEXT),
]), lambda model: {"tie": pa.array(list(TIES))})
"""One row per word-of-mouth message (:meth:`JourneyModel.talk`); tie "none" on a fully mixed
population."""

CONTACTS = EventTable("contacts", pa.schema([
    ("day", pa.int32()), ("minute", pa.float64()), ("customer", pa.int64()),
    ("journey", pa.int32()), ("attempt", pa.int8()), ("touchpoint", _TEXT), ("channel", _TEXT),
    ("outsourced", pa.bool_()), ("wait_minutes", pa.float64()), ("abandoned", pa.bool_()),
    ("resolved", pa.bool_()), ("escalated", pa.bool_()), ("quality", pa.float64()),
]), _moment_names)
"""One row per contact with a care touchpoint (:meth:`JourneyModel.settle`)."""

EVENT_TABLES = (MOMENTS, MESSAGES, CONTACTS)


def _nullable(values: np.ndarray, missing: int = -1) -> pa.Array:
    return pa.array(values, mask=values == missing)


def customers_table(model: JourneyModel) -> pa.Table:
    """One row per customer at the end of the horizon."""
    p = model.people
    scenario = model.world.scenario
    segments = pa.array(list(scenario.population.segments))
    statuses = pa.array([s.name.lower() for s in Status])
    columns: dict[str, Any] = {
        "customer": np.arange(p.size, dtype=np.int64),
        "segment": pa.DictionaryArray.from_arrays(p.segment.astype(np.int32), segments),
        "existing": p.existing,
        "baseline_expectation": p.baseline_expectation,
        **{name: values for name, values in p.traits.items()},
        **{f"preference_{c}": p.channel_preference[:, i]
           for i, c in enumerate(model.world.graph.channels)},
        "status": pa.DictionaryArray.from_arrays(p.status.astype(np.int32), statuses),
        "expectation": p.expectation,
        "attitude": p.attitude,
        "journeys": p.journeys,
        "purchases": p.purchases,
        "revenue": p.revenue,
        "cost": p.cost,
        "clv": p.clv,
        "first_day": _nullable(p.first_day),
        "churned": p.status == Status.CHURNED,
        "churn_day": _nullable(p.churn_day),
        "last_recommend": _nullable(p.last_recommend),
        "problems": model.service.problems,
        "complaints": model.service.complaints,
        "contacts": model.service.contacts,
    }
    return pa.table(columns)


DAILY_SCHEMA = pa.schema(
    [(name, pa.int32()) for name in ("day", "prospects", "aware", "newly_aware",
                                     "active_customers", "in_journey", "messages_positive",
                                     "messages_negative", "reviews", "adopted",
                                     "journeys_started", "journeys_completed", "moments",
                                     "churned", "lost", "problems", "complaints", "contacts")]
    + [(name, pa.float64()) for name in ("revenue", "cost", "service_cost", "mean_attitude",
                                         "nps", "rating")]
)
KPI_SCHEMA = pa.schema(
    [(name, pa.int64()) for name in ("customers", "customers_won", "lost_prospects",
                                     "journeys", "purchases",
                                     "active_customers_end", "wom_positive", "wom_negative",
                                     "reviews", "problems", "complaints", "contacts")]
    + [(name, pa.float64()) for name in (
        "conversion", "journeys_per_customer", "revenue", "cost", "strategy_cost", "profit",
        "nps",
        "promoters", "detractors", "retention", "churn_rate", "repurchase_rate", "mean_clv",
        "mean_attitude", "wom_positive_ratio", "aware_share_end", "final_rating",
        "complaint_rate", "silent_dissatisfied_rate", "silent_churn_share",
        "first_contact_resolution", "mean_wait_minutes", "p90_wait_minutes", "service_level",
        "abandonment_rate", "answer_inconsistency", "mean_visit_wait_minutes", "staff_cost",
        "proactive_cost", "cost_to_serve")]
)
QUEUES_SCHEMA = pa.schema([
    ("day", pa.int32()), ("touchpoint", pa.string()), ("arrivals", pa.int64()),
    ("served", pa.int64()), ("abandoned", pa.int64()), ("backlog", pa.int64()),
    ("mean_wait_minutes", pa.float64()), ("utilisation", pa.float64()),
])


def daily_table(model: JourneyModel) -> pa.Table:
    """One row per day."""
    return pa.Table.from_pylist(model.daily, schema=DAILY_SCHEMA)


def queues_table(model: JourneyModel) -> pa.Table:
    """One row per care touchpoint and day: contacts arriving, served (starting service),
    abandoned, still waiting at the end of the day (backlog), mean wait of those served, and
    utilisation (minutes of service started / server-minutes on duty)."""
    q, horizon = model.service.days, model.world.scenario.horizon_days
    care = np.flatnonzero(model.service.care_seen)
    days = np.arange(horizon)
    rows = len(care) * horizon

    def cut(values: np.ndarray) -> np.ndarray:
        return values[care, :horizon].ravel() if rows else np.empty(0)

    served = cut(q.served)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_wait = np.where(served > 0, cut(q.wait_sum) / served, np.nan)
        utilisation = np.where(cut(q.server_hours) > 0,
                               cut(q.busy_minutes) / (60 * cut(q.server_hours)), np.nan)
    ids = model.world.graph.ids
    return pa.table({
        "day": np.tile(days, len(care)).astype(np.int32),
        "touchpoint": [ids[tp] for tp in care for _ in days],
        "arrivals": cut(q.arrivals).astype(np.int64),
        "served": served.astype(np.int64),
        "abandoned": cut(q.abandoned).astype(np.int64),
        "backlog": (np.cumsum(q.waiting, axis=1)[care, :horizon].ravel() if rows
                    else np.empty(0)).astype(np.int64),
        "mean_wait_minutes": pa.array(mean_wait, mask=np.isnan(mean_wait)),
        "utilisation": pa.array(utilisation, mask=np.isnan(utilisation)),
    }, schema=QUEUES_SCHEMA)


def service_figures(model: JourneyModel) -> dict[str, float | int]:
    """The service KPIs: complaints and silence, resolution, waits, abandonment, cost to serve.

    complaint_rate = complaints / problems; silent_dissatisfied_rate = people who had a
    problem and never complained / people who had a problem; silent_churn_share = churned
    customers who had a problem and never complained / churned customers; first-contact
    resolution = solved first contacts / answered first contacts; waits over served contacts;
    service level = contacts answered within their touchpoint's target (answer_within_minutes,
    else service.service_level_minutes) / contacts offered (abandoned included);
    mean_visit_wait_minutes = mean wait of journeys' visits to staffed touchpoints on the
    journey (a check-in desk); answer_inconsistency = mean spread between the answers a
    customer met in a journey, over answered contacts after the journey's first answer;
    cost to serve = staff + contacts + proactive actions (follow-ups, prevention).
    """
    desk, p = model.service, model.people
    had = desk.problems > 0  # first-timers whose journey an open complaint holds included
    silent = had & (desk.complaints == 0)
    churned = p.status == Status.CHURNED
    waits = np.concatenate(desk.waits) if desk.waits else np.empty(0)
    visits = np.concatenate(desk.visit_waits) if desk.visit_waits else np.empty(0)
    offered = desk.offered - int(sum(len(c.who) for b in desk.ending.values() for c in b))

    def share(part: float, whole: float) -> float:
        return part / whole if whole else float("nan")

    return {
        "problems": int(desk.problems.sum()),
        "complaints": int(desk.complaints.sum()),
        "contacts": int(desk.contacts.sum()),
        "complaint_rate": share(desk.complaints.sum(), desk.problems.sum()),
        "silent_dissatisfied_rate": share(silent.sum(), had.sum()),
        "silent_churn_share": share((silent & churned).sum(), churned.sum()),
        "first_contact_resolution": share(desk.first_contacts[1], desk.first_contacts[0]),
        "mean_wait_minutes": float(waits.mean()) if len(waits) else float("nan"),
        "p90_wait_minutes": float(np.quantile(waits, 0.9)) if len(waits) else float("nan"),
        "service_level": share(desk.in_time, offered),
        "abandonment_rate": share(desk.abandoned, offered),
        "answer_inconsistency": share(desk.spread[0], desk.spread[1]),
        "mean_visit_wait_minutes": float(visits.mean()) if len(visits) else float("nan"),
        "staff_cost": desk.staff_cost,
        "proactive_cost": desk.proactive_cost,
        "cost_to_serve": desk.staff_cost + desk.contact_cost + desk.proactive_cost,
    }


def kpis_table(figures: dict[str, float | None]) -> pa.Table:
    """The ``kpis`` table of one simulation (one row, see :func:`kpis`)."""
    return pa.Table.from_pylist([figures], schema=KPI_SCHEMA)


def kpis(model: JourneyModel) -> dict[str, float | None]:
    """The key figures of one simulation (``None`` where nobody was served to measure)."""
    p = model.people
    served = p.journeys > 0
    n_served = int(served.sum())
    churned = int((p.status == Status.CHURNED).sum())
    completed = int(p.journeys.sum())
    revenue, cost = float(p.revenue.sum()), float(p.cost.sum()) + model.service.staff_cost
    scores = p.last_recommend[served]
    won = model.adopted - int(p.existing.sum())
    figures = {
        "customers": n_served,
        "customers_won": won,
        "lost_prospects": model.lost,
        "conversion": won / (won + model.lost) if won + model.lost else float("nan"),
        "journeys": completed,
        "journeys_per_customer": completed / n_served if n_served else float("nan"),
        "purchases": int(p.purchases.sum()),
        "revenue": revenue,
        "cost": cost,
        "strategy_cost": model.strategy_cost,
        "profit": revenue - cost - model.strategy_cost,
        "nps": nps(scores) if n_served else float("nan"),
        "promoters": float((scores >= 9).mean()) if n_served else float("nan"),
        "detractors": float((scores <= 6).mean()) if n_served else float("nan"),
        "retention": 1 - churned / n_served if n_served else float("nan"),
        "churn_rate": churned / n_served if n_served else float("nan"),
        "repurchase_rate": (completed - churned) / completed if completed else float("nan"),
        "mean_clv": float(p.clv[served].mean()) if n_served else float("nan"),
        "mean_attitude": float(p.attitude[served].mean()) if n_served else float("nan"),
        "active_customers_end": int(((p.status == Status.IN_JOURNEY)
                                     | (p.status == Status.BETWEEN)).sum()),
        "wom_positive": model.messages[0],
        "wom_negative": model.messages[1],
        "wom_positive_ratio": (model.messages[0] / model.messages[1] if model.messages[1]
                               else float("nan")),
        "aware_share_end": float(1 - p.counts[Status.PROSPECT] / p.size),
        "reviews": model.reviews,
        "final_rating": model.rating,
        **service_figures(model),
    }
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in figures.items()}


def read_table(run: str | Path, table: str) -> pa.Table:
    """One table of a run folder, all strategies and replicates, with ``strategy`` and
    ``replicate`` columns (and ``point``, in a sweep) from the partition names."""
    root = Path(run) / table
    if not root.is_dir():
        off = {"moments", "contacts", "messages"}
        why = (f"; an event table is kept only when the scenario's output.{table} is not off"
               if table in off else "")
        raise FileNotFoundError(f"{run}: no {table!r} table (no folder {root}){why}")
    keys = [("strategy", pa.string()), ("replicate", pa.int32())]
    if any(p.name.startswith("point=") for p in root.iterdir()):
        keys.insert(0, ("point", pa.int32()))
    partitioning = ds.partitioning(pa.schema(keys), flavor="hive")
    return ds.dataset(root, format="parquet", partitioning=partitioning,
                      exclude_invalid_files=True).to_table()


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The provenance a result file carries, without the ``cxsim.`` prefix: text, but the
    seed and replicate as numbers and what is JSON (the scenario, a sweep's point, a
    comparison's runs, seeds and common_random_numbers) parsed."""
    md = pq.read_schema(path).metadata or {}
    info: dict[str, Any] = {k.decode().removeprefix("cxsim."): v.decode() for k, v in md.items()
                            if k.startswith(b"cxsim.")}
    for key in info.keys() & {"scenario", "point", "runs", "seeds", "common_random_numbers",
                              "seed", "replicate"}:
        info[key] = json.loads(info[key])
    return info

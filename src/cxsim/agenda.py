"""The agenda: who is due on which day.

A customer is due on a day to move on from a touchpoint (after its duration) or to start a
journey (after an inter-purchase time): :attr:`Population.due_day`. Finding a day's customers by
comparing every customer's due day with today would cost the whole population every day. The
agenda keeps, for each day, the customers noted as due then, so a day costs only the customers
it concerns.

A note may go stale: a customer noted for day d whose due day changed since (they churned, or
wait for a service episode) is dropped when day d comes, by checking the due day then. So only
writing a due day needs a note, never erasing one. The agenda is a numba typed list with one
array per day (its first element the number of customers noted), grown as notes come, so that
compiled code (:func:`note`) and Python (:meth:`Agenda.note`) share it.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.typed import List

NEVER = np.iinfo(np.int32).max


@numba.njit(cache=True)
def _empty_days(days: int) -> List:  # pragma: no cover - compiled
    agenda = List()
    for _ in range(days):
        agenda.append(np.zeros(1, dtype=np.int64))
    return agenda


@numba.njit(cache=True, inline="always")
def note(agenda: List, customer: int, day: int) -> None:  # pragma: no cover - compiled
    """Note ``customer`` as due on ``day`` (nothing for :data:`NEVER` or a negative day)."""
    if day < 0 or day == NEVER:
        return
    while day >= len(agenda):
        agenda.append(np.zeros(1, dtype=np.int64))
    noted = agenda[day]
    count = noted[0]
    if count + 1 == noted.shape[0]:
        grown = np.zeros(max(2 * noted.shape[0], 16), dtype=np.int64)
        grown[:count + 1] = noted
        agenda[day] = noted = grown
    noted[count + 1] = customer
    noted[0] = count + 1


@numba.njit(cache=True)
def _note_all(agenda: List, who: np.ndarray, days: np.ndarray) -> None:  # pragma: no cover
    """Note each of ``who`` on its day of ``days`` (or all on ``days[0]`` if it has one)."""
    for i in range(who.shape[0]):
        note(agenda, who[i], days[i] if days.shape[0] > 1 else days[0])


@numba.njit(cache=True)
def _take(agenda: List, day: int, due_day: np.ndarray) -> np.ndarray:  # pragma: no cover
    """The customers noted for ``day`` whose due day is still ``day``, in row order; the
    day's notes are let go."""
    if day >= len(agenda):
        return np.empty(0, dtype=np.int64)
    noted = agenda[day]
    agenda[day] = np.zeros(1, dtype=np.int64)
    who = np.unique(noted[1:noted[0] + 1])
    keep = np.empty(who.shape[0], dtype=np.bool_)
    for i in range(who.shape[0]):
        keep[i] = due_day[who[i]] == day
    return who[keep]


class Agenda:
    """Who is due on which day (see the module's docstring)."""

    def __init__(self, days: int = 0) -> None:
        self.days = _empty_days(days)

    def note(self, who: np.ndarray, day: int | np.ndarray) -> None:
        """Note customers ``who`` as due on ``day`` (one for all, or one each)."""
        if len(who):
            _note_all(self.days, who, np.atleast_1d(np.asarray(day, dtype=np.int64)))

    def take(self, day: int, due_day: np.ndarray) -> np.ndarray:
        """The customers due on ``day`` (by ``due_day``), in row order."""
        return _take(self.days, day, due_day)

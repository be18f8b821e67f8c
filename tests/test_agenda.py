"""The agenda finds a day's due customers without scanning the population."""

import numpy as np

from cxsim.agenda import NEVER, Agenda


def test_the_agenda_gives_each_day_its_due_customers_in_row_order_and_drops_stale_notes():
    rng = np.random.default_rng(3)
    due_day = rng.integers(0, 40, 5_000).astype(np.int32)
    agenda = Agenda()
    agenda.note(np.arange(5_000), due_day)
    moved = rng.choice(5_000, 700, replace=False)  # due days rewritten after the first note
    due_day[moved[:300]] = NEVER
    due_day[moved[300:]] = rng.integers(0, 60, 400)
    agenda.note(moved[300:], due_day[moved[300:]])
    agenda.note(moved[300:350], due_day[moved[300:350]])  # noted twice: counted once
    for day in range(60):
        assert np.array_equal(agenda.take(day, due_day), np.flatnonzero(due_day == day))
    assert len(agenda.take(10, due_day)) == 0  # a day's notes are let go once taken

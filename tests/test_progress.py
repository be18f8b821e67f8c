"""Progress output: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from cxsim.progress import Progress


def feed(progress: Progress) -> None:
    progress.start(4)
    for i, (name, nps) in enumerate([("baseline", 10.0), ("fast", 20.0), ("baseline", 12.0),
                                     ("fast", 24.0)]):
        progress.done(name, i // 2, {"nps": nps, "retention": 0.5}, 0.1)


def test_plain_lines_carry_tasks_time_left_and_a_running_summary():
    stream = io.StringIO()
    feed(Progress(stream, interactive=False, every_seconds=3600))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first task and the last one (the others within the interval)
    assert lines[0].startswith("1/4 tasks done, about")
    assert lines[-1].startswith("4/4 tasks done")
    assert "mean NPS baseline 11.0, fast 22.0" in lines[-1]


def test_a_terminal_gets_one_bar_redrawn_in_place():
    stream = io.StringIO()
    feed(Progress(stream, interactive=True))
    text = stream.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "[########################] 4/4 tasks" in text


def test_a_resumed_run_says_what_was_already_done():
    stream = io.StringIO()
    Progress(stream, interactive=False).start(12, already_done=5)
    assert stream.getvalue() == "5 of 12 tasks already done; running the other 7\n"

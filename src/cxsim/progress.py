"""Progress of a run: a bar on a terminal, plain periodic lines otherwise.

The runner calls :meth:`Progress.start` once, :meth:`Progress.done` after each task and
:meth:`Progress.note` for anything worth saying; ``cxsim run --quiet`` passes no progress at all.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, TextIO


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _figure(value: float | None, form: str) -> str:
    return "n/a" if value is None else format(value, form)


class Progress:
    """Reports tasks done, the time left and a running summary: each strategy's mean NPS over
    the tasks finished so far.

    Args:
        stream: where to write (standard error by default).
        interactive: draw a bar redrawn in place (default: whether ``stream`` is a terminal).
        every_seconds: without a terminal, the least time between two lines.
    """

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None,
                 every_seconds: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.every = every_seconds
        self.total = self.finished = self.first = 0
        self.began = self.said = time.monotonic()
        self.nps: dict[str, list[float]] = {}

    def start(self, total: int, already_done: int = 0) -> None:
        self.total, self.finished, self.first = total, already_done, already_done
        self.began = self.said = time.monotonic()
        if already_done:
            self._line(f"{already_done} of {total} tasks already done; running the other "
                       f"{total - already_done}")

    def done(self, strategy: str, replicate: int, figures: dict[str, Any], seconds: float) -> None:
        self.finished += 1
        now = time.monotonic()
        new = self.finished - self.first
        left = (now - self.began) / new * (self.total - self.finished) if new else 0.0
        if figures.get("nps") is not None:
            self.nps.setdefault(strategy, []).append(figures["nps"])
        running = "mean NPS " + ", ".join(f"{name} {sum(v) / len(v):.1f}"
                                          for name, v in self.nps.items())
        if self.interactive:
            filled = self.WIDTH * self.finished // max(self.total, 1)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            line = (f"[{bar}] {self.finished}/{self.total} tasks, {_duration(left)} left | "
                    f"{running}")
            width = shutil.get_terminal_size().columns - 1
            end = "\n" if self.finished == self.total else ""
            self.stream.write(f"\r\033[K{line[:width]}{end}")
            self.stream.flush()
        elif now - self.said >= self.every or self.finished == self.total or new == 1:
            self.said = now
            last = (f"{strategy} replicate {replicate}: NPS "
                    f"{_figure(figures.get('nps'), '.1f')} in {seconds:.1f}s")
            self._line(f"{self.finished}/{self.total} tasks done, about {_duration(left)} left; "
                       f"last {last}; {running}")

    def note(self, text: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
        self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

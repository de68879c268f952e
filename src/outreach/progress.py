"""Progress of long commands: a bar redrawn in place on a terminal, plain lines when piped.

Domain functions that can take more than a second (an import, publishing, extending the
horizon, loading fixtures) take an optional :class:`Progress` and call it with the step
they are in and how far they are (``progress("saving routes", 120, 662)``); they know
nothing of terminals. The ``outreach`` command passes a :class:`Reporter`, which writes
to standard error so that standard output stays the command's result:

- on a terminal, one line per step, redrawn in place (``\\r``) at most ten times a second:
  ``import-stops: saving routes [#########-----------]  45%  300/662``;
- when piped (a log, cron mail, CI), a plain line each time a step passes another tenth
  of its total, and once at its end: ``import-stops: saving routes 67/662 (10%)``. The
  lines depend only on the counts, never on the clock, so a log reads the same each run.

A small own helper rather than tqdm or rich: tqdm writes its carriage-return updates
to a pipe as well (a log gets ``\\r``-joined redraws, not lines), rich is a large
dependency for one line of output, and neither gives plain lines that a test can compare
exactly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    """Told which step a long task is in and how many of its ``total`` items are done."""

    def __call__(self, step: str, done: int, total: int) -> None: ...


def silent(step: str, done: int, total: int) -> None:
    """A :class:`Progress` that reports nothing (the default of every long task)."""


BAR_WIDTH = 20
REDRAW_EVERY = 0.1  # seconds, on a terminal
TENTHS = 10


class Reporter:
    """A :class:`Progress` for one command, on ``stream`` (standard error by default)."""

    def __init__(
        self,
        command: str,
        stream: TextIO | None = None,
        *,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.clock = clock
        self._step: str | None = None
        self._tenths = -1
        self._drawn_at = -REDRAW_EVERY
        self._open = False  # a bar is on the screen without its line end

    def __call__(self, step: str, done: int, total: int) -> None:
        done = max(0, min(done, total))
        if step != self._step:
            self._end_line()
            self._step, self._tenths = step, -1
            self._drawn_at = -REDRAW_EVERY  # a new step is drawn at once
        if self.terminal:
            self._draw(step, done, total)
        else:
            self._line(step, done, total)

    def close(self) -> None:
        """End a bar left open (a step that stopped before its total)."""
        self._end_line()

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- terminal ------------------------------------------------------------------------

    def _draw(self, step: str, done: int, total: int) -> None:
        finished = done >= total
        now = self.clock()
        if not finished and now - self._drawn_at < REDRAW_EVERY:
            return
        self._drawn_at = now
        fraction = done / total if total else 1.0
        filled = round(BAR_WIDTH * fraction)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.command}: {step} [{bar}] {fraction:4.0%}  {done}/{total}\x1b[K")
        self._open = True
        if finished:
            self._end_line()
        self.stream.flush()

    def _end_line(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    # -- pipe ----------------------------------------------------------------------------

    def _line(self, step: str, done: int, total: int) -> None:
        tenths = TENTHS if total == 0 else done * TENTHS // total
        if tenths <= self._tenths or (tenths == 0 and done < total):
            return
        self._tenths = tenths
        percent = 100 if total == 0 else done * 100 // total
        self.stream.write(f"{self.command}: {step} {done}/{total} ({percent}%)\n")
        self.stream.flush()

"""Progress of a long step (folds, election dates, presets, figures): a rich progress bar on a terminal, plain
timestamped lines with an estimate of the time left in a log or CI, so nobody watches a silent job for minutes."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts the steps of one phase and says after each what was done, how far along and how long is left."""

    def __init__(self, phase: str, total: int, stream: TextIO | None = None, bar: bool | None = None):
        self.phase, self.total, self.done = phase, max(int(total), 1), 0
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self._bar = None
        if bar if bar is not None else self.stream.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                transient=True,
            )  # fmt: skip
            self._bar.start()
            self._task = self._bar.add_task(phase, total=self.total)

    def step(self, what: str) -> None:
        """One step done: advance the bar, or print '<phase> k/n: what (elapsed, ~left)'."""
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=f"{self.phase}: {what}")
            if self.done >= self.total:
                self.close()
            return
        left = elapsed / self.done * max(self.total - self.done, 0)
        print(f"  {self.phase} {self.done}/{self.total}: {what} ({elapsed:.0f} s, ~{left:.0f} s left)",
              file=self.stream, flush=True)  # fmt: skip

    def close(self) -> None:
        """Stop the bar (a no-op for plain lines)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

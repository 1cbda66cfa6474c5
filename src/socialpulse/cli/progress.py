"""Progress of long commands: one line per stage with done / total, rate and time left.

A job reports its stages through ``on_stage(name)``; a stage whose size the job knows also
reports ``on_count(total, done)`` (``done()`` reads a live count, e.g. a Spark accumulator).
A stage without a count shows its Spark tasks done / total instead, read from Spark's status
tracker, so every stage of a Spark job moves, not just the ones the job counts. Nothing is
drawn when the console is not a terminal (a pipe, a CI log).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

if TYPE_CHECKING:
    from pyspark import SparkContext


class _RateColumn(ProgressColumn):
    """Items per second in the stage's own unit (records or Spark tasks)."""

    def render(self, task: Task) -> Text:
        unit = str(task.fields.get("unit", ""))
        if task.speed is None or not unit:
            return Text("")
        # The unit is in the column just before: "1,234/s" keeps the line inside 80 columns.
        return Text(f"{task.speed:,.0f}/s", style="progress.data.speed")


def _cut(max_width: int | None = None) -> Column:
    return Column(no_wrap=True, overflow="ellipsis", max_width=max_width)


class StageProgress:
    """A rich progress display fed by a job's stage and count callbacks (a context manager).

    ``spark`` (optional) lets stages without a record count show their Spark tasks.
    """

    def __init__(
        self, console: Console, spark: SparkContext | None = None, poll_seconds: float = 0.5
    ) -> None:
        self.enabled = console.is_terminal
        # On a narrow terminal the stage name gives way (cut with an ellipsis), never the
        # numbers: the other columns need about 60 characters.
        name_width = max(16, console.width - 60)
        self._progress = Progress(
            TextColumn("{task.description}", table_column=_cut(name_width)),
            BarColumn(bar_width=12, table_column=_cut()),
            MofNCompleteColumn(table_column=_cut()),
            TextColumn("{task.fields[unit]}", table_column=_cut()),
            _RateColumn(table_column=_cut()),
            TimeRemainingColumn(table_column=_cut()),
            TimeElapsedColumn(table_column=_cut()),
            console=console,
            disable=not self.enabled,
        )
        self._spark = spark
        self._poll = poll_seconds
        self._lock = threading.Lock()
        self._task: TaskID | None = None
        self._done: Callable[[], int] | None = None
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._run, name="stage-progress", daemon=True)

    def __enter__(self) -> Self:
        self._progress.start()
        if self.enabled:
            self._poller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        with self._lock:
            if exc is None:
                self._finish()
        self._progress.stop()

    def stage(self, name: str) -> None:
        """Start stage ``name`` (the previous one is marked done)."""
        with self._lock:
            self._finish()
            self._done = None
            self._task = self._progress.add_task(name, total=None, unit="")

    def count(self, total: int, done: Callable[[], int]) -> None:
        """The current stage covers ``total`` records; ``done()`` says how many are done."""
        with self._lock:
            self._done = done
            if self._task is not None:
                self._progress.update(self._task, total=total, completed=0, unit="records")

    def _finish(self) -> None:
        if self._task is None:
            return
        task = next(t for t in self._progress.tasks if t.id == self._task)
        if self._done is not None:
            self._progress.update(self._task, completed=self._done())
        # A stage that is over is complete, whatever the last poll saw.
        total = task.total if task.total is not None else max(task.completed, 1)
        self._progress.update(self._task, total=total, completed=total)
        self._progress.stop_task(self._task)
        self._task = None

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            with self._lock:
                if self._task is None:
                    continue
                if self._done is not None:
                    self._progress.update(self._task, completed=self._done())
                elif self._spark is not None:
                    self._spark_tasks(self._task)

    def _spark_tasks(self, task: TaskID) -> None:
        # Tasks of the stages running now: a stage without a record count still moves.
        tracker = self._spark.statusTracker() if self._spark is not None else None
        if tracker is None:
            return
        done = total = 0
        for sid in tracker.getActiveStageIds():
            info = tracker.getStageInfo(sid)
            if info is not None:
                done += info.numCompletedTasks
                total += info.numTasks
        if total:
            self._progress.update(task, total=total, completed=done, unit="tasks")

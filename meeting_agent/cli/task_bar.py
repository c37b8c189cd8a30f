"""The live bar of a task on a terminal: stage, percent, time left, what is happening."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
)
from rich.progress import Task as BarTask
from rich.text import Text

from meeting_agent.cli.eta import TimeLeft

__all__ = ["TaskBar", "stage_label"]

_MESSAGE_WIDTH = 48


def _plain(name: str, prefix: str) -> str:
    """A stage or state as the domain spells it, from the domain's or the proto's name."""
    return name.lower().removeprefix(prefix)


def stage_label(stage: str, state: str) -> str:
    """`transcribe`, `generate minutes`…; the state while no stage has begun."""
    name = _plain(stage, "task_stage_")
    if name in ("", "unspecified"):
        name = _plain(state, "task_state_")
    return name.replace("_", " ")


class _TimeLeftColumn(ProgressColumn):
    """Asks the estimate at every refresh, so it keeps moving between events."""

    def __init__(self, time_left: TimeLeft) -> None:
        super().__init__()
        self._time_left = time_left

    def render(self, task: BarTask) -> Text:
        return Text(
            self._time_left.describe() if not task.finished else "", style="progress.remaining"
        )


class TaskBar:
    """One task's bar; `show` False keeps it silent (no terminal to draw on)."""

    def __init__(self, *, show: bool = True, console: Console | None = None) -> None:
        self.time_left = TimeLeft()
        self._progress = Progress(
            TextColumn("[bold]{task.fields[stage]:<16}"),
            BarColumn(),
            TaskProgressColumn(),
            _TimeLeftColumn(self.time_left),
            TextColumn("{task.description}"),
            # stderr: stdout is for the result, which scripts read.
            console=console or Console(stderr=True),
            disable=not show,
            transient=True,
        )
        self._bar = self._progress.add_task("", total=100, stage="queued")

    def __enter__(self) -> TaskBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def warn(self, reason: str, message: str) -> None:
        """A warning of the task, printed above the bar so it stays on screen after it."""
        self._progress.console.print(
            f"[yellow]warning[/yellow] {reason}: {message}",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )

    def show(
        self, *, stage: str, state: str, percent: int, message: str, event_time: float
    ) -> None:
        """One event of the task; `event_time` in seconds since the epoch."""
        running = _plain(state, "task_state_") == "running"
        self.time_left.observe(event_time, percent, running=running)
        self._progress.update(
            self._bar,
            completed=percent,
            stage=stage_label(stage, state),
            description=message[:_MESSAGE_WIDTH],
        )

"""Structured progress events: the one channel from the engine to every front end.

Steps report started/progress/finished/failed and log lines; reporters (human log, JSON
lines, the UI) subscribe. Events are plain JSON-serialisable data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import IO, Literal

EventKind = Literal["step-started", "step-progress", "step-finished", "step-failed", "log"]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    message: str
    step: str | None = None
    fraction: float | None = None  # 0.0..1.0 within the step, for progress events
    level: Literal["debug", "info", "warning", "error"] = "info"
    time: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


EventSink = Callable[[Event], None]


class EventBus:
    """Fans events out to subscribers. Held by the engine, never a module-level singleton."""

    def __init__(self, *sinks: EventSink) -> None:
        self._sinks: list[EventSink] = list(sinks)
        self.current_step: str | None = None

    def subscribe(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def unsubscribe(self, sink: EventSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def emit(self, event: Event) -> None:
        for sink in list(self._sinks):
            sink(event)

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None:
        self.emit(Event("log", message, step=self.current_step, level=level))

    def progress(self, fraction: float, message: str) -> None:
        bounded = min(1.0, max(0.0, fraction))
        self.emit(Event("step-progress", message, step=self.current_step, fraction=bounded))


class JsonLinesReporter:
    """Writes every event as one JSON object per line (--events FILE)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def __call__(self, event: Event) -> None:
        self._stream.write(event.to_json() + "\n")
        self._stream.flush()


def format_human(event: Event) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
    step = f"[{event.step}] " if event.step else ""
    if event.kind == "step-started":
        return f"{stamp} {step}started: {event.message}"
    if event.kind == "step-finished":
        return f"{stamp} {step}finished: {event.message}"
    if event.kind == "step-failed":
        return f"{stamp} {step}FAILED: {event.message}"
    if event.kind == "step-progress":
        pct = f"{(event.fraction or 0.0) * 100:5.1f}% "
        return f"{stamp} {step}{pct}{event.message}"
    level = "" if event.level == "info" else f"{event.level}: "
    return f"{stamp} {step}{level}{event.message}"


class HumanLogReporter:
    """Writes readable lines to a stream (the install log file, or the terminal)."""

    def __init__(self, stream: IO[str], *, show_debug: bool = True) -> None:
        self._stream = stream
        self._show_debug = show_debug

    def __call__(self, event: Event) -> None:
        if event.level == "debug" and not self._show_debug:
            return
        self._stream.write(format_human(event) + "\n")
        self._stream.flush()

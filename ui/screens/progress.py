"""Progress: the whole install and the current step as bars, the steps with states, a bounded log.

A failure stays on this screen, with the step, the message and the full log's path, so the
user can read the log tail and save a log bundle before going on to the Done screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Footer, RichLog, Static

from installer.api import Plan
from installer.core.events import Event, format_human
from ui import glyphs
from ui.screens.base import StepScreen
from ui.screens.done import bundle_row
from ui.widgets import Plain, ProgressLine


class ProgressScreen(StepScreen):
    STEP = "Installing"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back", show=False)]

    class EngineEvent(Message):
        def __init__(self, event: Event) -> None:
            super().__init__()
            self.event = event

    class Finished(Message):
        def __init__(self, code: int, error: str | None) -> None:
            super().__init__()
            self.code = code
            self.error = error

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan
        self.states = {s.id: "pending" for s in plan.steps}
        self.current: str | None = None
        self.failure: str | None = None
        self.outcome: tuple[int, str] | None = None  # set when the install failed: (exit code, message)

    def compose(self) -> ComposeResult:
        yield Plain("Azure Linux 4.0 installer  installing", classes="title")
        yield ProgressLine("Overall", id="overall")
        yield ProgressLine("Step", id="step")
        yield Plain("", id="steps", classes="steps")
        # Wrapped: a console has no way to scroll sideways, and dnf and the plan details write long lines.
        yield RichLog(max_lines=500, wrap=True, id="log")
        yield Plain("", id="errors", classes="errors")
        with Horizontal(classes="buttons failed"):
            yield Button("Continue", id="continue")
        yield Footer()

    def on_mount(self) -> None:
        for node in self.query(".failed"):
            node.display = False
        self.render_steps()
        self.run_install()

    @work(thread=True, exclusive=True, group="install")
    def run_install(self) -> None:
        profile = self.plan.profile
        try:
            code = self.installer.api.install(profile, self.forward)
            self.post_message(self.Finished(code, None))
        except Exception as err:  # Refused, PlanError, or a bug: shown with the log, never a crash
            self.post_message(self.Finished(2, str(err)))

    def forward(self, event: Event) -> None:
        """The engine's sink, called in the worker thread: post_message is thread-safe."""
        self.post_message(self.EngineEvent(event))

    def render_steps(self) -> None:
        lines = [f"{glyphs.STEP_MARK[self.states[s.id]]} {s.title}" for s in self.plan.steps]
        self.query_one("#steps", Static).update("\n".join(lines))

    def overall(self, step_fraction: float) -> float:
        done = sum(1 for s in self.states.values() if s == "done")
        return min(1.0, (done + step_fraction) / max(1, len(self.states)))

    def on_progress_screen_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if event.level != "debug" or event.kind != "log":
            self.query_one("#log", RichLog).write(format_human(event))
        step = event.step if event.step in self.states else None
        step_line = self.query_one("#step", ProgressLine)
        if event.kind == "step-started" and step:
            self.states[step], self.current = "running", step
            step_line.set_fraction(0.0, step)
        elif event.kind == "step-progress" and event.fraction is not None:
            step_line.set_fraction(event.fraction, event.step or "")
        elif event.kind == "step-finished" and step:
            self.states[step] = "done"
            step_line.set_fraction(1.0, step)
        elif event.kind == "step-failed":
            if step:
                self.states[step] = "failed"
            self.failure = f"step '{event.step}' failed: {event.message}"
        self.query_one("#overall", ProgressLine).set_fraction(self.overall(step_line.fraction
                                                                          if self.current else 0.0))
        self.render_steps()

    def on_progress_screen_finished(self, message: Finished) -> None:
        if self.installer.stopping is not None:  # a signal or Quit stopped it: the program ends now
            self.installer.finished(message.code, message.error)
            return
        if message.code == 0:
            self.query_one("#overall", ProgressLine).set_fraction(1.0)
            self.installer.finished(0, None)
            return
        log = self.installer.api.latest_log()
        error = self.failure or message.error or "the install failed"
        self.show_errors([error, f"full log: {log or 'not written'}"])
        self.outcome = (message.code, f"{error}; full log: {log or 'not written'}")
        self.installer.installing = False  # nothing runs any more: quitting is safe
        self.mount(bundle_row(self.installer), before=self.query_one(".failed"))
        for node in self.query(".failed"):
            node.display = True
        self.query_one("#continue", Button).focus()
        # The errors and the bundle row took rows from the log: show its end (the failing step's lines) again.
        log_view = self.query_one("#log", RichLog)
        self.call_after_refresh(log_view.scroll_end, animate=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "continue" and self.outcome is not None:
            self.installer.finished(*self.outcome)

    def action_back(self) -> None:
        """No way back while disks are being written."""

    def action_next(self) -> None:
        """The Done screen follows by itself, or (after a failure) with Continue."""
        if self.outcome is not None:
            self.installer.finished(*self.outcome)

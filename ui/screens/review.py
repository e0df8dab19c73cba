"""Review: the engine's plan, every destructive action, and a deliberate confirmation (focus on Cancel)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from installer.api import Plan
from profiles.model import Profile
from ui.screens.base import StepScreen
from ui.widgets import Plain


class ReviewScreen(StepScreen):
    AUTO_FOCUS = "#cancel"  # set before the first key is read, unlike focus() in on_mount
    STEP = "Review"

    class Planned(Message):
        def __init__(self, plan: Plan | None, error: str | None) -> None:
            super().__init__()
            self.plan = plan
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None

    def body(self) -> ComposeResult:
        yield Plain("Planning ...", id="erase", classes="erase")
        with VerticalScroll(id="plan-scroll"):
            yield Plain("", id="plan")
        with Horizontal(classes="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button("Erase and install", id="confirm", disabled=True, variant="error")

    def on_mount(self) -> None:
        self.inventory_changed()

    def inventory_changed(self) -> None:
        """Plan once the disks are known (with interactive_sections, Review can come before probing ends)."""
        inventory = self.installer.inventory
        if self.installer.probe_error:
            self.query_one("#erase", Static).update(f"! {self.installer.probe_text()}")
        elif inventory is None:
            self.query_one("#erase", Static).update("Probing disks in the background; the plan follows ...")
        elif self.plan is None:
            self.make_plan(self.installer.choices.to_profile(inventory))

    @work(thread=True, exclusive=True, group="plan")
    def make_plan(self, profile: Profile) -> None:
        try:
            self.post_message(self.Planned(self.installer.api.plan(profile), None))
        except Exception as err:  # PlanError and anything the engine raises: shown, never a crash
            self.post_message(self.Planned(None, str(err)))

    def on_review_screen_planned(self, message: Planned) -> None:
        self.plan = message.plan
        erase = self.query_one("#erase", Static)
        confirm = self.query_one("#confirm", Button)
        if message.plan is None:
            erase.update(f"! The plan failed: {message.error}")
            self.show_errors([message.error or "the plan failed"])
            return
        plan = message.plan
        disks = ", ".join(t.disk.path for t in plan.storage.targets)
        self.query_one("#plan", Static).update(plan.render())
        if plan.blockers:
            erase.update(f"! This plan cannot be installed ({len(plan.blockers)} blocker"
                         f"{'s' if len(plan.blockers) != 1 else ''}; see the end of the plan). Go back with esc.")
            self.show_errors([f"x {b}" for b in plan.blockers])
            return
        erase.update(f"! Confirming ERASES {disks}. Everything on {'them' if ',' in disks else 'it'} is lost.")
        confirm.label = f"Erase {disks} and install"
        confirm.refresh(layout=True)  # the label is not a layout reactive: without this, a plan that
        confirm.disabled = False      # arrives after the first layout (slow probing) is cut to the old width

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.action_back()
        elif event.button.id == "confirm" and self.plan is not None and not self.plan.blockers:
            self.installer.start_install(self.plan)

    def action_next(self) -> None:
        self.show_errors(["to install, Tab to the Erase button and press Enter (ctrl+n does not confirm)"])

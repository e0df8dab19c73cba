"""A row that saves a file to a path the user types: one line of result, and no silent overwrite.

Used on Done (profile and log bundle) and on Progress after a failure (log bundle). When the
file exists, the first press only says so; pressing again with the same path replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from installer.api import Exists, SaveError
from ui.widgets import Plain

Save = Callable[[Path, bool], Path]  # (path, overwrite) -> the path written; raises SaveError


class SaveRow(Vertical):
    def __init__(self, label: str, default: Path, button: str, save: Save, *, id: str) -> None:
        super().__init__(id=id, classes="saverow")
        self.label, self.default, self.button, self.save = label, default, button, save
        self.pending: Path | None = None  # an existing file the user was warned about once
        self.status = ""

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Plain(self.label, classes="label")
            yield Input(str(self.default), id=f"{self.id}-path")
            yield Button(self.button, id=f"{self.id}-save")
        yield Plain("", id=f"{self.id}-status", classes="status")

    def report(self, text: str) -> None:
        self.status = text  # the last result, as shown below the row
        self.query_one(f"#{self.id}-status", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.pending = None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.do_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.do_save()

    def do_save(self) -> None:
        text = self.query_one(f"#{self.id}-path", Input).value.strip()
        if not text:
            self.report("! type the path of the file to write")
            return
        path = Path(text).expanduser()
        if not path.is_absolute():
            self.report(f"! {text}: type an absolute path, such as /root/{path.name}")
            return
        try:
            written = self.save(path, self.pending == path)
        except Exists as err:
            self.pending = path
            self.report(f"! {err}: press {self.button} again to replace it")
            return
        except SaveError as err:
            self.report(f"! {err}")
            return
        self.pending = None
        self.report(f"[+] saved {written}")

"""The real program in a private tmux server: keys in, the screen (with its colours) out."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.name, *args], check=True, capture_output=True, text=True,
                              timeout=10).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "ui")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "ui", *keys)

    def literal(self, text: str) -> None:
        self.run("send-keys", "-t", "ui", "-l", text)

    def field_focused(self, label: str) -> bool:
        """True when the row under label has the focus colours (white background, SGR 47)."""
        rows = self.run("capture-pane", "-e", "-p", "-t", "ui").splitlines()
        plain = self.screen().splitlines()
        index = next((i for i, row in enumerate(plain) if row.strip() == label), None)
        return index is not None and index + 1 < len(rows) and "47m" in rows[index + 1]

    def row_focused(self, prefix: str) -> bool:
        """True when the row starting with prefix (a label left of its field) shows the focus colours."""
        rows = self.run("capture-pane", "-e", "-p", "-t", "ui").splitlines()
        plain = self.screen().splitlines()
        index = next((i for i, row in enumerate(plain) if row.startswith(prefix)), None)
        return index is not None and "47m" in rows[index]

    def wait_field_focused(self, prefix: str, label: str, timeout: float = 10.0) -> None:
        """Wait until the field right of label, on the row starting with prefix, has the focus colours.
        Type into a field only then: text sent together with the Tab before it can arrive as one paste."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.run("capture-pane", "-e", "-p", "-t", "ui").splitlines()
            plain = self.screen().splitlines()
            index = next((i for i, row in enumerate(plain) if row.startswith(prefix)), None)
            if index is not None and label in rows[index] and "47m" in rows[index].split(label, 1)[1]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the field after {label!r} never got the focus:\n{self.screen()}")
            time.sleep(0.05)

    def wait_row_focused(self, prefix: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.row_focused(prefix):
            if time.monotonic() > deadline:
                raise AssertionError(f"the row {prefix!r} never got the focus:\n{self.screen()}")
            time.sleep(0.05)

    def wait_focused(self, label: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.field_focused(label):
            if time.monotonic() > deadline:
                raise AssertionError(f"the field {label!r} never got the focus:\n{self.screen()}")
            time.sleep(0.05)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

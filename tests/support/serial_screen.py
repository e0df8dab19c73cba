"""A VM's serial console as a terminal a test can read and type on, like a user at a VT220.

QEMU listens on a Unix socket (iso.vm.qemu.Console(socket=...)); SerialScreen connects to it,
feeds every byte the guest writes into a pyte screen of 80x24, and sends keys back.

    screen = SerialScreen(socket_path)
    screen.connect(timeout=30)
    screen.wait_for("Welcome", timeout=120)
    screen.send(TAB, ENTER)

wait_for() keeps each screen it matched in `captured`, for checks over everything the user saw.
A timeout raises ScreenTimeout with the screen as it was, so a failing test shows what was on it.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pyte

# Keys as a VT220 sends them (no F-keys: the installer must never need one).
ENTER, TAB, BACKTAB, ESC, SPACE = "\r", "\t", "\x1b[Z", "\x1b", " "
UP, DOWN, RIGHT, LEFT = "\x1b[A", "\x1b[B", "\x1b[C", "\x1b[D"
BACKSPACE = "\x7f"


def ctrl(letter: str) -> str:
    return chr(ord(letter.lower()) - ord("a") + 1)


class LenientScreen(pyte.Screen):
    """pyte's screen, tolerant of a cursor move with extra parameters such as ESC[24;;11H, which
    a real terminal shrugs off. (QEMU's own serial logfile doubles bytes now and then when the
    socket is slow to take them; the socket stream itself came through clean when measured.)"""

    def cursor_position(self, line: int | None = None, column: int | None = None, *_extra: int) -> None:
        super().cursor_position(line, column)


class ScreenTimeout(AssertionError):
    """What was awaited did not appear; the message holds the screen."""


class SerialScreen:
    def __init__(self, socket_path: Path, *, columns: int = 80, lines: int = 24, raw_log: Path | None = None) -> None:
        self.socket_path = socket_path
        self.screen = LenientScreen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw_log = raw_log.open("ab") if raw_log is not None else None
        self.captured: list[str] = []  # every screen wait_for() matched on
        self.received = 0  # bytes from the guest
        self.garbled = 0  # chunks pyte refused
        self._sock: socket.socket | None = None

    # -- the connection ------------------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        """QEMU creates the socket when it starts: retry until it is there."""
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.socket_path))
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise ScreenTimeout(f"QEMU did not open {self.socket_path} within {timeout:g} s") from None
                time.sleep(0.1)
                continue
            self._sock = sock
            return

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.raw_log is not None:
            self.raw_log.close()
            self.raw_log = None

    def pump(self, seconds: float = 0.0) -> bool:
        """Read what the guest sent within `seconds`; False once the guest closed the line."""
        assert self._sock is not None, "connect() first"
        deadline = time.monotonic() + seconds
        while True:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                return True
            data = self._sock.recv(65536)
            if not data:
                return False
            self.received += len(data)
            if self.raw_log is not None:
                self.raw_log.write(data)
                self.raw_log.flush()  # readable while the test runs (to watch a slow VM)
            try:
                self.stream.feed(data)
            except (TypeError, ValueError):  # another garbled sequence pyte cannot take: skip that chunk
                self.garbled += 1
                self.stream = pyte.ByteStream(self.screen)  # the old parser is dead after raising

    def send(self, *keys: str, pause: float = 0.3) -> None:
        """Type keys one at a time, reading the screen between them (a person is not faster)."""
        assert self._sock is not None, "connect() first"
        for key in keys:
            self._sock.sendall(key.encode())
            self.pump(pause)

    def type_text(self, text: str, pause: float = 0.05) -> None:
        for char in text:
            self.send(char, pause=pause)

    # -- reading the screen --------------------------------------------------------------------
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def line_of(self, needle: str) -> str | None:
        return next((line for line in self.screen.display if needle in line), None)

    def cursor_line(self) -> str:
        return str(self.screen.display[self.screen.cursor.y])

    def wait_until(self, check: Callable[[str], bool], what: str, timeout: float, *, settle: float = 0.5) -> str:
        """Pump until check(screen text) holds, then until the text stays the same for `settle` s
        (the UI repaints in several writes), but no more than 4 x settle: a clock or a running
        log never stands still, and a blinking cursor changes no text."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.pump(0.2)
            text = self.text()
            if check(text):
                text = self._settled(text, settle)
                if check(text):
                    self.captured.append(text)
                    return text
            if not alive:
                raise ScreenTimeout(f"the guest closed the serial line while waiting for {what}:\n{text}")
            if time.monotonic() > deadline:
                raise ScreenTimeout(f"no {what} within {timeout:g} s; the screen:\n{text}")

    def _settled(self, text: str, settle: float) -> str:
        give_up = time.monotonic() + 4 * settle
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle and time.monotonic() < give_up:
            self.pump(0.1)
            now = self.text()
            if now != text:
                text, quiet_since = now, time.monotonic()
        return text

    def wait_for(self, pattern: str, timeout: float, *, regex: bool = False) -> str:
        if regex:
            compiled = re.compile(pattern, re.M)
            return self.wait_until(lambda text: compiled.search(text) is not None, repr(pattern), timeout)
        return self.wait_until(lambda text: pattern in text, repr(pattern), timeout)

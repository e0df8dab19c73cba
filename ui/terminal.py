"""Textual's Linux driver, made to outlive its terminal: a dropped SSH session must not hang the installer.

When the terminal goes away (SSH connection lost, terminal window closed) the installer gets SIGHUP,
and every write to the terminal fails with EIO from then on. Textual writes from a thread that ends on
the first failed write; the app's next 30 writes then fill its queue and block the main thread for
good, so the install could never be stopped and taken down (seen: the program hung with its target
released but never exited). Here the writes that fail are dropped instead: with no terminal left
there is nobody to show them to, and the app goes on to stop the install and end.
"""

from __future__ import annotations

from typing import IO, Any

from textual.drivers.linux_driver import LinuxDriver


class _Terminal:
    """The driver's output file; after the first failed write, later writes are dropped too."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._file.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self.gone = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)  # fileno() and the rest, as the driver reads them


class HangupSafeDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._file is not None:
            # It writes and flushes like the file it wraps; Textual's annotation names the concrete class.
            self._file = _Terminal(self._file)  # type: ignore[assignment]

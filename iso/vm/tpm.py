"""A software TPM 2.0 (swtpm) for a QEMU guest: the vTPM an Azure Trusted Launch VM has.

One swtpm process per QEMU process, started before it and stopped after it (by PID). Its state
lives in a directory the caller keeps (the VM's work directory), so the install and every later
boot of that VM see the same TPM, as one Azure VM does; a new directory is a new, empty TPM. The
control socket lives in a short temporary directory of its own, since Unix socket paths are
limited to 107 bytes and work directories can be deep.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from iso.vm.process import die_with_parent

SWTPM = "swtpm"
SOCKET_WAIT = 10.0  # seconds for swtpm to create its control socket


class TpmError(Exception):
    """swtpm is missing or did not start: one line."""


def swtpm_argv(state: Path, socket: Path) -> list[str]:
    # --terminate: swtpm ends when QEMU closes the connection (the stop below is the safety net).
    return [SWTPM, "socket", "--tpm2", "--tpmstate", f"dir={state},mode=0600",
            "--ctrl", f"type=unixio,path={socket}", "--terminate"]


@contextlib.contextmanager
def running_swtpm(state: Path) -> Iterator[Path]:
    """A swtpm serving the TPM whose state is in `state` (made if missing); yields its control socket."""
    if shutil.which(SWTPM) is None:
        raise TpmError("--tpm needs swtpm: install the Debian package swtpm")
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="azl-tpm-") as short:
        socket = Path(short) / "swtpm.sock"
        # It dies with us if we are killed outright (QEMU does too, so --terminate alone would not do
        # when QEMU never connected).
        proc = subprocess.Popen(swtpm_argv(state, socket), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        try:
            deadline = time.monotonic() + SOCKET_WAIT
            while not socket.exists():
                if proc.poll() is not None:
                    error = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip()
                    raise TpmError(f"swtpm stopped at once (exit status {proc.returncode}): {error or 'no message'}")
                if time.monotonic() > deadline:
                    raise TpmError(f"swtpm made no control socket within {SOCKET_WAIT:g} s")
                time.sleep(0.05)
            yield socket
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()

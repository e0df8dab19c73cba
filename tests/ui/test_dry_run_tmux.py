"""`azl-installer --dry-run --machine three-disks` end to end in tmux (TERM=linux, 80x24), as the user running the
tests and, when that is root, also as nobody (a dry-run needs no privilege).

The real program walks Welcome -> Disks -> ... -> Review -> Progress -> Done, saves a log bundle and asks
for a reboot; then the test proves it wrote nothing: strace saw no file written, created or removed
outside the test's temporary directory, no loop device was attached, and the dry-run removed its own
temporary directory when it ended.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.tmux import ROOT, Tmux
from ui.glyphs import unsafe

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

# strace -y lines: PID CALL(ARGS) = RESULT, a path argument as [DIRFD<DIR>, ]"PATH".
_CALL = re.compile(r"^\d+\s+(\w+)\((.*)$")
_PATH = re.compile(r'(?:(?:AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"')
_CHANGES = {"mkdir", "mkdirat", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat",
            "symlink", "symlinkat", "creat", "truncate", "chmod", "fchmodat", "chown", "fchownat", "lchown",
            "mknod", "mknodat", "utimensat", "utime", "utimes"}
_DEVICES = ("/dev/null", "/dev/tty", "/dev/pts/", "/dev/ptmx")


def losetup() -> set[str]:
    """The backing files of the loop devices, but those of other tests' images (pytest's own temporary
    directories): under `make test-fast` the host-image tests attach and detach theirs meanwhile."""
    listed = subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"], capture_output=True,
                            text=True, check=False).stdout
    return {line.strip() for line in listed.splitlines() if "/pytest-of-" not in line and "/azl-tmux-" not in line}


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory every user can write (HOME, TMPDIR and the trace), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="azl-dry-run-test-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def changes(trace: Path) -> list[tuple[str, str]]:
    """(path, strace line) for every path the traced processes wrote, created, changed or removed. A call
    strace shows unfinished counts as done: the check errs on the side of a failure."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        match = _CALL.match(line)
        if match is None or re.search(r"\) += -1 ", line):  # a failed call changed nothing
            continue
        call, args = match.groups()
        if call in ("open", "openat", "openat2"):
            if not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args):
                continue
        elif call not in _CHANGES:
            continue
        found += [(os.path.normpath(os.path.join(directory or str(ROOT), path)), line)
                  for directory, path in _PATH.findall(args)]
    return found


@pytest.mark.parametrize("user", ["self", "nobody"])
def test_dry_run_walks_to_done_and_writes_nothing(user: str, scratch: Path) -> None:
    if user == "nobody" and os.geteuid() != 0:
        pytest.skip("running as another user needs root; as this user the test above runs unprivileged already")
    for name in ("home", "tmp"):
        (scratch / name).mkdir()
        (scratch / name).chmod(0o777)  # mkdir's mode is cut by the umask
    trace = scratch / "trace"
    loops_before = losetup()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "linux", "HOME": str(scratch / "home"),
           "TMPDIR": str(scratch / "tmp"), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    program = f"{sys.executable} -m installer --dry-run --machine three-disks"
    if user == "nobody":
        program = f"setpriv --reuid=65534 --regid=65534 --clear-groups {program}"
    if shutil.which("strace"):
        program = f"strace -f -qq -y --seccomp-bpf -e trace=%file -o {trace} {program}"
    session = Tmux(f"azl-dry-{uuid.uuid4().hex[:8]}")
    subprocess.run(["tmux", "-L", session.name, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "80",
                    "-y", "24", *[f"-e{k}={v}" for k, v in env.items()],
                    f"cd {ROOT} && TERM=linux {program}; echo \"exit code $?\"; sleep 60"],
                   check=True, timeout=10, env={**env, "TMUX": ""})
    try:
        seen = [session.wait_for("dry-run machine (uefi, nothing is written)", timeout=30)]
        session.wait_for("Found 3 disks.")
        session.keys("C-n")
        session.wait_for("step 2 of 6: Disks")
        session.keys("Space")
        seen.append(session.wait_for("[E] /dev/vda"))
        session.keys("C-n")
        seen.append(session.wait_for("step 3 of 6: Encryption"))
        session.keys("C-n")
        seen.append(session.wait_for("Azure server (azure-server)"))
        session.keys("Space")
        session.wait_for("(*) Azure server")
        session.keys("C-n")
        session.wait_row_focused("Host name")
        session.keys("Tab", "Tab")
        session.wait_row_focused("Password")
        session.literal("secret123")
        session.wait_for("Password         *********")
        session.keys("Tab")
        session.wait_field_focused("Password", "Again")
        session.literal("secret123")
        session.wait_for("  Again  *********")
        session.keys("C-n")
        seen.append(session.wait_for("Confirming ERASES /dev/vda", timeout=20))
        session.keys("Tab", "Enter")
        seen.append(session.wait_for("[+] Azure Linux is installed on the target disk", timeout=60))
        session.keys("BTab", "Enter")  # from Exit back to Save log bundle: it goes beside the machine's log
        seen.append(session.wait_for("[+] saved /var/log/azl-installer/azl-installer-logs-"))
        session.keys("Tab", "Tab", "Enter")  # Exit, then Reboot: recorded, never run
        session.wait_for("exit code 0", timeout=30)
        done = session.run("capture-pane", "-p", "-J", "-t", "ui")  # -J: wrapped lines joined again
    finally:
        subprocess.run(["tmux", "-L", session.name, "kill-server"], check=False, capture_output=True, timeout=10)
    for screen in seen:
        assert not unsafe(screen), f"glyphs the Linux console lacks: {unsafe(screen)}\n{screen}"
    lines = " ".join(done.split())  # the summary the dry-run printed when it ended
    assert "no disk was touched" in lines and "not run: systemctl reboot" in lines
    assert "/var/log/azl-installer/install-" in lines  # its log, written only in its own directory
    assert losetup() == loops_before  # no loop device
    assert list((scratch / "tmp").iterdir()) == []  # the dry-run removed its temporary directory
    if trace.exists():
        changed = changes(trace)
        assert any(re.search(r"/var/log/azl-installer/install-test\.log$|/install-[\d-]+\.log$", path)
                   for path, _ in changed)  # the trace does see the dry-run's own writes ...
        outside = [line for path, line in changed
                   if not path.startswith(str(scratch) + "/") and not path.startswith(_DEVICES)]
        assert outside == []  # ... and none outside its temporary directory

"""The live system's launcher: reads the kernel command line and runs azl-installer.

Started at boot by azl-live.service (see iso/rootfs). Standard library only, and the installer's leaf
layer (installer.core, standard library too): it is copied into the live root as is and runs on the
live system's Debian python.

  inst.profile=/profiles/x.yaml        a file on the installer medium (/run/live/medium)
  inst.profile=hd:LABEL=NAME:/x.yaml   a file on another disk, by label (or UUID=, or /dev/...),
                                       mounted read-only
  inst.profile=http://host/x.yaml      fetched over the network (https too)
  inst.profile=http://host/dir/        a directory: this machine's own profile, NAME.yaml, NAME being its
                                       SMBIOS UUID, serial or first MAC (installer/core/machine.py), else
                                       default.yaml; with inst.ks=, NAME.ks and default.ks (docs/fleet.md)
  inst.ks=...                          a kickstart instead of a profile, from the same places
                                       (converted as `azl-installer import-kickstart` does)
  inst.reboot                          reboot when done instead of powering off (or what the
                                       profile's after_install, a kickstart's reboot/halt, says)
  inst.text                            the console login starts the line-based installer
  inst.live_sha256=HEX                 network boot (iso/netboot.py): the SHA-256 the fetched live root
                                       must have; checked before anything is offered or installed

With a profile it installs unattended, mirrors the output to every console= console, prints
`AZL-INSTALL-RESULT rc=N` (and on failure the install log between AZL-LOG-BEGIN and
AZL-LOG-END) and powers off. Without one it prints how to run the installer, with the marker
AZL-LIVE-READY, and leaves the consoles to the root shells the generator set up. A profile that
sets interactive_sections is not installed here: its path goes to /run/azl-installer/interactive-profile
and the console login starts `azl-installer --profile` with it (AZL-LIVE-READY as without one).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import termios
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The installer's code is on the live system's PYTHONPATH; these two leaf modules are standard library only.
from installer.core.digest import file_sha256
from installer.core.machine import identify

MEDIUM = Path("/run/live/medium")  # where live-boot mounts the ISO
RUN_DIR = Path("/run/azl-installer")
LOG_DIR = Path("/var/log/azl-installer")
EVENTS_FILE = LOG_DIR / "events.jsonl"
RPM_DB_DIRS = (Path("/usr/lib/sysimage/rpm"), Path("/var/lib/rpm"))  # rpm 4.16+'s place, and the older one

READY_MARKER = "AZL-LIVE-READY"
RESULT_MARKER = "AZL-INSTALL-RESULT"
LOG_BEGIN, LOG_END = "AZL-LOG-BEGIN", "AZL-LOG-END"
EXIT_BAD_INPUT = 2  # the installer's own code for bad input: a profile that cannot be had is one
AFTER_INSTALL_PREFIX = "azl-installer: after install: "  # as installer/session.py prints it

# The smallest machine the installer is proven in (tests/vm/test_rpm_iso_vm.py installs the test
# distribution's server set there). The kernel keeps part of a machine's memory for itself, so MemTotal
# reads less than the machine has: 677 MiB in a 768 MiB QEMU guest (the test distribution's 6.12 kernel
# keeps 131 MiB). Below the floor the launcher says, in one line, what the installer needs.
MIN_MEMORY_MIB = 768
MEMTOTAL_FLOOR_MIB = 640
MEMORY_SAMPLE_SECONDS = 1.0

DEVICE_WAIT = 60.0  # seconds for a profile disk to appear (udev may still be probing)
FETCH_WAIT = 90.0  # seconds to keep retrying a URL while DHCP comes up
FETCH_TIMEOUT = 20.0  # seconds for one HTTP attempt
FETCH_LIMIT = 8 * 1024 * 1024  # bytes: twice what the installer reads as a profile; a server's endless reply stops here

HINT = """\
Azure Linux installer (live system). No inst.profile= was given on the kernel command line.

  azl-installer --profile /usr/share/azl-installer/interactive.yaml
                                               the interactive installer (--text: numbered menus)
  azl-installer install --profile FILE --yes   install unattended from a profile
  azl-installer plan --profile FILE            show what an install would do
  azl-installer --help                         all commands
  Example profiles: /run/live/medium/profiles/   Sample repository: /run/live/medium/repo/
  Unattended boot: add inst.profile=/profiles/NAME.yaml (or hd:LABEL=L:/path, or http://...)
"""


class CmdlineError(ValueError):
    """inst.* options that cannot be used; reported as the installer's bad-input result."""


class ProfileUnavailable(RuntimeError):
    """The profile named on the command line could not be found, mounted or fetched."""


class HandOver(Exception):
    """The profile sets interactive_sections: the interactive installer takes it at the console login."""

    def __init__(self, profile: Path) -> None:
        super().__init__(str(profile))
        self.profile = profile


# The profile the console login starts `azl-installer --profile` with (iso/rootfs/etc/profile.d/azl-live.sh).
INTERACTIVE_PROFILE = RUN_DIR / "interactive-profile"


def leaves_sections_open(text: str) -> bool:
    """Does a profile set a non-empty top-level interactive_sections? (No YAML parser here: the key is
    top-level, so a line-based look is exact enough; the installer validates the real thing.)"""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        key, colon, value = line.partition(":")
        if key.rstrip() != "interactive_sections" or not colon:
            continue
        value = value.split("#", 1)[0].strip()
        if value:
            return value not in ("[]", "null", "~")
        following = [n for n in lines[i + 1:] if n.strip() and not n.lstrip().startswith("#")]
        return bool(following) and following[0].lstrip().startswith("-")
    return False


def hand_over(profile: Path, say: Consoles) -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    INTERACTIVE_PROFILE.write_text(f"{profile}\n")
    hint = (f"The profile {profile} leaves sections for you to choose: the console login starts\n"
            f"'azl-installer --profile {profile}'.\n\n" + HINT)
    (RUN_DIR / "hint.txt").write_text(hint)
    say.line(READY_MARKER)
    for line in hint.splitlines():
        say.line(line)
    say.close()


@dataclass(frozen=True)
class ProfileSource:
    kind: Literal["medium", "device", "url"]
    location: str  # medium/device: an absolute path on that filesystem; url: the URL
    device: str | None = None  # device: LABEL=NAME, UUID=U or /dev/NAME
    kickstart: bool = False  # inst.ks=: a kickstart, not a profile


@dataclass(frozen=True)
class LaunchRequest:
    profile: ProfileSource | None
    reboot: bool = False
    text: bool = False
    consoles: tuple[str, ...] = ("/dev/console",)  # device paths to mirror output to
    live_sha256: str | None = None  # inst.live_sha256=: the fetched live root's expected digest


def split_cmdline(text: str) -> list[str]:
    """Kernel command line words; double quotes group a value with spaces, as the kernel does."""
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: the kernel itself would just split on blanks
        return text.split()


def parse_profile_value(value: str, key: str = "inst.profile") -> ProfileSource:
    kickstart = key == "inst.ks"
    example = "ks.cfg" if kickstart else "profile.yaml"
    if value.startswith(("http://", "https://")):
        return ProfileSource("url", value, kickstart=kickstart)
    if value.startswith("hd:"):
        # hd:DEVICE:/path; DEVICE may hold ':' only in the unlikely LABEL=a:b, so split at ":/".
        device, sep, path = value[3:].partition(":/")
        if not sep or not device or not path:
            raise CmdlineError(f"{key}={value}: expected hd:LABEL=NAME:/path/to/{example}")
        if device.startswith(("LABEL=", "UUID=")) and not device.split("=", 1)[1]:
            raise CmdlineError(f"{key}={value}: empty {device}")
        if not device.startswith(("LABEL=", "UUID=", "/dev/")):
            device = f"/dev/{device}"
        return ProfileSource("device", "/" + path, device, kickstart=kickstart)
    if value.startswith("/"):
        return ProfileSource("medium", value, kickstart=kickstart)
    raise CmdlineError(
        f"{key}={value}: expected a path on the installer medium (/profiles/{example}), "
        "hd:LABEL=NAME:/path or an http:// URL"
    )


def console_devices(words: Sequence[str]) -> tuple[str, ...]:
    """/dev paths of the console= consoles, in order; /dev/console when none is named."""
    devices: list[str] = []
    for word in words:
        if word.startswith("console="):
            name = word.removeprefix("console=").split(",", 1)[0]
            if name and f"/dev/{name}" not in devices:
                devices.append(f"/dev/{name}")
    return tuple(devices) or ("/dev/console",)


def parse_cmdline(text: str) -> LaunchRequest:
    words = split_cmdline(text)
    profile: ProfileSource | None = None
    reboot = inst_text = False
    live_sha256: str | None = None
    for word in words:
        key, has_value, value = word.partition("=")
        if key in ("inst.profile", "inst.ks"):  # the last one wins, as with any kernel parameter
            if not has_value or not value:
                raise CmdlineError(f"{key} needs a value, e.g. {key}=/profiles/"
                                   + ("ks.cfg" if key == "inst.ks" else "vm-uefi.yaml"))
            profile = parse_profile_value(value, key)
        elif key == "inst.reboot":
            reboot = value not in ("0", "no", "false")
        elif key == "inst.text":
            inst_text = value not in ("0", "no", "false")
        elif key == "inst.live_sha256":
            if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
                raise CmdlineError(f"inst.live_sha256={value}: expected the 64 hex digits of a SHA-256")
            live_sha256 = value.lower()
    return LaunchRequest(profile, reboot=reboot, text=inst_text, consoles=console_devices(words),
                         live_sha256=live_sha256)


# Where live-boot's fetch= puts the live root it downloaded (its do_httpmount: the medium's live/ directory).
FETCHED_ROOT = MEDIUM / "live" / "filesystem.squashfs"


def live_root_problem(expected: str, path: Path = FETCHED_ROOT) -> str | None:
    """None when the fetched live root has the expected SHA-256; else one line saying what is wrong. The
    live system already runs from it, but nothing is installed from a root a download damaged."""
    try:
        found = file_sha256(path)
    except OSError as err:
        return f"cannot check the live root {path} against inst.live_sha256: {err.strerror or err}"
    if found != expected:
        return (f"the live root {path} is damaged: its SHA-256 is {found}, inst.live_sha256 says "
                f"{expected}; nothing was installed (boot it again, or check the server's copy)")
    return None


def install_argv(profile: Path, kickstart: bool = False) -> list[str]:
    # inst.text will become --text once the installer has a text UI; unattended needs none.
    return ["azl-installer", "install", "--kickstart" if kickstart else "--profile", str(profile), "--yes",
            "--log-dir", str(LOG_DIR), "--events", str(EVENTS_FILE)]


def result_lines(rc: int, log: str | None) -> list[str]:
    """The block the VM runner parses from the serial log: the log (on failure), then the result."""
    lines: list[str] = []
    if rc != 0:
        lines += [LOG_BEGIN, *(log or "(no install log was written)").rstrip("\n").splitlines(), LOG_END]
    return [*lines, f"{RESULT_MARKER} rc={rc}"]


def newest_log(log_dir: Path = LOG_DIR) -> Path | None:
    logs = sorted(log_dir.glob("install-*.log"), key=lambda p: p.stat().st_mtime)
    return logs[-1] if logs else None


class Consoles:
    """Writes every line to each console (serial and VT) and to stdout, which is the journal."""

    def __init__(self, devices: Sequence[str]) -> None:
        self._fds: list[int] = []
        for device in devices:
            try:
                self._fds.append(os.open(device, os.O_WRONLY | os.O_NOCTTY))
            except OSError as err:  # e.g. no UART behind ttyS0 on this machine
                print(f"launcher: cannot write to {device}: {err}", flush=True)

    def line(self, text: str) -> None:
        print(text, flush=True)
        data = (text.rstrip("\n") + "\n").encode(errors="replace")
        for fd in self._fds:
            with contextlib.suppress(OSError):  # a console going away must not stop the install
                os.write(fd, data)

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                if os.isatty(fd):
                    termios.tcdrain(fd)  # the markers must be on the wire before power-off
            os.close(fd)
        self._fds = []


def _wait_for_device(spec: str, deadline: float) -> str:
    while True:
        if spec.startswith(("LABEL=", "UUID=")):
            flag = "-L" if spec.startswith("LABEL=") else "-U"
            found = subprocess.run(["blkid", flag, spec.split("=", 1)[1]], capture_output=True, text=True,
                                   check=False).stdout.strip()
            if found:
                return found.splitlines()[0]
        elif Path(spec).exists():
            return spec
        if time.monotonic() > deadline:
            raise ProfileUnavailable(f"no disk with {spec} appeared within {DEVICE_WAIT:.0f} s")
        time.sleep(1)


def _mount_device(source: ProfileSource) -> Path:
    assert source.device is not None
    device = _wait_for_device(source.device, time.monotonic() + DEVICE_WAIT)
    mountpoint = RUN_DIR / "profile-disk"
    mountpoint.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(mountpoint):
        proc = subprocess.run(["mount", "-o", "ro", device, str(mountpoint)], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise ProfileUnavailable(f"cannot mount {device} ({source.device}): {proc.stderr.strip()}")
    return mountpoint / source.location.lstrip("/")


def candidate_urls(directory: str, names: Sequence[str], kickstart: bool = False) -> list[str]:
    """The URLs a machine looks for its profile at in a directory, its own names first, then the default."""
    suffix = ".ks" if kickstart else ".yaml"
    return [f"{directory}{name}{suffix}" for name in (*names, "default")]


def _fetch(urls: Sequence[str], say: Consoles, name: str = "profile.yaml") -> Path:
    """The first of urls that exists, downloaded. Not found (404/410) moves on to the next; anything else
    (no network yet, a server error) retries the whole list until FETCH_WAIT has passed."""
    deadline = time.monotonic() + FETCH_WAIT
    target = RUN_DIR / name
    while True:
        for url in urls:
            try:
                with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
                    body = response.read(FETCH_LIMIT + 1)
            except urllib.error.HTTPError as err:
                if err.code in (404, 410):
                    continue
                problem: OSError = err
                break
            except OSError as err:  # URLError is one
                problem = err
                break
            if len(body) > FETCH_LIMIT:
                raise ProfileUnavailable(f"{url}: larger than {FETCH_LIMIT // 2**20} MiB; that is no profile")
            RUN_DIR.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            if len(urls) > 1:
                say.line(f"launcher: this machine's profile: {url}")
            return target
        else:
            tried = ", ".join(u.rpartition("/")[2] for u in urls)
            raise ProfileUnavailable(f"no profile at {urls[0].rpartition('/')[0]}/ for this machine (tried {tried})"
                                     if len(urls) > 1 else f"cannot fetch {urls[0]}: not found")
        if time.monotonic() > deadline:
            raise ProfileUnavailable(f"cannot fetch {url}: {problem}") from problem
        say.line(f"launcher: fetching {url} failed ({problem}); retrying")
        time.sleep(3)


def resolve_profile(source: ProfileSource, say: Consoles) -> Path:
    """A local path of the profile: on the medium, on a mounted disk, or downloaded."""
    if source.kind == "url":
        urls = [source.location]
        if source.location.endswith("/"):
            identity = identify()
            say.line(f"launcher: this machine: {', '.join(f'{k} {v}' for k, v in identity.as_dict().items() if v)}"
                     if identity.names() else "launcher: this machine has no UUID, serial or MAC to pick a "
                     "profile by; using the default")
            urls = candidate_urls(source.location, identity.names(), source.kickstart)
        return _fetch(urls, say, "ks.cfg" if source.kickstart else "profile.yaml")
    path = _mount_device(source) if source.kind == "device" else MEDIUM / source.location.lstrip("/")
    if not path.is_file():
        raise ProfileUnavailable(f"profile not found: {path}")
    return path


def meminfo_mib(text: str) -> dict[str, int]:
    """/proc/meminfo's kB figures, in MiB."""
    found = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit():
            found[name] = int(words[0]) // 1024
    return found


def too_little_memory(meminfo_text: str) -> str | None:
    """One line saying what the installer needs, when this machine has less; None when it has enough."""
    total = meminfo_mib(meminfo_text).get("MemTotal")
    if total is None or total >= MEMTOTAL_FLOOR_MIB:
        return None
    return (f"this machine has {total} MiB of memory (MemTotal); the installer needs a machine with at least "
            f"{MIN_MEMORY_MIB} MiB")


class MemoryWatch:
    """The most memory in use while an install runs: MemTotal less the lowest MemAvailable seen, sampled
    every MEMORY_SAMPLE_SECONDS in a thread (what the smallest-machine figure is measured by)."""

    def __init__(self, meminfo: Path = Path("/proc/meminfo")) -> None:
        self._meminfo = meminfo
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.total = 0
        self.lowest_available: int | None = None

    def _read(self) -> None:
        figures = meminfo_mib(self._meminfo.read_text())
        self.total = figures.get("MemTotal", self.total)
        available = figures.get("MemAvailable")
        if available is not None and (self.lowest_available is None or available < self.lowest_available):
            self.lowest_available = available

    def _sample(self) -> None:
        while True:
            self._read()
            if self._stop.wait(MEMORY_SAMPLE_SECONDS):
                return

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    def summary(self) -> str:
        used = self.total - (self.lowest_available if self.lowest_available is not None else self.total)
        return f"memory: at most {used} MiB of {self.total} MiB in use during the install (MemTotal - MemAvailable)"


def boot_phases(uptime_text: str, userspace_usec: str) -> str | None:
    """Where the boot to this point went, from /proc/uptime and systemd's UserspaceTimestampMonotonic (when
    systemd started in the live root, in microseconds since the kernel started): kernel and initramfs, then
    the live system's units up to the launcher. Firmware and boot loader come before the kernel's clock."""
    try:
        up = float(uptime_text.split()[0])
        userspace = int(userspace_usec.strip().rpartition("=")[2]) / 1e6
    except (ValueError, IndexError):
        return None
    if not 0 < userspace <= up:
        return None
    return (f"boot: {up:.1f} s since the kernel started: kernel and initramfs {userspace:.1f} s, the live system's "
            f"units {up - userspace:.1f} s")


def say_boot_phases(say: Consoles) -> None:
    try:
        shown = subprocess.run(["systemctl", "show", "-p", "UserspaceTimestampMonotonic"], capture_output=True,
                               text=True, timeout=30, check=False).stdout
        line = boot_phases(Path("/proc/uptime").read_text(), shown)
    except (OSError, subprocess.TimeoutExpired):
        return
    if line is not None:
        say.line(f"launcher: {line}")


def run_install(profile: Path, say: Consoles, kickstart: bool = False) -> tuple[int, list[str]]:
    """The installer's exit code and its output (echoed line by line as it comes)."""
    subprocess.run(["udevadm", "settle", "--timeout=30"], check=False)  # all disks known before planning
    argv = install_argv(profile, kickstart)
    say.line(f"launcher: running {shlex.join(argv)}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    output: list[str] = []
    with MemoryWatch() as memory, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                   text=True, errors="replace", env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            say.line(output[-1])
    say.line(f"launcher: {memory.summary()}")
    return proc.returncode, output


def after_install(output: Sequence[str]) -> str | None:
    """What the installed profile asks for when the install succeeded (session.AFTER_INSTALL_PREFIX)."""
    for line in reversed(output):
        if line.startswith(AFTER_INSTALL_PREFIX):
            return line.removeprefix(AFTER_INSTALL_PREFIX).strip()
    return None


def finish(rc: int, log: str | None, request: LaunchRequest, say: Consoles, asked: str | None = None) -> None:
    for line in result_lines(rc, log):
        say.line(line)
    action = "reboot" if request.reboot else asked if asked in ("reboot", "halt", "none") else "poweroff"
    if action == "none":
        say.line(f"launcher: the profile says after_install: none; staying up (installer exit code {rc})")
        say.close()
        return
    say.line(f"launcher: {action} (installer exit code {rc})")
    say.close()
    # --no-block: this unit is still starting; waiting for the job would wait for ourselves.
    subprocess.run(["systemctl", "--no-block", action], check=False)


def main() -> int:
    cmdline = Path("/proc/cmdline").read_text()
    try:
        request = parse_cmdline(cmdline)
    except CmdlineError as err:
        request = LaunchRequest(None, consoles=console_devices(split_cmdline(cmdline)))
        say = Consoles(request.consoles)
        say.line(f"launcher: {err}")
        finish(EXIT_BAD_INPUT, f"launcher: {err}", request, say)
        return EXIT_BAD_INPUT
    say = Consoles(request.consoles)
    if request.live_sha256 is not None:
        problem = live_root_problem(request.live_sha256)
        if problem is not None:  # no prompt either: an interactive install would use the same root
            say.line(f"launcher: {problem}")
            finish(EXIT_BAD_INPUT, f"launcher: {problem}", request, say)
            return EXIT_BAD_INPUT
        say.line("launcher: the fetched live root matches inst.live_sha256")
    if package := installer_package():
        say.line(f"launcher: {package} (rpm -q azl-installer)")
    short = too_little_memory(Path("/proc/meminfo").read_text())
    if short is not None:
        say.line(f"launcher: {short}")  # interactive: said before the prompt; whoever is there decides
        if request.profile is not None:
            finish(EXIT_BAD_INPUT, f"launcher: {short}", request, say)
            return EXIT_BAD_INPUT
    if request.profile is None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        (RUN_DIR / "hint.txt").write_text(HINT)  # shown again at each login (/etc/profile.d)
        say.line(READY_MARKER)
        for line in HINT.splitlines():
            say.line(line)
        say_boot_phases(say)  # after the prompt's lines: the boot time is measured to the marker
        say.close()
        return 0
    say_boot_phases(say)
    asked: str | None = None
    try:
        rc, log, asked = unattended(request.profile, request, say)
    except HandOver as handover:
        hand_over(handover.profile, say)
        return 0
    except Exception as err:  # the VM runner waits for a result line: it must always come
        rc, log = 1, f"launcher: internal error: {traceback.format_exc()}"
        say.line(f"launcher: internal error: {err}")
    finish(rc, log, request, say, asked)
    return rc


def installer_package(db_dirs: Sequence[Path] = RPM_DB_DIRS) -> str | None:
    """The installer's RPM as the rpm database names it (the RPM-built live system), None where the
    installer is no package (the Debian-built one copies it in) or rpm cannot say. Without an rpm database
    rpm is not asked: under emulation its start costs a second or two of the boot to the prompt."""
    if not any(d.is_dir() and any(d.iterdir()) for d in db_dirs):
        return None
    try:
        query = subprocess.run(["rpm", "-q", "azl-installer"], capture_output=True, text=True, timeout=30,
                               check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = query.stdout.split()
    return lines[0] if query.returncode == 0 and lines else None


def unattended(source: ProfileSource, request: LaunchRequest, say: Consoles) -> tuple[int, str | None, str | None]:
    """(exit code, log to show on failure, the profile's after_install) of an install from the profile or
    kickstart the command line names."""
    if request.text:
        say.line("launcher: inst.text noted; this version installs unattended without a UI")
    try:
        profile = resolve_profile(source, say)
    except ProfileUnavailable as err:
        say.line(f"launcher: {err}")
        return EXIT_BAD_INPUT, f"launcher: {err}", None
    if not source.kickstart and leaves_sections_open(profile.read_text(errors="replace")):
        raise HandOver(profile)
    say.line(f"launcher: installing from {'kickstart' if source.kickstart else 'profile'} {profile}")
    started = time.time()
    rc, output = run_install(profile, say, source.kickstart)
    asked = after_install(output) if rc == 0 else None
    log_file = newest_log()
    if log_file is not None and log_file.stat().st_mtime >= started:
        return rc, log_file.read_text(errors="replace"), asked  # with the debug lines the console did not show
    # No log of this run: the installer stopped before opening one (a profile that does not
    # validate, a refused plan), and its output says why.
    return rc, "\n".join(output) or None, asked


if __name__ == "__main__":
    sys.exit(main())

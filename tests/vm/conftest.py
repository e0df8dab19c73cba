"""Fixtures for tests that boot QEMU (TCG): a kernel, busybox initramfs images, a fake installer ISO.

They skip when QEMU or the image tools are missing (scripts/setup-host.sh installs them) or when
no kernel can be found or downloaded.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import images
from tests.support.encrypted_vm import VAULT_URL
from tests.support.keyvault_standin import StandIn, running_standin

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("qemu-system-x86_64", "qemu-img", "xorriso", "mkfs.ext4", "grub-mkrescue", "mformat")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "minutes(n): a QEMU test's length measured under TCG (orders the tier)")


def minutes(item: pytest.Item) -> float:
    mark = item.get_closest_marker("minutes")
    return float(mark.args[0]) if mark else 0.0


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs this tier on two xdist workers with --dist loadgroup. The long tests (a
    minutes mark) are split into one group per worker, longest first, each into the group with the
    fewest minutes so far, and those groups come first in the list, so each worker starts one of
    them at once; the short tests stay free and fill the gaps. Without xdist nothing changes."""
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    here = Path(__file__).parent
    long = sorted((item for item in items if here in item.path.parents and minutes(item) > 0),
                  key=minutes, reverse=True)
    if workers < 2 or not long:
        return
    loads = [0.0] * workers
    groups: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in long:
        lightest = loads.index(min(loads))
        loads[lightest] += minutes(item)
        groups[lightest].append(item)
        item.add_marker(pytest.mark.xdist_group(f"vm-{lightest}"))
    grouped = [item for group in groups for item in group]
    items[:] = [*grouped, *(item for item in items if item not in grouped)]


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not Path("/usr/share/OVMF/OVMF_CODE_4M.fd").exists():
        missing.append("ovmf")
    if not images.BUSYBOX.exists():
        missing.append("busybox-static")
    return missing


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    """The Key Vault stand-in at the address guests reach it by (`vm --forward`), with the RSA key
    disk-kek that wraps volume keys."""
    with running_standin(tmp_path / "standin", public_url=VAULT_URL) as running:
        running.add_rsa_key("disk-kek")
        yield running


@pytest.fixture(scope="session")
def kernel() -> images.Kernel:
    missing = missing_tools()
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (run scripts/setup-host.sh)")
    found = images.find_kernel()
    if found is None:
        pytest.skip("no kernel in /boot and none could be downloaded")
    return found


@pytest.fixture(scope="session")
def fake_iso(kernel: images.Kernel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("fake-iso")
    return images.fake_installer_iso(work / "fake-installer.iso", work, kernel)


@pytest.fixture(scope="session")
def installer_iso() -> Path:
    """The real installer ISO (the Debian-built live system), rebuilt from this tree once per test run (the
    slow live root is cached by its inputs), so it carries the code under test. AZL_TEST_ISO moves it, so
    two runs side by side do not write the same file."""
    return _built_iso("AZL_TEST_ISO", "azl-installer.iso", [])


@pytest.fixture(scope="session")
def rpm_installer_iso() -> Path:
    """The same ISO built from RPM repositories (`iso.build --from rpm`: the test distribution and
    azl-installer's own RPMs, installed by dnf; AZL_TEST_RPM_ISO moves it)."""
    return _built_iso("AZL_TEST_RPM_ISO", "azl-installer-rpm.iso", ["--from", "rpm"])


def _built_iso(variable: str, name: str, options: list[str]) -> Path:
    """Under xdist the workers of one run share each ISO: the first to take the lock builds, the others
    find the run's stamp and wait no longer. Both builds take the same lock (the Debian one's), so they
    never build the test distribution's cache at the same time."""
    if os.geteuid() != 0:
        pytest.skip("the ISO build needs root")
    missing = missing_tools()
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (run scripts/setup-host.sh)")
    default = Path(os.environ.get("AZL_TEST_ISO", REPO / "build" / "azl-installer.iso")).resolve()
    iso = Path(os.environ.get(variable, default.with_name(name))).resolve()
    iso.parent.mkdir(parents=True, exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # the same in every worker of one run
    stamp = iso.with_name(iso.name + ".testrun")
    default.parent.mkdir(parents=True, exist_ok=True)
    with open(default.with_name(default.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if run and iso.exists() and stamp.exists() and stamp.read_text() == run:
            return iso
        stamp.unlink(missing_ok=True)
        # Scratch space beside the ISO (build/iso-work by default), so a moved ISO builds apart too.
        done = subprocess.run([sys.executable, "-m", "iso.build", "--out", str(iso), "--work-dir",
                               str(iso.parent / "iso-work"), *options], cwd=REPO,
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-4000:]
        print(done.stderr.strip().splitlines()[-1])
        if run:
            stamp.write_text(run)
    return iso

"""Fixtures for tests that boot QEMU (TCG): a kernel, busybox initramfs images, a fake installer ISO.

They skip when QEMU or the image tools are missing (scripts/setup-host.sh installs them) or when
no kernel can be found or downloaded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.vm import images

TOOLS = ("qemu-system-x86_64", "qemu-img", "xorriso", "mkfs.ext4", "grub-mkrescue", "mformat")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vm: boots QEMU guests (TCG, tens of seconds)")


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not Path("/usr/share/OVMF/OVMF_CODE_4M.fd").exists():
        missing.append("ovmf")
    if not images.BUSYBOX.exists():
        missing.append("busybox-static")
    return missing


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

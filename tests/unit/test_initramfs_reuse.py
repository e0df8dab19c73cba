"""An image's own initramfs stays only when a rebuild here could not make a different one (installer/steps/
initramfs_reuse.py), and the ISO's live root carries one built with the installer's configuration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from installer.core.events import EventBus
from installer.core.files import UnsafePath
from installer.core.runner import RecordingRunner
from installer.steps.bootloader import filesystem_modules, install_bootloader
from installer.steps.initramfs_reuse import CONF_PATH, MODULES_PATH, initramfs_tools_conf
from iso import recipe
from profiles import load_profile, profile_from_text
from profiles.model import AutoLayout, Bootloader, DiskMatch, Storage
from storage.apply import FstabEntry
from storage.inventory import DiskInfo, Inventory
from storage.layout import StoragePlan, plan_storage

KVER = "6.1.0-40-amd64"
FSTAB = [FstabEntry("UUID=root-uuid", "/", "ext4", "defaults", 1), FstabEntry("UUID=boot-uuid", "/boot", "ext4",
                                                                            "defaults", 2)]
REPO = Path(__file__).resolve().parents[2]


def plain_plan() -> StoragePlan:
    storage = Storage(disks=(DiskMatch(path="/dev/sda"),), auto=AutoLayout(filesystem="ext4", boot="bios"))
    return plan_storage(storage, Inventory((DiskInfo("/dev/sda", 30 * 1024**3),)))


def image_root(root: Path, modules: str, conf: str | None = None, *, initrd_age: float = 0.0) -> Path:
    """A Debian-like image whose initramfs was built from conf and modules (initrd_age: seconds before them)."""
    for tool in ("usr/sbin/grub-install", "usr/sbin/grub-mkconfig", "usr/sbin/update-initramfs"):
        (root / tool).parent.mkdir(parents=True, exist_ok=True)
        (root / tool).touch()
    (root / f"lib/modules/{KVER}").mkdir(parents=True)
    for path, text in ((CONF_PATH, conf if conf is not None else initramfs_tools_conf("ext4")), (MODULES_PATH, modules),
                       ("/etc/udev/rules.d/99-image.rules", "# from the image\n")):
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_text(text)
        os.utime(root / path.lstrip("/"), (1_000_000, 1_000_000))
    for folder in ("etc/initramfs-tools", "etc/initramfs-tools/conf.d", "etc/udev", "etc/udev/rules.d"):
        os.utime(root / folder, (1_000_000, 1_000_000))
    initrd = root / f"boot/initrd.img-{KVER}"
    initrd.parent.mkdir(parents=True, exist_ok=True)
    initrd.write_bytes(b"generic initramfs")
    os.utime(initrd, (1_000_100 - initrd_age, 1_000_100 - initrd_age))
    return root


GENERIC = "".join(f"{m}\n" for m in recipe.TARGET_INITRAMFS_MODULES)


def run(root: Path, plan: StoragePlan, extra: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    runner, said = RecordingRunner(), []
    events = EventBus(lambda event: said.append(event.message or ""))
    install_bootloader(Bootloader(), plan, FSTAB, root, runner, events, extra_modules=extra)
    return [c for c in runner.commands() if "update-initramfs" in c], said


def test_an_image_built_for_any_vm_keeps_its_initramfs(tmp_path: Path) -> None:
    rebuilt, said = run(image_root(tmp_path, GENERIC), plain_plan())
    assert rebuilt == []
    assert any(line.startswith(f"the image's initramfs for {KVER} is kept") for line in said), said
    assert (tmp_path / MODULES_PATH.lstrip("/")).read_text() == GENERIC  # left as the image has it


@pytest.mark.parametrize("change", ["other conf", "module missing", "initrd older", "rule written since",
                                    "encrypted", "lvm", "linked list", "no initrd"])
def test_anything_that_could_differ_means_a_rebuild(tmp_path: Path, change: str) -> None:
    modules = GENERIC.replace("ext4\n", "") if change == "module missing" else GENERIC
    conf = initramfs_tools_conf("xfs") if change == "other conf" else None
    root = image_root(tmp_path, modules, conf, initrd_age=200 if change == "initrd older" else 0)
    plan, extra = plain_plan(), tuple[str, ...]()
    if change == "rule written since":  # as the Azure step writes its SR-IOV rule before the boot loader step
        (root / "etc/udev/rules.d/10-azure-unmanaged-sriov.rules").write_text("# new\n")
    if change == "encrypted":
        extra = ("dm_crypt",)
    if change == "lvm":
        text = ("storage:\n  disks: [{path: /dev/sda}]\n  partitions: [{size: 1MiB, filesystem: biosboot}, "
                "{size: 1GiB, mount: /boot, filesystem: ext4}, {size: 4GiB, filesystem: none, volume_group: sys}]\n"
                "  volume_groups: [{name: sys, logical_volumes: [{name: root, grow: true, mount: /, "
                "filesystem: ext4}]}]\npayload:\n  image: {path: /root.tar}\n")
        disks = Inventory((DiskInfo("/dev/sda", 30 * 1024**3),))
        plan = plan_storage(profile_from_text(text, "lvm.yaml").storage, disks)
    if change == "linked list":  # read through a link, it would be a file of the installer's own machine
        (root / MODULES_PATH.lstrip("/")).unlink()
        (root / MODULES_PATH.lstrip("/")).symlink_to(tmp_path / "outside")
        (tmp_path / "outside").write_text(GENERIC)
    if change == "no initrd":
        (root / f"boot/initrd.img-{KVER}").unlink()
    if change == "linked list":  # not kept, and not written through the link either (the rebuild refuses)
        with pytest.raises(UnsafePath, match="is a symbolic link"):
            run(root, plan, extra)
        return
    rebuilt, _ = run(root, plan, extra)
    assert rebuilt == [f"chroot {root} update-initramfs {'-c' if change == 'no initrd' else '-u'} -k {KVER}"]


def test_the_isos_live_root_is_built_with_the_installers_configuration() -> None:
    """iso/ cannot import the installer's steps (they run apart): its copy of the configuration is pinned here,
    and its module list holds what the installer needs for the ISO's own image profiles (the plain ones)."""
    assert initramfs_tools_conf("ext4") == recipe.TARGET_INITRAMFS_CONF
    for name in ("vm-bios", "vm-uefi"):
        profile = load_profile(REPO / "iso" / "profiles" / f"{name}.yaml")
        plan = plan_storage(profile.storage, Inventory((DiskInfo("/dev/vda", 8 * 1024**3, serial="AZL-TARGET-0"),)))
        needed = {*profile.bootloader.initramfs_drivers, *filesystem_modules(plan)}
        assert needed <= set(recipe.TARGET_INITRAMFS_MODULES), needed - set(recipe.TARGET_INITRAMFS_MODULES)

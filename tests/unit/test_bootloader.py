"""The boot loader step pinned for an Azure Linux-like target and a Debian-like one."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.events import EventBus
from installer.core.runner import RecordingRunner
from installer.plan import effective_profile
from installer.steps.bootloader import (
    CONSOLE_DRIVERS,
    BootloaderError,
    dracut_conf,
    for_initramfs,
    grub_defaults,
    install_bootloader,
    os_name,
)
from installer.target_tools import TargetError, detect_tools
from profiles import ProfileError, profile_from_text
from profiles.grub_password import grub_pbkdf2
from profiles.model import AutoLayout, Bootloader, DiskMatch, Storage
from storage.apply import FstabEntry
from storage.inventory import DiskInfo, Inventory
from storage.layout import StoragePlan, plan_storage
from tests.support.grubimage import fake_grub_efi
from tests.support.targets import AZURE_LINUX_BASE

KVER = "6.12.40.1-1.azl4.x86_64"
FSTAB = [FstabEntry("UUID=root-uuid", "/", "xfs", "defaults", 0), FstabEntry("UUID=boot-uuid", "/boot", "xfs",
                                                                           "defaults", 0)]


def _plan(boot: str) -> StoragePlan:
    storage = Storage(disks=(DiskMatch(path="/dev/sda"),), auto=AutoLayout(boot=boot))  # type: ignore[arg-type]
    return plan_storage(storage, Inventory((DiskInfo("/dev/sda", 30 * 1024**3),)))


def _azure_linux_root(root: Path) -> Path:
    for tool in ("usr/sbin/grub2-install", "usr/sbin/grub2-mkconfig", "usr/bin/dracut"):
        (root / tool).parent.mkdir(parents=True, exist_ok=True)
        (root / tool).touch()
    (root / "usr/lib/modules" / KVER).mkdir(parents=True)
    vendor = root / "boot/efi/EFI/azurelinux"
    vendor.mkdir(parents=True)
    (vendor / "shimx64.efi").write_bytes(b"shim")
    (vendor / "grubx64.efi").write_bytes(b"grub")
    (root / "etc/default").mkdir(parents=True)
    (root / "etc/default/grub").write_text('GRUB_DISTRIBUTOR="Azure Linux"\nGRUB_TIMEOUT=5\n')
    return root


def test_azure_linux_like_target_both_firmwares(tmp_path: Path) -> None:
    root = _azure_linux_root(tmp_path)
    runner = RecordingRunner()
    install_bootloader(Bootloader(extra_cmdline=("nvme_core.io_timeout=240",)), _plan("both"), FSTAB, root, runner,
                       EventBus())
    assert runner.commands() == [
        f"chroot {root} dracut --force --kver {KVER} /boot/initramfs-{KVER}.img",
        f"chroot {root} grub2-install --target=i386-pc /dev/sda",
        f"chroot {root} grub2-mkconfig -o /boot/grub2/grub.cfg",
    ]
    defaults = (root / "etc/default/grub").read_text()
    assert 'GRUB_DISTRIBUTOR="Azure Linux"' in defaults and "GRUB_TIMEOUT=1" in defaults
    assert "GRUB_TIMEOUT=5" not in defaults
    assert ('GRUB_CMDLINE_LINUX="console=tty1 console=ttyS0,115200n8 earlyprintk=ttyS0 rootdelay=300 '
            'net.ifnames=0 nvme_core.io_timeout=240"') in defaults
    assert 'GRUB_TERMINAL="serial console"' in defaults
    dracut = (root / "etc/dracut.conf.d/90-azl-installer.conf").read_text()
    assert 'hostonly="no"' in dracut and " hv_storvsc " in dracut
    assert 'compress="gzip -n -6"' in dracut  # no zstd in this target
    fallback = root / "boot/efi/EFI/BOOT"
    assert (fallback / "BOOTX64.EFI").read_bytes() == b"shim" and (fallback / "grubx64.efi").read_bytes() == b"grub"
    stub = (root / "boot/efi/EFI/azurelinux/grub.cfg").read_text()
    assert "--fs-uuid --set=dev boot-uuid" in stub and "set prefix=($dev)/grub2" in stub


def test_a_signed_grub_whose_prefix_is_elsewhere_finds_its_grub_cfg(tmp_path: Path) -> None:
    """Debian's signed GRUB (the test distribution's) reads /EFI/debian/grub.cfg wherever it sits: the
    hand-over goes there too, read from the image, not assumed."""
    root = _azure_linux_root(tmp_path)
    (root / "boot/efi/EFI/azurelinux/grubx64.efi").write_bytes(fake_grub_efi("/EFI/debian"))
    install_bootloader(Bootloader(), _plan("uefi"), FSTAB, root, RecordingRunner(), EventBus())
    stubs = {d: (root / f"boot/efi/EFI/{d}/grub.cfg").read_text() for d in ("azurelinux", "BOOT", "debian")}
    assert len(set(stubs.values())) == 1 and "--fs-uuid --set=dev boot-uuid" in stubs["debian"], stubs
    assert sorted(p.name for p in (root / "boot/efi/EFI").iterdir()) == ["BOOT", "azurelinux", "debian"]


def test_debian_like_target_uefi_without_shim(tmp_path: Path) -> None:
    root = tmp_path
    for tool in ("usr/sbin/grub-install", "usr/sbin/grub-mkconfig", "usr/sbin/update-initramfs"):
        (root / tool).parent.mkdir(parents=True, exist_ok=True)
        (root / tool).touch()
    (root / "lib/modules/6.1.0-40-amd64").mkdir(parents=True)
    (root / "boot").mkdir()
    (root / "boot/initrd.img-6.1.0-40-amd64").touch()
    runner = RecordingRunner()
    install_bootloader(Bootloader(), _plan("uefi"), FSTAB, root, runner, EventBus())
    assert runner.commands() == [
        f"chroot {root} update-initramfs -u -k 6.1.0-40-amd64",
        f"chroot {root} grub-install --target=x86_64-efi --efi-directory=/boot/efi --boot-directory=/boot "
        "--removable --no-nvram",
        f"chroot {root} grub-mkconfig -o /boot/grub/grub.cfg",
    ]
    modules = (root / "etc/initramfs-tools/modules").read_text().split()
    assert "virtio_blk" in modules and modules[-1] == "xfs"  # the layout's root filesystem
    assert (root / "etc/initramfs-tools/conf.d/90-azl-installer.conf").read_text() == (
        "MODULES=list\nCOMPRESSLEVEL=3\nRESUME=none\nFSTYPE=xfs\n")
    # initramfs-tools sleeps rootdelay= at every boot: Azure's default 300 s is left out there.
    assert 'GRUB_CMDLINE_LINUX="console=tty1 console=ttyS0,115200n8 earlyprintk=ttyS0 net.ifnames=0"' in (
        root / "etc/default/grub").read_text()


def test_a_rootdelay_the_profile_sets_itself_is_kept_even_for_initramfs_tools() -> None:
    mine = Bootloader(cmdline=("console=ttyS0", "rootdelay=10"))
    assert for_initramfs(mine, "initramfs-tools") == mine
    assert "rootdelay=300" in for_initramfs(Bootloader(), "dracut").cmdline
    assert "rootdelay=300" not in for_initramfs(Bootloader(extra_cmdline=("quiet",)), "initramfs-tools").cmdline


@pytest.mark.parametrize(("files", "message"), [
    ([], "the target has no GRUB"),
    (["usr/sbin/grub2-install"], "no initramfs tool"),
    (["usr/sbin/grub2-install", "usr/bin/dracut"], "the payload installed no kernel"),
])
def test_missing_target_tools_are_named(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    with pytest.raises(TargetError, match=message):
        detect_tools(tmp_path)


def test_grub_defaults_keep_foreign_lines() -> None:
    text = grub_defaults("# comment\nGRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=\"quiet\"\n", Bootloader(cmdline=("a",)))
    assert text.splitlines()[:2] == ["# comment", "GRUB_DEFAULT=saved"]
    assert 'GRUB_CMDLINE_LINUX="a"' in text and "quiet" not in text


@pytest.mark.parametrize(("storage", "packages"), [
    ("auto: {boot: bios}", ("grub2-pc", "grub2-tools", "dracut", "zstd")),
    ("auto: {boot: both}", ("grub2-pc", "grub2-tools", "dracut", "zstd", "grub2-efi-x64", "shim-x64", "efibootmgr")),
    ("partitions: [{size: 1MiB, filesystem: biosboot}, {size: 1GiB, grow: true, mount: /, filesystem: ext4}]",
     ("grub2-pc", "grub2-tools", "dracut", "zstd")),
    ("partitions: [{size: 200MiB, filesystem: vfat, mount: /boot/efi}, {size: 1GiB, grow: true, mount: /}]",
     ("grub2-efi-x64", "shim-x64", "grub2-tools", "efibootmgr", "dracut", "zstd")),
])
def test_a_system_dnf_builds_gets_the_boot_loader_packages_of_its_firmware(storage: str,
                                                                            packages: tuple[str, ...]) -> None:
    text = AZURE_LINUX_BASE.replace("  auto: {boot: uefi}", "  " + storage)
    profile = effective_profile(profile_from_text(text))
    assert profile.payload.packages[-len(packages):] == packages
    assert effective_profile(profile) == profile  # amend is idempotent


def test_an_image_or_a_disabled_boot_loader_adds_no_boot_packages() -> None:
    image = AZURE_LINUX_BASE.replace("  groups: [core]\n", "  groups: [core]\n  image: {path: /srv/root.tar}\n")
    disabled = AZURE_LINUX_BASE + "bootloader: {enabled: false}\n"
    for text in (image, disabled):
        packages = effective_profile(profile_from_text(text)).payload.packages
        assert not {"grub2-pc", "grub2-efi-x64", "dracut"} & set(packages)


def test_grub_menu_is_titled_by_the_release_name_unless_the_file_names_one() -> None:
    name = os_name('ID=azurelinux\nNAME="Azure Linux"\nVERSION_ID="4.0"\n')
    assert name == "Azure Linux"
    assert 'GRUB_DISTRIBUTOR="Azure Linux"' in grub_defaults("", Bootloader(), distributor=name).splitlines()
    debian = "GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Debian} ) 2>/dev/null || echo Debian`\n"
    assert grub_defaults(debian, Bootloader(), distributor=name).count("GRUB_DISTRIBUTOR") == 1
    assert "GRUB_DISTRIBUTOR" not in grub_defaults("", Bootloader(), distributor=os_name("ID=x\n"))


def test_a_grub_password_goes_to_user_cfg_where_azure_linux_grub_reads_it(tmp_path: Path) -> None:
    root = _azure_linux_root(tmp_path)
    (root / "etc/grub.d").mkdir(parents=True)
    (root / "etc/grub.d/01_users").write_text("#!/bin/sh\n")  # grub2-tools' script that reads user.cfg
    hashed = grub_pbkdf2("boot-secret")
    install_bootloader(Bootloader(password_hash=hashed), _plan("uefi"), FSTAB, root, RecordingRunner(), EventBus())
    user_cfg = root / "boot/grub2/user.cfg"
    assert user_cfg.read_text() == f"GRUB2_PASSWORD={hashed}\n" and user_cfg.stat().st_mode & 0o777 == 0o600


def test_a_grub_password_on_a_grub_without_user_cfg_is_refused_before_the_menu_is_written(tmp_path: Path) -> None:
    root = _azure_linux_root(tmp_path)
    runner = RecordingRunner()
    with pytest.raises(BootloaderError, match="needs a GRUB that reads user.cfg"):
        install_bootloader(Bootloader(password_hash=grub_pbkdf2("x")), _plan("uefi"), FSTAB, root, runner,
                           EventBus())
    assert runner.commands() == []


def test_a_bad_grub_password_hash_is_one_line() -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_text("storage: {disks: [{path: /dev/vda}]}\nbootloader: {password_hash: hunter2}\n")
    assert "bootloader.password_hash: not a GRUB password hash" in str(caught.value)


def test_the_dracut_configuration_lists_the_drivers_exactly() -> None:
    """drivers= (exclusive), so dracut skips its search of every module of the kernel; the layout's own
    modules and the console's keyboards join the profile's; crypt only for an encrypted root."""
    conf = dracut_conf(("virtio_blk", "ext4", "dm_crypt", "virtio_blk"), zstd=True)
    lines = dict(line.split("=", 1) for line in conf.splitlines())
    assert lines["hostonly"] == '"no"'
    assert "drivers+" in lines and "add_drivers+" not in lines
    listed = lines["drivers+"].strip('"').split()
    assert listed[:3] == ["virtio_blk", "ext4", "dm_crypt"] and listed.count("virtio_blk") == 1
    assert set(CONSOLE_DRIVERS) <= set(listed)
    assert lines["omit_dracutmodules+"] == '" hwdb "'
    assert lines["compress"] == '"zstd -q -T0 -3"'
    assert lines["add_dracutmodules+"] == '" crypt "'
    plain = dracut_conf(("virtio_blk", "xfs"), zstd=False)
    assert "crypt" not in plain and 'compress="gzip -n -6"' in plain

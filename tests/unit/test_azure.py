"""The azure step pinned for an Azure Linux-like target: packages, every file written, every command run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from installer.core.events import EventBus
from installer.core.runner import RecordingRunner
from installer.plan import effective_profile, make_plan
from installer.steps.azure import SRIOV_RULE_TEXT, AzureError, azure_packages, chrony_conf, configure_azure, set_keys
from installer.steps.generalize import generalize
from installer.steps.selinux import PACKAGES as SELINUX_PACKAGES
from profiles import ProfileError, profile_from_text
from profiles.model import VM_DRIVERS, Azure
from storage.inventory import DiskInfo, Inventory
from tests.support.targets import (
    AZURE_LINUX_BASE,
    azure_linux_target,
    snapshot,
    written,
)

BASE = AZURE_LINUX_BASE
INVENTORY = Inventory((DiskInfo("/dev/sda", 30 * 1024**3),))
AZURE_PACKAGES = ("kernel", "WALinuxAgent", "cloud-init", "cloud-utils-growpart", "azure-vm-utils", "hyperv-daemons",
                  "chrony")


def test_packages_join_the_payload_and_bootloader_once() -> None:
    profile = effective_profile(profile_from_text(BASE + "azure: {trusted_launch: true}\n"))
    # The boot loader step's packages for UEFI, then Azure's; Trusted Launch's signed chain (shim-x64,
    # grub2-efi-x64) is among the former already, and each name is there once.
    assert profile.payload.packages == (*SELINUX_PACKAGES, "grub2-efi-x64", "shim-x64", "grub2-tools", "efibootmgr",
                                        "dracut", "zstd", *AZURE_PACKAGES)
    assert profile.payload.groups == ("core",)
    assert profile.bootloader.extra_cmdline == ("nvme_core.io_timeout=240",)
    assert profile.bootloader.initramfs_drivers == VM_DRIVERS  # the defaults already hold the Azure drivers
    assert effective_profile(profile) == profile  # idempotent: the saved profile replays the same install
    narrowed = effective_profile(profile_from_text(BASE + "bootloader: {initramfs_drivers: [virtio_blk], "
                                                   "extra_cmdline: [nvme_core.io_timeout=240, quiet]}\nazure: {}\n"))
    assert narrowed.bootloader.initramfs_drivers == ("virtio_blk", "hv_vmbus", "hv_netvsc", "hv_storvsc",
                                                     "pci_hyperv", "nvme", "nvme_core")
    assert narrowed.bootloader.extra_cmdline == ("nvme_core.io_timeout=240", "quiet")


def test_switches_turn_pieces_off() -> None:
    azure = Azure(agent=False, cloud_init=False, vm_utils=False, hyperv_daemons=False, chrony=False,
                  kernel="kernel-hci")
    profile = replace(profile_from_text(BASE), azure=azure)
    assert azure_packages(azure) == ("kernel-hci",)
    plain = replace(profile, azure=replace(azure, enabled=False), bootloader=replace(profile.bootloader, enabled=False))
    assert effective_profile(plain).payload.packages == SELINUX_PACKAGES


def test_image_only_payload_gets_no_packages() -> None:
    text = BASE.replace('  repositories: [{name: base, baseurl: "https://example.invalid/repo"}]\n  groups: [core]\n',
                        "  image: {path: /srv/root.tar}\n") + "azure: {}\n"
    plan = make_plan(profile_from_text(text), INVENTORY)
    assert plan.profile.payload.packages == ()
    assert any("the root image must already hold kernel, WALinuxAgent" in d for s in plan.steps for d in s.details)


def test_azure_linux_target_files_and_commands(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path)
    before = snapshot(root)
    runner = RecordingRunner()
    configure_azure(profile_from_text(BASE + "azure: {trusted_launch: true}\n"), root, runner, EventBus())
    assert runner.commands() == [f"chroot {root} systemctl enable waagent.service chronyd.service"]
    assert written(before, snapshot(root)) == {
        "/etc/waagent.conf": (
            "# Microsoft Azure Linux Agent Configuration\nProvisioning.Agent=cloud-init\nResourceDisk.Format=n\n"
            "ResourceDisk.Filesystem=ext4\nResourceDisk.EnableSwap=n\n# OS.RootDeviceScsiTimeout=300\n"
            "Logs.Verbose=n\nOS.RootDeviceScsiTimeout=300\n"),
        "/etc/chrony.conf": (
            "pool 2.azurelinux.pool.ntp.org iburst\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 -1\nrtcsync\n"
            "# Azure: the Hyper-V host's clock (azl-installer)\n"
            "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2\n"),
        "/etc/ssh/sshd_config.d/40-azl-azure.conf": (
            "# Written by azl-installer: keep idle sessions open through Azure's load balancers.\n"
            "ClientAliveInterval 180\n"),
        "/etc/udev/rules.d/10-azure-unmanaged-sriov.rules": SRIOV_RULE_TEXT,
    }
    assert (root / "etc/ssh/sshd_config.d/40-azl-azure.conf").stat().st_mode & 0o777 == 0o600


def test_everything_off_writes_nothing(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path)
    before = snapshot(root)
    runner = RecordingRunner()
    text = BASE + ("azure: {agent: false, chrony: false, ssh_keepalive: 0, accelerated_networking: false}\n")
    configure_azure(profile_from_text(text), root, runner, EventBus())
    assert runner.calls == [] and written(before, snapshot(root)) == {}


def test_a_shipped_sriov_rule_is_not_duplicated(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path)
    rule = root / "usr/lib/udev/rules.d/10-azure-unmanaged-sriov.rules"
    rule.parent.mkdir(parents=True)
    rule.write_text('SUBSYSTEM=="net", DRIVERS=="mana|mlx4_core|mlx5_core", ENV{NM_UNMANAGED}="1"\n')
    configure_azure(profile_from_text(BASE + "azure: {}\n"), root, RecordingRunner(), EventBus())
    assert not (root / "etc/udev/rules.d").exists()


def test_trusted_launch_without_shim_fails_with_the_packages_to_add(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path)
    (root / "boot/efi/EFI/azurelinux/shimx64.efi").unlink()
    with pytest.raises(AzureError, match="add the shim and grub2-efi-x64 packages"):
        configure_azure(profile_from_text(BASE + "azure: {trusted_launch: true}\n"), root, RecordingRunner(),
                        EventBus())


def test_keys_are_set_in_place_and_appended() -> None:
    assert set_keys("a=1\n#b=2\nc=3\na=4\n", {"a": "x", "b": "y"}) == "a=x\n#b=2\nc=3\nb=y\n"
    assert chrony_conf("") == ("makestep 1.0 -1\n# Azure: the Hyper-V host's clock (azl-installer)\n"
                               "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2\n")
    assert chrony_conf(chrony_conf("")) == chrony_conf("")


def test_generalize_removes_identity_and_keeps_the_seed(tmp_path: Path) -> None:
    root = tmp_path
    for name in ("etc/machine-id", "etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub",
                 "etc/ssh/sshd_config", "etc/resolv.conf", "var/lib/systemd/random-seed",
                 "var/lib/waagent/ovf-env.xml", "var/lib/waagent/Incarnation", "var/log/waagent.log",
                 "var/lib/cloud/instances/iid-1/obj.pkl", "var/lib/cloud/data/status.json",
                 "var/lib/cloud/seed/nocloud/user-data", "var/lib/NetworkManager/internal-eth0.lease",
                 "var/lib/NetworkManager/NetworkManager.state", "var/log/cloud-init.log", "root/.bash_history"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    (root / "var/lib/cloud/instance").symlink_to("instances/iid-1")
    removed = generalize(root, EventBus())
    assert removed == [
        "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ed25519_key.pub", "/var/lib/systemd/random-seed",
        "/var/lib/waagent", "/var/log/waagent.log", "/var/lib/NetworkManager/internal-eth0.lease",
        "/var/log/cloud-init.log", "/root/.bash_history",
        "/var/lib/cloud/data", "/var/lib/cloud/instance", "/var/lib/cloud/instances", "/etc/resolv.conf",
    ]
    assert (root / "etc/machine-id").read_text() == ""
    assert (root / "etc/hostname").read_text() == "localhost.localdomain\n"
    left = sorted("/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["/etc/hostname", "/etc/machine-id", "/etc/ssh/sshd_config",
                    "/var/lib/NetworkManager/NetworkManager.state", "/var/lib/cloud/seed/nocloud/user-data"]


def test_resolv_conf_symlink_is_kept(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/resolv.conf").symlink_to("../run/systemd/resolve/stub-resolv.conf")
    assert generalize(tmp_path, EventBus()) == []
    assert (tmp_path / "etc/resolv.conf").is_symlink()


@pytest.mark.parametrize(("text", "expected"), [
    (BASE.replace("auto: {boot: uefi}", "auto: {boot: bios}") + "azure: {trusted_launch: true}\n",
     "azure.trusted_launch: Trusted Launch needs UEFI"),
    (BASE.replace("  auto: {boot: uefi}\n", "  partitions: [{size: 1GiB, filesystem: swap}, "
                  "{size: 4GiB, mount: /, grow: true}]\n") + "azure: {}\n",
     "storage.partitions[0].filesystem: no swap partition on the OS disk"),
    (BASE + "azure: {cmdline: ['a b']}\n", "azure.cmdline[0]: one kernel argument per entry"),
    (BASE + "azure: {ssh_keepalive: -1}\n", "azure.ssh_keepalive: ssh_keepalive is seconds"),
    (BASE + "azure: {initramfs_drivers: ['a b']}\n", "azure.initramfs_drivers[0]: 'a b' is not a kernel module"),
    # The boot loader's own lists reach the same shell-read files (GRUB's defaults, dracut's configuration).
    (BASE + """bootloader: {initramfs_drivers: ['x" ; touch /pwned ; "']}\n""",
     "bootloader.initramfs_drivers[0]: 'x\" ; touch /pwned ; \"' is not a kernel module name"),
    (BASE + "bootloader: {extra_cmdline: ['quiet', 'a\"b']}\n", "bootloader.extra_cmdline[1]: one kernel argument"),
])
def test_azure_profile_checks(text: str, expected: str) -> None:
    with pytest.raises(ProfileError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        profile_from_text(text, "p.yaml")


def test_swap_is_fine_when_azure_is_off_or_on_another_disk() -> None:
    layout = ("  partitions: [{size: 1GiB, filesystem: swap}, {size: 4GiB, mount: /, grow: true}]\n")
    text = BASE.replace("  auto: {boot: uefi}\n", layout)
    profile_from_text(text + "azure: {enabled: false}\n")
    other = BASE.replace("  disks: [{path: /dev/sda}]\n  auto: {boot: uefi}\n",
                         "  disks: [{path: /dev/sda}, {path: /dev/sdb}]\n  partitions: [{size: 4GiB, mount: /, "
                         "grow: true}, {disk: 1, size: 1GiB, filesystem: swap}]\n")
    profile_from_text(other + "azure: {}\n")


def test_plan_blocks_trusted_launch_without_esp_and_excluded_agents() -> None:
    text = BASE.replace("  auto: {boot: uefi}\n", "  partitions: [{size: 1MiB, filesystem: biosboot}, "
                        "{size: 4GiB, mount: /, grow: true}]\n")
    text = text.replace("  groups: [core]\n", "  groups: [core]\n  exclude: [WALinuxAgent]\n")
    plan = make_plan(profile_from_text(text + "azure: {trusted_launch: true}\n"), INVENTORY)
    assert tuple(map(str, plan.blockers)) == (
        "payload.exclude: WALinuxAgent is needed by the azure/cloud_init sections; remove it from exclude or "
        "turn its switch off",
        "azure.trusted_launch: Trusted Launch needs UEFI boot, but the layout has no EFI system partition at "
        "/boot/efi",
    )

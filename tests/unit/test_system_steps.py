"""The steps kickstarts brought: networkd files, firewalld, chrony sources, services, on-error scripts, repo options."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.runner import RecordingRunner, Reply
from installer.engine import InstallFailed
from installer.payload.dnf4 import Dnf4
from installer.payload.dnf5 import Dnf5
from installer.payload.dnfbase import DnfSetup
from installer.steps.firewall import FirewallStep, offline_commands
from installer.steps.network import CLOUD_INIT_NETWORK_CFG, NetworkStep, networkd_files
from installer.steps.services import ServicesStep, unit_name
from installer.steps.timesync import chrony_conf
from iso.launcher import after_install, install_argv, parse_cmdline
from profiles import profile_from_text
from profiles.model import Firewall, Network, NetworkInterface, Payload, Profile, Repository, Storage, TimeSource
from tests.support.engine import recorded
from tests.support.steps import step_context

PROFILE = Profile(storage=Storage(disks=()))


def test_networkd_files_for_static_bond_and_vlan() -> None:
    files = networkd_files(Network(interfaces=(
        NetworkInterface(name="eth0", ipv4="static", ipv6="off", addresses=("10.0.0.5/24",), gateway="10.0.0.1",
                         nameservers=("1.1.1.1",), mtu=9000),
        NetworkInterface(name="bond0", kind="bond", members=("eth1", "eth2"), bond_mode="active-backup"),
        NetworkInterface(name="vlan100", kind="vlan", vlan_id=100, parent="eth3", ipv6="dhcp"),
        NetworkInterface(name="nic-3456", mac="52:54:00:12:34:56", enabled=False),
    )))
    d = "/etc/systemd/network/10-azl-"
    assert sorted(files) == sorted(f"{d}{n}" for n in ["eth0.network", "bond0.network", "bond0.netdev",
                                                        "vlan100.network", "vlan100.netdev", "nic-3456.network",
                                                        "eth1.network", "eth2.network", "eth3.network"])
    eth0 = files[f"{d}eth0.network"]
    for line in ["Name=eth0", "MTUBytes=9000", "DHCP=no", "IPv6AcceptRA=no", "LinkLocalAddressing=ipv4",
                 "Address=10.0.0.5/24", "Gateway=10.0.0.1", "DNS=1.1.1.1"]:
        assert f"\n{line}\n" in eth0, line
    assert "Kind=bond" in files[f"{d}bond0.netdev"] and "Mode=active-backup" in files[f"{d}bond0.netdev"]
    assert "Bond=bond0" in files[f"{d}eth1.network"] and "DHCP" not in files[f"{d}eth1.network"]
    assert "Kind=vlan" in files[f"{d}vlan100.netdev"] and "Id=100" in files[f"{d}vlan100.netdev"]
    assert "VLAN=vlan100" in files[f"{d}eth3.network"] and "DHCP=no" in files[f"{d}eth3.network"]
    assert "DHCP=yes" in files[f"{d}vlan100.network"]
    mac = files[f"{d}nic-3456.network"]
    assert "MACAddress=52:54:00:12:34:56" in mac and "ActivationPolicy=down" in mac and "Name=" not in mac


def test_network_step_tells_cloud_init_to_keep_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/cloud").mkdir(parents=True)
    (root / "usr/lib/systemd/system").mkdir(parents=True)
    (root / "usr/lib/systemd/system/systemd-networkd.service").touch()
    profile = Profile(storage=Storage(disks=()), network=Network(interfaces=(NetworkInterface(name="eth0"),)))
    runner = RecordingRunner()
    NetworkStep().run(step_context(profile, root, runner=runner))
    assert "config: disabled" in (root / CLOUD_INIT_NETWORK_CFG.lstrip("/")).read_text()
    assert runner.calls[-1][-2:] == ("enable", "systemd-networkd.service")


def test_firewall_offline_commands_and_package() -> None:
    fw = Firewall(zone="internal", services=("ssh",), ports=("8080/tcp",), remove_services=("cockpit",),
                  trusted_interfaces=("eth1",))
    assert [c[1:] for c in offline_commands(fw)] == [
        ["--set-default-zone=internal"], ["--zone=internal", "--remove-service=cockpit"],
        ["--zone=internal", "--add-service=ssh"], ["--zone=internal", "--add-port=8080/tcp"],
        ["--zone=trusted", "--add-interface=eth1"]]
    with_repo = Profile(storage=Storage(disks=()), payload=Payload(repositories=(Repository("r", "file:///r"),)),
                        firewall=fw)
    assert "firewalld" in FirewallStep().amend(with_repo).payload.packages


def test_a_firewall_the_payload_did_not_install_fails_with_one_line(tmp_path: Path) -> None:
    profile = Profile(storage=Storage(disks=()), firewall=Firewall())
    with pytest.raises(RuntimeError, match="did not install firewalld"):
        FirewallStep().run(step_context(profile, tmp_path))


def test_chrony_sources_replace_the_shipped_ones_and_keep_reference_clocks() -> None:
    text = chrony_conf("pool 2.fedora.pool.ntp.org iburst\nrefclock PHC /dev/ptp_hyperv poll 3\nserver old\n"
                       "makestep 1.0 -1\n", (TimeSource("ntp.example.com"), TimeSource("pool.example.com", True, True)))
    assert "fedora.pool" not in text and "server old" not in text
    assert "refclock PHC /dev/ptp_hyperv poll 3" in text and "makestep 1.0 -1" in text
    assert text.endswith("server ntp.example.com iburst\npool pool.example.com iburst nts\n")


def test_services_enable_what_is_installed_and_refuse_what_is_not(tmp_path: Path) -> None:
    assert (unit_name("sshd"), unit_name("fstrim.timer"), unit_name("getty@ttyS1")) == (
        "sshd.service", "fstrim.timer", "getty@ttyS1.service")
    units = tmp_path / "usr/lib/systemd/system"
    units.mkdir(parents=True)
    (units / "sshd.service").touch()
    (units / "kdump.service").touch()
    profile = profile_from_text("storage: {disks: [{path: /dev/vda}]}\npayload: {packages: [a], repositories: "
                                "[{name: r, baseurl: 'file:///r'}]}\nservices: {enable: [sshd], disable: [kdump, "
                                "cups]}\n")
    runner = RecordingRunner()
    ServicesStep().run(step_context(profile, tmp_path, runner=runner))
    assert [c[-2:] for c in runner.calls] == [("enable", "sshd.service"), ("disable", "kdump.service")]
    bad = profile_from_text("storage: {disks: [{path: /dev/vda}]}\npayload: {packages: [a], repositories: "
                            "[{name: r, baseurl: 'file:///r'}]}\nservices: {enable: [nginx]}\n")
    with pytest.raises(RuntimeError, match=r"cannot enable nginx\.service: not installed"):
        ServicesStep().run(step_context(bad, tmp_path))


def test_repository_options_reach_both_dnfs(tmp_path: Path) -> None:
    payload = Payload(repositories=(
        Repository("m", mirrorlist="https://example.com/list", cost=50, include=("a", "b"), exclude=("c",)),),
        packages=("a",), docs=False, ignore_missing=True)
    setup = DnfSetup(tmp_path / "dnf.conf", tmp_path, tmp_path / "cache", None)
    for dialect, skip in ((Dnf4("dnf"), "--setopt=strict=False"), (Dnf5("dnf5"), "--skip-unavailable")):
        argv = dialect.argv(payload, tmp_path / "root", setup)
        for option in ["--repofrompath=m,https://example.com/list", "--setopt=m.baseurl=",
                       "--setopt=m.mirrorlist=https://example.com/list", "--setopt=m.cost=50",
                       "--setopt=m.includepkgs=a,b", "--setopt=m.excludepkgs=c", "--setopt=tsflags=nodocs", skip]:
            assert option in argv, (dialect.name, option)


@pytest.mark.parametrize("text", [
    "payload: {packages: [a], repositories: [{name: r}]}",
    "payload: {packages: [a], repositories: [{name: r, baseurl: 'file:///r', metalink: 'https://x/m'}]}",
])
def test_a_repository_needs_exactly_one_location(text: str) -> None:
    with pytest.raises(Exception, match="exactly one of baseurl, mirrorlist, metalink"):
        profile_from_text("storage: {disks: [{path: /dev/vda}]}\n" + text)


def test_on_error_scripts_run_before_the_teardown(tmp_path: Path) -> None:
    r = recorded(tmp_path, "storage: {disks: [{path: DISK}], auto: {filesystem: ext4, boot: bios}}\n"
                 "bootloader: {enabled: false}\npayload: {packages: [a], repositories: [{name: r, baseurl: "
                 "'file:///r', gpgcheck: false}]}\nsystem: {selinux: disabled}\n"
                 "scripts: {on_error: [{body: 'echo oops', name: report}]}\n")
    r.runner.reply(["dnf"], Reply(returncode=1, output="Error: boom"))
    with pytest.raises(InstallFailed):
        r.engine.run()
    scripts = [i for i, c in enumerate(r.runner.calls) if c[0] == "/bin/sh"]
    unmounts = [i for i, c in enumerate(r.runner.calls) if c[0] == "umount"]
    assert scripts and unmounts and scripts[0] < unmounts[0]


def test_the_launcher_reads_inst_ks_and_the_after_install_line() -> None:
    request = parse_cmdline("console=ttyS0 inst.ks=hd:LABEL=OEMDRV:/ks.cfg")
    assert request.profile is not None and request.profile.kickstart and request.profile.device == "LABEL=OEMDRV"
    assert install_argv(Path("/x/ks.cfg"), kickstart=True)[2:4] == ["--kickstart", "/x/ks.cfg"]
    assert parse_cmdline("inst.ks=http://10.0.2.2/ks.cfg").profile is not None
    assert after_install(["...", "azl-installer: after install: reboot"]) == "reboot"
    assert after_install(["azl-installer: installed onto /dev/vda"]) is None

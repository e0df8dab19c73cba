"""Kickstarts converted to profiles: every supported command, the refusals (all in one run), includes, the YAML."""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from installer.cli import main
from profiles import profile_from_text
from profiles.grub_password import grub_pbkdf2, is_grub_hash
from profiles.kickstart.convert import Conversion, convert_kickstart
from profiles.kickstart.errors import KickstartError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf ks@example"
DISKS = "zerombr\nclearpart --all --initlabel\nignoredisk --only-use=vda\n"
PAYLOAD = "url --url=file:///srv/repo\n%packages --nocore\nkernel\n%end\n"
BASE = DISKS + "autopart --type=plain --noswap --nohome\n" + PAYLOAD


def fake_hash(password: str) -> str:
    return "$6$test$" + "x" * 20 + str(len(password))  # stands in for libxcrypt: the tests check where it goes


def convert(tmp_path: Path, text: str, name: str = "ks.cfg") -> Conversion:
    path = tmp_path / name
    path.write_text(text)
    return convert_kickstart(path, name, hasher=fake_hash)


def refused(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(KickstartError) as caught:
        convert(tmp_path, text)
    return [str(p) for p in caught.value.problems]


def data(conversion: Conversion) -> dict[str, Any]:
    loaded = yaml.safe_load(conversion.text)
    assert isinstance(loaded, dict)
    return loaded


def test_system_commands_become_profile_keys(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "lang de_DE.UTF-8\nkeyboard --vckeymap=de-latin1\ntimezone Europe/Berlin --utc\n"
                "timesource --ntp-server=ntp1.example.com\ntimesource --ntp-pool=pool.example.com --nts\n"
                "selinux --permissive\nservices --enabled=sshd --disabled=kdump,cups\nreboot\n")
    system = c.profile.system
    assert (system.locale, system.keyboard, system.timezone, system.selinux) == (
        "de_DE.UTF-8", "de-latin1", "Europe/Berlin", "permissive")
    assert [(s.host, s.pool, s.nts) for s in system.time_sources] == [
        ("ntp1.example.com", False, False), ("pool.example.com", True, True)]
    assert c.profile.services.enable == ("sshd",) and c.profile.services.disable == ("kdump", "cups")
    assert c.profile.after_install == "reboot"


@pytest.mark.parametrize(("line", "action"), [("halt", "halt"), ("poweroff", "poweroff"), ("shutdown", "poweroff")])
def test_the_ending_command_is_the_after_install_action(tmp_path: Path, line: str, action: str) -> None:
    assert convert(tmp_path, BASE + line + "\n").profile.after_install == action


def test_timezone_nontp_turns_time_sync_off(tmp_path: Path) -> None:
    assert convert(tmp_path, BASE + "timezone UTC --nontp\n").profile.system.ntp is False


def test_accounts_plain_passwords_are_hashed_at_once(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "rootpw --plaintext r00t-pass\ngroup --name=ops --gid=3000\n"
                "user --name=kate --groups=ops,wheel --password=k4te-pass --uid=1500 --gid=1500 --shell=/bin/zsh "
                "--gecos='Kate K' --homedir=/srv/kate\n"
                f'sshkey --username=kate "{KEY}"\nsshkey --username=root "{KEY}"\n'
                "user --name=locked --lock --iscrypted --password=$6$abc$def\n")
    assert "r00t-pass" not in c.text and "k4te-pass" not in c.text
    assert c.profile.root.password_hash == fake_hash("r00t-pass") and not c.profile.root.locked
    assert c.profile.root.ssh_keys == (KEY,)
    kate, locked = c.profile.users
    assert (kate.name, kate.groups, kate.uid, kate.gid, kate.shell, kate.gecos, kate.home) == (
        "kate", ("ops", "wheel"), 1500, 1500, "/bin/zsh", "Kate K", "/srv/kate")
    assert kate.password_hash == fake_hash("k4te-pass") and kate.ssh_keys == (KEY,)
    assert locked.locked and locked.password_hash == "$6$abc$def"
    assert [(g.name, g.gid) for g in c.profile.groups] == [("ops", 3000)]


def test_rootpw_lock_keeps_root_locked_and_says_the_password_is_dropped(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "rootpw --lock --plaintext secret\n")
    assert c.profile.root.locked and c.profile.root.password_hash is None
    assert any("rootpw --lock" in str(w) for w in c.warnings)


def test_firewall_and_network(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "firewall --enabled --service=ssh,http --port=8080:tcp,53:udp --trust=eth1 "
                "--remove-service=cockpit\n"
                "network --device=eth0 --bootproto=static --ip=10.0.0.5 --netmask=255.255.255.0 --gateway=10.0.0.1 "
                "--nameserver=1.1.1.1,8.8.8.8 --ipv6=2001:db8::5/64 --ipv6gateway=2001:db8::1 --mtu=9000 "
                "--hostname=vm1.example.com\n"
                "network --device=bond0 --bondslaves=eth1,eth2 --bondopts=mode=802.3ad,miimon=100 --bootproto=dhcp\n"
                "network --device=eth3 --vlanid=100 --interfacename=vlan100 --bootproto=dhcp --noipv6\n"
                "network --device=52:54:00:12:34:56 --bootproto=dhcp --onboot=off\n")
    fw = c.profile.firewall
    assert fw is not None and fw.enabled and fw.services == ("ssh", "http")
    assert fw.ports == ("8080/tcp", "53/udp") and fw.trusted_interfaces == ("eth1",)
    assert fw.remove_services == ("cockpit",)
    assert c.profile.system.hostname == "vm1.example.com"
    assert c.profile.network is not None
    eth0, bond, vlan, by_mac = c.profile.network.interfaces
    assert (eth0.ipv4, eth0.ipv6, eth0.addresses, eth0.gateway, eth0.gateway6, eth0.nameservers, eth0.mtu) == (
        "static", "static", ("10.0.0.5/24", "2001:db8::5/64"), "10.0.0.1", "2001:db8::1", ("1.1.1.1", "8.8.8.8"),
        9000)
    assert (bond.kind, bond.members, bond.bond_mode, bond.ipv4) == ("bond", ("eth1", "eth2"), "802.3ad", "dhcp")
    assert (vlan.kind, vlan.name, vlan.vlan_id, vlan.parent, vlan.ipv6) == ("vlan", "vlan100", 100, "eth3", "off")
    assert (by_mac.mac, by_mac.name, by_mac.enabled) == ("52:54:00:12:34:56", "nic-3456", False)


def test_firewall_disabled(tmp_path: Path) -> None:
    fw = convert(tmp_path, BASE + "firewall --disabled\n").profile.firewall
    assert fw is not None and not fw.enabled


def test_repositories_packages_and_bootloader(tmp_path: Path) -> None:
    c = convert(tmp_path, DISKS + "autopart --type=plain\nurl --mirrorlist=https://mirrors.example.com/list\n"
                "repo --name=extra --baseurl=https://example.com/extra --cost=50 --includepkgs=a,b "
                "--excludepkgs=c --install\nrepo --name=meta --metalink=https://example.com/metalink\n"
                'bootloader --append="console=ttyS0 quiet" --timeout=7 --location=mbr\n'
                "%packages --excludedocs --ignoremissing --excludeWeakdeps\n@^server\n@standard\nkernel\n-firewalld\n"
                "%end\n")
    base, extra, meta = c.profile.payload.repositories
    assert (base.name, base.mirrorlist, base.baseurl, base.gpgcheck) == (
        "anaconda", "https://mirrors.example.com/list", None, False)
    assert (extra.cost, extra.include, extra.exclude, extra.install) == (50, ("a", "b"), ("c",), True)
    assert meta.metalink == "https://example.com/metalink"
    payload = c.profile.payload
    assert payload.environment == "server" and payload.groups == ("core", "standard")  # no --nocore: @core
    assert payload.packages == ("kernel",) and payload.exclude == ("firewalld",)
    assert not payload.docs and payload.ignore_missing and not payload.install_weak_deps
    assert c.profile.bootloader.extra_cmdline == ("console=ttyS0", "quiet") and c.profile.bootloader.timeout == 7
    assert any("signatures are not checked" in str(w) for w in c.warnings)


def test_weak_dependencies_are_installed_as_anaconda_does(tmp_path: Path) -> None:
    assert convert(tmp_path, BASE).profile.payload.install_weak_deps


def test_liveimg_with_checksum(tmp_path: Path) -> None:
    digest = "ab" * 32
    c = convert(tmp_path, DISKS + f"autopart --type=plain\nliveimg --url=file:///srv/root.tar.gz --checksum={digest}\n")
    assert c.profile.payload.image is not None
    assert (c.profile.payload.image.path, c.profile.payload.image.sha256) == ("/srv/root.tar.gz", digest)


def test_scripts_keep_anacondas_error_rules(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "%pre --interpreter=/bin/bash\necho pre\n%end\n%pre-install\necho pi\n%end\n"
                "%post --nochroot --erroronfail --log=/mnt/sysimage/root/post.log\necho $ANA_INSTALL_PATH\n%end\n"
                "%post --interpreter=/usr/bin/python3\nprint('in')\n%end\n%onerror\necho failed\n%end\n")
    scripts = c.profile.scripts
    assert scripts.pre[0].interpreter == "/bin/bash" and not scripts.pre[0].fail_install
    assert scripts.pre_install[0].body == "echo pi\n"
    nochroot, chrooted = scripts.post
    assert (nochroot.chroot, nochroot.fail_install, nochroot.log) == (False, True, "/mnt/sysimage/root/post.log")
    assert (chrooted.chroot, chrooted.fail_install, chrooted.interpreter) == (True, False, "/usr/bin/python3")
    assert scripts.on_error[0].body == "echo failed\n"
    assert nochroot.name is not None and "ks.cfg:" in nochroot.name


def test_autopart_btrfs_and_encryption(tmp_path: Path) -> None:
    c = convert(tmp_path, PAYLOAD + DISKS + "autopart --type=btrfs --encrypted --passphrase=s3cret "
                "--luks-version=luks2 --pbkdf=argon2id --pbkdf-memory=65536 --pbkdf-time=1500 "
                "--cipher=aes-xts-plain64\n")
    auto = c.profile.storage.auto
    assert auto is not None and (auto.filesystem, auto.boot) == ("btrfs", "both")
    enc = c.profile.encryption
    assert enc is not None and enc.enabled and enc.passphrase == "s3cret" and enc.volumes == ("/",)
    assert (enc.pbkdf.type, enc.pbkdf.memory, enc.pbkdf.iter_time) == ("argon2id", 64 * 2**20, 1500)
    assert any("swap and /home" in str(w) for w in c.warnings)


def test_explicit_partitions_reqpart_and_btrfs_subvolumes(tmp_path: Path) -> None:
    c = convert(tmp_path, PAYLOAD + "zerombr\nclearpart --drives=vda,vdb --initlabel\nreqpart --add-boot\n"
                "part swap --size=512 --ondisk=vdb\npart btrfs.01 --size=4096 --grow --ondisk=vda\n"
                "btrfs none --label=fedora btrfs.01\nbtrfs / --subvol --name=root fedora\n"
                "btrfs /home --subvol --name=home fedora\npart /srv --fstype=ext4 --size=1024 --ondisk=vdb "
                "--label=srv --encrypted --passphrase=pw\n")
    storage = c.profile.storage
    assert [d.path for d in storage.disks] == ["/dev/vda", "/dev/vdb"]
    shapes = [(p.filesystem, p.mount, p.size // 2**20, p.disk, p.grow) for p in storage.partitions]
    assert shapes == [("biosboot", None, 1, 0, False), ("vfat", "/boot/efi", 600, 0, False),
                      ("xfs", "/boot", 1024, 0, False), ("swap", None, 512, 1, False),
                      ("btrfs", None, 4096, 0, True), ("ext4", "/srv", 1024, 1, False)]
    btrfs = storage.partitions[4]
    assert btrfs.label == "fedora" and [(s.name, s.mount) for s in btrfs.subvolumes] == [
        ("root", "/"), ("home", "/home")]
    assert c.profile.encryption is not None and c.profile.encryption.volumes == ("/srv",)


def test_ignoredisk_drives_are_left_alone(tmp_path: Path) -> None:
    c = convert(tmp_path, "zerombr\nclearpart --all --drives=vda\nignoredisk --drives=sdb\nautopart --type=plain\n"
                + PAYLOAD)
    assert [d.path for d in c.profile.storage.leave_alone] == ["/dev/sdb"]


def test_every_unsupported_line_is_listed_in_one_run(tmp_path: Path) -> None:
    lines = refused(tmp_path, "lang en_US.UTF-8\nvnc\nrootpw --allow-ssh --plaintext x\nsshpw --username=a b\n"
                    + DISKS + "part pv.01 --size=100\nvolgroup vg pv.01 --reserved-space=10\nlogvol / --vgname=vg "
                    "--name=root --size=1 --maxsize=10\nraid /boot --level=1 --device=md0 --spares=1 raid.01 raid.02\n"
                    "bootloader --password=abc --leavebootorder\n"
                    "%packages --multilib\nkernel\n%end\n%traceback\necho\n%end\n%addon com_redhat_kdump\n%end\n")
    assert lines == [
        "ks.cfg:2: unsupported kickstart command 'vnc'",
        "ks.cfg:3: unsupported kickstart option '--allow-ssh' of 'rootpw'",
        "ks.cfg:4: unsupported kickstart command 'sshpw'",
        "ks.cfg:9: unsupported kickstart option '--reserved-space' of 'volgroup'",
        "ks.cfg:10: unsupported kickstart option '--maxsize' of 'logvol'",
        "ks.cfg:11: unsupported kickstart option '--spares' of 'raid'",
        "ks.cfg:12: unsupported kickstart option '--leavebootorder' of 'bootloader'",
        "ks.cfg:13: unsupported kickstart option '--multilib' of '%packages'",
        "ks.cfg:16: unsupported kickstart section '%traceback'",
        "ks.cfg:19: unsupported kickstart section '%addon'",
    ]


def test_harmless_commands_are_warnings(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "skipx\nfirstboot --disable\neula --agreed\ntext\n")
    assert sorted(str(w).split(": ", 1)[1].split(" ignored")[0] for w in c.warnings
                  if "ignored" in str(w)) == ["'eula'", "'firstboot'", "'skipx'"]


def test_pykickstart_errors_name_their_lines(tmp_path: Path) -> None:
    lines = refused(tmp_path, BASE + "timeout --x\nauth --useshadow\nbogus\nbootloader --timeout=abc\n")
    assert [line.split(": ", 1)[0] for line in lines] == ["ks.cfg:9", "ks.cfg:10", "ks.cfg:11", "ks.cfg:12"]
    assert "Unknown command" in lines[0] and "removed" in lines[1] and "invalid int value" in lines[3]


@pytest.mark.parametrize(("storage", "message"), [
    ("autopart --type=plain\n", "name the target disks"),
    ("ignoredisk --only-use=vda\nautopart --type=plain\n", "erases its target disks whole"),
    ("ignoredisk --only-use=vda,vdb\nclearpart --drives=vda\npart / --size=100 --ondisk=vda\n",
     "/dev/vdb would be erased, but clearpart does not name it"),
    ("clearpart --list=vda1\nignoredisk --only-use=vda\nautopart --type=plain\n", "names partitions (vda1)"),
    (DISKS + "autopart --encrypted\n", "needs --passphrase="),
    (DISKS + "autopart --type=plain --encrypted --passphrase=x --luks-version=luks1\n", "only luks2"),
    (DISKS + "part / --size=100 --ondisk=vdz\n", "not one of the target disks"),
    (DISKS + "part pv.01 --size=100\n", "part pv.01: no volgroup line uses it"),
    (DISKS + "part raid.01 --size=100\n", "part raid.01: no raid line uses it"),
    (DISKS + "part raid.01 --size=100\npart raid.02 --size=100\nraid /boot --level=1 --device=boot --encrypted "
     "--passphrase=x raid.01 raid.02\n", "raid --encrypted on an array that holds a filesystem"),
    (DISKS + "part pv.01 --size=100\nvolgroup vg pv.01\nlogvol / --vgname=other --name=root --size=100\n",
     "logvol --vgname=other: no volgroup line makes it"),
])
def test_storage_that_cannot_be_carried_over(tmp_path: Path, storage: str, message: str) -> None:
    lines = refused(tmp_path, storage)
    assert any(message in line for line in lines), lines


def test_profile_check_failures_point_at_the_kickstart_line(tmp_path: Path) -> None:
    lines = refused(tmp_path, BASE + "services --enabled=sshd --disabled=sshd\nnetwork --device=eth0 "
                    "--bootproto=dhcp --mtu=20\n")
    assert "ks.cfg:9: services.disable[0]: 'sshd' is both enabled and disabled" in lines
    assert "ks.cfg:10: network.interfaces[0].mtu: the MTU must be between 68 and 65535" in lines


def test_includes_and_ksappend_are_resolved_with_their_own_lines(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "disk.ks").write_text(DISKS + "autopart --type=plain\n")
    (tmp_path / "more.ks").write_text("\nbogus-from-append\n")
    lines = refused(tmp_path, "%include parts/disk.ks\n%ksappend more.ks\n" + PAYLOAD)
    assert lines == ["more.ks:2: Unknown command: bogus-from-append"]
    (tmp_path / "more.ks").write_text("selinux --disabled\n")
    c = convert(tmp_path, "%include parts/disk.ks\n%ksappend more.ks\n" + PAYLOAD)
    assert c.profile.system.selinux == "disabled" and "# from parts/disk.ks:4 autopart" in c.text


@pytest.mark.parametrize(("include", "message"), [
    ("%include http://example.com/x.ks", "only local files are read"),
    ("%include /tmp/part-include-written-by-pre", "no such file"),
    ("%include self.ks", "nested deeper than 16 levels"),
    ("%include " + "x" * 300, "File name too long"),  # found by test_fuzz_inputs.py: is_file() raised OSError
])
def test_includes_that_cannot_be_read(tmp_path: Path, include: str, message: str) -> None:
    (tmp_path / "self.ks").write_text("%include self.ks\n")
    lines = refused(tmp_path, include + "\n")
    assert len(lines) == 1 and message in lines[0], lines


def test_binary_input_is_one_line(tmp_path: Path) -> None:
    assert refused(tmp_path, "lang en_US\n\0\n") == ["ks.cfg:2: NUL byte: not a text file"]


def test_converted_text_loads_back_to_the_same_profile_with_a_comment_per_key(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "lang en_US.UTF-8\n%post\necho 'trailing  '\n  indented\n%end\n")
    assert profile_from_text(c.text) == c.profile
    assert "# from ks.cfg:9 lang\n  locale: en_US.UTF-8" in c.text
    assert c.profile.scripts.post[0].body == "echo 'trailing  '\n  indented\n"
    assert data(c)["storage"]["disks"] == [{"path": "/dev/vda"}]


def test_import_kickstart_command_writes_a_private_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    ks = tmp_path / "ks.cfg"
    ks.write_text(BASE + "autopart --type=plain --encrypted --passphrase=s3cret\n".replace("autopart", "#"))
    out = tmp_path / "profile.yaml"
    assert main(["import-kickstart", str(ks), "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert main(["validate", str(out), "--kickstart", str(ks)]) == 0
    bad = tmp_path / "bad.cfg"
    bad.write_text("vnc\nsshpw --username=x y\n")
    assert main(["import-kickstart", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1: unsupported kickstart command 'vnc'" in err and f"{bad}:2: unsupported" in err
    assert "Traceback" not in err
    assert main(["import-kickstart", str(tmp_path / "missing.cfg")]) == 2
    assert "cannot read the kickstart" in capsys.readouterr().err


def test_network_without_a_device_is_dhcp_on_the_first_nic(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "network --bootproto=dhcp --activate\nnetwork --hostname=web01\n")
    assert c.profile.network is None and c.profile.system.hostname == "web01"
    assert any("without --device" in str(w) for w in c.warnings)
    lines = refused(tmp_path, BASE + "network --bootproto=static --ip=10.0.0.5 --netmask=255.255.255.0\n")
    assert lines == ["ks.cfg:9: network: name the interface with --device=NAME or --device=MAC (the installed system "
                     "has no installer-time link to follow)"]


def test_sizes_are_written_as_a_person_writes_them(tmp_path: Path) -> None:
    c = convert(tmp_path, PAYLOAD + DISKS + "reqpart\npart / --fstype=xfs --size=2048 --grow\n")
    assert "size: 2048MiB" in c.text and "size: 600MiB" in c.text


def test_a_problem_in_a_section_without_its_own_line_points_at_its_first_key(tmp_path: Path) -> None:
    lines = refused(tmp_path, DISKS + "autopart --type=plain\n%packages\n@standard\n%end\n")
    assert lines == ["ks.cfg:5: payload.repositories: groups and packages need at least one repository"]


WORDS = ["lang", "keyboard", "timezone", "rootpw", "user", "network", "part", "autopart", "clearpart", "repo",
         "url", "bootloader", "firewall", "services", "reqpart", "btrfs", "%packages", "%post", "%end", "%include",
         "--size=1", "--grow", "--name=a", "--device=eth0", "--bootproto=static", "--ip=1.2.3.4", "--all",
         "--drives=vda", "--encrypted", "--passphrase=x", "--type=btrfs", "--enabled", "/", "swap", "'", '"', "\\",
         "=", "btrfs.01", "--subvol", "--ondisk=vdb", "--fstype=efi", "--only-use=vda", "-@x", "@^e", "\t"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join), max_size=12))
def test_any_jumble_of_kickstart_words_gives_lines_not_a_traceback(tmp_path: Path, lines: list[str]) -> None:
    try:
        convert(tmp_path, "\n".join(lines) + "\n")
    except KickstartError as err:
        assert err.problems and all(re.match(r"^\S+:\d+: \S", str(p)) for p in err.problems), err.problems


RAID_LVM = PAYLOAD + """\
zerombr
clearpart --all --initlabel --drives=vda,vdb
part biosboot --fstype=biosboot --size=1 --ondisk=vda
part biosboot --fstype=biosboot --size=1 --ondisk=vdb
part raid.01 --size=512 --ondisk=vda
part raid.02 --size=512 --ondisk=vdb
raid /boot --level=1 --device=boot --fstype=ext4 --label=boot raid.01 raid.02
part raid.11 --size=2048 --grow --ondisk=vda
part raid.12 --size=2048 --grow --ondisk=vdb
raid pv.01 --level=1 --device=pv0 --encrypted --passphrase=s3cret raid.11 raid.12
volgroup sys pv.01
logvol / --vgname=sys --name=root --size=2048 --grow --fstype=ext4
logvol /var --vgname=sys --name=var --percent=20
logvol swap --vgname=sys --name=swap --size=256
"""


def test_raid_and_lvm_become_arrays_and_volume_groups(tmp_path: Path) -> None:
    storage = convert(tmp_path, RAID_LVM).profile.storage
    members = [(p.raid, p.disk, p.size // 2**20, p.grow) for p in storage.partitions if p.raid]
    assert members == [("boot", 0, 512, False), ("boot", 1, 512, False), ("pv0", 0, 2048, True),
                       ("pv0", 1, 2048, True)]
    boot, pv = storage.raids
    assert (boot.name, boot.level, boot.mount, boot.filesystem, boot.label) == ("boot", 1, "/boot", "ext4", "boot")
    assert (pv.name, pv.volume_group, pv.filesystem, pv.mount) == ("pv0", "sys", "none", None)
    [group] = storage.volume_groups
    assert group.name == "sys" and group.encrypted
    assert [(v.name, v.mount, v.filesystem, v.size and v.size // 2**20, v.percent, v.grow)
            for v in group.logical_volumes] == [("root", "/", "ext4", 2048, None, True),
                                                ("var", "/var", "xfs", None, 20, False),
                                                ("swap", None, "swap", 256, None, False)]


def test_autopart_lvm_is_anacondas_layout(tmp_path: Path) -> None:
    c = convert(tmp_path, PAYLOAD + DISKS + "autopart --type=lvm --fstype=ext4 --encrypted --passphrase=pw "
                "--noswap --nohome\n")
    storage = c.profile.storage
    assert [(p.filesystem, p.mount, p.volume_group) for p in storage.partitions] == [
        ("biosboot", None, None), ("vfat", "/boot/efi", None), ("ext4", "/boot", None), ("none", None, "azurelinux")]
    [group] = storage.volume_groups
    assert group.encrypted and [(v.name, v.mount, v.grow) for v in group.logical_volumes] == [("root", "/", True)]
    assert c.profile.encryption is not None and c.profile.encryption.volumes == ()


def test_a_malformed_password_line_is_reported_without_the_password(tmp_path: Path) -> None:
    lines = refused(tmp_path, BASE + "rootpw --plaintext=s3cret-pw\nuser --name=a --password s3cret-pw2 extra\n")
    assert lines[0] == "ks.cfg:9: argument --plaintext: ignored explicit argument '***'"
    assert not [line for line in lines if "s3cret" in line], lines


LVM = (DISKS + "part /boot/efi --fstype=efi --size=200\npart /boot --size=512\npart pv.01 --size=1000 --grow\n"
       "volgroup sys pv.01\nlogvol / --vgname=sys --name=root --size=2000\n")


def test_logvol_encrypted_gets_its_own_luks_volume_on_a_plain_group(tmp_path: Path) -> None:
    c = convert(tmp_path, LVM + "logvol /home --vgname=sys --name=home --size=1000 --grow --encrypted "
                "--passphrase=secret-pass --pbkdf-time=500\n" + PAYLOAD)
    enc = c.profile.encryption
    assert enc is not None and enc.volumes == ("/home",) and enc.passphrase == "secret-pass"
    assert enc.pbkdf.iter_time == 500
    assert not c.profile.storage.volume_groups[0].encrypted  # the group stays plain: / is not encrypted
    assert "# from ks.cfg:9 logvol --encrypted" in c.text


def test_logvol_encrypted_needs_a_mount_point(tmp_path: Path) -> None:
    lines = refused(tmp_path, LVM + "logvol swap --vgname=sys --name=swap --size=100 --encrypted --passphrase=x\n"
                    + PAYLOAD)
    assert any("ks.cfg:9: logvol swap --encrypted: only a logical volume with a mount point" in line
               for line in lines), lines


def test_bootloader_password_is_hashed_at_once_or_kept_when_crypted(tmp_path: Path) -> None:
    c = convert(tmp_path, BASE + "bootloader --password=grub-secret\n")
    hashed = c.profile.bootloader.password_hash
    assert hashed is not None and is_grub_hash(hashed) and "grub-secret" not in c.text
    _, _, _, iterations, salt, digest = hashed.split(".")
    assert hashlib.pbkdf2_hmac("sha512", b"grub-secret", bytes.fromhex(salt), int(iterations), 64).hex().upper() \
        == digest
    crypted = grub_pbkdf2("another")
    assert convert(tmp_path, BASE + f"bootloader --iscrypted --password={crypted}\n").profile.bootloader \
        .password_hash == crypted
    lines = refused(tmp_path, BASE + "bootloader --iscrypted --password=plain-text\n")
    assert any("ks.cfg:9: bootloader --iscrypted --password: not a GRUB hash" in line for line in lines), lines


@pytest.mark.skipif(shutil.which("grub-mkpasswd-pbkdf2") is None, reason="GRUB's tool is not installed")
def test_the_grub_hash_has_the_shape_grubs_own_tool_prints() -> None:
    printed = subprocess.run(["grub-mkpasswd-pbkdf2"], input="pw\npw\n", capture_output=True, text=True,
                             check=True).stdout
    theirs = re.search(r"grub\.pbkdf2\.\S+", printed)
    assert theirs is not None and is_grub_hash(theirs[0])
    ours = grub_pbkdf2("pw")
    assert [len(f) for f in ours.split(".")] == [len(f) for f in theirs[0].split(".")]
    assert ours.split(".")[:4] == theirs[0].split(".")[:4]  # grub, pbkdf2, sha512, 10000


def test_thin_pools_from_logvol_and_from_autopart_thinp(tmp_path: Path) -> None:
    c = convert(tmp_path, LVM + "logvol none --vgname=sys --name=pool --thinpool --size=1000 --grow\n"
                "logvol /home --vgname=sys --name=home --thin --poolname=pool --size=5000\n" + PAYLOAD)
    root, pool, home = c.profile.storage.volume_groups[0].logical_volumes
    assert (pool.thin_pool, pool.filesystem, pool.grow, root.pool) == (True, "none", True, None)
    assert (home.pool, home.size, home.mount) == ("pool", 5000 * 2**20, "/home")
    auto = convert(tmp_path, DISKS + "autopart --type=thinp --noswap --nohome\n" + PAYLOAD).profile.storage
    pool, root = auto.volume_groups[0].logical_volumes
    assert pool.thin_pool and pool.grow and (root.pool, root.grow, root.mount) == ("pool00", True, "/")
    lines = refused(tmp_path, LVM + "logvol none --vgname=sys --name=pool --thinpool --size=100 --chunksize=64\n"
                    + PAYLOAD)
    assert "ks.cfg:9: unsupported kickstart option '--chunksize' of 'logvol'" in lines


@pytest.mark.parametrize("option", ["--mtu=1.5", "--vlanid=abc", "--mtu=²"])
def test_a_network_number_that_is_not_one_is_refused(tmp_path: Path, option: str) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: pykickstart keeps these as words, and int() raised ValueError.
    assert refused(tmp_path, BASE + f"network --device=eth0 --bootproto=dhcp {option}\n") == [
        f"ks.cfg:9: network {option}: not a whole number"]


def test_a_value_that_runs_into_the_next_line_is_shown_on_one(tmp_path: Path) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: '--mtu=\\' at the end of a line is joined with the next, and the
    # message quoted that line break (two lines on the terminal for one finding).
    assert refused(tmp_path, BASE + "network --device=eth0 --bootproto=dhcp --mtu=\\\n") == [
        "ks.cfg:9: network --mtu=\\n: not a whole number"]


def test_lines_are_counted_where_pykickstart_breaks_them(tmp_path: Path) -> None:
    # Found with the fuzz's inputs: pykickstart breaks lines at \x0b, \x85, \u2028 ... as str.splitlines() does; a
    # line kept with that break and given a "\n" more counted twice, and later lines were reported late or at line 1.
    assert refused(tmp_path, BASE + "bogus\x0bcmd\nlast\n") == [
        "ks.cfg:9: Unknown command: bogus", "ks.cfg:10: Unknown command: cmd", "ks.cfg:11: Unknown command: last"]


def test_a_package_line_pykickstart_slips_on_is_refused_at_its_line(tmp_path: Path) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: a lone '-' in %packages raised IndexError inside pykickstart.
    assert refused(tmp_path, BASE + "%packages\nkernel\n\n-\n%end\n") == ["ks.cfg:12: %packages: cannot read '-'"]


def test_a_huge_include_is_not_read_whole(tmp_path: Path) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: an included file was read whole, then found too large (a disk image
    # named by mistake: gigabytes in memory).
    with (tmp_path / "disk.img").open("wb") as image:
        image.truncate(256 * 2**20)  # sparse: it takes no disk
    tracemalloc.start()
    try:
        assert refused(tmp_path, "%include disk.img\n") == ["disk.img:0: the kickstart and its includes exceed 4 MiB"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20

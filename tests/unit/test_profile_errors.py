"""Every mistake a user can make in a profile gives one located line, never a traceback.

CASES is the source for docs/errors.md: test_errors_are_documented keeps the two in step.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profiles import ProfileError, profile_from_text

BASE = """\
storage:
  disks:
    - path: /dev/vda
payload:
  repositories:
    - {name: base, baseurl: "file:///srv/repo"}
  groups: [core]
"""

# (profile text, expected "line:col: key.path: message" fragment)
CASES: list[tuple[str, str]] = [
    ("storage: [1, 2\n", "2:1: (top): not valid YAML"),
    ("", "1:1: (top): the profile is empty"),
    ("- a\n- b\n", "1:1: (top): expected a mapping of keys, got a list"),
    (BASE + "sytem: {hostname: a}\n", "8:1: sytem: unknown key 'sytem' (did you mean 'system'?)"),
    ("payload: {groups: [core]}\n", "1:1: (top): missing required key 'storage'"),
    (BASE + "system: {hostname: [a]}\n", "8:10: system.hostname: expected a string, got a list"),
    (BASE.replace("path: /dev/vda", "path: /dev/vda\n      min_size: lots"),
     "4:7: storage.disks[0].min_size: 'lots' is not a size"),
    (BASE.replace("path: /dev/vda", "path: /dev/vda\n      min_size: 5 parsecs"),
     "storage.disks[0].min_size: unknown size unit 'parsecs'"),
    (BASE + "storage2: 1\n", "unknown key 'storage2' (did you mean 'storage'?)"),
    (BASE.replace("disks:\n    - path: /dev/vda", "disks: []"),
     "storage.disks: name at least one target disk"),
    (BASE.replace("path: /dev/vda", "{}"), "storage.disks[0]: a disk rule needs at least one of"),
    (BASE.replace("path: /dev/vda", "path: vda"), "storage.disks[0].path: 'vda' is not a device path"),
    (BASE.replace("path: /dev/vda", "{min_size: 10GiB, max_size: 1GiB}"),
     "storage.disks[0].min_size: min_size is larger than max_size"),
    (BASE + "  exclude: {a: 1}\n", "payload.exclude: expected a list, got a mapping"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  auto: {filesystem: zfs}"),
     "storage.auto.filesystem: must be one of ext4, xfs, btrfs; got 'zfs' (did you mean 'xfs'?)"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  auto: {boot: bios}\n  partitions:\n"
                  "    - {size: 1GiB, mount: /}"), "storage.partitions: use either auto or partitions"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /home}"),
     "storage.partitions: no partition is mounted at /"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /}\n"
                  "    - {size: 1GiB, mount: /}"),
     "storage.partitions[1].mount: mount point / is used twice (also at storage.partitions[0].mount)"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /, "
                  "disk: 3}"), "storage.partitions[0].disk: disk 3 does not exist (the profile lists 1 disk"),
    (BASE.replace("    - path: /dev/vda", "    - {path: /dev/vda, max_size: 10GiB}\n  partitions:\n"
                  "    - {size: 20GiB, mount: /}"),
     "3:24: storage.disks[0].max_size: the partitions on this disk need 20.0 GiB but max_size is 10 GiB"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /, "
                  "grow: true}\n    - {size: 1GiB, mount: /var, grow: true}"),
     "6:33: storage.partitions[1].grow: more than one partition on this disk has grow: true (also at "
     "storage.partitions[0].grow)"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /}\n"
                  "    - {size: 1MiB, filesystem: biosboot, mount: /boot}"),
     "storage.partitions[1].mount: a biosboot partition has no mount point"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /}\n"
                  "    - {size: 1GiB, mount: boot}"), "'boot' is not an absolute mount point"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  partitions:\n    - {size: 1GiB, mount: /, "
                  "label: averyveryverylonglabel, filesystem: xfs}"), "xfs labels are at most 12 characters"),
    (BASE.replace("    - path: /dev/vda", "    - path: /dev/vda\n  leave_alone:\n    - path: /dev/vda"),
     "storage.leave_alone[0]: the same rule is also a target disk"),
    ("storage: {disks: [{path: /dev/vda}]}\n", "payload: nothing to install"),
    (BASE.replace("  repositories:\n    - {name: base, baseurl: \"file:///srv/repo\"}\n", ""),
     "payload.repositories: groups and packages need at least one repository"),
    (BASE.replace("file:///srv/repo", "ftp://x/"), "payload.repositories[0].baseurl: use file://"),
    (BASE.replace("groups: [core]", "groups: [core, ' ']"), "payload.groups[1]: an empty name: give the group"),
    (BASE + "  timeout: 0\n", "payload.timeout: timeout is in seconds, from 1 to 3600"),
    (BASE + "system: {hostname: bad_name}\n", "system.hostname: 'bad_name' is not a valid host name"),
    (BASE + "system: {timezone: Mars/Olympus}\n", "system.timezone: unknown time zone 'Mars/Olympus'"),
    (BASE + "system: {locale: 'en US'}\n", "system.locale: 'en US' is not a locale name"),
    (BASE + "users: [{name: Admin}]\n", "users[0].name: 'Admin' is not a valid user name"),
    (BASE + "users: [{name: root}]\n", "users[0].name: configure root in the root section"),
    (BASE + "users: [{name: a}, {name: a}]\n", "users[1].name: user 'a' is defined twice"),
    (BASE + "users: [{name: a, password_hash: hunter2}]\n", "users[0].password_hash: not a crypt(3) hash"),
    (BASE + "users: [{name: a, ssh_keys: [hello]}]\n", "users[0].ssh_keys[0]: not an SSH public key"),
    (BASE + "users: [{name: a, uid: 0}]\n", "users[0].uid: uid must be between 1 and 59999"),
    (BASE + "root: {password_hash: '$6$x$y'}\n", "root.password_hash: root is locked"),
    (BASE + "users: [{name: a, shell: bash}]\n", "users[0].shell: the shell must be an absolute path"),
    (BASE + "scripts: {post: [{body: ''}]}\n", "scripts.post[0].body: the script is empty"),
    (BASE + "scripts: {pre: [{body: x, interpreter: sh}]}\n", "scripts.pre[0].interpreter: the interpreter must"),
    (BASE + "encryption: {enabled: true, key_source: keyvault-key}\n",
     "encryption.vault_url: a Key Vault URL must start with https://"),
    (BASE + "encryption: {enabled: true}\n", "encryption.passphrase: key_source passphrase needs a passphrase"),
    (BASE + "cloud_init: {user_data: 'users: []'}\n", "cloud_init.user_data: user-data must start with"),
    (BASE + "users: [{name: a, groups: [Wheel]}]\n", "users[0].groups[0]: 'Wheel' is not a valid group name"),
    (BASE + "version: true\n", "version: expected a whole number, got 'true'"),
    (BASE + "storage: {}\n", "key 'storage' appears twice"),
    (BASE.replace('baseurl: "file:///srv/repo"', 'mirrorlist: "https://x/l", metalink: "https://x/m"'),
     "payload.repositories[0]: give exactly one of baseurl, mirrorlist, metalink (not mirrorlist and metalink)"),
    (BASE + "services: {enable: [sshd], disable: [sshd]}\n", "services.disable[0]: 'sshd' is both enabled and"),
    (BASE + "firewall: {ports: ['ssh']}\n", "firewall.ports[0]: 'ssh' is not PORT/tcp, PORT/udp or FROM-TO/tcp"),
    (BASE + "network: {interfaces: [{name: eth0, ipv4: static}]}\n",
     "network.interfaces[0].ipv4: static needs an IPv4 address (with its prefix) in addresses"),
    (BASE + "network: {interfaces: [{name: eth0, addresses: [10.0.0.5]}]}\n",
     "network.interfaces[0].addresses[0]: '10.0.0.5' needs its prefix length, e.g. 10.0.0.5/24"),
    (BASE + "network: {interfaces: [{name: v1, kind: vlan}]}\n",
     "network.interfaces[0].vlan_id: a VLAN needs vlan_id between 1 and 4094"),
    (BASE + "system: {ntp: false, time_sources: [{host: ntp.example.com}]}\n", "system.ntp: time sources need"),
    (BASE + "groups: [{name: ops}, {name: ops}]\n", "groups[1].name: group 'ops' is defined twice"),
    (BASE.replace("    - path: /dev/vda\n", "    - path: /dev/vda\n  partitions: [{size: 1GiB, filesystem: none, "
                  "raid: md0}, {size: 4GiB, mount: /}]\n  raids: [{name: md0, level: 1, mount: /srv}]\n"),
     "storage.raids[0].level: RAID 1 needs at least 2 member partitions; 1 name 'md0'"),
    (BASE.replace("    - path: /dev/vda\n", "    - path: /dev/vda\n  partitions: [{size: 4GiB, filesystem: none, "
                  "volume_group: sys}]\n  volume_groups: [{name: sys, logical_volumes: [{name: root, mount: /}]}]\n"),
     "storage.volume_groups[0].logical_volumes[0].size: give size, percent or grow: true"),
    (BASE.replace("    - path: /dev/vda\n", "    - path: /dev/vda\n  partitions: [{size: 4GiB, filesystem: none, "
                  "volume_group: sys}]\n  volume_groups: [{name: sys, logical_volumes: [{name: root, grow: true, "
                  "mount: /}]}]\n"),
     "storage.volume_groups[0].logical_volumes[0].mount: / on a logical volume: GRUB needs /boot on a partition"),
    (BASE + "report_url: 'http://10.0.0.5/results/?machine='\n",
     "report_url: expected an http:// or https:// URL of a directory, e.g. http://10.0.2.2:8080/results/"),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1][:60] for c in CASES])
def test_each_mistake_gives_a_located_message(text: str, expected: str) -> None:
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    lines = str(info.value).splitlines()
    assert all(re.match(r"^p\.yaml:\d+:\d+: \S+: .+", line) for line in lines), lines
    assert any(expected in line for line in lines), f"{expected!r} not in {lines}"


def test_errors_are_documented() -> None:
    table = (Path(__file__).parents[2] / "docs" / "errors.md").read_text()
    for _, expected in CASES:
        message = expected.split(": ", 2)[-1] if re.match(r"^\d+:\d+: ", expected) else expected
        key_free = message.split(": ", 1)[-1] if re.match(r"^[\w.\[\]()]+: ", message) else message
        assert key_free.split("'")[0].strip() in table, f"docs/errors.md lacks: {key_free}"


def test_all_problems_reported_in_one_run() -> None:
    text = BASE + "system: {hostname: bad_name, timezone: Nowhere/X}\nusers: [{name: X}]\n"
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    assert len(info.value.issues) == 3


@pytest.mark.parametrize("where", ["min_size", "boot_size"])
@pytest.mark.parametrize("size", ["9" * 400 + "MiB", "9" * 400], ids=["text", "integer"])
def test_a_size_of_hundreds_of_digits_is_one_line(where: str, size: str) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: float() of 400 digits is inf, and int(inf) raised OverflowError;
    # a YAML integer of 400 digits validated, and the plan raised OverflowError formatting it.
    text = BASE.replace("path: /dev/vda", f"path: /dev/vda\n      min_size: {size}") if where == "min_size" else \
        BASE.replace("    - path: /dev/vda", f"    - path: /dev/vda\n  auto: {{boot_size: {size}}}")
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    assert [i.message for i in info.value.issues] == ["a size cannot be more than 16 EiB: no disk is that large"]


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + 'version: "1\\nand more"\n', "version: expected a whole number, got '1\\nand more'"),
    (BASE.replace("    - path: /dev/vda", '    - path: /dev/vda\n  auto: {filesystem: "xfs\\rzfs"}'),
     "storage.auto.filesystem: must be one of ext4, xfs, btrfs; got 'xfs\\rzfs'"),
    (BASE.replace("path: /dev/vda", 'path: "vda\\u2028"'), "storage.disks[0].path: 'vda\\u2028' is not a device path"),
    (BASE + '"sys\\ntem": {}\n', "sys\\ntem: unknown key 'sys\\ntem'"),
    (BASE + '"a\\nb": 1\n"a\\nb": 2\n', "(top): key 'a\\nb' appears twice"),
], ids=["described", "choice", "checked", "key", "twice"])
def test_a_value_with_a_line_break_is_quoted_on_one_line(text: str, expected: str) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: a message quoting a value (or a key) broke into several lines.
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    lines = [str(issue) for issue in info.value.issues]
    assert all(line.splitlines() == [line] for line in lines), lines
    assert any(expected in line for line in lines), f"{expected!r} not in {lines}"


@pytest.mark.parametrize(("text", "key"), [
    (BASE.replace("path: /dev/vda", 'path: "/dev/vd\\0a"'), "storage.disks[0].path"),
    (BASE.replace("    - path: /dev/vda\n", '    - path: /dev/vda\n  leave_alone: [{path: "/dev/vd\\0b"}]\n'),
     "storage.leave_alone[0].path"),
    (BASE.replace("file:///srv/repo", "/srv/re\\0po"), "payload.repositories[0].baseurl"),
], ids=["disk", "leave_alone", "baseurl"])
def test_a_nul_character_is_refused_before_the_plan(text: str, key: str) -> None:
    # Found by tests/unit/test_fuzz_inputs.py: YAML's "\0" escape validated, and the plan raised ValueError
    # (embedded null byte) resolving the repository path or matching the disk rule's path.
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    assert [f"{i.key_path}: {i.message}" for i in info.value.issues] == [
        f"{key}: a NUL character (\\0) is not allowed: no path, name or command can hold one"]

"""Checks of the system settings kickstarts brought in: network, firewall, services, time sources, groups,
the GRUB password.

Each says what the installed system would otherwise get wrong at boot (a unit name systemctl
cannot parse, an address networkd ignores, a port firewall-offline-cmd refuses), at validate time.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from profiles.convert import Problem
from profiles.grub_password import is_grub_hash
from profiles.model import Firewall, NetworkInterface, Profile

KeyPath = tuple[str | int, ...]
_UNIT = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # the kernel's IFNAMSIZ, less the NUL
_MAC = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
_PORT = re.compile(r"^(\d{1,5})(-(\d{1,5}))?/(tcp|udp|sctp|dccp)$")
_FIREWALLD_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_GROUP = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def system_problems(profile: Profile) -> Iterator[Problem]:
    yield from _services(profile)
    if profile.firewall is not None:
        yield from _firewall(profile.firewall)
    if profile.network is not None:
        yield from _network(profile)
    yield from _time_sources(profile)
    yield from _groups(profile)
    password = profile.bootloader.password_hash
    if password is not None and not is_grub_hash(password):
        yield Problem(("bootloader", "password_hash"), "not a GRUB password hash: expected grub.pbkdf2.sha512."
                      "ITERATIONS.SALT.HASH, as grub2-mkpasswd-pbkdf2 prints it")


def _services(profile: Profile) -> Iterator[Problem]:
    for key in ("enable", "disable"):
        for i, unit in enumerate(getattr(profile.services, key)):
            if not _UNIT.match(unit):
                yield Problem(("services", key, i), f"'{unit}' is not a systemd unit name")
    both = set(profile.services.enable) & set(profile.services.disable)
    for unit in sorted(both):
        yield Problem(("services", "disable", profile.services.disable.index(unit)),
                      f"'{unit}' is both enabled and disabled")


def _firewall(firewall: Firewall) -> Iterator[Problem]:
    at: KeyPath = ("firewall",)
    for key in ("services", "remove_services"):
        for i, name in enumerate(getattr(firewall, key)):
            if not _FIREWALLD_NAME.match(name):
                yield Problem((*at, key, i), f"'{name}' is not a firewalld service name")
    for i, port in enumerate(firewall.ports):
        match = _PORT.match(port)
        if match is None:
            yield Problem((*at, "ports", i), f"'{port}' is not PORT/tcp, PORT/udp or FROM-TO/tcp")
        elif not all(1 <= int(p) <= 65535 for p in (match[1], match[3]) if p):
            yield Problem((*at, "ports", i), f"'{port}': ports run from 1 to 65535")
    for i, name in enumerate(firewall.trusted_interfaces):
        if not _IFNAME.match(name):
            yield Problem((*at, "trusted_interfaces", i), f"'{name}' is not an interface name")
    if firewall.zone is not None and not _FIREWALLD_NAME.match(firewall.zone):
        yield Problem((*at, "zone"), f"'{firewall.zone}' is not a firewalld zone name")
    if not firewall.enabled and (firewall.services or firewall.ports or firewall.trusted_interfaces):
        yield Problem((*at, "enabled"), "a disabled firewall cannot open services or ports")


def _network(profile: Profile) -> Iterator[Problem]:
    assert profile.network is not None
    names = [i.name for i in profile.network.interfaces]
    for n, iface in enumerate(profile.network.interfaces):
        at: KeyPath = ("network", "interfaces", n)
        if not _IFNAME.match(iface.name):
            yield Problem((*at, "name"), f"'{iface.name}' is not an interface name (up to 15 letters, digits, "
                          "- _ .)")
        elif iface.name in names[:n]:
            yield Problem((*at, "name"), f"interface '{iface.name}' is configured twice")
        if iface.mac is not None and not _MAC.match(iface.mac):
            yield Problem((*at, "mac"), f"'{iface.mac}' is not a MAC address such as 52:54:00:12:34:56")
        yield from _addresses(iface, at)
        yield from _kind(iface, at)
        if iface.mtu is not None and not 68 <= iface.mtu <= 65535:
            yield Problem((*at, "mtu"), "the MTU must be between 68 and 65535")


def _addresses(iface: NetworkInterface, at: KeyPath) -> Iterator[Problem]:
    versions: set[int] = set()
    for i, text in enumerate(iface.addresses):
        try:
            address = ipaddress.ip_interface(text)
        except ValueError:
            yield Problem((*at, "addresses", i), f"'{text}' is not an address with a prefix, e.g. 10.0.0.5/24")
            continue
        if "/" not in text:
            yield Problem((*at, "addresses", i), f"'{text}' needs its prefix length, e.g. {text}/24")
        versions.add(address.version)
    if iface.ipv4 == "static" and 4 not in versions:
        yield Problem((*at, "ipv4"), "static needs an IPv4 address (with its prefix) in addresses")
    if iface.ipv6 == "static" and 6 not in versions:
        yield Problem((*at, "ipv6"), "static needs an IPv6 address (with its prefix) in addresses")
    for key, version in (("gateway", 4), ("gateway6", 6)):
        value = getattr(iface, key)
        if value is not None and not _is_ip(value, version):
            yield Problem((*at, key), f"'{value}' is not an IPv{version} address")
    for i, server in enumerate(iface.nameservers):
        if not (_is_ip(server, 4) or _is_ip(server, 6)):
            yield Problem((*at, "nameservers", i), f"'{server}' is not an IP address")


def _kind(iface: NetworkInterface, at: KeyPath) -> Iterator[Problem]:
    if iface.kind == "bond" and not iface.members:
        yield Problem((*at, "members"), "a bond needs its member interfaces")
    if iface.kind != "bond" and (iface.members or iface.bond_mode):
        yield Problem((*at, "members" if iface.members else "bond_mode"), "only a bond has members and a mode")
    if iface.kind == "vlan":
        if iface.vlan_id is None or not 1 <= iface.vlan_id <= 4094:
            yield Problem((*at, "vlan_id"), "a VLAN needs vlan_id between 1 and 4094")
        if iface.parent is None:
            yield Problem((*at, "parent"), "a VLAN needs the parent interface it runs on")
    elif iface.vlan_id is not None or iface.parent is not None:
        yield Problem((*at, "vlan_id" if iface.vlan_id is not None else "parent"), "only a VLAN has vlan_id and "
                      "parent")
    for i, member in enumerate(iface.members):
        if member == iface.name:
            yield Problem((*at, "members", i), "a bond cannot be its own member")


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _time_sources(profile: Profile) -> Iterator[Problem]:
    for i, source in enumerate(profile.system.time_sources):
        if not (_HOST.match(source.host) or _is_ip(source.host, 4) or _is_ip(source.host, 6)):
            yield Problem(("system", "time_sources", i, "host"), f"'{source.host}' is not a host name or address")
    if not profile.system.ntp and profile.system.time_sources:
        yield Problem(("system", "ntp"), "time sources need ntp: true")


def _groups(profile: Profile) -> Iterator[Problem]:
    seen: list[str] = []
    for i, group in enumerate(profile.groups):
        if not _GROUP.match(group.name):
            yield Problem(("groups", i, "name"), f"'{group.name}' is not a valid group name")
        elif group.name in seen:
            yield Problem(("groups", i, "name"), f"group '{group.name}' is defined twice")
        seen.append(group.name)
        if group.gid is not None and not 1 <= group.gid < 60000:
            yield Problem(("groups", i, "gid"), "gid must be between 1 and 59999")

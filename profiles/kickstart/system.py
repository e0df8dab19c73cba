"""Kickstart's system commands as profile keys: language, time, accounts, SELinux, services, firewall, network.

Plain-text passwords are hashed here, at once (yescrypt, as passwd on Azure Linux), so no converted
profile ever holds one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from installer.core.passwords import CryptError, hash_password
from profiles.kickstart.draft import Draft
from profiles.kickstart.errors import Origin
from profiles.kickstart.reader import Kickstart

Hasher = Callable[[str], str]
SELINUX_MODES = {0: "disabled", 1: "enforcing", 2: "permissive"}
AFTER_INSTALL = {0: "halt", 1: "reboot", 2: "poweroff"}  # pykickstart's KS_WAIT, KS_REBOOT, KS_SHUTDOWN


def _command(ks: Kickstart, name: str) -> Any:
    command = ks.handler.commands[name]
    return command if getattr(command, "seen", False) else None


def _at(ks: Kickstart, obj: Any) -> Origin:
    return ks.origin(getattr(obj, "lineno", None))


def _hash(draft: Draft, origin: Origin, password: str, hasher: Hasher) -> str | None:
    try:
        return hasher(password)
    except CryptError as err:
        draft.refuse(origin, f"cannot hash the password: {err}")
        return None


def convert_system(ks: Kickstart, draft: Draft, hasher: Hasher = hash_password) -> None:
    _after(ks, draft)
    _language(ks, draft)
    _time(ks, draft)
    _accounts(ks, draft, hasher)
    selinux = _command(ks, "selinux")
    if selinux is not None and selinux.selinux in SELINUX_MODES:
        draft.set(("system", "selinux"), SELINUX_MODES[selinux.selinux], _at(ks, selinux), "selinux")
    services = _command(ks, "services")
    if services is not None:
        for key, values in (("enable", services.enabled), ("disable", services.disabled)):
            for unit in values:
                draft.append(("services", key), unit, _at(ks, services), "services")
    _firewall(ks, draft)


def _after(ks: Kickstart, draft: Draft) -> None:
    # reboot, poweroff, shutdown and halt are one command object in pykickstart; the last line wins.
    command = _command(ks, "reboot")
    if command is not None and command.action in AFTER_INSTALL:
        draft.set(("after_install",), AFTER_INSTALL[command.action], _at(ks, command), command.currentCmd)


def _language(ks: Kickstart, draft: Draft) -> None:
    lang = _command(ks, "lang")
    if lang is not None:
        draft.set(("system", "locale"), lang.lang, _at(ks, lang), "lang")
        if lang.addsupport:
            draft.warn(_at(ks, lang), f"lang --addsupport={','.join(lang.addsupport)}: only {lang.lang} is set up")
    keyboard = _command(ks, "keyboard")
    if keyboard is not None:
        keymap = keyboard.vc_keymap or keyboard.keyboard or None
        if not keymap and keyboard.x_layouts:
            keymap = keyboard.x_layouts[0].split(" ", 1)[0]
            draft.warn(_at(ks, keyboard), f"keyboard: no --vckeymap; the console keymap is the first X layout "
                       f"'{keymap}' (there is no X)")
        if keymap:
            draft.set(("system", "keyboard"), keymap, _at(ks, keyboard), "keyboard")


def _time(ks: Kickstart, draft: Draft) -> None:
    timezone = _command(ks, "timezone")
    if timezone is not None:
        at = _at(ks, timezone)
        if timezone.timezone:
            draft.set(("system", "timezone"), timezone.timezone, at, "timezone")
        if timezone.nontp:
            draft.set(("system", "ntp"), False, at, "timezone --nontp")
        for server in timezone.ntpservers:
            draft.append(("system", "time_sources"), {"host": server}, at, "timezone --ntpservers")
    for source in ks.handler.commands["timesource"].dataList():
        at = _at(ks, source)
        if source.ntp_disable:
            draft.set(("system", "ntp"), False, at, "timesource --ntp-disable")
            continue
        entry: dict[str, Any] = {"host": source.ntp_pool or source.ntp_server}
        if source.ntp_pool:
            entry["pool"] = True
        if source.nts:
            entry["nts"] = True
        draft.append(("system", "time_sources"), entry, at, "timesource")


def _accounts(ks: Kickstart, draft: Draft, hasher: Hasher) -> None:
    rootpw = _command(ks, "rootpw")
    if rootpw is not None:
        at = _at(ks, rootpw)
        if rootpw.lock:
            draft.set(("root", "locked"), True, at, "rootpw --lock")
            if rootpw.password:
                draft.warn(at, "rootpw --lock: the password is not set (root stays locked; use SSH keys)")
        elif rootpw.password:
            hashed = rootpw.password if rootpw.isCrypted else _hash(draft, at, rootpw.password, hasher)
            if hashed is not None:
                draft.set(("root", "locked"), False, at, "rootpw")
                draft.set(("root", "password_hash"), hashed, at, "rootpw")
    for group in ks.handler.commands["group"].dataList():
        entry: dict[str, Any] = {"name": group.name}
        if group.gid is not None:
            entry["gid"] = group.gid
        draft.append(("groups",), entry, _at(ks, group), "group")
    index: dict[str, int] = {}
    for user in ks.handler.commands["user"].dataList():
        index[user.name] = draft.append(("users",), _user(ks, draft, user, hasher), _at(ks, user), "user")
    for key in ks.handler.commands["sshkey"].dataList():
        at = _at(ks, key)
        if key.username == "root":
            draft.append(("root", "ssh_keys"), key.key, at, "sshkey")
        elif key.username in index:
            draft.get(("users",))[index[key.username]].setdefault("ssh_keys", []).append(key.key)
            draft.origins.setdefault(("users", index[key.username]), []).append(f"{at} sshkey")
        else:
            draft.refuse(at, f"sshkey --username={key.username}: no such user (add a 'user --name={key.username}' "
                         "line)")


def _user(ks: Kickstart, draft: Draft, user: Any, hasher: Hasher) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": user.name}
    if user.groups:
        entry["groups"] = list(user.groups)
    if user.password:
        hashed = user.password if user.isCrypted else _hash(draft, _at(ks, user), user.password, hasher)
        if hashed is not None:
            entry["password_hash"] = hashed
    for key, attr in (("uid", "uid"), ("gid", "gid")):
        if getattr(user, attr) is not None:
            entry[key] = getattr(user, attr)
    for key, attr in (("shell", "shell"), ("gecos", "gecos"), ("home", "homedir")):
        if getattr(user, attr):
            entry[key] = getattr(user, attr)
    if user.lock:
        entry["locked"] = True
    return entry


def _firewall(ks: Kickstart, draft: Draft) -> None:
    firewall = _command(ks, "firewall")
    if firewall is None:
        return
    at = _at(ks, firewall)
    if firewall.use_system_defaults:
        draft.warn(at, "firewall --use-system-defaults: the firewall is left as the payload installs it")
        return
    entry: dict[str, Any] = {"enabled": bool(firewall.enabled)}
    if firewall.services:
        entry["services"] = list(dict.fromkeys(firewall.services))
    if firewall.remove_services:
        entry["remove_services"] = list(firewall.remove_services)
    if firewall.trusts:
        entry["trusted_interfaces"] = list(firewall.trusts)
    ports = []
    for port in firewall.ports:
        number, _, protocol = port.partition(":")
        ports.append(f"{number}/{protocol or 'tcp'}")
    if ports:
        entry["ports"] = ports
    draft.set(("firewall",), entry, at, "firewall")


def convert_network(ks: Kickstart, draft: Draft) -> None:
    for net in ks.handler.commands["network"].dataList():
        at = _at(ks, net)
        if net.hostname:
            draft.set(("system", "hostname"), net.hostname, at, "network --hostname")
        if net.bootProto not in ("", "dhcp", "static"):
            draft.refuse(at, f"network --bootproto={net.bootProto}: only dhcp and static are supported")
            continue
        configures = net.ip or net.ipv6 or net.bondslaves or net.vlanid or net.bootProto == "static" or net.mtu \
            or net.nameserver or net.gateway or net.noipv4 or net.noipv6 or not net.onboot
        if not net.device and not configures:
            # Only the host name, or DHCP on whatever link comes up: what the installed system does anyway
            # (cloud-init's default is DHCP on the first NIC), so nothing to write.
            if not net.hostname:
                draft.warn(at, "network without --device: the installed system uses DHCP on its first NIC "
                           "(cloud-init's default)")
            continue
        if not net.device or net.device in ("link", "bootif", "ibft"):
            draft.refuse(at, "network: name the interface with --device=NAME or --device=MAC (the installed "
                         "system has no installer-time link to follow)")
            continue
        entry = _interface(net, draft, at)
        if entry is not None:
            draft.append(("network", "interfaces"), entry, at, "network")


def _interface(net: Any, draft: Draft, at: Origin) -> dict[str, Any] | None:
    is_mac = net.device.count(":") == 5
    name = net.interfacename or (f"{net.device}.{net.vlanid}" if net.vlanid else net.device)
    # A NIC named by its MAC still needs a name for its file: the MAC's last two bytes.
    entry: dict[str, Any] = {"name": "nic-" + net.device.replace(":", "")[-4:].lower() if is_mac and not
                             (net.vlanid or net.bondslaves or net.interfacename) else name}
    if is_mac:
        entry["mac"] = net.device
    if net.vlanid:
        vlan_id = _number(net.vlanid, "--vlanid", draft, at)
        if vlan_id is None:
            return None
        entry.update(kind="vlan", vlan_id=vlan_id, parent=net.device)
    if net.bondslaves:
        entry.update(kind="bond", members=net.bondslaves.split(","))
        mode = next((o.split("=", 1)[1] for o in net.bondopts.replace(";", ",").split(",") if o.startswith("mode=")),
                    None)
        if mode:
            entry["bond_mode"] = mode
    addresses: list[str] = []
    if net.noipv4:
        entry["ipv4"] = "off"
    elif net.bootProto == "static" or net.ip:
        if not net.ip or not net.netmask:
            draft.refuse(at, "network --bootproto=static needs --ip and --netmask")
            return None
        try:
            addresses.append(str(ipaddress.ip_interface(f"{net.ip}/{net.netmask}")))
        except ValueError:
            draft.refuse(at, f"network: '{net.ip}/{net.netmask}' is not an IPv4 address and netmask")
            return None
        entry["ipv4"] = "static"
    if net.gateway:
        entry["gateway"] = net.gateway
    if net.noipv6:
        entry["ipv6"] = "off"
    elif net.ipv6 in ("dhcp", "auto"):
        entry["ipv6"] = net.ipv6
    elif net.ipv6:
        entry["ipv6"] = "static"
        addresses.append(net.ipv6)
    if net.ipv6gateway:
        entry["gateway6"] = net.ipv6gateway
    if addresses:
        entry["addresses"] = addresses
    if net.nameserver:
        entry["nameservers"] = [s.strip() for s in net.nameserver.split(",") if s.strip()]
    if net.mtu:
        mtu = _number(net.mtu, "--mtu", draft, at)
        if mtu is None:
            return None
        entry["mtu"] = mtu
    if not net.onboot:
        entry["enabled"] = False
    return entry


def _number(value: str, option: str, draft: Draft, at: Origin) -> int | None:
    """pykickstart keeps --vlanid and --mtu as the words written: one that is not a whole number is refused."""
    if value.isdecimal():  # what int() reads, and nothing else ('1e3', '²' are not)
        return int(value)
    draft.refuse(at, f"network {option}={value}: not a whole number")
    return None

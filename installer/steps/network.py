"""Network: the profile's links as systemd-networkd files, the stack Azure Linux VM images run.

Without a network section nothing is written and cloud-init configures the network at first boot
(DHCP on the first NIC on Azure). With one, these files are the configuration, and cloud-init is
told to leave the network alone, else its first boot would write its own files over the profile's.
"""

from __future__ import annotations

from collections.abc import Iterable

from installer.core.files import write_file
from installer.steps.base import InstallContext, PlanContext, Step
from installer.target_tools import enable_units, installed_units
from profiles import Profile
from profiles.model import Network, NetworkInterface

NETWORK_DIR = "/etc/systemd/network"
CLOUD_INIT_NETWORK_CFG = "/etc/cloud/cloud.cfg.d/99-azl-installer-network.cfg"
CLOUD_INIT_NETWORK_OFF = ("# Written by azl-installer: the profile configured the network "
                          f"({NETWORK_DIR}).\nnetwork:\n  config: disabled\n")
UNITS = ("systemd-networkd.service", "systemd-resolved.service")
HEADER = "# Written by azl-installer from the profile's network section.\n"
_DHCP = {("dhcp", "dhcp"): "yes", ("dhcp", "auto"): "ipv4", ("dhcp", "static"): "ipv4", ("dhcp", "off"): "ipv4",
         ("static", "dhcp"): "ipv6", ("off", "dhcp"): "ipv6"}


def file_stem(iface: NetworkInterface) -> str:
    return f"{NETWORK_DIR}/10-azl-{iface.name}"


def _section(name: str, entries: Iterable[tuple[str, str]]) -> str:
    lines = [f"{key}={value}" for key, value in entries]
    return f"[{name}]\n" + "".join(line + "\n" for line in lines) if lines else ""


def _network_file(iface: NetworkInterface, vlans: list[str], bond: str | None) -> str:
    match = [("MACAddress", iface.mac)] if iface.mac else [("Name", iface.name)]
    link: list[tuple[str, str]] = [("MTUBytes", str(iface.mtu))] if iface.mtu else []
    if not iface.enabled:
        link.append(("ActivationPolicy", "down"))
    network: list[tuple[str, str]] = []
    if bond is not None:  # a bond member carries no addresses of its own
        network.append(("Bond", bond))
    else:
        network.append(("DHCP", _DHCP.get((iface.ipv4, iface.ipv6), "no")))
        network.append(("IPv6AcceptRA", "yes" if iface.ipv6 in ("auto", "dhcp") else "no"))
        if iface.ipv6 == "off":
            network.append(("LinkLocalAddressing", "ipv4" if iface.ipv4 != "off" else "no"))
        network += [("Address", a) for a in iface.addresses]
        network += [("Gateway", g) for g in (iface.gateway, iface.gateway6) if g]
        network += [("DNS", server) for server in iface.nameservers]
    network += [("VLAN", vlan) for vlan in vlans]
    return HEADER + "\n".join(s for s in (_section("Match", match), _section("Link", link),
                                           _section("Network", network)) if s)


def _netdev_file(iface: NetworkInterface) -> str | None:
    if iface.kind == "bond":
        bond = [("Mode", iface.bond_mode)] if iface.bond_mode else []
        return HEADER + _section("NetDev", [("Name", iface.name), ("Kind", "bond")]) + (
            "\n" + _section("Bond", bond) if bond else "")
    if iface.kind == "vlan":
        return HEADER + _section("NetDev", [("Name", iface.name), ("Kind", "vlan")]) + "\n" + _section(
            "VLAN", [("Id", str(iface.vlan_id))])
    return None


def networkd_files(network: Network) -> dict[str, str]:
    """Path in the target -> text: a .network per link (and per bond member or VLAN parent the profile
    names but does not configure itself), a .netdev per bond and VLAN."""
    configured = {i.name: i for i in network.interfaces}
    vlans: dict[str, list[str]] = {}
    bond_of: dict[str, str] = {}
    for iface in network.interfaces:
        if iface.kind == "vlan" and iface.parent:
            vlans.setdefault(iface.parent, []).append(iface.name)
        for member in iface.members:
            bond_of[member] = iface.name
    # Parents and members that are only named: a plain link carrying the VLAN or joining the bond.
    extra = [NetworkInterface(name=n, ipv4="off", ipv6="off") for n in [*vlans, *bond_of] if n not in configured]
    files: dict[str, str] = {}
    for iface in [*network.interfaces, *dict.fromkeys(extra)]:
        stem = file_stem(iface)
        files[f"{stem}.network"] = _network_file(iface, vlans.get(iface.name, []), bond_of.get(iface.name))
        netdev = _netdev_file(iface)
        if netdev is not None:
            files[f"{stem}.netdev"] = netdev
    return files


class NetworkStep(Step):
    id = "network"
    title = "Configure the network (systemd-networkd)"
    doing = "writing the network configuration"

    def applies(self, profile: Profile) -> bool:
        return profile.network is not None and bool(profile.network.interfaces)

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        assert plan.profile.network is not None
        lines = [f"{path}: {_summary(iface)}" for iface in plan.profile.network.interfaces
                 for path in [f"{file_stem(iface)}.network"]]
        lines.append(f"{CLOUD_INIT_NETWORK_CFG}: cloud-init leaves the network alone (if cloud-init is installed)")
        lines.append(f"systemctl enable {' '.join(UNITS)} (those installed)")
        return tuple(lines)

    def run(self, ctx: InstallContext) -> None:
        assert ctx.profile.network is not None
        files = networkd_files(ctx.profile.network)
        for path, text in files.items():
            write_file(ctx.root, path, text, mode=0o644)
        if (ctx.root / "etc/cloud").is_dir():
            write_file(ctx.root, CLOUD_INIT_NETWORK_CFG, CLOUD_INIT_NETWORK_OFF)
        units = installed_units(ctx.root, UNITS)
        if units:
            enable_units(ctx.root, units, ctx.runner)
        else:
            ctx.events.log("systemd-networkd is not installed: the files are written but nothing reads them",
                           level="warning")
        ctx.events.progress(1.0, f"wrote {len(files)} networkd files")


def _summary(iface: NetworkInterface) -> str:
    parts = [iface.kind if iface.kind != "ethernet" else (f"MAC {iface.mac}" if iface.mac else iface.name)]
    parts.append(f"IPv4 {iface.ipv4}, IPv6 {iface.ipv6}")
    parts += [", ".join(iface.addresses)] if iface.addresses else []
    return "; ".join(parts)

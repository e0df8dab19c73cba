"""Who this machine is, for a fleet: the names a per-machine profile or a result is filed under.

Standard library only: the ISO's launcher imports it too (to pick a profile from a directory before
the installer runs), and the installer names its result report with it, so both agree on the names.

Order (the most specific first): the SMBIOS system UUID (Azure's VM unique ID; QEMU's -uuid), the
SMBIOS serial number, the MAC of the first network card (the lowest ifindex with a device behind it),
as 52-54-00-12-34-56. Values firmware fills with placeholders (all-zero UUIDs, "To be filled by
O.E.M.", "0") identify nothing and are skipped, as are serials with characters a file name or URL
path cannot take as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SYSFS = Path("/sys")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_PLACEHOLDER_UUIDS = ("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
                      "03000200-0400-0500-0006-000700080009")  # the last: a common BIOS vendor default
# Compared lowercased, with blanks and dots dropped ("To Be Filled By O.E.M." -> tobefilledbyoem).
_PLACEHOLDER_SERIALS = frozenset({"0", "none", "null", "default", "defaultstring", "notspecified", "notapplicable",
                                  "tobefilledbyoem", "systemserialnumber", "0123456789", "xxxxxxxx"})


@dataclass(frozen=True)
class Identity:
    uuid: str | None = None
    serial: str | None = None
    mac: str | None = None  # the first NIC's, hyphenated lowercase

    def names(self) -> list[str]:
        """The names to look a per-machine file up by, most specific first (may be empty)."""
        return [name for name in (self.uuid, self.serial, self.mac) if name]

    def name(self) -> str | None:
        names = self.names()
        return names[0] if names else None

    def as_dict(self) -> dict[str, str | None]:
        return {"uuid": self.uuid, "serial": self.serial, "mac": self.mac}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:  # absent (no SMBIOS), or product_serial read by a non-root user
        return None


def clean_uuid(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.lower()
    return value if _UUID.match(value) and value not in _PLACEHOLDER_UUIDS else None


def clean_serial(value: str | None) -> str | None:
    if value is None or not _SERIAL.match(value):
        return None
    folded = re.sub(r"[\s.]", "", value).lower()
    return None if folded in _PLACEHOLDER_SERIALS or set(folded) <= {"0"} else value


def first_mac(sysfs: Path = SYSFS) -> str | None:
    """The MAC of the network card with the lowest ifindex that is hardware (has a device): loopback,
    bridges and other virtual links have none."""
    cards: list[tuple[int, str]] = []
    net = sysfs / "class" / "net"
    try:
        links = sorted(net.iterdir())
    except OSError:
        return None
    for link in links:
        if not (link / "device").exists():
            continue
        index, mac = _read(link / "ifindex"), (_read(link / "address") or "").lower()
        if index is not None and index.isdigit() and _MAC.match(mac) and mac != "00:00:00:00:00:00":
            cards.append((int(index), mac.replace(":", "-")))
    return min(cards)[1] if cards else None


def identify(sysfs: Path = SYSFS) -> Identity:
    dmi = sysfs / "class" / "dmi" / "id"
    return Identity(clean_uuid(_read(dmi / "product_uuid")), clean_serial(_read(dmi / "product_serial")),
                    first_mac(sysfs))

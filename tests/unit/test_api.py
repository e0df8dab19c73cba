"""installer.api: section checks and layout previews as data, the UI's imports, and what start-up loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from installer.api import SECTION_KEYS, SECTIONS, SessionAPI, partition_device
from installer.dryrun import DryRunAPI, load_machine
from profiles.model import (
    AutoLayout,
    Azure,
    DiskMatch,
    Encryption,
    Partition,
    Payload,
    Profile,
    Storage,
    System,
)
from profiles.sizes import GiB, MiB
from ui.custom_layout import Places

ROOT = Path(__file__).parents[2]
VDA = DiskMatch(path="/dev/vda")
PAYLOAD = Payload(packages=("bash",))


def api(tmp_path: Path, device_mapper: bool = False) -> DryRunAPI:
    machine = load_machine("three-disks")
    return DryRunAPI(replace(machine, facts=replace(machine.facts, device_mapper=device_mapper)), tmp_path)


def custom(*parts: Partition) -> Profile:
    return Profile(storage=Storage(disks=(VDA,), partitions=parts), payload=PAYLOAD)


ESP = Partition(size=512 * MiB, filesystem="vfat", mount="/boot/efi")


def test_every_interactive_section_has_its_keys() -> None:
    assert set(SECTIONS) == set(SECTION_KEYS)
    assert SECTIONS == ("system", "storage", "encryption", "software", "users", "cloud_init")


def test_a_custom_layouts_problems_are_located_by_key_path_with_related_places(tmp_path: Path) -> None:
    profile = custom(ESP, Partition(size=GiB, mount="/", grow=True), Partition(size=GiB, mount="/", grow=True))
    check = api(tmp_path).check("storage", profile, load_machine("three-disks").inventory)
    located = {(p.path, p.related) for p in check.problems}
    assert (("storage", "partitions", 2, "mount"), (("storage", "partitions", 1, "mount"),)) in located
    assert (("storage", "partitions", 2, "grow"), (("storage", "partitions", 1, "grow"),)) in located
    for problem in check.problems:  # the message itself names no other place
        assert "storage." not in problem.message and "disk 0" not in problem.message


def test_the_ui_names_places_by_device_from_the_path_alone(tmp_path: Path) -> None:
    inventory = load_machine("three-disks").inventory
    vda = inventory.disks[0]
    parts = [ESP, Partition(size=GiB, mount="/", grow=True), Partition(size=GiB, mount="/", grow=True)]
    places = Places([vda], {vda.path: parts})
    check = api(tmp_path).check("storage", custom(*parts), inventory)
    lines = [places.line(p) for p in check.problems]
    assert "/dev/vda3 mount: mount point / is used twice (also at /dev/vda2)" in lines
    assert "/dev/vda3 grow: more than one partition on this disk has grow: true (also at /dev/vda2)" in lines
    assert partition_device("/dev/nvme0n1", 3) == "/dev/nvme0n1p3"


def test_the_planner_and_the_plans_blockers_are_the_storage_sections(tmp_path: Path) -> None:
    inventory = load_machine("three-disks").inventory
    too_big = custom(ESP, Partition(size=80 * GiB, mount="/"))
    check = api(tmp_path).check("storage", too_big, inventory)
    assert [(p.path, p.message) for p in check.problems] == [
        (("storage", "disks", 0), "the layout needs 80.5 GiB but /dev/vda has 64 GiB")]
    no_boot = custom(Partition(size=GiB, mount="/", grow=True))
    check = api(tmp_path).check("storage", no_boot, inventory)
    assert not check.problems and [b.path for b in check.blockers] == [("bootloader",)]
    trusted = replace(no_boot, storage=Storage(disks=(VDA,), auto=AutoLayout(boot="bios")),
                      azure=Azure(enabled=True, trusted_launch=True))
    check = api(tmp_path).check("storage", trusted, inventory)
    assert ("azure", "trusted_launch") in [b.path for b in check.blockers]  # only the layout can fix it


def test_other_sections_keep_their_blockers_when_the_layout_does_not_fit(tmp_path: Path) -> None:
    profile = replace(custom(ESP, Partition(size=80 * GiB, mount="/")),
                      encryption=Encryption(enabled=True, passphrase="long enough"))
    inventory = load_machine("three-disks").inventory
    check = api(tmp_path).check("encryption", profile, inventory)
    assert not check.problems and [b.path for b in check.blockers] == [("encryption",)]
    assert "device-mapper" in check.blockers[0].message  # the recorded machine has none
    assert api(tmp_path, device_mapper=True).check("encryption", profile, inventory).ok
    system = api(tmp_path).check("system", replace(profile, system=System(hostname="bad_name")), inventory)
    assert [p.path for p in system.problems] == [("system", "hostname")] and not system.blockers


def test_layout_preview_plans_or_says_why_not(tmp_path: Path) -> None:
    inventory = load_machine("three-disks").inventory
    preview = api(tmp_path).layout(Storage(disks=(VDA,), auto=AutoLayout()), inventory)
    disk = preview.disk("/dev/vda")
    assert disk is not None and disk.partitions[-1].mount == "/" and preview.problem is None
    small = api(tmp_path).layout(Storage(disks=(DiskMatch(path="/dev/vdc"),), auto=AutoLayout()), inventory)
    assert small.plan is None and small.problem is not None and small.problem.path == ("storage", "disks", 0)
    odd = api(tmp_path).layout(Storage(disks=(VDA,), partitions=(Partition(size=GiB, mount="/", disk=3),)),
                               inventory)
    assert odd.problem is not None and odd.problem.path == ("storage", "partitions", 0, "disk")


def test_an_image_target_replaces_the_disk_rules(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    session = SessionAPI(image=image, image_size=8 * GiB)
    inventory = session.probe()
    profile = Profile(storage=Storage(disks=(DiskMatch(path=str(image)),), auto=AutoLayout()), payload=PAYLOAD)
    assert session.check("storage", profile, inventory).ok  # a file path is fine: the image is the disk
    assert not image.exists()


def test_the_front_ends_import_only_the_api_of_the_engine() -> None:
    """Of installer and storage, ui/ imports installer.api and the events' data types, nothing else (also not
    inside functions)."""
    found = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names
                      if name.split(".")[0] in ("installer", "storage")
                      and name not in ("installer.api", "installer.core.events")]
    assert found == []


def test_the_first_screen_loads_neither_the_azure_sdk_nor_pyparted() -> None:
    code = ("import sys, installer.api, installer.dryrun, ui.app, ui.screens.welcome, ui.screens.encryption; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'msal', 'parted', '_ped')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"

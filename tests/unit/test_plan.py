from __future__ import annotations

from pathlib import Path

from installer.plan import make_plan
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory, PartitionInfo

PROFILE = """\
storage:
  disks: [{serial: OS}]
  leave_alone: [{serial: DATA}]
  auto: {boot: uefi}
payload: {image: {path: /srv/root.tar}}
"""
INVENTORY = Inventory((
    DiskInfo("/dev/vda", 16 * 1024**3, serial="OS", table="gpt",
             partitions=(PartitionInfo(1, 1024**2, 1024**3, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", fstype="ext4"),)),
    DiskInfo("/dev/vdb", 16 * 1024**3, serial="DATA"),
    DiskInfo("/dev/vdc", 16 * 1024**3, serial="OTHER"),
))
HOST_WITHOUT_VFAT = "nodev\tproc\n\text4\n\txfs\n"


def test_plan_lists_destruction_and_untouched_disks() -> None:
    plan = make_plan(profile_from_text(PROFILE), INVENTORY)
    assert plan.destructive[0] == ("erase /dev/vda, 16 GiB, serial 'OS' (holds 1 partition now) "
                                   "and write a new GPT partition table")
    assert plan.destructive[1:] == (
        "create /dev/vda1 512 MiB (/boot/efi), format vfat",
        "create /dev/vda2 1 GiB (/boot), format xfs",
        "create /dev/vda3 14.5 GiB (/), format xfs",
    )
    assert plan.untouched == ("/dev/vdb, 16 GiB, serial 'DATA' (leave_alone)",
                              "/dev/vdc, 16 GiB, serial 'OTHER' (not in the profile)")
    assert plan.blockers == ()
    rendered = plan.render()
    assert "! erase /dev/vda" in rendered and "= /dev/vdb" in rendered


def test_a_missing_kernel_filesystem_blocks_the_plan_and_is_named() -> None:
    plan = make_plan(profile_from_text(PROFILE), INVENTORY, kernel_filesystems=HOST_WITHOUT_VFAT)
    assert tuple(map(str, plan.blockers)) == (
        "this kernel cannot mount vfat (needed by the layout); install from the ISO in a VM instead",)


def test_a_local_repository_or_image_this_machine_lacks_blocks_the_plan(tmp_path: Path) -> None:
    """Named before any disk is written; dnf would only find out after partitioning."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "repo/repodata").mkdir(parents=True)
    (tmp_path / "repo/repodata/repomd.xml").write_text("<repomd/>")
    text = PROFILE.replace("payload: {image: {path: /srv/root.tar}}", f"""payload:
  image: {{path: {tmp_path}/root.tar}}
  packages: [bash]
  repositories:
    - {{name: gone, baseurl: {tmp_path}/gone}}
    - {{name: empty, baseurl: file://{tmp_path}/empty}}
    - {{name: good, baseurl: {tmp_path}/repo}}
    - {{name: remote, baseurl: http://127.0.0.1:9/repo}}
""")
    blockers = make_plan(profile_from_text(text), INVENTORY, host_paths=True).blockers
    assert [(b.key, b.message) for b in blockers] == [
        ("payload.repositories[0].baseurl", f"repository 'gone': {tmp_path}/gone does not exist"),
        ("payload.repositories[1].baseurl",
         f"repository 'empty': {tmp_path}/empty has no repodata/repomd.xml (not a repository)"),
        ("payload.image.path", f"root image {tmp_path}/root.tar does not exist here"),
    ]
    # A plan only shown (the UI's editors, a dry-run for another machine) does not look at this host's paths.
    assert make_plan(profile_from_text(text), INVENTORY, kernel_filesystems="\text4\n\txfs\n\tvfat\n").blockers == ()


def test_placeholders_block_instead_of_pretending() -> None:
    text = PROFILE + ("encryption: {enabled: true, passphrase: s3cret}\ncloud_init: {user_data: '#cloud-config'}\n"
                      "azure: {enabled: true}\n")
    blockers = make_plan(profile_from_text(text), INVENTORY).blockers
    assert [b.section for b in blockers] == ["encryption"]  # cloud_init and azure are applied now
    assert "s3cret" not in make_plan(profile_from_text(text), INVENTORY).render()


def test_bootloader_needs_a_boot_partition() -> None:
    text = PROFILE.replace("  auto: {boot: uefi}\n", "  partitions: [{size: 4GiB, mount: /, grow: true}]\n")
    blockers = make_plan(profile_from_text(text), INVENTORY).blockers
    assert tuple(map(str, blockers)) == (
        "bootloader: the layout has neither a BIOS boot partition nor an EFI system partition (/boot/efi); add one, "
        "or set bootloader.enabled: false",)
    disabled = make_plan(profile_from_text(text + "bootloader: {enabled: false}\n"), INVENTORY)
    assert disabled.blockers == () and "bootloader" not in [s.id for s in disabled.steps]


def test_a_local_path_no_filesystem_can_hold_is_missing_not_a_traceback() -> None:
    # Found by tests/unit/test_fuzz_inputs.py: a part of a path longer than 255 bytes made is_file() raise OSError.
    long = "/srv/" + "x" * 300
    text = PROFILE.replace("payload: {image: {path: /srv/root.tar}}", f"payload:\n  image: {{path: {long}/root.tar}}\n"
                           f"  packages: [bash]\n  repositories: [{{name: long, baseurl: {long}}}]\n")
    blockers = make_plan(profile_from_text(text), INVENTORY, host_paths=True).blockers
    assert [(b.key, b.message) for b in blockers] == [
        ("payload.repositories[0].baseurl", f"repository 'long': {long} does not exist"),
        ("payload.image.path", f"root image {long}/root.tar does not exist here"),
    ]

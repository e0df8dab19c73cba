"""RAID arrays and LVM volume groups: planned, built in order, written into the target, taken down in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.core.runner import Reply
from installer.engine import InstallFailed
from installer.plan import PlanError, make_plan, plan_json
from installer.steps.bootloader import filesystem_modules
from profiles import ProfileError, profile_from_text
from storage.inventory import DiskInfo, Inventory
from storage.stack import stack_kernel_arguments
from tests.support.engine import FS_UUID, recorded

GiB = 2**30
PROFILE = """\
storage:
  disks: [{path: DISK}, {path: DISK1}]
  partitions:
    - {size: 1MiB, filesystem: biosboot}
    - {size: 1MiB, filesystem: biosboot, disk: 1}
    - {size: 512MiB, filesystem: none, raid: boot}
    - {size: 512MiB, filesystem: none, raid: boot, disk: 1}
    - {size: 2GiB, grow: true, filesystem: none, volume_group: sys}
  raids: [{name: boot, level: 1, mount: /boot, filesystem: ext4, label: boot}]
  volume_groups:
    - name: sys
      encrypted: true
      logical_volumes:
        - {name: root, size: 1GiB, grow: true, mount: /, filesystem: ext4}
        - {name: swap, size: 256MiB, filesystem: swap}
encryption: {enabled: true, passphrase: correct-horse, volumes: [], pbkdf: {memory: 64MiB}}
payload:
  repositories: [{name: sample, baseurl: "file:///srv/sample", gpgcheck: false}]
  groups: [core]
bootloader: {enabled: false}
system: {selinux: disabled}
"""


def test_the_stack_is_built_bottom_up_and_taken_down_top_down(tmp_path: Path) -> None:
    r = recorded(tmp_path, PROFILE, disks=2)
    r.runner.reply(["mdadm", "--detail", "--scan"], Reply(
        output="ARRAY /dev/md127 metadata=1.2 name=any:boot UUID=11111111:22222222:33333333:44444444\n"))
    r.engine.run()
    calls = r.runner.calls
    disk0, disk1 = r.disk, str(tmp_path / "disk1.img")
    create = calls.index(("mdadm", "--create", "/dev/md/boot", "--run", "--metadata=1.2", "--level=1",
                          "--raid-devices=2", "--homehost=any", "--name=boot", f"{disk0}2", f"{disk1}2"))
    [fmt] = [c for c in calls if c[:2] == ("cryptsetup", "luksFormat")]
    assert fmt[-1] == f"{disk0}3"  # the physical volume is what gets encrypted
    mapper = f"/dev/mapper/luks-{fmt[fmt.index('--uuid') + 1]}"
    pvcreate = calls.index(("pvcreate", "--yes", "--force", mapper))
    vgcreate = calls.index(("vgcreate", "--yes", "sys", mapper))
    root_lv = calls.index(("lvcreate", "--yes", "--wipesignatures", "y", "--extents", "100%FREE", "--name", "root",
                           "sys"))
    swap_lv = calls.index(("lvcreate", "--yes", "--wipesignatures", "y", "--size", "256m", "--name", "swap", "sys"))
    assert create < pvcreate < vgcreate < swap_lv < root_lv  # fixed sizes first, the growing one takes the rest
    assert ("mkfs.ext4", "-F", "-q", "-L", "boot", "/dev/md/boot") in calls
    assert calls.index(("mkfs.ext4", "-F", "-q", "/dev/sys/root")) > root_lv
    assert ("mkswap", "/dev/sys/swap") in calls
    mounts = [c[-2:] for c in calls if c[0] == "mount" and c[-1].startswith(str(r.root))]
    assert mounts[:2] == [("/dev/sys/root", str(r.root)), ("/dev/md/boot", str(r.root / "boot"))]
    # Taken down: unmounted, the group deactivated, its LUKS volume closed, then the array stopped.
    tail = [c[:2] for c in calls[-4:]]
    assert tail == [("umount", str(r.root)), ("vgchange", "--activate"), ("cryptsetup", "close"),
                    ("mdadm", "--stop")]
    fstab = (r.root / "etc/fstab").read_text()
    assert f"UUID={FS_UUID} / ext4" in fstab and f"UUID={FS_UUID} /boot ext4" in fstab and "none swap" in fstab
    uuid = fmt[fmt.index("--uuid") + 1]
    assert f"luks-{uuid} UUID={uuid} none" in (r.root / "etc/crypttab").read_text()  # the PV opens at boot
    assert stack_kernel_arguments(r.engine.plan.storage.groups) == ["rd.lvm.lv=sys/swap", "rd.lvm.lv=sys/root"]
    assert (r.root / "etc/mdadm.conf").read_text().splitlines()[1] == \
        "ARRAY /dev/md/boot metadata=1.2 name=any:boot UUID=11111111:22222222:33333333:44444444"
    assert "lvm2" in r.engine.plan.profile.payload.packages and "mdadm" in r.engine.plan.profile.payload.packages


def test_a_failure_after_the_group_exists_still_takes_everything_down(tmp_path: Path) -> None:
    r = recorded(tmp_path, PROFILE, disks=2)
    r.runner.reply(["mkswap"], Reply(returncode=1, output="mkswap: cannot open"))
    with pytest.raises(InstallFailed, match="storage"):
        r.engine.run()
    calls = r.runner.calls
    assert ("vgchange", "--activate", "n", "sys") in calls and ("mdadm", "--stop", "/dev/md/boot") in calls
    closed = next(i for i, c in enumerate(calls) if c[:2] == ("cryptsetup", "close"))
    assert calls.index(("vgchange", "--activate", "n", "sys")) < closed


def test_the_plan_lists_arrays_groups_and_volumes(tmp_path: Path) -> None:
    profile = profile_from_text(PROFILE.replace("DISK1", "/dev/vdb").replace("DISK", "/dev/vda"))
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * GiB), DiskInfo("/dev/vdb", 8 * GiB))),
                     device_mapper=True)
    text = plan.render()
    assert "create RAID 1 array /dev/md/boot about 510 MiB from /dev/vda2, /dev/vdb2 (/boot), format ext4" in text
    assert "create LVM volume group sys about" in text and "on /dev/vda3 (LUKS2-encrypted)" in text
    assert "create logical volume /dev/sys/root the rest (/), format ext4" in text
    data = json.loads(plan_json(plan))
    assert data["raids"][0]["members"] == ["/dev/vda2", "/dev/vdb2"]
    assert [v["device"] for v in data["volume_groups"][0]["logical_volumes"]] == ["/dev/sys/swap", "/dev/sys/root"]


@pytest.mark.parametrize(("edit", "message"), [
    (("level: 1", "level: 5"), "storage.raids[0].level: RAID 5 needs at least 3 member partitions; 2 name 'boot'"),
    (("raid: boot, disk: 1", "raid: boot"), "two members of 'boot' are on the same disk"),
    (("volume_group: sys", "volume_group: nosuch"), "no array or group named 'nosuch'"),
    (("mount: /boot, filesystem: ext4", "mount: /boot, filesystem: ext4, volume_group: sys"),
     "an array in a volume group holds no filesystem"),
    (("mount: /, filesystem: ext4", "mount: /boot2, filesystem: ext4"), "no partition is mounted at /"),
    (("raids: [{name: boot, level: 1, mount: /boot", "raids: [{name: boot, level: 1, mount: /srv"),
     "/ on a logical volume: GRUB needs /boot on a partition or a RAID 1 array"),
    (("{name: swap, size: 256MiB, filesystem: swap}", "{name: swap, size: 256MiB, filesystem: swap, grow: true}"),
     "only one logical volume of a group can grow"),
    (("{name: swap, size: 256MiB, filesystem: swap}", "{name: swap, percent: 60}"), "needs a mount point"),
    (("encryption: {enabled: true, passphrase: correct-horse, volumes: [], pbkdf: {memory: 64MiB}}", ""),
     "an encrypted volume group needs the encryption section"),
])
def test_stack_mistakes_are_located(edit: tuple[str, str], message: str) -> None:
    text = PROFILE.replace("DISK1", "/dev/vdb").replace("DISK", "/dev/vda")
    assert edit[0] in text
    with pytest.raises(ProfileError) as caught:
        profile_from_text(text.replace(*edit), "p.yaml")
    assert any(message in line for line in str(caught.value).splitlines()), str(caught.value)


def test_logical_volumes_that_do_not_fit_are_refused_before_any_disk_is_written() -> None:
    text = PROFILE.replace("DISK1", "/dev/vdb").replace("DISK", "/dev/vda").replace("size: 256MiB", "size: 60GiB")
    profile = profile_from_text(text)
    with pytest.raises(PlanError, match=r"storage.volume_groups\[0\]: its logical volumes need 61 GiB but 'sys' "
                       r"holds about 7.5 GiB"):
        make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * GiB), DiskInfo("/dev/vdb", 8 * GiB))),
                  device_mapper=True)


def test_the_initramfs_gets_the_filesystems_of_arrays_and_logical_volumes() -> None:
    profile = profile_from_text(PROFILE.replace("DISK1", "/dev/vdb").replace("DISK", "/dev/vda")
                                .replace("mount: /, filesystem: ext4", "mount: /, filesystem: xfs"))
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * GiB), DiskInfo("/dev/vdb", 8 * GiB))),
                     device_mapper=True)
    # / is xfs on a logical volume and /boot ext4 on an array: neither is a partition, both must mount.
    assert filesystem_modules(plan.storage) == ("ext4", "xfs")


LUKS_ON_LV = """\
storage:
  disks: [{path: DISK}]
  partitions:
    - {size: 1MiB, filesystem: biosboot}
    - {size: 512MiB, filesystem: ext4, mount: /boot}
    - {size: 2GiB, grow: true, filesystem: none, volume_group: sys}
  volume_groups:
    - name: sys
      logical_volumes:
        - {name: root, size: 1GiB, mount: /, filesystem: ext4}
        - {name: home, grow: true, mount: /home, filesystem: xfs}
encryption: {enabled: true, passphrase: correct-horse, volumes: [/home], pbkdf: {memory: 64MiB}}
payload:
  repositories: [{name: sample, baseurl: "file:///srv/sample", gpgcheck: false}]
  groups: [core]
bootloader: {enabled: false}
system: {selinux: disabled}
"""


def test_luks_on_a_logical_volume_is_made_after_it_and_closed_before_its_group(tmp_path: Path) -> None:
    """kickstart's logvol --encrypted: the group is plain, one of its logical volumes holds a LUKS2 volume."""
    r = recorded(tmp_path, LUKS_ON_LV)
    r.engine.run()
    calls = r.runner.calls
    [fmt] = [c for c in calls if c[:2] == ("cryptsetup", "luksFormat")]
    assert fmt[-1] == "/dev/sys/home"
    mapper = f"/dev/mapper/luks-{fmt[fmt.index('--uuid') + 1]}"
    home_lv = next(i for i, c in enumerate(calls) if c[0] == "lvcreate" and "home" in c)
    assert calls.index(("pvcreate", "--yes", "--force", f"{r.disk}3")) < home_lv < calls.index(fmt)
    assert ("mkfs.xfs", "-f", "-q", mapper) in calls or any(c[0] == "mkfs.xfs" and c[-1] == mapper for c in calls)
    assert any(c[0] == "mkfs.ext4" and c[-1] == "/dev/sys/root" for c in calls)  # / stays plain
    # Taken down: unmounted, the LUKS volume on the logical volume closed, then the group deactivated.
    tail = [c[:2] for c in calls[-3:]]
    assert tail[1:] == [("cryptsetup", "close"), ("vgchange", "--activate")], calls[-4:]
    assert "luks-" in (r.root / "etc/crypttab").read_text()


def test_a_volume_of_an_encrypted_group_is_not_encrypted_twice() -> None:
    text = LUKS_ON_LV.replace("    - name: sys\n", "    - name: sys\n      encrypted: true\n")
    with pytest.raises(ProfileError) as caught:
        profile_from_text(text.replace("DISK", "/dev/vda"))
    assert "encryption.volumes[0]: /home is in volume group 'sys', which is encrypted already" in str(caught.value)


THIN_VOLUMES = """\
        - {name: root, size: 1GiB, mount: /, filesystem: ext4, pool: pool00}
        - {name: pool00, grow: true, thin_pool: true, filesystem: none}
        - {name: home, grow: true, mount: /home, filesystem: xfs, pool: pool00}
"""
THIN = LUKS_ON_LV.replace("""        - {name: root, size: 1GiB, mount: /, filesystem: ext4}
        - {name: home, grow: true, mount: /home, filesystem: xfs}
""", THIN_VOLUMES).replace("encryption: {enabled: true, passphrase: correct-horse, volumes: [/home], pbkdf: {memory: "
                          "64MiB}}\n", "")


def test_thin_volumes_are_made_in_their_pool_after_it(tmp_path: Path) -> None:
    r = recorded(tmp_path, THIN)
    r.engine.run()
    created = [c for c in r.runner.calls if c[0] == "lvcreate"]
    assert created[0] == ("lvcreate", "--yes", "--wipesignatures", "y", "--type", "thin-pool", "--extents",
                          "100%FREE", "--name", "pool00", "sys")
    root, home = created[1:]
    assert root == ("lvcreate", "--yes", "--thin", "--virtualsize", "1024m", "--name", "root", "sys/pool00")
    pool_size = next(v.size for v in r.engine.plan.storage.groups[0].volumes if v.thin_pool)
    assert home[:5] == ("lvcreate", "--yes", "--thin", "--virtualsize", f"{pool_size // 2**20}m")  # the pool's size
    assert not any(c[0].startswith("mkfs") and c[-1] == "/dev/sys/pool00" for c in r.runner.calls)
    assert "device-mapper-persistent-data" in r.engine.plan.profile.payload.packages  # thin_check at boot


@pytest.mark.parametrize(("volumes", "message"), [
    ("[{name: root, size: 1GiB, mount: /, filesystem: ext4, pool: nopool}]",
     "logical_volumes[0].pool: no thin pool named 'nopool' in this volume group"),
    ("[{name: p, size: 1GiB, thin_pool: true}, {name: root, size: 1GiB, mount: /, filesystem: ext4}]",
     "logical_volumes[0].filesystem: a thin pool holds no filesystem"),
    ("[{name: p, size: 1GiB, thin_pool: true, filesystem: none}, {name: root, percent: 50, mount: /, filesystem: "
     "ext4, pool: p}]", "logical_volumes[1].percent: a thin volume has a virtual size"),
])
def test_thin_pool_mistakes_are_one_line_each(volumes: str, message: str) -> None:
    text = THIN.replace("DISK", "/dev/vda")
    start = text.index("      logical_volumes:")
    end = text.index("payload:")
    text = text[:start] + f"      logical_volumes: {volumes}\n" + text[end:]
    with pytest.raises(ProfileError) as caught:
        profile_from_text(text)
    assert message in str(caught.value)

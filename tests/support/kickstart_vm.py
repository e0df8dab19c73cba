"""The kickstart scenario in QEMU: `inst.ks=` onto two disks that an earlier install left busy.

The kickstart lays out what Anaconda's `autopart --type=lvm --encrypted` makes (an EFI system
partition, one LUKS2 physical volume of a volume group holding / and swap), with /boot on a RAID 1
array across both disks. Anaconda and pykickstart refuse autopart beside `part`/`raid`, so the layout
is written out with part, raid, volgroup and logvol, as such kickstarts are.

Before the install, its %pre leaves on the disks what a live system booted on an earlier install's
disks has active (udev assembles arrays, LVM activates volume groups) and what a killed install
leaves: a RAID 1 array across both disks mounted under /run/azl-installer, an active volume group
with swap in use, an open LUKS mapping, each partition starting where the new layout's do. The
storage step must release all of it, with no reboot. The payload is the live system's own squashfs
(Debian with initramfs-tools): the test distribution has neither mdadm nor lvm2 (docs/testdistro.md).

The installed system is booted from both disks, the passphrase typed at the initramfs' prompt on
the serial console, and vm-uefi.yaml's boot check reports the block device tree and /proc/mdstat.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from iso.vm import qemu
from iso.vm.process import QemuProcess
from tests.support.encrypted_vm import STACK_REPORT, boot_check_body, vm_uefi_profile
from tests.support.images import data_disk, guest_cpus
from tests.support.serial_screen import SerialScreen

REPO = Path(__file__).resolve().parents[2]
DISKS = ("disk/by-id/virtio-AZL-TARGET-0", "disk/by-id/virtio-AZL-TARGET-1")
HOSTNAME = "azl-kickstart"
BOOT_SECONDS = 2400.0  # one QEMU run under TCG, beside another guest (1500 ran out for the encrypted scenario once)
PROMPT = "Please unlock disk"  # Debian's cryptroot, in the initramfs, on the last console (ttyS0)

# What an earlier install leaves active, built in the live system before the storage step runs. The
# partitions start where the new layout's do (1 MiB), so their old signatures are where udev would find
# them again if the installer did not erase them.
LEFTOVERS = """\
set -eu
a=/dev/{d0} b=/dev/{d1}
for disk in "$a" "$b"; do printf 'label: gpt\\nsize=300MiB\\nsize=400MiB\\n' | sfdisk --quiet "$disk"; done
udevadm settle
mdadm --create /dev/md/old-boot --run --metadata=1.2 --level=1 --raid-devices=2 "$a-part1" "$b-part1"
mkfs.ext4 -q /dev/md/old-boot
mkdir -p /run/azl-installer/old-target
mount /dev/md/old-boot /run/azl-installer/old-target
pvcreate -q "$a-part2"
vgcreate -q old "$a-part2"
lvcreate -q -y -L 200M -n root old
lvcreate -q -y -L 64M -n swap old
mkfs.ext4 -q /dev/old/root
mkswap -q /dev/old/swap
swapon /dev/old/swap
printf old-pass | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \\
    --key-file - "$b-part2"
printf old-pass | cryptsetup open --key-file - "$b-part2" old-crypt
lsblk -n -o NAME,TYPE,MOUNTPOINT "$a" "$b" | sed 's/^[^a-z]*/leftover /'
"""

KICKSTART = """\
# An encrypted LVM root (as autopart --type=lvm --encrypted lays it out) and /boot mirrored on two disks.
zerombr
clearpart --all --initlabel --drives={d0},{d1}
ignoredisk --only-use={d0},{d1}
bootloader --timeout=1
part /boot/efi --fstype=efi --size=200 --ondisk={d0}
part raid.01 --size=512 --ondisk={d0}
part raid.02 --size=512 --ondisk={d1}
raid /boot --level=1 --device=boot --fstype=ext4 --label=boot raid.01 raid.02
part pv.01 --size=1024 --grow --ondisk={d0} --encrypted --luks-version=luks2 --pbkdf-time=1000 --passphrase={passphrase}
volgroup sys pv.01
logvol / --vgname=sys --name=root --fstype=ext4 --size=1024 --grow
logvol swap --vgname=sys --name=swap --size=128
liveimg --url=file:///run/live/medium/live/filesystem.squashfs
rootpw --lock
user --name=azureuser --groups=wheel --lock
sshkey --username=azureuser "{ssh_key}"
timezone UTC --utc
keyboard us
network --hostname={hostname}
poweroff

%pre --erroronfail
{leftovers}%end

%post --erroronfail
{check}%end
"""


def kickstart_text(passphrase: str) -> str:
    disks = {"d0": DISKS[0], "d1": DISKS[1]}
    check = boot_check_body(*STACK_REPORT, "echo \"swaps: $(tail -n +2 /proc/swaps | wc -l)\"\n")
    ssh_key = vm_uefi_profile()["users"][0]["ssh_keys"][0]  # the test key every VM profile here carries
    return KICKSTART.format(**disks, passphrase=passphrase, hostname=HOSTNAME, ssh_key=ssh_key,
                            leftovers=LEFTOVERS.format(**disks), check=check)


@dataclass(frozen=True)
class KickstartRun:
    returncode: int
    stderr: str
    install: str  # the serial console of the install
    boot: str  # the serial console of the installed system's boot (the passphrase typed)
    passphrase: str

    @property
    def check(self) -> str:
        start, end = self.boot.find("AZL-BOOT-CHECK begin"), self.boot.find("AZL-BOOT-CHECK end")
        return self.boot[start:end] if 0 <= start < end else ""


def run_kickstart_install(iso: Path, work: Path) -> KickstartRun:
    """`azl-installer vm --kickstart` onto two disks (no boot), then the installed disks booted with the
    passphrase typed on the serial console."""
    passphrase = "ks-" + secrets.token_hex(8)
    work.mkdir(parents=True, exist_ok=True)
    ks, serial = work / "stacked.ks", work / "serial-install.log"
    ks.write_text(kickstart_text(passphrase))
    # A data disk beside the two targets: the run fails if the install changed a byte of it.
    other = data_disk(work / "other.img")
    done = subprocess.run(
        [sys.executable, "-m", "installer", "vm", "--iso", str(iso), "--kickstart", str(ks), "--disks", "2",
         "--other-disk", str(other),
         "--disk-size", "4GiB", "--cpus", str(guest_cpus()), "--no-boot", "--console", str(serial),
         "--workdir", str(work / "vm"), "--timeout", str(int(BOOT_SECONDS))],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=2 * BOOT_SECONDS)
    install = serial.read_text(errors="replace") if serial.exists() else ""
    boot = ""
    if done.returncode == 0:
        boot = boot_with_passphrase(work / "vm", work / "serial-boot.log", passphrase)
    return KickstartRun(done.returncode, done.stderr, install, boot, passphrase)


def boot_with_passphrase(vm: Path, log: Path, passphrase: str) -> str:
    """Boot both installed disks (UEFI), type the passphrase at the initramfs' prompt, and wait for the boot
    check to power the VM off. Returns what the console showed."""
    short = Path(tempfile.mkdtemp(prefix="azl-ks-"))  # Unix socket paths: at most 107 bytes
    raw = log.with_suffix(".raw")
    try:
        machine = qemu.Machine(firmware="uefi", vars_file=vm / "OVMF_VARS_4M.fd", smp=guest_cpus())
        console = qemu.Console(log, terminal=False, socket=short / "serial.sock")
        screen = SerialScreen(short / "serial.sock", raw_log=raw)
        disks = [vm / "disk-0.qcow2", vm / "disk-1.qcow2"]
        with QemuProcess(qemu.installed_argv(machine, disks=disks, console=console)) as guest:
            try:
                screen.connect(timeout=30)
                deadline = time.monotonic() + BOOT_SECONDS
                typed = False
                while guest.poll() is None and time.monotonic() < deadline:
                    screen.pump(1.0)  # an unread socket stalls the guest
                    seen = raw.read_bytes().decode(errors="replace") if raw.exists() else ""
                    if not typed and PROMPT in seen:
                        screen.type_text(passphrase + "\r")
                        typed = True
                    if "AZL-BOOT-CHECK end" in seen:
                        break
            finally:
                screen.close()
    finally:
        shutil.rmtree(short, ignore_errors=True)
    return raw.read_bytes().decode(errors="replace") if raw.exists() else ""

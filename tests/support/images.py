"""Small bootable things for VM tests, made without mounting anything.

- a Linux kernel and its modules: the host's /boot + /lib/modules, else Debian's linux-image
  package unpacked (apt-get download + dpkg-deb -x) into build/cache/vm-kernel once;
- busybox initramfs images (a newc cpio written here in Python) whose /init is a shell script;
- a grub-mkrescue image (BIOS + UEFI, bootable as a CD or as a disk) that boots such an initramfs;
- a fake installer ISO: /live/vmlinuz + /live/initrd.img like the real one, whose "installer"
  writes a bootable image to the disk with serial AZL-TARGET-0 and prints AZL-INSTALL-RESULT.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KERNEL_CACHE = REPO / "build" / "cache" / "vm-kernel"
BUSYBOX = Path("/bin/busybox")
SERIAL_APPEND = "console=ttyS0,115200n8 panic=-1 quiet"


def guest_cpus() -> int:
    """CPUs for one test guest. The VM tier runs two guests at a time on a 2-core host under TCG: two
    CPUs each would be four emulated CPUs on two cores, and a guest CPU left waiting for a host core
    stalls its kernel (a CI run saw a 112 s soft lockup, then systemd giving up on a generator)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // workers) if workers > 1 else 2

# Modules (in load order) for virtio disks, the q35 AHCI CD-ROM and ext4, when built as modules.
MODULES = (
    "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci", "virtio_blk",
    "scsi_common", "scsi_mod", "libata", "libahci", "ahci", "cdrom", "sr_mod",
    "crc16", "mbcache", "jbd2", "crc32c_generic", "ext4",
)


@dataclass(frozen=True)
class Kernel:
    vmlinuz: Path
    modules: Path | None  # /lib/modules/VERSION, None when there are none (everything built in)


def _newest(paths: Iterable[Path]) -> Path | None:
    found = sorted(paths)
    return found[-1] if found else None


def find_kernel(cache: Path = KERNEL_CACHE) -> Kernel | None:
    """The host's kernel, or Debian's unpacked into `cache` (downloaded once). None if neither works."""
    host = _newest(Path("/boot").glob("vmlinuz-*"))
    if host is not None and host.stat().st_mode & 0o004:
        version = host.name.removeprefix("vmlinuz-")
        modules = Path("/lib/modules") / version
        return Kernel(host, modules if modules.is_dir() else None)
    cache.mkdir(parents=True, exist_ok=True)
    # Two test workers of a fresh checkout both find no kernel: one downloads and unpacks, the other waits
    # for it (unpacking it twice into one directory made the waiting worker's tests error).
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = _newest((cache / "root" / "boot").glob("vmlinuz-*"))
        if cached is None:
            cached = _download_kernel(cache)
    if cached is None:
        return None
    modules = cache / "root" / "lib" / "modules" / cached.name.removeprefix("vmlinuz-")
    return Kernel(cached, modules if modules.is_dir() else None)


def _download_kernel(cache: Path) -> Path | None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return None
    deps = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True).stdout
    names = [line.split()[-1] for line in deps.splitlines() if "Depends: linux-image-" in line]
    if not names:
        return None
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["apt-get", "download", names[0]], cwd=debs, capture_output=True).returncode != 0:
        return None
    deb = _newest(debs.glob("linux-image-*.deb"))
    if deb is None:
        return None
    subprocess.run(["dpkg-deb", "-x", str(deb), str(cache / "root")], check=True)
    deb.unlink()
    return _newest((cache / "root" / "boot").glob("vmlinuz-*"))


# --- initramfs -----------------------------------------------------------------------------

def _cpio_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    out = header + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def cpio_newc(files: dict[str, bytes], *, dirs: Iterable[str] = (), executable: Iterable[str] = ()) -> bytes:
    """An uncompressed newc archive (what the kernel unpacks as an initramfs)."""
    exe = set(executable)
    entries = [(d, 0o040755, b"") for d in dirs]
    entries += [(name, 0o100755 if name in exe else 0o100644, data) for name, data in sorted(files.items())]
    blob = b"".join(_cpio_entry(name, mode, data, ino) for ino, (name, mode, data) in enumerate(entries, 1))
    blob += _cpio_entry("TRAILER!!!", 0, b"", 0)
    return blob + b"\0" * (-len(blob) % 512)


def build_initramfs(out: Path, init_script: str, *, kernel: Kernel | None = None,
                    extra: dict[str, bytes] | None = None) -> Path:
    """A busybox initramfs: /init is `init_script` (busybox sh), `load_modules` insmods MODULES present."""
    files = {"bin/busybox": BUSYBOX.read_bytes(), "init": init_script.encode()}
    loads = []
    if kernel is not None and kernel.modules is not None:
        for name in MODULES:
            found = _newest(kernel.modules.rglob(f"{name}.ko"))
            if found is not None:
                files[f"lib/modules/{name}.ko"] = found.read_bytes()
                loads.append(f"insmod /lib/modules/{name}.ko 2>/dev/null")
    files["bin/load_modules"] = ("#!/bin/busybox sh\n" + "\n".join(loads) + "\n").encode()
    files.update(extra or {})
    dirs = ["bin", "dev", "proc", "sys", "mnt", "tmp", "lib", "lib/modules"]
    out.write_bytes(cpio_newc(files, dirs=dirs, executable=["init", "bin/busybox", "bin/load_modules"]))
    return out


PRELUDE = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
"""


def marker_init(marker: str) -> str:
    """An /init that prints `marker` on the console and powers off."""
    return PRELUDE + f'echo "{marker}"\nsync\npoweroff -f\n'


# The fake installer: finds its disks by QEMU serial, reads the profile disk, shows the CD-ROM,
# writes /payload.img to AZL-TARGET-0, reports like the real installer and powers off.
# A profile containing "hostname: fail-me" makes it fail with rc=3 and print a log block; one containing
# "hostname: careless" also writes to the disk with serial AZL-OTHER-0 (what `vm --other-disk` must catch).
FAKE_INSTALLER_INIT = PRELUDE + r"""
load_modules
for i in $(seq 50); do [ -e /sys/block/vda ] && break; sleep 0.1; done
sleep 0.5
target=; profile=
for d in /sys/block/vd*; do
  s=$(cat $d/serial); n=${d##*/}; echo "FAKE disk $n serial=$s"
  [ "$s" = AZL-TARGET-0 ] && target=$n
  [ "$s" = AZL-PROFILE ] && profile=$n
  [ "$s" = AZL-OTHER-0 ] && other=$n
done
[ -e /sys/block/sr0 ] && echo "FAKE cdrom sr0"
echo "FAKE cmdline $(cat /proc/cmdline)"
rc=0
if [ -n "$profile" ]; then
  mount -t ext4 -o ro /dev/$profile /mnt && echo "FAKE profile-label $(findfs LABEL=AZLPROFILE)"
  cat /mnt/profile.yaml | sed 's/^/FAKE profile: /'
  grep -q "hostname: fail-me" /mnt/profile.yaml && rc=3
  if grep -q "hostname: careless" /mnt/profile.yaml && [ -n "$other" ]; then
    echo careless | dd of=/dev/$other conv=fsync 2>/dev/null && echo "FAKE wrote to the other disk $other"
  fi
fi
if [ "$rc" = 0 ] && [ -n "$target" ]; then
  dd if=/payload.img of=/dev/$target bs=1M conv=fsync 2>/dev/null && echo "FAKE wrote payload to $target"
fi
if [ "$rc" != 0 ]; then echo AZL-LOG-BEGIN; echo "step partition: FAKE failure for the test"; echo AZL-LOG-END; fi
echo "AZL-INSTALL-RESULT rc=$rc"
sync
poweroff -f
"""


def grub_image(out: Path, work: Path, kernel: Kernel, initrd: Path, *, extra: dict[str, Path] | None = None,
               append: str = SERIAL_APPEND) -> Path:
    """A grub-mkrescue hybrid image (BIOS + UEFI; CD or disk) booting kernel + initrd on the serial console."""
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "boot" / "grub").mkdir(parents=True)
    shutil.copyfile(kernel.vmlinuz, tree / "boot" / "vmlinuz")
    shutil.copyfile(initrd, tree / "boot" / "initrd")
    for name, source in (extra or {}).items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, tree / name)
    (tree / "boot" / "grub" / "grub.cfg").write_text(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\nset timeout=0\n"
        f"menuentry test {{\n  linux /boot/vmlinuz {append}\n  initrd /boot/initrd\n}}\n"
    )
    subprocess.run(["grub-mkrescue", "-o", str(out), str(tree)], check=True, capture_output=True)
    return out


def fake_installer_iso(out: Path, work: Path, kernel: Kernel) -> Path:
    """An ISO with /live/vmlinuz and /live/initrd.img (the fake installer), also bootable through firmware."""
    work.mkdir(parents=True, exist_ok=True)
    installed_initrd = build_initramfs(work / "installed.cpio", marker_init("AZL-TEST-INSTALLED-BOOT-OK"))
    payload = grub_image(work / "payload.img", work / "payload", kernel, installed_initrd)
    installer = build_initramfs(work / "installer.cpio", FAKE_INSTALLER_INIT, kernel=kernel,
                                extra={"payload.img": payload.read_bytes()})
    # A stand-in live root, so that iso/netboot.py takes the network boot files from this ISO too (the fake
    # installer runs from its initramfs and fetches nothing).
    root = work / "filesystem.squashfs"
    root.write_bytes(b"fake live root\n")
    live = {"live/vmlinuz": kernel.vmlinuz, "live/initrd.img": installer, "live/filesystem.squashfs": root}
    return grub_image(out, work / "iso", kernel, installer, extra=live, append=SERIAL_APPEND)


def data_disk(path: Path, size: int = 64 * 1024**2) -> Path:
    """A disk that is no target, as a data disk looks: an ext4 filesystem holding a file, random bytes after
    it. For `vm --other-disk`, which fails the run if any byte of it changed."""
    stage = path.with_name(path.name + ".files")
    stage.mkdir(parents=True, exist_ok=True)
    (stage / "data.bin").write_bytes(os.urandom(1024**2))
    with path.open("wb") as handle:
        handle.truncate(size)
    filesystem = size - 8 * 1024**2
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "AZL-DATA", "-d", str(stage), str(path), f"{filesystem // 1024}k"],
                   check=True, capture_output=True)
    with path.open("r+b") as handle:
        handle.seek(filesystem)
        handle.write(os.urandom(1024**2))
    return path

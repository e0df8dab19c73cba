"""The ISO's UEFI boot through the signed chain of the distribution it installs: shim, then GRUB.

A Trusted Launch VM (Secure Boot on) starts only a binary signed by a key in the firmware's db; shim
carries Microsoft's signature and trusts the distribution's key, which signed GRUB and the kernel. So
the ISO boots shim and GRUB taken from the repository it carries (shim-x64 and grub2-efi-x64), the
same binaries the installed system will boot: the installer and the installed system then measure the
same Secure Boot authorities into PCR 7, and a TPM2 key sealed to PCR 7 during the install unseals at
the installed system's first boot.

The EFI image (a FAT file the El Torito catalog and the GPT both point at) holds:
  /EFI/BOOT/BOOTX64.EFI   shim
  /EFI/BOOT/grubx64.efi   GRUB, which shim starts from its own directory
  /EFI/BOOT/mmx64.efi     MokManager, when the package has one
  grub.cfg                in /EFI/BOOT and where GRUB's embedded prefix points: finds the ISO by its
                          volume date and hands over to /boot/grub/grub.cfg
The hand-over grub.cfg files are also put on the ISO's own file system, where GRUB looks when the ISO
is booted as a CD.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from installer.core.grubimage import config_dir
from iso.chroot import BuildError, run

SHIM_PACKAGE, GRUB_PACKAGE = "shim-x64", "grub2-efi-x64"
_ESP_FILE = re.compile(r"^\.?/boot/efi/EFI/([^/]+)/([^/]+)$")
_MIB = 1024 * 1024


@dataclass(frozen=True)
class SignedBoot:
    shim: bytes
    grub: bytes
    mokmanager: bytes | None


def _cpio_members(archive: bytes) -> dict[str, bytes]:
    """The regular files of a "newc" cpio archive (what rpm2cpio writes), by path."""
    files: dict[str, bytes] = {}
    at = 0
    while at + 110 <= len(archive):
        header = archive[at:at + 110]
        if header[:6] not in (b"070701", b"070702"):
            raise BuildError("rpm2cpio gave an archive that is not newc cpio")
        mode, size, name_size = int(header[14:22], 16), int(header[54:62], 16), int(header[94:102], 16)
        name = archive[at + 110:at + 110 + name_size - 1].decode("utf-8", "replace")
        data_at = (at + 110 + name_size + 3) & ~3
        if name == "TRAILER!!!":
            break
        if mode & 0o170000 == 0o100000:
            files[name] = archive[data_at:data_at + size]
        at = (data_at + size + 3) & ~3
    return files


def _package(repo: Path, name: str) -> Path:
    # NAME-VERSION-RELEASE.ARCH.rpm, and versions start with a digit: grub2-efi-x64-modules is another name.
    found = sorted(repo.rglob(f"{name}-[0-9]*.rpm"))
    if not found:
        raise BuildError(f"the repository {repo} has no {name} package: the ISO's Secure Boot chain comes from it")
    return found[-1]


def _esp_files(rpm: Path) -> dict[tuple[str, str], bytes]:
    archive = subprocess.run(["rpm2cpio", str(rpm)], check=True, capture_output=True).stdout
    return {(m.group(1), m.group(2)): data for path, data in _cpio_members(archive).items()
            if (m := _ESP_FILE.match(path))}


def signed_boot_from_repo(repo: Path) -> SignedBoot:
    """shim, GRUB and MokManager as the repository's shim-x64 and grub2-efi-x64 install them."""
    return _signed_boot(_esp_files(_package(repo, SHIM_PACKAGE)) | _esp_files(_package(repo, GRUB_PACKAGE)))


def signed_boot_from_root(root: Path) -> SignedBoot:
    """The same, as those packages installed them into root (the RPM-built live root has both)."""
    esp = root / "boot/efi/EFI"
    files = {(path.parent.name, path.name): path.read_bytes()
             for path in esp.glob("*/*.efi") if path.is_file()} if esp.is_dir() else {}
    return _signed_boot(files)


def _signed_boot(files: dict[tuple[str, str], bytes]) -> SignedBoot:
    # The EFI vendor directory ("azurelinux") is found where shim is, not assumed.
    vendors = sorted(v for v, f in files if f == "shimx64.efi" and v != "BOOT")
    if not vendors:
        raise BuildError(f"{SHIM_PACKAGE} installs no EFI/<vendor>/shimx64.efi")
    vendor = vendors[0]
    grub = files.get((vendor, "grubx64.efi"))
    if grub is None:
        raise BuildError(f"{GRUB_PACKAGE} installs no EFI/{vendor}/grubx64.efi beside shim")
    return SignedBoot(files[(vendor, "shimx64.efi")], grub, files.get((vendor, "mmx64.efi")))


def volume_stamp_uuid(stamp: str) -> str:
    """GRUB's UUID of an ISO 9660 volume: its modification date, "2026120114264800" -> "2026-12-01-14-26-48-00"."""
    if not re.fullmatch(r"\d{16}", stamp):
        raise ValueError(f"not an ISO 9660 date stamp (16 digits): {stamp!r}")
    return "-".join([stamp[:4], *(stamp[i:i + 2] for i in range(4, 16, 2))])


def handover_cfg(stamp: str) -> str:
    return (f"search --no-floppy --fs-uuid --set=root {volume_stamp_uuid(stamp)}\n"
            "set prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n")


def handover_paths(boot: SignedBoot) -> list[str]:
    """Where this GRUB may look for grub.cfg: its own directory on the removable path, and its embedded
    prefix (read from the image) when that is a path on the device GRUB was loaded from."""
    paths = ["EFI/BOOT/grub.cfg"]
    prefix = config_dir(boot.grub)
    if prefix is not None and f"{prefix.lstrip('/')}/grub.cfg" not in paths:
        paths.append(f"{prefix.lstrip('/')}/grub.cfg")
    return paths


def efi_image(boot: SignedBoot, out: Path, stamp: str) -> Path:
    """The FAT image the firmware boots from the ISO (see the module's docstring)."""
    files = {"EFI/BOOT/BOOTX64.EFI": boot.shim, "EFI/BOOT/grubx64.efi": boot.grub}
    if boot.mokmanager is not None:
        files["EFI/BOOT/mmx64.efi"] = boot.mokmanager
    files |= {path: handover_cfg(stamp).encode() for path in handover_paths(boot)}
    with tempfile.TemporaryDirectory(prefix="azl-efi-") as scratch:
        _fat(files, out, Path(scratch))
    return out


def handover_in_tree(boot: SignedBoot, tree: Path, stamp: str) -> None:
    """The same hand-over on the ISO 9660 file system: booted from a CD, GRUB takes the whole CD (cd0) for
    the device it was loaded from, not the EFI image, and looks for its prefix there."""
    for path in handover_paths(boot):
        (tree / path).parent.mkdir(parents=True, exist_ok=True)
        (tree / path).write_text(handover_cfg(stamp))


def _fat(files: dict[str, bytes], out: Path, work: Path) -> None:
    size = (sum(len(data) for data in files.values()) // _MIB + 2) * _MIB  # FAT tables and slack
    out.unlink(missing_ok=True)
    run(["mkfs.vfat", "-C", "-n", "AZL_EFI", str(out), str(size // 1024)], quiet=True)
    directories = {"/".join(name.split("/")[:depth]) for name in files for depth in range(1, name.count("/") + 1)}
    # Parents before children, in one mmd.
    run(["mmd", "-i", str(out), *(f"::/{d}" for d in sorted(directories, key=lambda d: (d.count("/"), d)))],
        quiet=True)
    for name, data in files.items():
        local = work / name.replace("/", "_")
        local.write_bytes(data)
        run(["mcopy", "-o", "-i", str(out), str(local), f"::/{name}"], quiet=True)

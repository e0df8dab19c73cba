"""Make the Debian root look like Azure Linux where the installer can tell: the files the test distribution adds.

Each function writes into the unpacked root and returns {path: package} for what it added, so the
split gives those files to the right package. The ROOT's own tools run chrooted (semodule), so
nothing depends on the build host's versions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sample.testdistro import recipe


def _write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    if full.is_symlink() or full.exists():
        full.unlink()
    full.write_text(text)
    os.chmod(full, mode)


def _link(root: Path, path: str, target: str) -> None:
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    if full.is_symlink() or full.exists():
        full.unlink()
    full.symlink_to(target)


def release(root: Path) -> dict[str, str]:
    """azurelinux-release: os-release says ID=azurelinux; azurelinux-repos: a repo file, off by default."""
    _write(root, "/usr/lib/os-release", recipe.OS_RELEASE)
    _link(root, "/etc/os-release", "../usr/lib/os-release")
    _write(root, "/etc/azurelinux-release", f"Azure Linux {recipe.VERSION_ID} (test distribution)\n")
    # Azure Linux's repositories cannot be reached from here: the file only shows where they go.
    _write(root, "/etc/yum.repos.d/azurelinux-test.repo",
           "[azurelinux-test]\nname=Azure Linux test distribution\nbaseurl=file:///var/lib/azurelinux-test/repo\n"
           "enabled=0\ngpgcheck=0\n")
    added = {p: "azurelinux-release" for p in ("/usr/lib/os-release", "/etc/os-release", "/etc/azurelinux-release")}
    return added | {"/etc/yum.repos.d": "azurelinux-repos", "/etc/yum.repos.d/azurelinux-test.repo": "azurelinux-repos"}


def merged_usr(root: Path) -> dict[str, str]:
    return {f"/{name}": "filesystem" for name in ("bin", "sbin", "lib", "lib64") if (root / name).is_symlink()}


def selinux(root: Path) -> dict[str, str]:
    """Debian's reference policy under Azure Linux's name, enforcing."""
    for old, new in recipe.PATH_RENAMES:
        if (root / old.lstrip("/")).is_dir():
            os.rename(root / old.lstrip("/"), root / new.lstrip("/"))
    _write(root, "/etc/selinux/config", recipe.SELINUX_CONFIG)
    # The module goes into the policy store and the compiled policy with the root's own semodule.
    module = f"/tmp/{recipe.SELINUX_MODULE_NAME}.cil"
    _write(root, module, recipe.SELINUX_MODULE)
    subprocess.run(["chroot", str(root), "semodule", "-i", module], check=True, capture_output=True)
    (root / module.lstrip("/")).unlink()
    return {"/etc/selinux/config": "selinux-policy-targeted"}


def grub(root: Path) -> dict[str, str]:
    """grub2-* command names, /boot/grub2, and the signed monolithic GRUB EFI image in the vendor directory."""
    added: dict[str, str] = {}
    for directory in ("usr/bin", "usr/sbin"):
        for tool in sorted((root / directory).glob("grub-*")):
            name = f"/{directory}/grub2-{tool.name.removeprefix('grub-')}"
            _link(root, name, tool.name)
            added[name] = "grub2-tools"
    # Debian's grub-install writes to /boot/grub; Azure Linux's to /boot/grub2. One directory, both names.
    (root / "boot/grub2").mkdir(parents=True, exist_ok=True)
    if (root / "boot/grub").is_dir() and not (root / "boot/grub").is_symlink():
        shutil.rmtree(root / "boot/grub")
    _link(root, "/boot/grub", "grub2")
    added |= {"/boot/grub2": "grub2-tools", "/boot/grub": "grub2-tools"}
    # Debian's GRUB signed for Secure Boot (shim trusts Debian's key), where Azure Linux's grub2-efi-x64 puts
    # its own. Its prefix, fixed by the signature, is /EFI/debian: the installer reads that from the image
    # and writes the hand-over grub.cfg there too (installer/core/grubimage.py).
    vendor = f"/boot/efi/EFI/{recipe.EFI_VENDOR}"
    (root / vendor.lstrip("/")).mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", root / f"{vendor}/grubx64.efi".lstrip("/"))
    added[f"{vendor}/grubx64.efi"] = "grub2-efi-x64"
    return added


def shim(root: Path) -> dict[str, str]:
    """shim and MokManager where Azure Linux's shim-x64 puts them, and the removable-media path."""
    vendor = f"/boot/efi/EFI/{recipe.EFI_VENDOR}"
    added = {"/boot/efi": "filesystem", "/boot/efi/EFI": "filesystem", vendor: "shim-x64",
             "/boot/efi/EFI/BOOT": "shim-x64"}
    for source, dest in (("shimx64.efi.signed", f"{vendor}/shimx64.efi"), ("mmx64.efi.signed", f"{vendor}/mmx64.efi"),
                         ("shimx64.efi.signed", "/boot/efi/EFI/BOOT/BOOTX64.EFI")):
        (root / dest.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / "usr/lib/shim" / source, root / dest.lstrip("/"))
        added[dest] = "shim-x64"
    return added


def rpm_dbpath(root: Path) -> dict[str, str]:
    """Debian's rpm keeps its database in ~/.rpmdb; Azure Linux's in /usr/lib/sysimage/rpm."""
    _write(root, "/etc/rpm/macros.dbpath", "%_dbpath /usr/lib/sysimage/rpm\n")
    (root / "usr/lib/sysimage/rpm").mkdir(parents=True, exist_ok=True)
    return {"/etc/rpm/macros.dbpath": "rpm", "/usr/lib/sysimage": "filesystem", "/usr/lib/sysimage/rpm": "rpm"}


def ssh_host_keys(root: Path) -> dict[str, str]:
    """Debian makes host keys in openssh-server's postinst; a package must not ship them (every install
    would share one key). As on Azure Linux, they are made at the first start of the service."""
    path = "/usr/lib/systemd/system/ssh.service.d/10-host-keys.conf"
    _write(root, path, "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\n"
                       "ExecStartPre=/usr/sbin/sshd -t\n")
    return {path: "openssh-server", os.path.dirname(path): "openssh-server"}


def customize(root: Path) -> dict[str, str]:
    added: dict[str, str] = {}
    for change in (release, merged_usr, selinux, grub, shim, rpm_dbpath, ssh_host_keys):
        added |= change(root)
    # As Fedora's shim and grub2 packages declare them (and as the ESP shows them, mounted umask=0077).
    for path in (root / "boot/efi").rglob("*"):
        path.chmod(0o700)
    (root / "boot/efi").chmod(0o700)
    return added

"""What the Azure Linux-shaped test distribution is made of: a Debian suite, its packages, and their new names.

The test distribution is NOT Azure Linux. It is Debian 13 binaries (dracut 106, systemd 257, the
closest Debian has to Azure Linux 4.0's dracut 107 and systemd 258) repackaged as RPMs under Azure
Linux 4.0's package names, so that the installer's Azure Linux path (dnf groups, dracut, grub2-*
names, shim in an EFI vendor directory, SELinux enforcing with the target's own policy) can be
installed through dnf and booted in QEMU here.

A package of the test distribution takes the files of one or more Debian packages (RENAMES); every
Debian package not named there keeps its Debian name. EXTRA_FILES are files the test distribution
adds so that its packages look like Azure Linux's (os-release, grub2-* command names, shim and GRUB
in EFI/azurelinux, the rpm database path).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SUITE = "trixie"
VERSION_ID = "4.0"
DIST = "azl4"
EFI_VENDOR = "azurelinux"

# What mmdebstrap installs (with their dependencies, no recommends): everything a server VM of the
# installer's azure-vm-server set needs, plus what the installer runs in the target to boot it.
DEBIAN_PACKAGES = (
    "linux-image-amd64", "dracut", "dracut-network", "systemd", "systemd-sysv", "udev", "systemd-cryptsetup",
    "libpam-systemd", "dbus", "grub-pc-bin", "grub-efi-amd64-bin", "grub-efi-amd64-signed", "shim-signed",
    "efibootmgr", "mokutil", "selinux-policy-default", "policycoreutils", "selinux-utils", "cloud-init",
    "waagent", "openssh-server", "sudo", "chrony", "cryptsetup", "tpm2-tools", "lvm2", "e2fsprogs",
    "xfsprogs", "dosfstools", "rpm", "dnf", "procps", "iproute2", "passwd", "login", "util-linux",
    "vim-tiny", "less", "tmux", "tar", "rsync", "auditd", "cloud-guest-utils", "hyperv-daemons",
    "azure-vm-utils", "kmod", "zstd", "ca-certificates", "tzdata", "kbd", "netbase", "iputils-ping", "python3",
    "python3-selinux", "curl",
    # What the installer's own live system needs beyond a server (the RPM-built ISO, iso/live/testdistro.yaml):
    # the live initramfs (dracut's dmsquash-live), the installer's Python bindings and the tools it runs.
    "dracut-live", "python3-yaml", "python3-parted", "python3-libcomps", "python3-cryptography", "createrepo-c",
    "squashfs-tools", "parted", "fdisk", "xkb-data",
)  # fmt: skip

# Requires Azure Linux's packages have that Debian's do not: Fedora's cloud-init requires the SELinux
# bindings, with which it labels every file it writes (without them its files keep the wrong type).
EXTRA_REQUIRES: dict[str, tuple[str, ...]] = {"cloud-init": ("python3-selinux",)}

# Azure Linux name -> the Debian packages whose files it carries. A Debian package appears once.
RENAMES: dict[str, tuple[str, ...]] = {
    "kernel": ("linux-image-amd64", "linux-image-*-amd64"),
    "grub2-tools": ("grub-common", "grub2-common"),
    "grub2-pc": ("grub-pc-bin",),
    "grub2-efi-x64": ("grub-efi-amd64-signed",),
    "grub2-efi-x64-modules": ("grub-efi-amd64-bin", "grub-efi-amd64-unsigned"),
    "shim-x64": ("shim-signed", "shim-unsigned", "shim-helpers-amd64-signed", "shim-signed-common"),
    "systemd": ("systemd", "systemd-sysv"),  # Fedora's systemd has poweroff, reboot, halt and /sbin/init
    "systemd-udev": ("udev", "systemd-cryptsetup"),
    "selinux-policy-targeted": ("selinux-policy-default",),
    "WALinuxAgent": ("waagent",),
    "cloud-utils-growpart": ("cloud-guest-utils",),
    "vim-minimal": ("vim-tiny", "vim-common"),
    "procps-ng": ("procps",),
    "iproute": ("iproute2",),
    "shadow-utils": ("passwd",),
    # Fedora's util-linux ships /usr/bin/login; as a package of its own nothing required it, and a
    # console login failed with "agetty: can't exec /bin/login" (the serial UI test found it).
    "util-linux": ("util-linux", "login", "fdisk"),  # Fedora's util-linux has sfdisk and fdisk too
    "audit": ("auditd",),
    "glibc": ("libc6", "libc-bin"),
    "python3-pyyaml": ("python3-yaml",),
    "python3-pyparted": ("python3-parted",),
    "createrepo_c": ("createrepo-c",),
    "xkeyboard-config": ("xkb-data",),
}

# Extra capabilities: names Azure Linux splits into packages of their own that Debian ships inside another.
PROVIDES: dict[str, tuple[str, ...]] = {
    "kernel": ("kernel-core", "kernel-modules", "kernel-uname-r"),
    "systemd": ("systemd-networkd", "systemd-resolved"),
    "azurelinux-release": (f"system-release(releasever) = {VERSION_ID}", "system-release"),
    "selinux-policy-targeted": ("selinux-policy",),
    # Scriptlets need /bin/sh; the merged-/usr file lists name /usr/bin/sh. (Debian's sh is dash.)
    "dash": ("/bin/sh",),
    "bash": ("/bin/bash",),
}

# Packages that exist only in the test distribution (no Debian files), with what they require.
NEW_PACKAGES: dict[str, tuple[str, ...]] = {
    "filesystem": (),  # every shared directory and the merged-/usr links (/bin -> usr/bin, ...)
    "setup": (),  # /etc/passwd, group, shadow, shells: the users every package's files name (installed first)
    "azurelinux-release": ("filesystem",),
    "azurelinux-repos": ("azurelinux-release",),
    "basesystem": ("filesystem", "setup", "azurelinux-release"),  # + Debian's Essential packages
}

OS_RELEASE = f"""NAME="Azure Linux (test distribution)"
VERSION="{VERSION_ID} (test distribution built from Debian {SUITE})"
ID=azurelinux
ID_LIKE=fedora
VERSION_ID="{VERSION_ID}"
PRETTY_NAME="Azure Linux {VERSION_ID} (test distribution)"
ANSI_COLOR="1;34"
HOME_URL="https://aka.ms/azurelinux"
"""

# The policy is Debian's reference policy, installed under Azure Linux's policy name.
SELINUX_CONFIG = "SELINUX=enforcing\nSELINUXTYPE=targeted\n"
# Gaps of Debian 13's reference policy against its own systemd 257, auditd and cloud-init, seen as denials
# when the test distribution booted enforcing (Fedora's and Azure Linux's policy allow these): the rules
# first seen, and the domains that kept failing on the next permission each boot are made permissive
# (their denials are still logged, with permissive=1, and the VM test reads them). Not about labels:
# the installer's files carry the contexts the policy's own file_contexts give them.
SELINUX_PERMISSIVE = ("systemd_generator_t", "getty_t", "syslogd_t", "systemd_modules_load_t",
                      "systemd_tmpfiles_t", "systemd_journal_init_t", "auditd_t", "auditctl_t", "useradd_t")
SELINUX_MODULE_NAME = "azl-testdistro"
SELINUX_MODULE = "".join(f"(typepermissive {domain})\n" for domain in SELINUX_PERMISSIVE) + """
; cloud-init's generator (ds-identify) reads the NoCloud seed in /var/lib/cloud and makes /run/cloud-init
(allow systemd_generator_t var_lib_t (dir (getattr search open read)))
(allow systemd_generator_t var_lib_t (file (getattr open read)))
(allow systemd_generator_t var_lib_t (lnk_file (getattr read)))
(allow systemd_generator_t var_run_t (dir (getattr search write add_name create)))
; agetty looks for systemd credentials in /run/credentials
(allow getty_t tmpfs_t (dir (search)))
; journalctl started by a service
(allow systemd_journal_init_t var_log_t (dir (search)))
"""

# Debian state that must not travel into packages: it is made per machine (host keys, machine-id),
# belongs to dpkg/apt/debconf, or is rebuilt by the installer (initramfs images, boot links).
DROPPED_PREFIXES = (
    "/var/lib/dpkg", "/var/lib/apt", "/var/cache", "/var/log/apt", "/var/log/dpkg.log", "/var/lib/ucf",
    "/var/lib/systemd/deb-systemd",
    "/etc/ssh/ssh_host_", "/etc/machine-id", "/var/lib/dbus/machine-id", "/boot/initrd.img", "/initrd.img",
    "/vmlinuz", "/etc/resolv.conf", "/var/lib/shells.state", "/var/lib/wtmpdb", "/etc/rcS.d", "/etc/rc0.d",
    "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d", "/etc/apt",
    "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/lib/selinux/default/active/modules/disabled",
)  # fmt: skip
DROPPED_SUFFIXES = ("-",)  # /etc/passwd- and friends: backups made by the tools that wrote the file
SKELETON_DIRS = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp")  # empty in filesystem, kept for mounts

# Files that maintainer scripts created, by the package that carries them in the test distribution.
STATE_OWNERS = (
    ("/etc/passwd", "setup"), ("/etc/group", "setup"), ("/etc/shadow", "setup"), ("/etc/gshadow", "setup"),
    ("/etc/subuid", "setup"), ("/etc/subgid", "setup"), ("/etc/shells", "setup"), ("/root/", "setup"),
    ("/etc/selinux/", "selinux-policy-targeted"), ("/var/lib/selinux/", "selinux-policy-targeted"),
    ("/etc/hosts", "setup"), ("/etc/networks", "setup"), ("/etc/mtab", "filesystem"),
    # Written by postinsts from templates the packages carry (pam-auth-update, ucf, base-files):
    ("/etc/pam.d/common-", "libpam-runtime"), ("/etc/environment", "libpam-modules"),
    ("/etc/security/opasswd", "libpam-modules"), ("/etc/nsswitch.conf", "base-files"), ("/etc/profile", "base-files"),
    ("/etc/inputrc", "readline-common"), ("/etc/motd", "base-files"), ("/etc/ssh/sshd_config", "openssh-server"),
    ("/etc/ca-certificates.conf", "ca-certificates"), ("/etc/ssl/certs/", "ca-certificates"),
    ("/etc/modules", "kmod"), ("/usr/lib/udev/hwdb.bin", "systemd-udev"),
    ("/var/lib/systemd/catalog/database", "systemd"), ("/etc/python3/", "python3"),
    ("/var/lib/python/python3.13_installed", "python3.13"),
)  # fmt: skip
# Debian names the policy "default"; Azure Linux (and Fedora) "targeted".
PATH_RENAMES = (("/etc/selinux/default", "/etc/selinux/targeted"),
                ("/var/lib/selinux/default", "/var/lib/selinux/targeted"))


@dataclass(frozen=True)
class Recipe:
    suite: str = SUITE
    packages: tuple[str, ...] = DEBIAN_PACKAGES

    def key(self, builder_sources: bytes) -> str:
        """Names the cache entry: a change to the package list or to the builder's code rebuilds."""
        digest = hashlib.sha256(repr((self.suite, self.packages)).encode() + builder_sources)
        return f"{self.suite}-{digest.hexdigest()[:12]}"

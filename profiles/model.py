"""The Profile: everything an install needs, typed and frozen.

One Profile comes from a YAML file, an imported kickstart or the interactive UI; the engine
only ever sees this model. Field metadata carries the documentation used by the JSON
Schema and marks secrets, which are removed before a profile is logged or saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from profiles.userdata_secrets import redact_user_data

Filesystem = Literal["ext4", "xfs", "btrfs", "vfat", "swap", "biosboot", "none"]
BootMode = Literal["uefi", "bios", "both"]


def doc(text: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: a description for the schema and docs, plus flags such as secret."""
    return {"doc": text, **extra}


@dataclass(frozen=True)
class DiskMatch:
    """Chooses a disk by explicit properties; every rule given must hold."""

    path: str | None = field(default=None, metadata=doc("device path, e.g. /dev/vda or /dev/disk/by-id/..."))
    serial: str | None = field(default=None, metadata=doc("the disk's serial number"))
    model: str | None = field(default=None, metadata=doc("the disk's model string (exact match)"))
    min_size: int | None = field(default=None, metadata=doc("smallest acceptable size", size=True))
    max_size: int | None = field(default=None, metadata=doc("largest acceptable size", size=True))


@dataclass(frozen=True)
class Subvolume:
    name: str = field(metadata=doc("btrfs subvolume name"))
    mount: str = field(metadata=doc("mount point"))


@dataclass(frozen=True)
class AutoLayout:
    """ESP and/or BIOS boot partition, /boot, and a root filling the rest of the first disk."""

    filesystem: Literal["ext4", "xfs", "btrfs"] = field(default="xfs", metadata=doc("root filesystem"))
    boot: BootMode = field(default="uefi", metadata=doc("firmware the disk must boot with"))
    boot_size: int = field(default=1024**3, metadata=doc("size of /boot", size=True))
    esp_size: int = field(default=512 * 1024**2, metadata=doc("size of the EFI system partition", size=True))
    subvolumes: tuple[Subvolume, ...] = field(
        default=(), metadata=doc("btrfs only: subvolumes; default root -> / and home -> /home")
    )


@dataclass(frozen=True)
class Partition:
    size: int = field(metadata=doc("size, or the minimum size when grow is true", size=True))
    disk: int = field(default=0, metadata=doc("index into storage.disks"))
    grow: bool = field(default=False, metadata=doc("take the free space left on the disk"))
    mount: str | None = field(default=None, metadata=doc("mount point, e.g. / or /boot"))
    filesystem: Filesystem = field(default="xfs", metadata=doc("filesystem to create"))
    label: str | None = field(default=None, metadata=doc("filesystem label"))
    subvolumes: tuple[Subvolume, ...] = field(default=(), metadata=doc("btrfs only: subvolumes to create"))
    raid: str | None = field(default=None, metadata=doc(
        "a member of the software RAID array of this name (storage.raids); filesystem: none"))
    volume_group: str | None = field(default=None, metadata=doc(
        "a physical volume of the LVM volume group of this name (storage.volume_groups); filesystem: none"))


@dataclass(frozen=True)
class RaidArray:
    """A software RAID (mdadm) array over the partitions that name it, as /dev/md/NAME."""

    name: str = field(metadata=doc("array name: /dev/md/NAME"))
    level: Literal[0, 1, 5, 10] = field(metadata=doc("RAID level: 0, 1, 5 or 10"))
    mount: str | None = field(default=None, metadata=doc("mount point, e.g. /boot"))
    filesystem: Filesystem = field(default="xfs", metadata=doc("filesystem to create, or none for a volume group"))
    label: str | None = field(default=None, metadata=doc("filesystem label"))
    volume_group: str | None = field(default=None, metadata=doc(
        "the array is a physical volume of this volume group instead (filesystem: none)"))


@dataclass(frozen=True)
class LogicalVolume:
    name: str = field(metadata=doc("logical volume name: /dev/VG/NAME"))
    size: int | None = field(default=None, metadata=doc("size; or percent; or grow alone", size=True))
    percent: int | None = field(default=None, metadata=doc("size as a percentage of the volume group (1-100)"))
    grow: bool = field(default=False, metadata=doc("take the space the other volumes leave (one per group)"))
    mount: str | None = field(default=None, metadata=doc("mount point"))
    filesystem: Filesystem = field(default="xfs", metadata=doc("filesystem to create"))
    label: str | None = field(default=None, metadata=doc("filesystem label"))
    thin_pool: bool = field(default=False, metadata=doc(
        "a thin pool (filesystem: none): the thin volumes naming it take their blocks from it as they write"))
    pool: str | None = field(default=None, metadata=doc(
        "a thin volume of this group's thin pool of that name: size is its virtual size (thin volumes may add up "
        "to more than the pool); grow: true makes it as large as the pool"))


@dataclass(frozen=True)
class VolumeGroup:
    """An LVM volume group over the partitions and arrays that name it, and its logical volumes."""

    name: str = field(metadata=doc("volume group name"))
    logical_volumes: tuple[LogicalVolume, ...] = field(default=(), metadata=doc("its logical volumes"))
    encrypted: bool = field(default=False, metadata=doc(
        "its physical volumes are LUKS2 volumes (the encryption section's key): one unlock opens every "
        "logical volume, as Anaconda's autopart --encrypted"))


@dataclass(frozen=True)
class Storage:
    disks: tuple[DiskMatch, ...] = field(metadata=doc("target disks, each chosen by match rules"))
    leave_alone: tuple[DiskMatch, ...] = field(default=(), metadata=doc("disks that must not be touched"))
    auto: AutoLayout | None = field(default=None, metadata=doc("automatic layout (the default)"))
    partitions: tuple[Partition, ...] = field(default=(), metadata=doc("explicit layout instead of auto"))
    raids: tuple[RaidArray, ...] = field(default=(), metadata=doc("software RAID arrays over partitions"))
    volume_groups: tuple[VolumeGroup, ...] = field(default=(), metadata=doc("LVM volume groups"))


@dataclass(frozen=True)
class Repository:
    name: str = field(metadata=doc("repository id"))
    baseurl: str | None = field(default=None, metadata=doc(
        "file://, http:// or https:// URL, or a directory (relative to the profile); one of baseurl, mirrorlist, "
        "metalink"))
    mirrorlist: str | None = field(default=None, metadata=doc("http(s) URL of a mirror list"))
    metalink: str | None = field(default=None, metadata=doc("http(s) URL of a metalink"))
    gpgcheck: bool = field(default=True, metadata=doc("verify package signatures"))
    gpgkey: str | None = field(default=None, metadata=doc("URL of the signing key"))
    cost: int | None = field(default=None, metadata=doc("dnf cost: of two repositories with a package, the cheaper "
                                                        "wins (default 1000)"))
    include: tuple[str, ...] = field(default=(), metadata=doc("only these packages are taken from it (includepkgs)"))
    exclude: tuple[str, ...] = field(default=(), metadata=doc("these packages are never taken from it "
                                                              "(excludepkgs)"))
    install: bool = field(default=False, metadata=doc("also write it to the installed system's /etc/yum.repos.d"))

    def source(self) -> str:
        """The one location given: baseurl, mirrorlist or metalink."""
        return self.baseurl or self.mirrorlist or self.metalink or ""


@dataclass(frozen=True)
class RootImage:
    path: str = field(metadata=doc("path of a root filesystem image (.tar, .tar.gz, .tar.zst, .squashfs)"))
    format: Literal["tar", "squashfs"] | None = field(default=None, metadata=doc("guessed from the name if unset"))
    sha256: str | None = field(default=None, metadata=doc("the image's SHA-256 (64 hex digits); checked before "
                                                          "it is unpacked"))


@dataclass(frozen=True)
class Payload:
    repositories: tuple[Repository, ...] = field(default=(), metadata=doc("dnf repositories"))
    environment: str | None = field(default=None, metadata=doc("comps environment id"))
    groups: tuple[str, ...] = field(default=(), metadata=doc("comps group ids"))
    packages: tuple[str, ...] = field(default=(), metadata=doc("extra packages"))
    exclude: tuple[str, ...] = field(default=(), metadata=doc("packages never installed"))
    image: RootImage | None = field(default=None, metadata=doc("root filesystem image unpacked first"))
    releasever: str = field(default="4.0", metadata=doc("$releasever for repository URLs"))
    install_weak_deps: bool = field(default=False, metadata=doc("install weak dependencies"))
    docs: bool = field(default=True, metadata=doc("install documentation files (false: dnf's nodocs)"))
    languages: tuple[str, ...] | None = field(default=None, metadata=doc(
        "locales whose translations are installed (rpm's _install_langs), e.g. [en_US]; unset = all"))
    ignore_missing: bool = field(default=False, metadata=doc(
        "install what exists when a named package or group is not in the repositories (default: refuse)"))
    timeout: int = field(default=30, metadata=doc(
        "seconds dnf waits on a repository that sends nothing before it gives up (dnf's timeout; it tries "
        "about four times per file, so a stalled mirror fails the install after about four times this)"))


@dataclass(frozen=True)
class TimeSource:
    host: str = field(metadata=doc("NTP server or pool host name or address"))
    pool: bool = field(default=False, metadata=doc("a pool (several servers behind one name)"))
    nts: bool = field(default=False, metadata=doc("authenticate with Network Time Security"))


@dataclass(frozen=True)
class System:
    hostname: str = field(default="azurelinux", metadata=doc("host name"))
    timezone: str = field(default="UTC", metadata=doc("IANA time zone, e.g. Europe/Berlin"))
    time_sources: tuple[TimeSource, ...] = field(default=(), metadata=doc(
        "NTP servers and pools added to chrony (on Azure besides the Hyper-V clock)"))
    ntp: bool = field(default=True, metadata=doc("false: chronyd is disabled (the clock is not synchronized)"))
    locale: str = field(default="C.UTF-8", metadata=doc("LANG value, e.g. en_US.UTF-8"))
    keyboard: str = field(default="us", metadata=doc("console keymap"))
    selinux: Literal["enforcing", "permissive", "disabled"] = field(default="enforcing", metadata=doc(
        "SELinux mode of the installed system (Azure Linux: enforcing); labels come from the target's own policy"))


@dataclass(frozen=True)
class Group:
    name: str = field(metadata=doc("group name"))
    gid: int | None = field(default=None, metadata=doc("numeric group id; next free if unset"))


@dataclass(frozen=True)
class User:
    name: str = field(metadata=doc("login name"))
    groups: tuple[str, ...] = field(default=(), metadata=doc("supplementary groups (created if missing)"))
    password_hash: str | None = field(
        default=None, metadata=doc("crypt(3) hash such as $6$... or $y$...; unset = password login disabled")
    )
    ssh_keys: tuple[str, ...] = field(default=(), metadata=doc("authorized SSH public keys"))
    uid: int | None = field(default=None, metadata=doc("numeric user id; next free from 1000 if unset"))
    gid: int | None = field(default=None, metadata=doc("numeric id of the user's own group; default the uid"))
    home: str | None = field(default=None, metadata=doc("home directory; default /home/NAME"))
    locked: bool = field(default=False, metadata=doc("lock the password (SSH keys still log in)"))
    shell: str = field(default="/bin/bash", metadata=doc("login shell"))
    gecos: str = field(default="", metadata=doc("full name"))


@dataclass(frozen=True)
class Root:
    locked: bool = field(default=True, metadata=doc("lock the root password (the default)"))
    password_hash: str | None = field(default=None, metadata=doc("crypt(3) hash; needs locked: false"))
    ssh_keys: tuple[str, ...] = field(default=(), metadata=doc("authorized SSH public keys for root"))


# Where Anaconda mounts the target: kickstart scripts name it, and their --log files under it.
ANACONDA_ROOT = "/mnt/sysimage"


@dataclass(frozen=True)
class Script:
    body: str = field(metadata=doc("script text"))
    interpreter: str = field(default="/bin/sh", metadata=doc("interpreter path"))
    chroot: bool = field(default=True, metadata=doc("post scripts: run inside the target"))
    name: str | None = field(default=None, metadata=doc("name shown in progress and logs"))
    fail_install: bool = field(default=True, metadata=doc(
        "a non-zero exit fails the install (false: logged as a warning and the install goes on)"))
    log: str | None = field(default=None, metadata=doc(
        "also append the script's output to this file (inside the target for chroot scripts, and for others "
        "when it is under /mnt/sysimage, Anaconda's target root)"))
    timeout: int | None = field(default=None, metadata=doc(
        "seconds the script may run: then it is stopped, with everything it started, and that is its failure "
        "(unset: no limit)"))


@dataclass(frozen=True)
class Scripts:
    pre: tuple[Script, ...] = field(default=(), metadata=doc("run before storage is touched"))
    pre_install: tuple[Script, ...] = field(default=(), metadata=doc(
        "run after the target is mounted, before the packages (on the installer, AZL_TARGET = the target root)"))
    post: tuple[Script, ...] = field(default=(), metadata=doc("run after the system is configured"))
    on_error: tuple[Script, ...] = field(default=(), metadata=doc(
        "run on the installer when the install fails, before the teardown (AZL_TARGET = the target root)"))


# Microsoft's guidance for Linux on Azure: serial console first, and patience for slow disks.
AZURE_CMDLINE = ("console=tty1", "console=ttyS0,115200n8", "earlyprintk=ttyS0", "rootdelay=300", "net.ifnames=0")
# Drivers a VM's initramfs needs to find its root disk on Hyper-V/Azure and on QEMU. pci_hyperv: Hyper-V's
# virtual PCI bus, which carries the NVMe disks of Azure's NVMe VM sizes.
VM_DRIVERS = ("hv_vmbus", "hv_storvsc", "hv_netvsc", "pci_hyperv", "nvme", "nvme_core", "virtio_blk", "virtio_scsi",
              "virtio_pci", "sd_mod", "ahci")


@dataclass(frozen=True)
class Bootloader:
    """GRUB (with shim where the target has it) and the initramfs, made by the target's own tools."""

    enabled: bool = field(default=True, metadata=doc("install a boot loader and build the initramfs"))
    cmdline: tuple[str, ...] = field(default=AZURE_CMDLINE, metadata=doc("kernel command line (Azure defaults)"))
    extra_cmdline: tuple[str, ...] = field(default=(), metadata=doc("appended to cmdline"))
    timeout: int = field(default=1, metadata=doc("seconds the GRUB menu waits"))
    initramfs_drivers: tuple[str, ...] = field(default=VM_DRIVERS, metadata=doc("drivers always in the initramfs"))
    password_hash: str | None = field(default=None, metadata=doc(
        "GRUB superuser password as grub2-mkpasswd-pbkdf2 writes it (grub.pbkdf2.sha512...): editing a menu "
        "entry or the GRUB shell asks for it, booting does not (Azure Linux's GRUB reads it from user.cfg)"))


KeySource = Literal["passphrase", "keyvault-secret", "keyvault-key"]
UnlockMethod = Literal["tpm2", "keyvault", "passphrase"]


@dataclass(frozen=True)
class VaultIdentity:
    """Who the installer is towards Azure Key Vault: the VM's managed identity or a service principal."""

    kind: Literal["managed-identity", "service-principal"] = field(
        default="managed-identity", metadata=doc("managed-identity (the VM's metadata endpoint) or service-principal")
    )
    client_id: str | None = field(
        default=None, metadata=doc("application (client) id; for a managed identity: a user-assigned one's id")
    )
    tenant_id: str | None = field(default=None, metadata=doc("service principal: the Entra ID tenant id"))
    client_secret: str | None = field(default=None, metadata=doc("service principal: client secret", secret=True))
    certificate_path: str | None = field(
        default=None, metadata=doc("service principal: PEM file holding the certificate and its private key")
    )
    certificate_password: str | None = field(
        default=None, metadata=doc("password of the certificate's private key", secret=True)
    )
    authority: str | None = field(
        default=None, metadata=doc("service principal: https sign-in authority URL; unset = Azure public cloud")
    )


@dataclass(frozen=True)
class Pbkdf:
    """How a key slot's passphrase is stretched. argon2id with memory sized from the machine's RAM by default."""

    type: Literal["argon2id", "argon2i", "pbkdf2"] = field(default="argon2id", metadata=doc("key derivation function"))
    memory: int | None = field(
        default=None, metadata=doc("argon2 memory; unset = a quarter of the RAM, at least 64 MiB, at most 1 GiB",
                                   size=True)
    )
    iter_time: int = field(default=2000, metadata=doc("milliseconds one unlock takes on this machine"))
    parallel: int | None = field(default=None, metadata=doc("argon2 threads; unset = the CPUs, at most 4"))


@dataclass(frozen=True)
class Recovery:
    """The recovery key: always enrolled in its own key slot; escrowed in Key Vault or shown once."""

    escrow: Literal["auto", "keyvault", "print"] = field(
        default="auto", metadata=doc("keyvault: a Key Vault secret tagged with the LUKS UUID and host name; "
                                     "print: shown once on the console; auto: keyvault when vault_url is set")
    )
    secret_name: str | None = field(
        default=None, metadata=doc("Key Vault secret name; unset = luks-recovery-HOSTNAME-VOLUME")
    )


@dataclass(frozen=True)
class Encryption:
    """LUKS2 encryption of the root (and any other chosen) volume; /boot is never encrypted."""

    enabled: bool = field(default=False, metadata=doc("encrypt the chosen volumes with LUKS2"))
    key_source: KeySource = field(
        default="passphrase", metadata=doc("passphrase; keyvault-secret: a Key Vault secret holding the passphrase; "
                                           "keyvault-key: a random key wrapped by a Key Vault RSA key (RSA-OAEP-256)")
    )
    passphrase: str | None = field(default=None, metadata=doc("passphrase (secret)", secret=True))
    vault_url: str | None = field(default=None, metadata=doc("https URL of the Key Vault"))
    key_name: str | None = field(default=None, metadata=doc("Key Vault secret or key name"))
    key_version: str | None = field(default=None, metadata=doc("Key Vault secret or key version; unset = latest"))
    identity: VaultIdentity = field(default_factory=VaultIdentity, metadata=doc("identity used for Key Vault"))
    ca_bundle: str | None = field(default=None, metadata=doc(
        "PEM file of the CAs to trust for the vault and sign-in (a private endpoint or Azure Stack Hub with its "
        "own CA), relative to the profile; copied into the target for boot-time unlock; unset = the system's CAs"))
    volumes: tuple[str, ...] = field(default=("/",), metadata=doc("mount points of the volumes to encrypt"))
    cipher: str = field(default="aes-xts-plain64", metadata=doc("dm-crypt cipher"))
    key_size: int = field(default=512, metadata=doc("key size in bits (512 = AES-256 in XTS mode)"))
    pbkdf: Pbkdf = field(default_factory=Pbkdf, metadata=doc("key slot key derivation"))
    recovery: Recovery = field(default_factory=Recovery, metadata=doc("recovery key escrow"))
    unlock: tuple[UnlockMethod, ...] = field(
        default=("passphrase",), metadata=doc("unlock at boot, tried in order: tpm2, keyvault, passphrase (console)")
    )
    tpm2_pcrs: tuple[int, ...] = field(default=(), metadata=doc(
        "unlock tpm2: the PCRs the TPM2 key is sealed to. [] = this TPM alone (the disk unlocks only in this "
        "VM); [7] = also the Secure Boot state, safe only when the installer and the installed system boot "
        "the same signed chain (else the first boot cannot unseal and asks for the passphrase)"))

    def recovery_escrow(self) -> str:
        """Where recovery keys go: 'keyvault' or 'print' (auto: the vault when there is one)."""
        if self.recovery.escrow == "auto":
            return "keyvault" if self.vault_url else "print"
        return self.recovery.escrow


@dataclass(frozen=True)
class CloudInit:
    """First-boot data for cloud-init: a NoCloud seed written into the target, and the datasource list."""

    user_data: str | None = field(default=None, metadata=doc(
        "inline user-data: '#cloud-config' YAML or a MIME multipart (one of user_data, user_data_file, "
        "user_data_url); its passwords and private keys are removed from every saved or logged copy",
        redact_with=redact_user_data))
    user_data_file: str | None = field(default=None, metadata=doc("file holding the user-data, relative to the "
                                                                  "profile"))
    user_data_url: str | None = field(default=None, metadata=doc("http(s) URL of the user-data, fetched at "
                                                                 "install time"))
    instance_id: str | None = field(default=None, metadata=doc("meta-data instance-id; default iid-<hostname>"))
    network_config: str | None = field(default=None, metadata=doc(
        "network-config (version 1 or 2 YAML); unset = cloud-init's default (DHCP on the first NIC)"))
    datasources: tuple[str, ...] = field(default=(), metadata=doc(
        "datasource_list; default [Azure, NoCloud] when azure is enabled, [NoCloud] otherwise"))


@dataclass(frozen=True)
class Azure:
    """An Azure VM: the distribution's Azure kernel and agents, plus the few settings they do not ship.

    Every piece can be turned off, for images meant for other hypervisors too."""

    enabled: bool = field(default=True, metadata=doc("configure the target for Azure (false: apply nothing)"))
    kernel: str = field(default="kernel", metadata=doc("kernel package (Azure Linux's kernel is built for Azure)"))
    cmdline: tuple[str, ...] = field(default=("nvme_core.io_timeout=240",), metadata=doc(
        "added to the kernel command line (bootloader.cmdline already holds the serial console settings)"))
    initramfs_drivers: tuple[str, ...] = field(default=("hv_vmbus", "hv_netvsc", "hv_storvsc", "pci_hyperv", "nvme",
                                                        "nvme_core"),
                                               metadata=doc("drivers added to the initramfs"))
    agent: bool = field(default=True, metadata=doc("install WALinuxAgent and set /etc/waagent.conf"))
    provisioning: Literal["cloud-init", "auto"] = field(default="cloud-init", metadata=doc(
        "waagent Provisioning.Agent: cloud-init provisions, the agent handles extensions"))
    cloud_init: bool = field(default=True, metadata=doc("install cloud-init with the Azure datasource first"))
    vm_utils: bool = field(default=True, metadata=doc("install azure-vm-utils (/dev/disk/azure names, NVMe ids)"))
    hyperv_daemons: bool = field(default=True, metadata=doc("install hyperv-daemons (KVP, VSS)"))
    chrony: bool = field(default=True, metadata=doc("install chrony with the Hyper-V PTP clock as reference"))
    accelerated_networking: bool = field(default=True, metadata=doc(
        "leave SR-IOV virtual functions (mana, mlx4, mlx5) to the synthetic NIC: NM_UNMANAGED udev rule"))
    ssh_keepalive: int = field(default=180, metadata=doc("sshd ClientAliveInterval in seconds; 0 = leave sshd "
                                                         "alone"))
    trusted_launch: bool = field(default=False, metadata=doc(
        "Trusted Launch ready: UEFI layout required, signed shim + GRUB installed (Secure Boot chain)"))
    generalize: bool = field(default=False, metadata=doc(
        "leave the disk generalized for capture: empty machine-id, no SSH host keys, cloud-init and the "
        "agent deprovisioned"))


@dataclass(frozen=True)
class Services:
    """systemd units of the installed system, applied after everything the installer itself enables."""

    enable: tuple[str, ...] = field(default=(), metadata=doc("units to enable (.service may be left out)"))
    disable: tuple[str, ...] = field(default=(), metadata=doc("units to disable"))


@dataclass(frozen=True)
class Firewall:
    """firewalld in the installed system, set up offline with its own firewall-offline-cmd."""

    enabled: bool = field(default=True, metadata=doc("false: firewalld is disabled (and not installed)"))
    zone: str | None = field(default=None, metadata=doc("default zone; unset = firewalld's (public)"))
    services: tuple[str, ...] = field(default=(), metadata=doc("firewalld services allowed, e.g. ssh, http"))
    ports: tuple[str, ...] = field(default=(), metadata=doc("ports allowed: PORT/tcp, PORT/udp, or FROM-TO/tcp"))
    remove_services: tuple[str, ...] = field(default=(), metadata=doc("services of the zone to close"))
    trusted_interfaces: tuple[str, ...] = field(default=(), metadata=doc("interfaces put in the trusted zone"))


@dataclass(frozen=True)
class NetworkInterface:
    """One link of the installed system, written as systemd-networkd files (Azure Linux VM images use it)."""

    name: str = field(metadata=doc("interface name (eth0), or the name given to a bond or VLAN"))
    mac: str | None = field(default=None, metadata=doc("match the NIC by MAC address instead of its name"))
    kind: Literal["ethernet", "bond", "vlan"] = field(default="ethernet", metadata=doc("ethernet, bond or vlan"))
    ipv4: Literal["dhcp", "static", "off"] = field(default="dhcp", metadata=doc("dhcp, static or off"))
    ipv6: Literal["auto", "dhcp", "static", "off"] = field(default="auto", metadata=doc(
        "auto (router advertisements), dhcp, static or off"))
    addresses: tuple[str, ...] = field(default=(), metadata=doc("static addresses with prefix: 10.0.0.5/24, "
                                                                "2001:db8::5/64"))
    gateway: str | None = field(default=None, metadata=doc("IPv4 default gateway"))
    gateway6: str | None = field(default=None, metadata=doc("IPv6 default gateway"))
    nameservers: tuple[str, ...] = field(default=(), metadata=doc("DNS servers"))
    mtu: int | None = field(default=None, metadata=doc("MTU in bytes"))
    members: tuple[str, ...] = field(default=(), metadata=doc("bond: the member interfaces"))
    bond_mode: str | None = field(default=None, metadata=doc("bond: mode, e.g. active-backup, 802.3ad"))
    vlan_id: int | None = field(default=None, metadata=doc("vlan: the VLAN id (1-4094)"))
    parent: str | None = field(default=None, metadata=doc("vlan: the interface it runs on"))
    enabled: bool = field(default=True, metadata=doc("false: configured but not brought up at boot"))


@dataclass(frozen=True)
class Network:
    """Network configuration of the installed system; unset = cloud-init's (DHCP on the first NIC on Azure)."""

    interfaces: tuple[NetworkInterface, ...] = field(default=(), metadata=doc("links to configure"))


# The sections of the interactive installer a profile can leave open (interactive_sections); "*" = all.
INTERACTIVE_SECTIONS = ("system", "storage", "encryption", "software", "users", "cloud_init")
InteractiveSection = Literal["system", "storage", "encryption", "software", "users", "cloud_init", "*"]


@dataclass(frozen=True)
class Profile:
    storage: Storage = field(metadata=doc("disks and layout"))
    payload: Payload = field(default_factory=Payload, metadata=doc("what to install"))
    system: System = field(default_factory=System, metadata=doc("host name, time zone, locale, keyboard"))
    users: tuple[User, ...] = field(default=(), metadata=doc("users to create"))
    groups: tuple[Group, ...] = field(default=(), metadata=doc("groups to create (before the users)"))
    root: Root = field(default_factory=Root, metadata=doc("the root account"))
    bootloader: Bootloader = field(default_factory=Bootloader, metadata=doc("boot loader and initramfs"))
    scripts: Scripts = field(default_factory=Scripts, metadata=doc("pre and post install scripts"))
    encryption: Encryption | None = field(default=None, metadata=doc("LUKS2 disk encryption"))
    cloud_init: CloudInit | None = field(default=None, metadata=doc("cloud-init seed for first boot"))
    azure: Azure | None = field(default=None, metadata=doc("Azure VM configuration"))
    network: Network | None = field(default=None, metadata=doc("network of the installed system"))
    services: Services = field(default_factory=Services, metadata=doc("units to enable and disable"))
    firewall: Firewall | None = field(default=None, metadata=doc("firewalld; unset = as the payload leaves it"))
    after_install: Literal["poweroff", "reboot", "halt", "none"] | None = field(default=None, metadata=doc(
        "what the installer ISO does when an unattended install ends (inst.reboot overrides; unset = poweroff); "
        "'azl-installer install' never stops the machine it runs on"))
    report_url: str | None = field(default=None, metadata=doc(
        "http(s) URL of a directory a result is sent to when an install ends, however it ends: "
        "PUT URL/NAME.json (exit code, step, message) and URL/NAME.tar.gz (the log bundle, secrets removed), "
        "NAME being the machine's SMBIOS UUID, serial or first MAC (docs/fleet.md); a report that cannot be "
        "sent is one line in the log and never changes the install's exit code"))
    interactive_sections: tuple[InteractiveSection, ...] = field(default=(), metadata=doc(
        "interactive installer only: the sections whose screens are shown, prefilled from this profile (system, "
        "storage, encryption, software, users, cloud_init, or * for all); the rest is taken as written. Review "
        "is always shown. 'azl-installer install' refuses a profile that sets this"))
    version: int = field(default=1, metadata=doc("profile format version"))

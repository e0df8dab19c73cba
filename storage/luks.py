"""LUKS2 volumes: format with the profile's cipher and PBKDF, enrol a recovery key, keep the wrapped key
in a LUKS2 token, and describe the result for crypttab and the kernel command line.

Every command goes through the Runner with argv lists; keys reach cryptsetup only as files in a
private tmpfs directory (KeyDir), never as arguments, so no key appears in the command log.
Opening a volume needs device-mapper, which the development hosts lack: the plan refuses
encryption there (the encryption-keys step's blockers) before anything is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.core.events import EventBus
from installer.core.runner import Runner
from installer.core.secrets import KeyDir, SecretBytes
from profiles.model import Encryption
from profiles.sizes import GiB, MiB
from storage.layout import StoragePlan

AUTO_MEMORY_MIN = 64 * MiB
AUTO_MEMORY_MAX = GiB  # cryptsetup's own cap, and what a small VM can spare in its initramfs
TOKEN_TYPE = "azure-keyvault"
UNLOCK_SLOT = "0"  # the volume key (passphrase, Key Vault secret or unwrapped key)
RECOVERY_SLOT = "1"  # the recovery key


@dataclass(frozen=True)
class LuksSettings:
    cipher: str
    key_size: int
    pbkdf: str
    memory_kib: int | None  # argon2 only
    parallel: int | None  # argon2 only
    iter_time_ms: int

    def describe(self) -> str:
        cost = f", {self.memory_kib // 1024} MiB, {self.parallel} threads" if self.memory_kib else ""
        return f"{self.cipher} {self.key_size}-bit, {self.pbkdf}{cost}, {self.iter_time_ms} ms"

    def pbkdf_args(self) -> list[str]:
        args = ["--pbkdf", self.pbkdf, "--iter-time", str(self.iter_time_ms)]
        if self.memory_kib is not None:
            args += ["--pbkdf-memory", str(self.memory_kib)]
        if self.parallel is not None:
            args += ["--pbkdf-parallel", str(self.parallel)]
        return args


def memory_total(meminfo: str | None = None) -> int:
    """Bytes of RAM, from /proc/meminfo."""
    text = meminfo if meminfo is not None else Path("/proc/meminfo").read_text()
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise ValueError("no MemTotal in /proc/meminfo")


def luks_settings(enc: Encryption, *, ram: int | None = None, cpus: int | None = None) -> LuksSettings:
    """The profile's settings with the automatic parts filled in for this machine.

    argon2 memory: the profile's value, else a quarter of the RAM within 64 MiB..1 GiB; never more
    than half the RAM, so the same machine can unlock the volume again.
    """
    pbkdf = enc.pbkdf
    memory_kib = parallel = None
    if pbkdf.type != "pbkdf2":
        ram = ram if ram is not None else memory_total()
        wanted = pbkdf.memory if pbkdf.memory is not None else min(AUTO_MEMORY_MAX, max(AUTO_MEMORY_MIN, ram // 4))
        memory_kib = max(32 * 1024, min(wanted, ram // 2)) // 1024
        parallel = pbkdf.parallel or max(1, min(4, cpus if cpus is not None else (os.cpu_count() or 1)))
    return LuksSettings(enc.cipher, enc.key_size, pbkdf.type, memory_kib, parallel, pbkdf.iter_time)


@dataclass(frozen=True)
class EncryptedPartition:
    device: str  # the partition, e.g. /dev/vda3
    mount: str  # what it holds, for messages and the recovery secret's name ("/" for a btrfs / + /home)


def encrypted_partitions(plan: StoragePlan, volumes: Sequence[str]) -> list[EncryptedPartition]:
    """The partitions holding the chosen mount points (a btrfs partition counts once, by its first match),
    the logical volumes holding them, and the physical volumes (partitions or arrays) of each encrypted
    volume group."""
    found = []
    for target in plan.targets:
        for part in target.partitions:
            mounts = [m for m in (part.mount, *(sv.mount for sv in part.subvolumes)) if m]
            chosen = [m for m in mounts if m in volumes]
            if chosen:
                found.append(EncryptedPartition(part.device(target.disk.path), chosen[0]))
    for group in plan.groups:
        # LUKS on a logical volume (kickstart's logvol --encrypted): the group itself stays plain.
        found += [EncryptedPartition(v.device, v.mount) for v in group.volumes if v.mount and v.mount in volumes]
        if group.encrypted:
            # Named by what the group holds that matters most: "/" when the root is in it.
            mounts = [v.mount for v in group.volumes if v.mount]
            what = "/" if "/" in mounts else (mounts[0] if mounts else group.name)
            several = len(group.pvs) > 1
            found += [EncryptedPartition(pv.device, f"{what} pv{i}" if several else what)
                      for i, pv in enumerate(group.pvs, start=1)]
    return found


# -- commands ------------------------------------------------------------------------------
def format_argv(device: str, key_file: Path, settings: LuksSettings, *, label: str | None = None,
                uuid: str | None = None) -> list[str]:
    return ["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--cipher", settings.cipher,
            "--key-size", str(settings.key_size), "--hash", "sha256", *settings.pbkdf_args(),
            "--key-slot", UNLOCK_SLOT, *(["--label", label] if label else []), *(["--uuid", uuid] if uuid else []),
            "--key-file", str(key_file), device]


def open_argv(volume: LuksVolume, key_file: Path, *, discard: bool) -> list[str]:
    return ["cryptsetup", "open", "--type", "luks2", *(["--allow-discards"] if discard else []),
            "--key-file", str(key_file), volume.device, volume.mapper_name]


def close_argv(volume: LuksVolume) -> list[str]:
    return ["cryptsetup", "close", volume.mapper_name]


def add_key_argv(device: str, key_file: Path, new_key_file: Path, settings: LuksSettings, slot: str) -> list[str]:
    return ["cryptsetup", "luksAddKey", "--batch-mode", *settings.pbkdf_args(), "--key-file", str(key_file),
            "--new-key-slot", slot, device, str(new_key_file)]


def import_token(runner: Runner, device: str, token: dict[str, Any]) -> None:
    """Store a custom LUKS2 token (JSON; 'keyslots' is required) in the volume's header."""
    if token.get("type") != TOKEN_TYPE or not token.get("keyslots"):
        raise ValueError("a LUKS2 token needs type azure-keyvault and keyslots")
    runner.run(["cryptsetup", "token", "import", device], stdin_text=json.dumps(token, sort_keys=True))


def luks_uuid(runner: Runner, device: str) -> str:
    return runner.run(["cryptsetup", "luksUUID", device]).output.strip()


def luks_metadata(runner: Runner, device: str) -> dict[str, Any]:
    """The LUKS2 header as JSON (keyslots, tokens, segments, digests)."""
    result: dict[str, Any] = json.loads(runner.run(["cryptsetup", "luksDump", "--dump-json-metadata",
                                                    device]).output)
    return result


def key_opens(runner: Runner, device: str, key_file: Path, slot: str | None = None) -> bool:
    """Whether a key file unlocks the volume (no device-mapper needed: nothing is activated)."""
    argv = ["cryptsetup", "open", "--test-passphrase", "--key-file", str(key_file),
            *(["--key-slot", slot] if slot is not None else []), device]
    return runner.run(argv, check=False).returncode == 0


def token_of(metadata: dict[str, Any], kind: str = TOKEN_TYPE) -> dict[str, Any] | None:
    tokens: dict[str, dict[str, Any]] = metadata.get("tokens", {})
    return next((t for t in tokens.values() if t.get("type") == kind), None)


@dataclass
class VolumeKey:
    """The key for slot 0, and (keyvault-key) the LUKS2 token holding its wrapped form."""

    secret: SecretBytes
    token: dict[str, Any] | None
    source: str  # for messages: "the profile's passphrase", "Key Vault secret 'x'", ...

    def wipe(self) -> None:
        self.secret.wipe()


@dataclass(frozen=True)
class LuksVolume:
    device: str
    uuid: str
    mount: str

    @property
    def mapper_name(self) -> str:
        return f"luks-{self.uuid}"

    @property
    def mapper_path(self) -> str:
        return f"/dev/mapper/{self.mapper_name}"


def format_volume(device: str, mount: str, key: VolumeKey, recovery: SecretBytes, settings: LuksSettings,
                  keys: KeyDir, runner: Runner, events: EventBus, *, uuid: str | None = None) -> LuksVolume:
    """luksFormat with the volume key in slot 0, the recovery key in slot 1, the token (if any) imported."""
    key_file = keys.write("volume.key", key.secret)
    try:
        runner.run(format_argv(device, key_file, settings, uuid=uuid))
        recovery_file = keys.write("recovery.key", recovery)
        try:
            runner.run(add_key_argv(device, key_file, recovery_file, settings, RECOVERY_SLOT))
        finally:
            keys.shred(recovery_file)
    finally:
        keys.shred(key_file)
    if key.token is not None:
        import_token(runner, device, key.token)
    volume = LuksVolume(device, uuid or luks_uuid(runner, device), mount)  # luksFormat refuses a bad --uuid
    events.log(f"{device}: LUKS2 volume {volume.uuid} for {mount} ({settings.describe()}); key from {key.source} "
               f"in slot {UNLOCK_SLOT}, recovery key in slot {RECOVERY_SLOT}"
               + ("; wrapped key kept in an azure-keyvault token" if key.token else ""))
    return volume


# -- the installed system ------------------------------------------------------------------
KEYSCRIPT = "/usr/lib/azl-installer/unlock-keyvault"


def crypttab_line(volume: LuksVolume, unlock: Sequence[str], initramfs: str, *, discard: bool = True) -> str:
    """/etc/crypttab for the target's initramfs tool.

    initramfs-tools: 'initramfs' makes cryptroot open the volume early even though the hook cannot
    see the root device from inside the installer's chroot; keyvault unlock is a keyscript that
    falls back to the console itself. dracut (systemd-cryptsetup): x-initrd.attach and tpm2 by
    token; never headless, since everything after the TPM answers its passphrase request: the Key
    Vault agent of unlock keyvault, and the console when the profile allows it (with tpm2 the console
    asks for the passphrase or the recovery key when the TPM cannot unseal: a reset vTPM must not
    leave the disk unbootable; the recovery key is made for that).
    """
    options = ["luks", *(["discard"] if discard else [])]
    if initramfs == "initramfs-tools":
        options.append("initramfs")
        if "keyvault" in unlock:
            options.append(f"keyscript={KEYSCRIPT}")
    else:
        # Opened in the initramfs and kept open until root is unmounted at shutdown (Anaconda writes
        # this for root; every volume here is one the initramfs opens, by rd.luks.uuid=).
        options.append("x-initrd.attach")
        if "tpm2" in unlock:
            options.append("tpm2-device=auto")
    return f"{volume.mapper_name} UUID={volume.uuid} none {','.join(options)}"


def kernel_arguments(volumes: Sequence[LuksVolume]) -> list[str]:
    """What the initramfs needs to find the volumes holding / (and anything else it must open early)."""
    return [f"rd.luks.uuid={v.uuid}" for v in volumes]


# -- can this machine do it? -----------------------------------------------------------------
def device_mapper_available(proc_misc: str | None = None, control: Path = Path("/dev/mapper/control")) -> bool:
    """Whether the kernel offers device-mapper: 'device-mapper' in /proc/misc.

    /dev/mapper/control alone proves nothing: libdevmapper creates that node itself (cryptsetup
    did so on the development hosts, whose kernel has no device-mapper). It is only the fallback
    when /proc/misc cannot be read.
    """
    if proc_misc is None:
        try:
            proc_misc = Path("/proc/misc").read_text()
        except OSError:
            return control.exists()
    return any(line.split()[-1:] == ["device-mapper"] for line in proc_misc.splitlines())


def tpm2_available(sys_class: Path = Path("/sys/class/tpmrm")) -> bool:
    """Whether this machine has a TPM 2.0: the kernel gives only a TPM2 a resource manager (tpmrmN),
    which is also the device systemd-cryptenroll --tpm2-device=auto opens."""
    try:
        return any(entry.name.startswith("tpmrm") for entry in sys_class.iterdir())
    except OSError:
        return False


def tpm2_enroll_argv(volume: LuksVolume, key_file: Path | str, pcrs: Sequence[int]) -> list[str]:
    """systemd-cryptenroll adding a TPM2-sealed key slot (and its LUKS2 token) to a volume, unlocked with
    key_file. --tpm2-pcrs is always given: its default was PCR 7 before systemd 254 and none since."""
    return ["systemd-cryptenroll", f"--unlock-key-file={key_file}", "--tpm2-device=auto",
            f"--tpm2-pcrs={'+'.join(str(p) for p in pcrs)}", volume.device]

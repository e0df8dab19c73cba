"""Unlock: what the installed system needs to open its encrypted volumes at boot.

/etc/crypttab for the target's initramfs tool, and for unlock keyvault the keyscript
(installer/data/unlock-keyvault) with its settings and CA, brought into the initramfs by an
initramfs-tools hook (with curl and NIC drivers), or on dracut targets by the dracut module
azl-unlock (installer/data/dracut): an ask-password agent that answers systemd-cryptsetup with the
keyscript's key, and systemd-networkd (rd.neednet=1) for the network. No key material is written:
the key stays in the vault and, wrapped, in the volume's LUKS2 header. Runs after the payload (the initramfs tool is
then known) and before the boot loader step, which builds the initramfs with what this step adds.
For systems dnf builds, early-config has written crypttab already (the kernel's scriptlets run
dracut during the transaction); this step writes it again for the tool it then finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from installer.core.events import EventBus
from installer.core.files import write_file
from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from installer.steps.encryption_keys import enabled
from installer.target_tools import initramfs_tool
from profiles import Profile
from profiles.model import Encryption
from storage.luks import KEYSCRIPT, LuksVolume, crypttab_line, kernel_arguments

UNLOCK_CONF = "/etc/azl-installer/unlock.conf"
DRACUT_UNLOCK_CONF = "/etc/dracut.conf.d/50-azl-unlock.conf"
# What a system dnf builds needs to open its volumes at boot: dracut's crypt module wants cryptsetup, and
# its tpm2-tss module (libtss2 in the initramfs, for systemd-cryptsetup's TPM2 token) the tpm2 tool.
LUKS_PACKAGES = ("cryptsetup",)
TPM2_PACKAGES = ("tpm2-tools",)
# unlock keyvault on a system dnf builds: curl fetches the key; dracut's network modules (systemd-networkd
# among them) are in dracut-network, and its networkd module needs ip. A first VM run without dracut-network
# failed only at the initramfs build, after the whole payload.
KEYVAULT_PACKAGES = ("curl", "iproute", "dracut-network")
UNLOCK_HOOK = "/etc/initramfs-tools/hooks/azl-unlock"
DRACUT_MODULE = "azl-unlock"
DRACUT_MODULE_DIR = f"/usr/lib/dracut/modules.d/91{DRACUT_MODULE}"
DRACUT_MODULE_FILES = {"module-setup.sh": 0o755, "azl-unlock-agent": 0o755, "azl-unlock.path": 0o644,
                       "azl-unlock.service": 0o644}
VAULT_CA = "/etc/azl-installer/keyvault-ca.pem"
CRYPTSETUP_HOOK_CONF = "/etc/cryptsetup-initramfs/conf-hook"
# Drivers the initramfs needs to reach Key Vault (QEMU/KVM, Hyper-V synthetic NIC).
NETWORK_MODULES = ("virtio_net", "hv_netvsc")


def target_files(enc: Encryption, *, dracut: bool) -> list[str]:
    """Every file unlock setup writes, for the plan (dracut: a system dnf builds; else an image's
    initramfs-tools)."""
    files = ["/etc/crypttab", DRACUT_UNLOCK_CONF] if dracut else ["/etc/crypttab", CRYPTSETUP_HOOK_CONF]
    if "keyvault" in enc.unlock:
        files += [KEYSCRIPT, UNLOCK_CONF, *([VAULT_CA] if enc.ca_bundle else [])]
        files += [f"{DRACUT_MODULE_DIR}/{name}" for name in DRACUT_MODULE_FILES] if dracut else [UNLOCK_HOOK]
    return files


def _data(name: str) -> str:
    return (resources.files("installer") / "data" / name).read_text()


def console_prompt(unlock: Sequence[str], initramfs: str) -> bool:
    """Whether the console may ask for the passphrase or recovery key when nothing else unlocked the
    volume: when the profile allows the passphrase, and on dracut also with tpm2 (a reset vTPM must not
    leave the disk unbootable: the recovery key is made for that)."""
    return "passphrase" in unlock or (initramfs == "dracut" and "tpm2" in unlock)


def unlock_order(unlock: Sequence[str], initramfs: str) -> list[str]:
    """What opens the volumes at boot, in the order it is tried, the console fallback included."""
    order = list(unlock)
    if "passphrase" not in order and console_prompt(unlock, initramfs):
        order.append("recovery key on the console")
    return order


def unlock_conf(enc: Encryption, initramfs: str) -> str:
    # At boot it is always the VM's managed identity (a user-assigned one by its client id); a service
    # principal that ran the install is never stored in the target.
    client_id = (enc.identity.client_id or "") if enc.identity.kind == "managed-identity" else ""
    allow = "yes" if console_prompt(enc.unlock, initramfs) else "no"
    lines = ["# Written by azl-installer: settings of unlock-keyvault (no secrets here).",
             f"AZL_UNLOCK_CLIENT_ID={client_id}", f"AZL_UNLOCK_PASSPHRASE={allow}"]
    if enc.ca_bundle:
        lines.append(f"AZL_UNLOCK_CA={VAULT_CA}")
    return "\n".join(lines) + "\n"


def write_crypttab(enc: Encryption, volumes: Sequence[LuksVolume], initramfs: str, root: Path) -> None:
    header = "# Written by azl-installer: encrypted volumes, opened by LUKS UUID; see crypttab(5).\n"
    write_file(root, "/etc/crypttab", header + "".join(crypttab_line(v, enc.unlock, initramfs) + "\n"
                                                      for v in volumes), mode=0o600)


def add_boot_args(ctx: InstallContext, args: Sequence[str]) -> None:
    """Kernel arguments for the boot loader step, each once (early-config adds them before this step)."""
    ctx.boot_args += [arg for arg in args if arg not in ctx.boot_args]


def dracut_unlock_conf(enc: Encryption) -> str:
    """dracut with hostonly=no leaves the host's crypttab out of the initramfs; its options (tpm2-device,
    headless, x-initrd.attach) must reach systemd-cryptsetup there, so the file goes in explicitly."""
    lines = ["# Written by azl-installer: what the initramfs needs to open the encrypted volumes.",
             'install_items+=" /etc/crypttab "']
    if "tpm2" in enc.unlock:
        # and the TPM's drivers, whichever interface the VM has (QEMU: TIS; Hyper-V's vTPM: CRB)
        lines += ['add_dracutmodules+=" tpm2-tss "', 'add_drivers+=" tpm_tis tpm_crb "']
    if "keyvault" in enc.unlock:
        lines.append(f'add_dracutmodules+=" {DRACUT_MODULE} "')
    return "\n".join(lines) + "\n"


def configure_unlock(enc: Encryption, volumes: Sequence[LuksVolume], tool: str | None, root: Path,
                     events: EventBus) -> list[str]:
    """Write crypttab and the unlock helpers; returns the kernel arguments the boot loader must add."""
    initramfs = tool or "initramfs-tools"  # no tool: the boot loader step says so; crypttab as Debian's
    write_crypttab(enc, volumes, initramfs, root)
    if "keyvault" in enc.unlock:
        write_file(root, KEYSCRIPT, _data("unlock-keyvault"), mode=0o755)
        write_file(root, UNLOCK_CONF, unlock_conf(enc, initramfs))
        if enc.ca_bundle:
            write_file(root, VAULT_CA, Path(enc.ca_bundle).read_text())
    if initramfs == "dracut":
        # systemd-cryptsetup in the initramfs opens what rd.luks.uuid names, with crypttab's options.
        write_file(root, DRACUT_UNLOCK_CONF, dracut_unlock_conf(enc))
        args = kernel_arguments(volumes)
        if "keyvault" in enc.unlock:
            for name, mode in DRACUT_MODULE_FILES.items():
                write_file(root, f"{DRACUT_MODULE_DIR}/{name}", _data(f"dracut/{name}"), mode=mode)
            args.append("rd.neednet=1")  # dracut's networkd module brings the network up only when asked
        names = {"tpm2": "the TPM 2.0", "keyvault": "Key Vault (managed identity)", "passphrase": "the console"}
        ways = [names.get(way, f"the {way}") for way in unlock_order(enc.unlock, initramfs)]
        events.log("crypttab written; dracut opens " + ", ".join(v.mapper_name for v in volumes)
                   + " with " + ", else ".join(ways))
        return args
    if "tpm2" in enc.unlock:  # the plan refuses it for image payloads; an RPM payload without dracut lands here
        raise ValueError("unlock tpm2 needs dracut (systemd-cryptsetup in the initramfs); this target uses "
                         "initramfs-tools")
    # cryptroot opens every crypttab entry marked 'initramfs'; CRYPTSETUP=y includes it although
    # the hook cannot see the encrypted root from inside the installer's chroot.
    write_file(root, CRYPTSETUP_HOOK_CONF, "# Written by azl-installer\nCRYPTSETUP=y\n")
    if "keyvault" in enc.unlock:
        write_file(root, UNLOCK_HOOK, _data("unlock-hook"), mode=0o755)
    events.log("crypttab written; the initramfs opens " + ", ".join(v.mapper_name for v in volumes)
               + (" with Key Vault through the VM's managed identity" if "keyvault" in enc.unlock else ""))
    return []


def initramfs_modules(enc: Encryption) -> tuple[str, ...]:
    """Extra modules for MODULES=list: dm-crypt, and NIC drivers when the initramfs fetches the key."""
    return ("dm_crypt", *(NETWORK_MODULES if "keyvault" in enc.unlock else ()))


class UnlockStep(Step):
    id = "unlock"
    title = "Set up unlocking of the encrypted volumes at boot"
    doing = "writing crypttab and the unlock helpers"

    def applies(self, profile: Profile) -> bool:
        return enabled(profile) is not None

    def amend(self, profile: Profile) -> Profile:
        enc = enabled(profile)
        if enc is None or profile.payload.image is not None:  # an image brings its own tools
            return profile
        return add_packages(profile, LUKS_PACKAGES + (TPM2_PACKAGES if "tpm2" in enc.unlock else ())
                            + (KEYVAULT_PACKAGES if "keyvault" in enc.unlock else ()))

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        enc = enabled(plan.profile)
        assert enc is not None
        dracut = plan.profile.payload.image is None  # a system dnf builds boots with dracut
        initramfs = "dracut" if dracut else "initramfs-tools"
        keyvault = "keyvault" in enc.unlock
        if dracut:
            args = "rd.luks.uuid= per volume" + (", rd.neednet=1 (Key Vault needs the network in the initramfs: "
                                                 "systemd-networkd, DHCP)" if keyvault else "")
            modules = ["crypt", *(["tpm2-tss"] if "tpm2" in enc.unlock else []),
                       *([f"{DRACUT_MODULE} (an ask-password agent answering with the key from Key Vault)"]
                         if keyvault else [])]
            boots = f"kernel arguments {args} (boot loader step); dracut modules {' '.join(modules)}"
        else:
            boots = f"initramfs modules {' '.join(initramfs_modules(enc))}"
        return ("unlock at boot: " + ", then ".join(unlock_order(enc.unlock, initramfs)),
                "writes " + ", ".join(target_files(enc, dracut=dracut)), boots)

    def run(self, ctx: InstallContext) -> None:
        enc = enabled(ctx.profile)
        assert enc is not None and ctx.encrypted is not None, "the encryption-keys step runs first"
        add_boot_args(ctx, configure_unlock(enc, ctx.encrypted.volumes, initramfs_tool(ctx.root), ctx.root,
                                            ctx.events))
        ctx.initramfs_modules += initramfs_modules(enc)

"""The bootloader step: GRUB for BIOS and/or UEFI, the kernel command line, and the initramfs.

Everything is done with the target's own tools, run chrooted, after detecting which family
it has: grub2-* with dracut (Azure Linux, Fedora) or grub-* with initramfs-tools (Debian,
used by the test images here). Signed shim/GRUB binaries that the payload shipped are used
as they are (Secure Boot); only targets without them get a grub-install'ed EFI image.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from installer.core.chroot import in_target
from installer.core.events import EventBus
from installer.core.files import read_file, write_file
from installer.core.grubimage import esp_config_dir
from installer.core.runner import Runner
from installer.steps.base import InstallContext, PlanContext, Step, add_packages
from installer.steps.initramfs_reuse import CONF_PATH, MODULES_PATH, initramfs_tools_conf, reusable, root_filesystem
from installer.target_tools import TargetTools, detect_tools, has_program
from profiles import Problem, Profile
from profiles.model import AZURE_CMDLINE, Bootloader
from storage.apply import FstabEntry
from storage.layout import StoragePlan, boot_modes

SERIAL_COMMAND = "serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
# What puts the boot loader on an Azure Linux system, by firmware (FACTS.md's package names): joined to
# the transaction of a system dnf builds, as Anaconda adds its platform's boot loader packages. dracut
# builds the initramfs this step makes, compressed by zstd (dracut_conf).
BOOT_PACKAGES = {"uefi": ("grub2-efi-x64", "shim-x64", "grub2-tools", "efibootmgr", "dracut", "zstd"),
                 "bios": ("grub2-pc", "grub2-tools", "dracut", "zstd")}
# Beside the profile's disk drivers, what a VM's console needs to type a passphrase into the initramfs:
# Hyper-V's synthetic keyboard and USB keyboards (i8042 and atkbd are built into the kernels of the field).
CONSOLE_DRIVERS = ("hyperv_keyboard", "hid_hyperv", "hid_generic", "usbhid", "xhci_pci", "ehci_pci")


class BootloaderError(RuntimeError):
    pass


def boot_packages(profile: Profile) -> tuple[str, ...]:
    """The boot loader packages a system dnf builds needs (none for an image: it brings its own)."""
    if profile.payload.image is not None or not profile.payload.repositories:
        return ()
    return tuple(dict.fromkeys(name for mode in boot_modes(profile.storage) for name in BOOT_PACKAGES[mode]))


def cmdline(config: Bootloader, extra: Sequence[str] = ()) -> str:
    return " ".join((*config.cmdline, *config.extra_cmdline, *extra))


def for_initramfs(config: Bootloader, initramfs: str) -> Bootloader:
    """Azure's default rootdelay=300 is a limit for dracut (it waits up to that long for the root disk) but a
    fixed sleep at every boot for Debian's initramfs-tools (its init sleeps ROOTDELAY seconds first), so it
    is left out of the defaults there. A command line the profile sets itself is kept as written."""
    if initramfs != "initramfs-tools" or config.cmdline != AZURE_CMDLINE:
        return config
    return replace(config, cmdline=tuple(a for a in config.cmdline if not a.startswith("rootdelay=")))


def os_name(os_release: str) -> str | None:
    """NAME= of an os-release file, unquoted (None when it has none)."""
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "NAME" and value.strip():
            return value.strip().strip("'\"")
    return None


def grub_defaults(existing: str, config: Bootloader, extra_cmdline: Sequence[str] = (),
                  distributor: str | None = None) -> str:
    """/etc/default/grub with the installer's keys set and every other line kept. GRUB_DISTRIBUTOR (the
    menu entry's title) is added only when the file has none: Fedora-family packages ship no such file
    (Anaconda writes one from the release name) and GRUB's scripts would otherwise say "GNU/Linux";
    Debian's own file sets it already."""
    has_distributor = any(line.split("=", 1)[0].strip() == "GRUB_DISTRIBUTOR" for line in existing.splitlines())
    named = {"GRUB_DISTRIBUTOR": f'"{distributor}"'} if distributor and not has_distributor else {}
    ours = {**named,
        "GRUB_TIMEOUT": str(config.timeout),
        "GRUB_CMDLINE_LINUX": f'"{cmdline(config, extra_cmdline)}"',
        "GRUB_TERMINAL": '"serial console"',
        "GRUB_SERIAL_COMMAND": f'"{SERIAL_COMMAND}"',
        "GRUB_DISABLE_OS_PROBER": "true",
    }
    kept = [line for line in existing.splitlines() if line.split("=", 1)[0].strip() not in ours]
    return "\n".join([*kept, *(f"{k}={v}" for k, v in ours.items())]) + "\n"


def kernel_cmdline_file(config: Bootloader, fstab: Sequence[FstabEntry], extra: Sequence[str] = ()) -> str:
    """/etc/kernel/cmdline: what kernel-install puts in a BLS entry (root by UUID, read-only first)."""
    root = next((e.spec for e in fstab if e.mount == "/"), None)
    return " ".join([*([f"root={root}", "ro"] if root else []), cmdline(config, extra)]) + "\n"


def _boot_uuid(fstab: Sequence[FstabEntry]) -> tuple[str, str]:
    """The UUID of the filesystem holding /boot, and /boot's path inside that filesystem."""
    by_mount = {e.mount: e.spec.removeprefix("UUID=") for e in fstab}
    if "/boot" in by_mount:
        return by_mount["/boot"], ""
    return by_mount["/"], "/boot"


def install_bootloader(config: Bootloader, plan: StoragePlan, fstab: Sequence[FstabEntry], root: Path,
                       runner: Runner, events: EventBus, *, extra_modules: Sequence[str] = (),
                       extra_cmdline: Sequence[str] = ()) -> None:
    firmware = plan.firmware()
    if not firmware.bios_disks and not firmware.uefi:
        raise BootloaderError("the layout has neither a BIOS boot partition nor an EFI system partition")
    tools = detect_tools(root)
    events.log(f"target tools: {tools.grub}, {tools.initramfs}; kernels {', '.join(tools.kernels)}")
    if (fitted := for_initramfs(config, tools.initramfs)) != config:
        events.log("rootdelay=300 left out of the command line: initramfs-tools sleeps that long at every boot")
        config = fitted
    name = os_name(read_file(root, "/etc/os-release") or read_file(root, "/usr/lib/os-release"))
    write_file(root, "/etc/default/grub", grub_defaults(read_file(root, "/etc/default/grub"), config, extra_cmdline,
                                                        name))
    if tools.initramfs == "dracut":  # the final arguments, for kernel-install of later kernel updates
        write_file(root, "/etc/kernel/cmdline", kernel_cmdline_file(config, fstab, extra_cmdline))
    if config.password_hash is not None:
        _grub_password(config.password_hash, tools, root, events)
    _initramfs(config, tools, root, runner, events, (*filesystem_modules(plan), *extra_modules), plan)
    if tools.initramfs == "dracut":
        for entry in bls_entries_given_an_initrd(root, tools.kernels):
            events.log(f"{entry}: initrd line added (kernel-install wrote it while its dracut plugin was masked)")
    for disk in firmware.bios_disks:
        events.progress(0.6, f"installing GRUB for BIOS on {disk}")
        runner.run(in_target(root, [f"{tools.grub}-install", "--target=i386-pc", disk]))
    if firmware.uefi:
        events.progress(0.7, "installing GRUB for UEFI")
        _uefi(tools, fstab, root, runner)
    events.progress(0.9, f"writing {tools.grub_cfg}")
    runner.run(in_target(root, [f"{tools.grub}-mkconfig", "-o", tools.grub_cfg]))


def _grub_password(password_hash: str, tools: TargetTools, root: Path, events: EventBus) -> None:
    """user.cfg beside grub.cfg, as grub2-setpassword and Anaconda write it: Fedora-family GRUB's
    /etc/grub.d/01_users makes root the superuser with it, and their menu entries stay bootable without it
    (--unrestricted). A GRUB without that script (Debian's) would lock every entry: refused, one line."""
    if not (root / "etc/grub.d/01_users").exists():
        raise BootloaderError("bootloader.password_hash needs a GRUB that reads user.cfg (/etc/grub.d/01_users of "
                              "Azure Linux's grub2-tools); this target's GRUB has none")
    write_file(root, f"/boot/{tools.grub}/user.cfg", f"GRUB2_PASSWORD={password_hash}\n", mode=0o600)
    events.log(f"GRUB superuser password set (/boot/{tools.grub}/user.cfg, mode 0600)")


def bls_entries_given_an_initrd(root: Path, kernels: Sequence[str]) -> list[str]:
    """Each Boot Loader Spec entry of these kernels that names no initrd gets the one the boot loader step
    built (/boot/initramfs-KVER.img, with the prefix of the entry's own linux line). kernel-install wrote
    the entries during the transaction, its dracut plugin masked (steps/payload.py); a plugin that writes
    the initrd line only for an image that exists would have left it out. Returns the entries changed."""
    changed = []
    for path in sorted((root / "boot/loader/entries").glob("*.conf")):
        lines = path.read_text().splitlines()
        keys = [line.split()[:2] for line in lines]  # [key, first value], as the entry's lines have them
        linux = next((i for i, words in enumerate(keys) if len(words) == 2 and words[0] == "linux"), None)
        if linux is None or any(words[:1] == ["initrd"] for words in keys):
            continue
        image = keys[linux][1]
        kver = next((k for k in kernels if image.endswith(f"/vmlinuz-{k}")), None)
        if kver is None or not (root / f"boot/initramfs-{kver}.img").exists():
            continue
        prefix = image.removesuffix(f"vmlinuz-{kver}")
        lines.insert(linux + 1, f"initrd {prefix}initramfs-{kver}.img")
        path.write_text("\n".join(lines) + "\n")
        changed.append("/" + path.relative_to(root).as_posix())
    return changed


def filesystem_modules(plan: StoragePlan) -> tuple[str, ...]:
    """Kernel modules for the filesystems the initramfs must mount (/ and, with it, /usr), wherever they are:
    on a partition, an array or a logical volume (initramfs-tools finds none itself under LVM)."""
    found = {h.filesystem for h in plan.holders() if h.filesystem in ("ext4", "xfs", "btrfs")}
    return tuple(sorted(found))


def dracut_conf(drivers: Sequence[str], *, zstd: bool) -> str:
    """The installer's dracut configuration, which stays in the target for later kernel updates.

    hostonly=no: the image must boot on any Azure or QEMU VM, not only on the one that ran the installer.
    drivers= (not add_drivers=) lists the kernel modules exactly, which skips kernel-modules' generic set:
    a search through every module of the kernel for block and filesystem symbols, most of a hostonly=no
    build (10 of 28 s natively, measured with the test distribution's dracut 106; minutes under TCG). The
    dracut modules still add their own (crypt, dm, lvm, mdraid, tpm2-tss, the network ones). hwdb
    (udev's hardware database, 13 MB) names devices for desktops; a VM boots without it. A fast
    compression level: gzip -9 took 9.2 s for the 46 MB image, gzip -6 3.2 s for 0.4 % more bytes."""
    listed = " ".join(dict.fromkeys((*drivers, *CONSOLE_DRIVERS)))
    compress = "zstd -q -T0 -3" if zstd else "gzip -n -6"
    return (f'hostonly="no"\ndrivers+=" {listed} "\nomit_dracutmodules+=" hwdb "\ncompress="{compress}"\n'
            + ('add_dracutmodules+=" crypt "\n' if "dm_crypt" in drivers else ""))


def _initramfs(config: Bootloader, tools: TargetTools, root: Path, runner: Runner, events: EventBus,
               modules: tuple[str, ...], plan: StoragePlan) -> None:
    needed = tuple(dict.fromkeys((*config.initramfs_drivers, *modules)))
    if tools.initramfs == "dracut":  # one configuration for every kernel, and for later ones
        write_file(root, "/etc/dracut.conf.d/90-azl-installer.conf",
                   dracut_conf(needed, zstd=has_program(root, "zstd")))
    conf = initramfs_tools_conf(root_filesystem(plan))
    for number, kver in enumerate(tools.kernels, start=1):
        events.progress(0.5 * (number - 1) / len(tools.kernels), f"building the initramfs for {kver}")
        if tools.initramfs == "dracut":
            runner.run(in_target(root, ["dracut", "--force", "--kver", kver, f"/boot/initramfs-{kver}.img"]))
        elif reusable(root, kver, conf, needed, plan):
            events.log(f"the image's initramfs for {kver} is kept: built with this configuration and every "
                       f"module this install needs ({', '.join(needed)}), and the layout puts nothing in it")
        else:
            write_file(root, CONF_PATH, conf)
            write_file(root, MODULES_PATH, "".join(f"{d}\n" for d in needed))
            mode = "-u" if (root / f"boot/initrd.img-{kver}").exists() else "-c"
            runner.run(in_target(root, ["update-initramfs", mode, "-k", kver]))


def _stub_dirs(shim: Path, root: Path) -> list[str]:
    """Where the hand-over grub.cfg goes on the ESP (paths inside the target): beside shim, on the
    removable path, and where the signed GRUB's embedded prefix points, which its signer chose and
    need not be the directory it sits in (Debian's signed GRUB reads /EFI/debian/grub.cfg)."""
    dirs = [f"/{shim.relative_to(root)}", "/boot/efi/EFI/BOOT"]
    embedded = esp_config_dir(shim / "grubx64.efi")
    if embedded is not None and f"/boot/efi{embedded}" not in dirs:
        dirs.append(f"/boot/efi{embedded}")
    return dirs


def _uefi(tools: TargetTools, fstab: Sequence[FstabEntry], root: Path, runner: Runner) -> None:
    fallback = root / "boot/efi/EFI/BOOT"
    if tools.shim is not None:
        # Signed shim + GRUB from the payload (Secure Boot chain). Firmware without boot
        # entries starts EFI/BOOT/BOOTX64.EFI, so shim goes there with GRUB beside it, and
        # a small grub.cfg next to GRUB hands over to the real one in /boot.
        fallback.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tools.shim / "shimx64.efi", fallback / "BOOTX64.EFI")
        if (tools.shim / "grubx64.efi").exists():
            shutil.copy2(tools.shim / "grubx64.efi", fallback / "grubx64.efi")
        uuid, prefix = _boot_uuid(fstab)
        stub = (f"search --no-floppy --fs-uuid --set=dev {uuid}\nset prefix=($dev){prefix}/{tools.grub}\n"
                "export $prefix\nconfigfile $prefix/grub.cfg\n")
        for where in _stub_dirs(tools.shim, root):
            write_file(root, f"{where}/grub.cfg", stub)
        return
    # No signed binaries: build a GRUB EFI image at the removable path; --no-nvram because
    # the installer must not depend on (or change) the firmware's boot entries.
    runner.run(in_target(root, [f"{tools.grub}-install", "--target=x86_64-efi", "--efi-directory=/boot/efi",
                                "--boot-directory=/boot", "--removable", "--no-nvram"]))


class BootloaderStep(Step):
    id = "bootloader"
    title = "Install the boot loader and build the initramfs"
    doing = "installing the boot loader and initramfs"

    def applies(self, profile: Profile) -> bool:
        return profile.bootloader.enabled

    def amend(self, profile: Profile) -> Profile:
        return add_packages(profile, boot_packages(profile))

    def describe(self, plan: PlanContext) -> tuple[str, ...]:
        config = plan.profile.bootloader
        firmware = plan.firmware
        packages = boot_packages(plan.profile)
        joined = ([f"packages (in the payload's dnf transaction): {', '.join(packages)}"] if packages else [])
        commands = [f"grub2-install --target=i386-pc {d} (grub-install on Debian-family targets)"
                    for d in firmware.bios_disks]
        if firmware.uefi:
            commands.append("UEFI: the payload's signed shim and GRUB copied to EFI/BOOT, a grub.cfg handing over "
                            "to /boot beside shim, in EFI/BOOT and where the signed GRUB's embedded prefix "
                            "points; else grub2-install --target=x86_64-efi --removable --no-nvram")
        return (f"firmware: {firmware.describe()}", *joined,
                f"kernel command line: {cmdline(config)}",
                "/etc/kernel/cmdline (dracut targets: the final arguments, for kernel updates)",
                "/etc/default/grub (GRUB_CMDLINE_LINUX, serial and console terminal, GRUB_DISTRIBUTOR from "
                "os-release NAME if the file has none, timeout "
                f"{config.timeout}); other lines kept",
                *(["/boot/grub2/user.cfg (mode 0600): the GRUB superuser password's hash, read by "
                   "/etc/grub.d/01_users"] if config.password_hash else []),
                "initramfs by the target's own tool (dracut, or update-initramfs) with "
                + " ".join(config.initramfs_drivers),
                *commands, "grub2-mkconfig -o /boot/grub2/grub.cfg (grub-mkconfig, /boot/grub on Debian)")

    def blockers(self, plan: PlanContext) -> list[Problem]:
        firmware = plan.firmware
        if not firmware.bios_disks and not firmware.uefi:
            return [Problem(("bootloader",), "the layout has neither a BIOS boot partition nor an EFI system "
                                             "partition (/boot/efi); add one, or set bootloader.enabled: false")]
        return []

    def run(self, ctx: InstallContext) -> None:
        install_bootloader(ctx.profile.bootloader, ctx.storage, ctx.fstab, ctx.root, ctx.runner, ctx.events,
                           extra_modules=ctx.initramfs_modules, extra_cmdline=ctx.boot_args)

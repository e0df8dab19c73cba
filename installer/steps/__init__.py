"""The install steps, in the order an install runs them: the one list the plan and the engine walk.

Each step is one module (see base.py for what a step declares). Adding a step means adding its
module and one line here; the plan then shows it and the engine runs it, in this order.
"""

from __future__ import annotations

from installer.steps.azure import AzureStep
from installer.steps.base import InstallContext, PlanContext, Step
from installer.steps.bootloader import BootloaderStep
from installer.steps.cloud_init import CloudInitStep
from installer.steps.early_config import EarlyConfigStep
from installer.steps.encryption_keys import EncryptionKeysStep
from installer.steps.finish import FinishStep
from installer.steps.firewall import FirewallStep
from installer.steps.generalize import GeneralizeStep
from installer.steps.mount import MountStep
from installer.steps.network import NetworkStep
from installer.steps.payload import PayloadStep
from installer.steps.post_scripts import PostScriptsStep
from installer.steps.pre_install_scripts import PreInstallScriptsStep
from installer.steps.pre_scripts import PreScriptsStep
from installer.steps.relabel import RelabelStep
from installer.steps.selinux import SelinuxStep
from installer.steps.services import ServicesStep
from installer.steps.storage import StorageStep
from installer.steps.system import SystemStep
from installer.steps.timesync import TimeSyncStep
from installer.steps.tpm2 import Tpm2EnrolStep
from installer.steps.unlock import UnlockStep

STEPS: tuple[Step, ...] = (
    PreScriptsStep(),  # on the installer's system, before anything is written
    EncryptionKeysStep(),  # a vault that refuses stops the install before any disk is written
    StorageStep(),  # every destructive action happens here
    Tpm2EnrolStep(),  # right after the volumes exist: a TPM that refuses stops the install early
    MountStep(),
    PreInstallScriptsStep(),  # kickstart's %pre-install: the target mounted, no packages yet
    EarlyConfigStep(),  # fstab and /etc/kernel/cmdline before the kernel package's scriptlets
    PayloadStep(),
    SystemStep(),
    NetworkStep(),
    SelinuxStep(),  # the mode, and the kernel arguments the boot loader step writes
    UnlockStep(),  # crypttab and unlock helpers, before the initramfs is built
    BootloaderStep(),
    AzureStep(),
    CloudInitStep(),
    TimeSyncStep(),  # after the azure step's chrony settings, whose reference clock it keeps
    FirewallStep(),
    ServicesStep(),  # after every step that enables units: the profile's own choices win
    GeneralizeStep(),
    PostScriptsStep(),
    RelabelStep(),  # after every file the installer and the scripts wrote
    FinishStep(),
)

__all__ = ["STEPS", "InstallContext", "PlanContext", "Step"]

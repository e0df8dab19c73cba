"""The engine: runs a confirmed Plan step by step, reporting structured events.

The step list in run() reads top to bottom as the install happens. Each step is timed and
wrapped in started/finished events; a failure names the step, and the target is always
unmounted before the error leaves the engine.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from installer.azure import configure_azure, enabled, generalize
from installer.bootloader import initramfs_tool, install_bootloader
from installer.cloudinit import needs_cloud_init, seed_cloud_init
from installer.core.events import Event, EventBus
from installer.core.runner import Runner
from installer.encryption_plan import encrypted_partitions
from installer.payload import install_payload
from installer.plan import Plan
from installer.scripts import run_scripts
from installer.system import configure_system
from installer.unlock import configure_unlock, initramfs_modules
from profiles import dump_profile
from storage.apply import FstabEntry, MountTable, fstab_entries, mount_target, partition_and_format

if TYPE_CHECKING:
    from installer.encryption import VolumeEncryptor

TARGET_LOG_DIR = "var/log/azl-installer"


class InstallFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step '{step}' failed: {message}")
        self.step = step
        self.message = message


class Engine:
    def __init__(self, plan: Plan, runner: Runner, events: EventBus, *, target_root: Path, workdir: Path,
                 host_logs: list[Path]) -> None:
        self.plan = plan
        self.runner = runner
        self.events = events
        self.root = target_root
        self.workdir = workdir
        self.host_logs = host_logs  # copied into the target at the end
        self.mounts = MountTable(target_root)
        self.fstab: list[FstabEntry] = []
        self.encryptor: VolumeEncryptor | None = None
        self.opened: dict[str, str] = {}  # encrypted partition -> its opened /dev/mapper device
        self.boot_args: list[str] = []  # kernel arguments the encrypted volumes need

    def run(self) -> None:
        profile = self.plan.profile
        enc = profile.encryption if profile.encryption is not None and profile.encryption.enabled else None
        stack = ExitStack()
        try:
            if profile.scripts.pre:
                with self.step("pre-scripts", "pre-install scripts"):
                    run_scripts(profile.scripts.pre, "pre", self.runner, self.events, target=None,
                                workdir=self.workdir)
            if enc is not None:
                # Before any disk is written: a vault that refuses stops the install here.
                with self.step("encryption-keys", "getting the volume key and escrowing recovery keys"):
                    # imported here: the Azure SDK loads only for encrypted installs
                    from installer.core.secrets import KeyDir
                    from installer.encryption import VolumeEncryptor

                    keys = stack.enter_context(KeyDir())
                    self.encryptor = VolumeEncryptor(enc, profile.system.hostname, self.runner, self.events, keys)
                    stack.callback(self.encryptor.wipe)
                    partitions = encrypted_partitions(self.plan.storage, enc.volumes)
                    self.encryptor.prepare(partitions)
            with self.step("storage", "partitioning and formatting"):
                self.opened = partition_and_format(self.plan.storage, self.runner, self.events,
                                                   data_device=self.encryptor.data_device if self.encryptor else None)
                self.fstab = fstab_entries(self.plan.storage, self.runner, self.opened)
            with self.step("mount", f"mounting the target at {self.root}"):
                mount_target(self.plan.storage, self.mounts, self.runner, self.opened)
            with self.step("payload", "installing software"):
                install_payload(profile.payload, self.root, self.runner, self.events, self.workdir)
            with self.step("system", "configuring the system"):
                configure_system(profile, self.root, self.fstab, self.events, self.runner)
                if enc is not None and self.encryptor is not None:
                    self.boot_args = configure_unlock(enc, self.encryptor.volumes, initramfs_tool(self.root),
                                                      self.root, self.events)
            if profile.bootloader.enabled:
                with self.step("bootloader", "installing the boot loader and initramfs"):
                    install_bootloader(profile.bootloader, self.plan.storage, self.fstab, self.root, self.runner,
                                       self.events, extra_modules=initramfs_modules(enc),
                                       extra_cmdline=self.boot_args)
            azure = enabled(profile)
            if azure is not None:
                with self.step("azure", "configuring the target for Azure"):
                    configure_azure(profile, self.root, self.runner, self.events)
            if needs_cloud_init(profile):
                with self.step("cloud-init", "seeding cloud-init for first boot"):
                    seed_cloud_init(profile, self.root, self.runner, self.events)
            if azure is not None and azure.generalize:
                with self.step("generalize", "generalizing the disk for capture"):
                    generalize(self.root, self.events)
            if profile.scripts.post:
                with self.step("post-scripts", "post-install scripts"):
                    run_scripts(profile.scripts.post, "post", self.runner, self.events, target=self.root,
                                workdir=self.workdir)
            with self.step("finish", "saving logs and unmounting"):
                self.save_logs()
                self.unmount()
        finally:
            # Reached with mounts left only after a failure: never leave the target mounted or open.
            if self.mounts.mounted:
                self.unmount()
            self.close_volumes()
            stack.close()

    @contextmanager
    def step(self, step_id: str, title: str) -> Iterator[None]:
        self.events.current_step = step_id
        self.events.emit(Event("step-started", title, step=step_id))
        started = time.monotonic()
        try:
            yield
        except Exception as err:  # every failure becomes one message naming the step
            message = _one_line(err)
            self.events.emit(Event("step-failed", message, step=step_id, level="error"))
            raise InstallFailed(step_id, message) from err
        finally:
            self.events.current_step = None
        self.events.emit(Event("step-finished", f"{title} ({time.monotonic() - started:.1f} s)", step=step_id))

    def save_logs(self) -> None:
        log_dir = self.root / TARGET_LOG_DIR
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (log_dir / "profile.yaml").write_text(
            "# The profile this system was installed with (secrets removed).\n"
            + dump_profile(self.plan.profile, redact=True)
        )
        (log_dir / "plan.txt").write_text(self.plan.render() + "\n")
        self.events.log(f"logs and profile saved to /{TARGET_LOG_DIR}")
        for path in self.host_logs:
            if path.exists():
                shutil.copy2(path, log_dir / path.name)

    def unmount(self) -> None:
        failed = self.mounts.unmount_all(self.runner, self.events)
        if failed:
            self.events.log(f"could not unmount: {', '.join(failed)}", level="error")
        self.close_volumes()

    def close_volumes(self) -> None:
        if self.encryptor is not None and self.encryptor.opened:
            failed = self.encryptor.close_all()
            if failed:
                self.events.log(f"could not close: {', '.join(failed)}", level="error")


def _one_line(err: BaseException) -> str:
    return str(err) or type(err).__name__

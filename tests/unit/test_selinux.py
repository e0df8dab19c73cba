"""SELinux: the mode line, the kernel arguments read from the target kernel's config, labelling last."""

from __future__ import annotations

from pathlib import Path

from installer.core.runner import RecordingRunner
from installer.plan import effective_profile
from installer.steps.relabel import RelabelStep
from installer.steps.selinux import SelinuxStep, kernel_arguments, selinux_by_default, with_mode
from profiles import profile_from_text
from tests.support.engine import recorded
from tests.support.steps import step_context

DEBIAN_KERNEL = ('CONFIG_SECURITY_SELINUX=y\n'
                 'CONFIG_LSM="landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,selinux,smack,tomoyo,bpf"\n')
FEDORA_KERNEL = 'CONFIG_SECURITY_SELINUX=y\nCONFIG_LSM="lockdown,yama,integrity,selinux,bpf,landlock,ipe"\n'
DNF_PROFILE = """
version: 1
storage: {disks: [{path: /dev/vda}], auto: {filesystem: ext4, boot: uefi}}
payload: {repositories: [{name: r, baseurl: /srv/repo, gpgcheck: false}], groups: [core]}
"""


def _target(tmp_path: Path, kernel_config: str, config: str) -> Path:
    root = tmp_path / "target"
    (root / "boot").mkdir(parents=True)
    (root / "boot/config-6.12.0").write_text(kernel_config)
    (root / "etc/selinux").mkdir(parents=True)
    (root / "etc/selinux/config").write_text(config)
    return root


def test_only_the_mode_line_changes() -> None:
    assert with_mode("# keep\nSELINUX=permissive\nSELINUXTYPE=targeted\n", "enforcing") == (
        "# keep\nSELINUX=enforcing\nSELINUXTYPE=targeted\n")
    assert with_mode("SELINUXTYPE=targeted", "disabled") == "SELINUX=disabled\nSELINUXTYPE=targeted\n"


def test_kernel_arguments_follow_the_kernels_lsm_order(tmp_path: Path) -> None:
    assert selinux_by_default(DEBIAN_KERNEL) is False and selinux_by_default(FEDORA_KERNEL) is True
    assert selinux_by_default("CONFIG_LSM=\"selinux\"\n") is None  # SELinux not built in
    debian = _target(tmp_path / "d", DEBIAN_KERNEL, "SELINUXTYPE=targeted\n")
    fedora = _target(tmp_path / "f", FEDORA_KERNEL, "SELINUXTYPE=targeted\n")
    assert kernel_arguments(debian, "enforcing") == ["security=selinux"]
    assert kernel_arguments(fedora, "enforcing") == []
    assert kernel_arguments(fedora, "disabled") == ["selinux=0"]
    assert kernel_arguments(debian, "disabled") == []


def test_the_step_writes_the_mode_and_hands_arguments_to_the_boot_loader(tmp_path: Path) -> None:
    root = _target(tmp_path, DEBIAN_KERNEL, "SELINUX=permissive\nSELINUXTYPE=targeted\n")
    ctx = step_context(profile_from_text(DNF_PROFILE), root)
    SelinuxStep().run(ctx)
    assert (root / "etc/selinux/config").read_text() == "SELINUX=enforcing\nSELINUXTYPE=targeted\n"
    assert ctx.boot_args == ["security=selinux"]


def test_a_payload_without_policy_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "target"
    root.mkdir()
    runner = RecordingRunner()
    ctx = step_context(profile_from_text(DNF_PROFILE), root, runner=runner)
    SelinuxStep().run(ctx)
    RelabelStep().run(ctx)
    assert not (root / "etc/selinux").exists() and ctx.boot_args == [] and runner.calls == []


def test_relabel_runs_the_targets_own_setfiles_with_its_policy(tmp_path: Path) -> None:
    root = _target(tmp_path, DEBIAN_KERNEL, "SELINUX=enforcing\nSELINUXTYPE=targeted\n")
    runner = RecordingRunner()
    RelabelStep().run(step_context(profile_from_text(DNF_PROFILE), root, runner=runner))
    (call,) = runner.calls
    assert call[:3] == ("chroot", str(root), "setfiles")
    assert call[-2:] == ("/etc/selinux/targeted/contexts/files/file_contexts", "/")
    assert "/boot/efi" in call  # vfat holds no labels


def test_policy_packages_join_only_a_dnf_built_system() -> None:
    dnf = effective_profile(profile_from_text(DNF_PROFILE))
    assert dnf.payload.packages[:2] == ("selinux-policy-targeted", "policycoreutils")
    off = effective_profile(profile_from_text(DNF_PROFILE + "system: {selinux: disabled}\n"))
    assert "selinux-policy-targeted" not in off.payload.packages
    assert not RelabelStep().applies(off)


def test_every_labelled_filesystem_is_named_and_the_saved_logs_are_labelled_too(tmp_path: Path) -> None:
    def dnf_installs(root: Path) -> None:
        (root / "etc/selinux").mkdir(parents=True)
        (root / "etc/selinux/config").write_text("SELINUX=permissive\nSELINUXTYPE=targeted\n")

    profile = DNF_PROFILE.replace("path: /dev/vda", "path: DISK") + "bootloader: {enabled: false}\n"
    run = recorded(tmp_path, profile, on_dnf=dnf_installs)
    run.engine.run()
    setfiles = [c for c in run.runner.calls if c[:3] == ("chroot", str(run.root), "setfiles")]
    file_contexts = "/etc/selinux/targeted/contexts/files/file_contexts"
    # setfiles stays on one filesystem: / and /boot are each named; the vfat ESP is not.
    assert setfiles[0][setfiles[0].index(file_contexts) + 1:] == ("/", "/boot")
    assert setfiles[1][-1] == "/var/log/azl-installer" and len(setfiles) == 2  # the finish step's logs
    started = [e.step for e in run.seen if e.kind == "step-started"]
    assert started.index("selinux-relabel") == len(started) - 2  # just before finish

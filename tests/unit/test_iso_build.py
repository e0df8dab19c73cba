"""The ISO build's pure parts: the live root recipe and cache key, mmdebstrap, grub.cfg, the tree."""

from __future__ import annotations

import dataclasses
import glob
import os
import stat
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from iso import assemble, customize, grubcfg, liveroot, pydeps, recipe
from iso.recipe import LiveRootRecipe
from profiles import load_profile

TOP = Path(__file__).resolve().parents[2]
ISO_DIR = TOP / "iso"
GENERATOR = ISO_DIR / "rootfs/usr/lib/systemd/system-generators/azl-live-generator"


# --- recipe and cache key ------------------------------------------------------------------

def test_cache_key_is_stable_and_ignores_order_and_duplicates() -> None:
    base = LiveRootRecipe("bookworm")
    assert base.cache_key() == LiveRootRecipe("bookworm").cache_key()
    assert len(base.cache_key()) == 16
    shuffled = dataclasses.replace(base, packages=tuple(reversed(base.packages)) + base.packages[:2])
    assert shuffled.cache_key() == base.cache_key()
    assert base.tarball_name() == f"live-root-bookworm-{base.cache_key()}.tar.zst"


@pytest.mark.parametrize(
    "change",
    [
        {"suite": "trixie"},
        {"packages": (*recipe.PACKAGES, "vim-tiny")},
        {"version": recipe.RECIPE_VERSION + 1},
        {"modules": "list"},
    ],
)
def test_cache_key_changes_with_every_input(change: dict[str, object]) -> None:
    base = LiveRootRecipe("bookworm")
    assert dataclasses.replace(base, **change).cache_key() != base.cache_key()  # type: ignore[arg-type]


def test_module_list_counts_only_with_modules_list() -> None:
    most = LiveRootRecipe("bookworm")
    assert dataclasses.replace(most, list_modules=("virtio_blk",)).cache_key() == most.cache_key()
    listed = LiveRootRecipe("bookworm", modules="list")
    assert dataclasses.replace(listed, list_modules=("virtio_blk",)).cache_key() != listed.cache_key()


def test_suite_from_os_release() -> None:
    assert recipe.suite_from_os_release('NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n') == "bookworm"
    assert recipe.suite_from_os_release('VERSION_CODENAME="trixie"\n') == "trixie"
    with pytest.raises(recipe.OsReleaseError):
        recipe.suite_from_os_release("ID=fedora\nVERSION_CODENAME=\n")


def test_packages_cover_what_the_installer_and_a_booting_target_need() -> None:
    needed = {"linux-image-amd64", "systemd-sysv", "live-boot", "python3-dnf", "python3-parted", "grub-pc-bin",
              "grub-efi-amd64-bin", "squashfs-tools", "mount", "zstd"}
    assert needed <= set(recipe.PACKAGES)


def test_initramfs_policy() -> None:
    most = LiveRootRecipe("bookworm")
    assert "MODULES=most\n" in recipe.initramfs_conf(most)
    assert recipe.initramfs_modules(most) == ""
    listed = LiveRootRecipe("bookworm", modules="list")
    assert "MODULES=list\n" in recipe.initramfs_conf(listed)
    assert recipe.initramfs_modules(listed).splitlines() == list(recipe.LIST_MODULES)
    assert "MODULES=dep" not in recipe.initramfs_conf(most).replace("never MODULES=dep", "")


def test_mmdebstrap_gets_no_mirror(tmp_path: Path) -> None:
    argv = liveroot.mmdebstrap_argv(LiveRootRecipe("bookworm"), tmp_path / "root.tar.zst")
    assert argv[:4] == ["mmdebstrap", "--mode=root", "--variant=apt", "--arch=amd64"]
    assert argv[-2:] == ["bookworm", str(tmp_path / "root.tar.zst")]  # suite and target, no mirror after them
    assert not any("://" in arg for arg in argv)
    include = next(a for a in argv if a.startswith("--include="))
    assert include.removeprefix("--include=").split(",") == list(recipe.PACKAGES)
    assert '--aptopt=APT::Install-Recommends "false"' in argv


def test_essential_hook_writes_the_initramfs_policy(tmp_path: Path) -> None:
    hook = liveroot.essential_hook(LiveRootRecipe("bookworm", modules="list"))
    subprocess.run(["sh", "-c", hook, "hook", str(tmp_path)], check=True)
    conf = (tmp_path / "etc/initramfs-tools/conf.d/50-azl-live.conf").read_text()
    assert "MODULES=list\n" in conf
    assert (tmp_path / "etc/initramfs-tools/modules").read_text().splitlines() == list(recipe.LIST_MODULES)


def test_cached_root_is_reused_without_mmdebstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = LiveRootRecipe("bookworm")
    (tmp_path / live.tarball_name()).write_bytes(b"cached")

    def no_build(argv: list[str], **_: object) -> None:
        raise AssertionError(f"ran {argv}")

    monkeypatch.setattr(liveroot, "run", no_build)
    assert liveroot.cached_root(live, tmp_path) == tmp_path / live.tarball_name()


def test_built_root_replaces_older_ones_of_the_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live = LiveRootRecipe("bookworm")
    stale, other = tmp_path / "live-root-bookworm-0000.tar.zst", tmp_path / "live-root-trixie-0000.tar.zst"
    stale.write_bytes(b"old")
    other.write_bytes(b"other suite")

    def fake_mmdebstrap(argv: list[str], **_: object) -> None:
        Path(argv[-1]).write_bytes(b"new root")

    monkeypatch.setattr(liveroot, "run", fake_mmdebstrap)
    tarball = liveroot.cached_root(live, tmp_path)
    assert tarball.read_bytes() == b"new root"
    assert not stale.exists() and other.exists()
    assert not list(tmp_path.glob(".partial-*"))


def test_kernel_files_picks_the_newest(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for version in ("6.1.0-9-amd64", "6.1.0-10-amd64"):
        (boot / f"vmlinuz-{version}").write_text("k")
        (boot / f"initrd.img-{version}").write_text("i")
    assert liveroot.kernel_files(tmp_path) == (boot / "vmlinuz-6.1.0-10-amd64", boot / "initrd.img-6.1.0-10-amd64")


# --- grub.cfg ---------------------------------------------------------------------------

def test_grub_cfg_text() -> None:
    text = grubcfg.grub_cfg(grubcfg.menu_entries(["vm-uefi"]))
    lines = text.splitlines()
    assert "serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1" in lines
    assert "terminal_input serial console" in lines
    assert "terminal_output serial console" in lines
    assert "set default=install" in lines
    assert "set timeout=3" in lines
    assert "menuentry 'Install Azure Linux' --id install {" in lines
    assert "    linux /live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8 quiet" in lines
    assert "menuentry 'unattended: vm-uefi profile' --id unattended-vm-uefi {" in lines
    assert ("    linux /live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8 "
            "inst.profile=/profiles/vm-uefi.yaml") in lines
    assert lines.count("    initrd /live/initrd.img") == 4
    assert text.count("{") == text.count("}")
    # A disk labelled AZLPROFILE (profile.yaml on it) makes its unattended entry the default, after the
    # interactive default is set (GRUB takes the last `set default`).
    # ks.cfg on that disk (inst.ks=, `vm --kickstart`) makes the kickstart entry the default instead.
    auto = ('if search --no-floppy --label --set=azlprofile AZLPROFILE; then set default=profile-disk; '
            'if [ -f "($azlprofile)/ks.cfg" ]; then set default=kickstart-disk; fi; fi')
    assert lines.index("set default=install") < lines.index(auto)
    assert ("    linux /live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8 "
            "inst.ks=hd:LABEL=AZLPROFILE:/ks.cfg") in lines
    assert "menuentry 'unattended: profile.yaml on the disk labelled AZLPROFILE' --id profile-disk {" in lines
    assert ("    linux /live/vmlinuz boot=live console=tty1 console=ttyS0,115200n8 "
            "inst.profile=hd:LABEL=AZLPROFILE:/profile.yaml") in lines
    # the serial terminal is set up before any menu entry
    assert lines.index("terminal_output serial console") < lines.index("menuentry 'Install Azure Linux' --id install {")


def test_the_rpm_built_isos_menu_boots_dracut_live_and_vm_finds_each_entrys_arguments() -> None:
    base = grubcfg.dracut_live_args("AZL_INSTALLER")
    text = grubcfg.grub_cfg(grubcfg.menu_entries(["azl-vm-uefi"], base))
    assert "boot=live" not in text
    expected = ("root=live:CDLABEL=AZL_INSTALLER rd.live.image rd.live.dir=live rd.live.squashimg=filesystem.squashfs "
                "rd.live.overlay.overlayfs=1 console=tty1 console=ttyS0,115200n8")
    assert grubcfg.entry_cmdline(text, "install") == f"{expected} quiet"
    assert grubcfg.entry_cmdline(text, "unattended-azl-vm-uefi") == (
        f"{expected} inst.profile=/profiles/azl-vm-uefi.yaml")
    assert grubcfg.entry_cmdline(text, grubcfg.PROFILE_DISK_ID) == (
        f"{expected} inst.profile=hd:LABEL=AZLPROFILE:/profile.yaml")
    # The disk-picks-the-entry rule stays (how `vm --secure-boot` starts an unattended install).
    assert "set default=profile-disk" in text
    debian = grubcfg.grub_cfg(grubcfg.menu_entries([]))
    assert grubcfg.entry_cmdline(debian, grubcfg.PROFILE_DISK_ID) == grubcfg.PROFILE_DISK_ENTRY.cmdline()
    assert grubcfg.entry_cmdline(debian, "no-such-entry") is None


def test_grub_titles_are_quoted() -> None:
    text = grubcfg.grub_cfg([grubcfg.MenuEntry("it's", "x")], timeout=0)
    assert "menuentry 'it'\\''s' --id x {" in text
    assert "set timeout=0" in text


# --- squashfs, ISO tree, the hybrid image --------------------------------------------------

def test_squashfs_and_xorriso_commands(tmp_path: Path) -> None:
    argv = assemble.mksquashfs_argv(tmp_path / "root", tmp_path / "fs.squashfs", "zstd")
    assert argv[:3] == ["mksquashfs", str(tmp_path / "root"), str(tmp_path / "fs.squashfs")]
    assert argv[3:7] == ["-comp", "zstd", "-Xcompression-level", "9"]
    assert "-noappend" in argv
    assert assemble.mksquashfs_argv(tmp_path, tmp_path / "x", "xz")[3:7] == ["-comp", "xz", "-Xbcj", "x86"]
    argv = assemble.xorriso_argv(tmp_path / "tree", tmp_path / "o.iso", "2026120114264800")
    assert argv[:5] == ["xorriso", "-as", "mkisofs", "-o", str(tmp_path / "o.iso")]
    assert argv[-1] == str(tmp_path / "tree")
    assert "--modification-date=2026120114264800" in argv and argv[argv.index("-volid") + 1] == "AZL_INSTALLER"
    # BIOS El Torito first, then the EFI image, which is also the GPT's EFI partition (boots as a disk).
    assert argv.index("-b") < argv.index("-eltorito-alt-boot") < argv.index("-e")
    assert argv[argv.index("-e") + 1] == "efi.img" and "--efi-boot-image" in argv
    assert assemble.volume_stamp(datetime(2026, 12, 1, 14, 26, 48, tzinfo=UTC)) == "2026120114264800"


def test_iso_tree_layout(tmp_path: Path) -> None:
    kernel, initrd, repo = tmp_path / "vmlinuz-6", tmp_path / "initrd.img-6", tmp_path / "repo"
    kernel.write_text("kernel")
    initrd.write_text("initrd")
    (repo / "repodata").mkdir(parents=True)
    (repo / "repodata/repomd.xml").write_text("<repomd/>")
    (repo / ".sample-repo-stamp").write_text("stamp")
    tree = tmp_path / "tree"
    profiles = sorted(assemble.PROFILES_DIR.glob("*.yaml"))
    assemble.populate_tree(tree, kernel=kernel, initrd=initrd, repo=repo, profiles=profiles)
    assert (tree / "live/vmlinuz").read_text() == "kernel"
    assert (tree / "live/initrd.img").read_text() == "initrd"
    assert (tree / "repo/repodata/repomd.xml").is_file()
    assert not (tree / "repo/.sample-repo-stamp").exists()
    assert sorted(p.name for p in (tree / "profiles").iterdir()) == [
        "azl-vm-bios.yaml", "azl-vm-uefi.yaml", "vm-bios.yaml", "vm-cloudinit.yaml", "vm-uefi.yaml"]
    cfg = (tree / "boot/grub/grub.cfg").read_text()
    assert "inst.profile=/profiles/vm-uefi.yaml" in cfg and "inst.profile=/profiles/vm-bios.yaml" in cfg


# --- what goes into the live root ----------------------------------------------------------

def test_code_and_overlay_go_into_the_root(tmp_path: Path) -> None:
    code = customize.install_code(tmp_path)
    assert code == tmp_path / "usr/lib/azl-installer"
    assert (code / "installer/cli.py").is_file()
    assert (code / "installer/data/azurelinux-comps.xml").is_file()
    assert (code / "storage/layout.py").is_file() and (code / "profiles/model.py").is_file()
    assert (code / "ui/__init__.py").is_file()
    assert sorted(p.name for p in (code / "iso").iterdir()) == ["__init__.py", "launcher.py"]
    assert not list(code.rglob("__pycache__")) and not list(code.rglob("tests"))
    written = customize.install_overlay(tmp_path)
    wrapper = tmp_path / "usr/bin/azl-installer"
    assert wrapper in written
    assert stat.S_IMODE(wrapper.stat().st_mode) == 0o755
    assert "PYTHONPATH=/usr/lib/azl-installer:/usr/lib/azl-installer/site-packages" in wrapper.read_text()
    assert 'exec python3 -m installer "$@"' in wrapper.read_text()
    unit = (tmp_path / "usr/lib/systemd/system/azl-live.service").read_text()
    # Either way of booting live starts it (conditions marked | are or-ed); an installed system's command line neither.
    assert "ConditionKernelCommandLine=|boot=live" in unit and "ConditionKernelCommandLine=|rd.live.image" in unit
    assert "ExecStart=/usr/bin/python3 -m iso.launcher" in unit
    assert stat.S_IMODE((tmp_path / "etc/hostname").stat().st_mode) == 0o644


def test_the_live_root_gets_every_shipped_package_but_the_build_time_ones() -> None:
    # pyproject.toml is read here, in the checkout; the build itself reads no project file.
    find = tomllib.loads((TOP / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    shipped = {pattern.rstrip("*").rstrip(".") for pattern in find["include"]}
    assert shipped == {*customize.CODE_PACKAGES, "iso", "sample"}
    assert customize.package_dir("installer") == TOP / "installer"  # where this python imports it from


def test_every_file_iso_reads_at_run_time_is_package_data() -> None:
    data = tomllib.loads((TOP / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["iso"]
    needed = [p.relative_to(ISO_DIR) for p in [*(ISO_DIR / "rootfs").rglob("*"), *(ISO_DIR / "profiles").rglob("*")]
              if p.is_file()]
    # setuptools expands package-data patterns as recursive globs relative to the package.
    shipped = {Path(name) for pattern in data for name in glob.glob(pattern, root_dir=ISO_DIR, recursive=True)}
    assert needed and set(needed) <= shipped, set(needed) - shipped


# --- PyPI dependencies of the installer --------------------------------------------------------

REQUIRES = {
    "azl-installer": ["PyYAML>=6", "pyparted>=3.12", "textual>=8.2", "azure-identity>=1.27", "Cryptography >= 43",
                      "not-installed>=1"],
    "textual": ["markdown-it-py[linkify] (>=2.1.0)", "rich (>=14.2.0)",
                'tree-sitter (>=0.25.0) ; (python_version >= "3.10") and (extra == "syntax")'],
    "markdown-it-py": ["mdurl~=0.1", 'linkify-it-py>=1,<3 ; extra == "linkify"', 'pytest ; extra == "testing"'],
    "rich": ["markdown-it-py (>=2.2.0)", 'ipywidgets (>=7.5.1,<9) ; extra == "jupyter"'],
    "azure-identity": ["azure-core>=1.31.0", "cryptography>=2.5", "PyYAML"],
    "cryptography": ["cffi>=2.0.0 ; python_full_version >= '3.9' and platform_python_implementation != 'PyPy'"],
}
VERSIONS = {"pyyaml": "6.0.2", "pyparted": "3.12.0", "textual": "8.2.8", "rich": "15.0.0", "azure-identity": "1.27.0",
            "azure-core": "1.41.0", "cryptography": "46.0.7", "cffi": "2.1.1", "markdown-it-py": "4.3.0",
            "mdurl": "0.1.2", "linkify-it-py": "2.2.0", "pytest": "8.3.5", "tree-sitter": "0.25.0"}
ENV = pydeps.Environment(requires=lambda name: REQUIRES.get(pydeps.normalize(name), []),
                         version=lambda name: VERSIONS.get(pydeps.normalize(name)))


def test_runtime_requirements_are_pinned_to_what_is_installed_and_skip_what_debian_has() -> None:
    assert pydeps.runtime_requirements(ENV) == [
        "azure-identity==1.27.0", "cryptography==46.0.7", "not-installed>=1", "textual==8.2.8"]


def test_constraints_pin_everything_pulled_in_with_the_extras_asked_for() -> None:
    # linkify-it-py: textual asks for markdown-it-py[linkify]; not pytest (markdown-it-py's testing
    # extra) nor tree-sitter (textual's syntax extra); not what Debian provides (PyYAML).
    assert pydeps.constraints(ENV) == [
        "azure-core==1.41.0", "azure-identity==1.27.0", "cffi==2.1.1", "cryptography==46.0.7",
        "linkify-it-py==2.2.0", "markdown-it-py==4.3.0", "mdurl==0.1.2", "rich==15.0.0", "textual==8.2.8"]


def test_requirement_lines_as_installed_metadata_writes_them() -> None:
    parsed = pydeps.parse_requirement('PyJWT[crypto] <3,>=1.0.0 ; extra == "broker"')
    assert parsed == pydeps.Requirement("pyjwt", frozenset({"crypto"}), frozenset({"broker"}),
                                        'PyJWT[crypto] <3,>=1.0.0 ; extra == "broker"')
    assert pydeps.parse_requirement("  ") is None


def test_python_cache_key() -> None:
    wanted = ["textual==8.2.8", "azure-identity==1.27.0"]
    assert pydeps.cache_key(wanted) == pydeps.cache_key(list(reversed(wanted)))
    assert pydeps.cache_key(wanted) != pydeps.cache_key(["textual==8.2.9", "azure-identity==1.27.0"])
    assert pydeps.cache_key(wanted, ["rich==15.0.0"]) != pydeps.cache_key(wanted, ["rich==14.0.0"])


def test_pip_installs_binary_wheels_into_a_target(tmp_path: Path) -> None:
    argv = pydeps.pip_argv(["textual==8.2.8"], tmp_path / "site", tmp_path / "c.txt")
    assert argv[1:4] == ["-m", "pip", "install"]
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--target") + 1] == str(tmp_path / "site")
    assert argv[argv.index("--constraint") + 1] == str(tmp_path / "c.txt")
    assert argv[-1] == "textual==8.2.8"


def test_cached_python_dependencies_are_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_pip(argv: list[str], **_: object) -> None:
        calls.append(argv)
        target = Path(argv[argv.index("--target") + 1])
        (target / "textual").mkdir(parents=True)

    monkeypatch.setattr(pydeps, "run", fake_pip)
    cache = tmp_path / "cache"
    cache.mkdir()
    recent, stale = cache / "python-recent", cache / "python-stale"  # another checkout's sets
    recent.mkdir()
    stale.mkdir()
    os.utime(stale, (0, 0))
    first = pydeps.cached_site_packages(cache, ENV)
    assert (first / "textual").is_dir() and len(calls) == 1
    assert calls[0][-4:] == ["azure-identity==1.27.0", "cryptography==46.0.7", "not-installed>=1", "textual==8.2.8"]
    assert pydeps.cached_site_packages(cache, ENV) == first and len(calls) == 1
    # no partial or constraints files left; a set unused for days is gone, a recent one stays
    assert sorted(p.name for p in cache.iterdir()) == sorted([first.name, recent.name])
    root = tmp_path / "root"
    assert pydeps.install_site_packages(root, first) == root / pydeps.SITE_DIR
    assert (root / pydeps.SITE_DIR / "textual").is_dir()


def _generate(tmp_path: Path, cmdline: str) -> tuple[Path, Path]:
    (tmp_path / "cmdline").write_text(cmdline + "\n")
    normal, early, late = tmp_path / "normal", tmp_path / "early", tmp_path / "late"
    for d in (normal, early, late):
        d.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "AZL_LIVE_CMDLINE": str(tmp_path / "cmdline"),
           "AZL_LIVE_RUN": str(tmp_path / "run")}
    subprocess.run(["sh", str(GENERATOR), str(normal), str(early), str(late)], check=True, env=env)
    return normal, early


def test_generator_does_nothing_on_an_installed_system(tmp_path: Path) -> None:
    normal, early = _generate(tmp_path, "BOOT_IMAGE=/vmlinuz root=UUID=x console=ttyS0,115200n8")
    assert not list(normal.iterdir()) and not list(early.iterdir())


def test_generator_live_without_profile_gives_root_shells(tmp_path: Path) -> None:
    normal, early = _generate(tmp_path, "boot=live console=tty1 console=ttyS0,115200n8")
    assert os.readlink(normal / "multi-user.target.wants/azl-live.service") == (
        "/usr/lib/systemd/system/azl-live.service")
    serial = (normal / "serial-getty@ttyS0.service.d/azl-live-autologin.conf").read_text()
    assert "ExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM" in serial
    vt = (normal / "getty@tty1.service.d/azl-live-autologin.conf").read_text()
    assert "--autologin root --noclear - $TERM" in vt
    assert not list(early.iterdir())


def test_generator_under_dracut_live_also_leads_live_boots_medium_path_to_dracuts(tmp_path: Path) -> None:
    cmdline = " ".join((*grubcfg.dracut_live_args("AZL_INSTALLER"), "inst.profile=/profiles/azl-vm-uefi.yaml"))
    normal, early = _generate(tmp_path, cmdline)
    assert (normal / "multi-user.target.wants/azl-live.service").is_symlink()
    assert sorted(p.name for p in early.iterdir()) == ["getty@tty1.service", "serial-getty@ttyS0.service"]
    assert os.readlink(tmp_path / "run/live/medium") == "/run/initramfs/live"
    _generate(tmp_path, cmdline)  # generators run again at every daemon-reload: the link is kept as it is
    assert os.readlink(tmp_path / "run/live/medium") == "/run/initramfs/live"
    other = tmp_path / "live-boot"
    other.mkdir()
    _generate(other, "boot=live console=ttyS0,115200n8")  # live-boot mounts the medium there itself
    assert not (other / "run").exists()


def test_generator_unattended_masks_the_login_prompts(tmp_path: Path) -> None:
    normal, early = _generate(tmp_path, "boot=live console=ttyS0,115200n8 inst.profile=/profiles/vm-uefi.yaml")
    assert sorted(p.name for p in early.iterdir()) == ["getty@tty1.service", "serial-getty@ttyS0.service"]
    assert all(os.readlink(p) == "/dev/null" for p in early.iterdir())
    assert (normal / "multi-user.target.wants/azl-live.service").is_symlink()
    assert [p.name for p in normal.glob("*.service.d")] == ["azl-live.service.d"]  # no autologin
    assert "Type=exec" in (normal / "azl-live.service.d/azl-live-unattended.conf").read_text()


# --- the in-VM profiles ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "boot"), [("vm-uefi", "uefi"), ("vm-bios", "bios")])
def test_vm_profiles(name: str, boot: str) -> None:
    profile = load_profile(ISO_DIR / "profiles" / f"{name}.yaml")
    assert profile.storage.disks[0].serial == "AZL-TARGET-0"
    assert profile.storage.auto is not None and profile.storage.auto.boot == boot
    assert profile.payload.image is not None
    assert profile.payload.image.path == "/run/live/medium/live/filesystem.squashfs"
    assert profile.payload.image.format == "squashfs"
    assert [r.baseurl for r in profile.payload.repositories] == ["file:///run/live/medium/repo"]
    # Only the sample repository's dependency-free group: core/azure-agents replace Debian's /bin/sh.
    assert profile.payload.groups == ("sample-extras",) and profile.payload.packages == ()
    assert profile.users and profile.users[0].ssh_keys
    assert profile.bootloader.enabled
    assert not any(arg.startswith("rootdelay=") for arg in profile.bootloader.cmdline)  # a 300 s sleep on Debian
    assert "console=ttyS0,115200n8" in profile.bootloader.cmdline
    body = profile.scripts.post[0].body
    for line in ("AZL-BOOT-CHECK begin", "findmnt --real -n -o SOURCE,TARGET,FSTYPE", "cat /etc/fstab",
                 "rpm --dbpath /usr/lib/sysimage/rpm -qa", "systemctl is-system-running", "AZL-BOOT-CHECK end",
                 "systemctl poweroff"):
        assert line in body

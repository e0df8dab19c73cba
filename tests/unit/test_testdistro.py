"""The test distribution's split of an installed Debian root into RPMs: owners, state files, dependencies."""

from __future__ import annotations

from pathlib import Path

from installer.plan import effective_profile
from profiles import load_profile
from sample.testdistro.rpms import _quote, spec
from sample.testdistro.split import normalize, rpm_name_of, rpm_version, split

STATUS = """Package: bash
Status: install ok installed
Essential: yes
Version: 5.2.37-2
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)

Package: base-files
Status: install ok installed
Version: 13.8
Provides: base

Package: debianutils
Status: install ok installed
Version: 5.23.2
Pre-Depends: libc6 (>= 2.34)

Package: libc6
Status: install ok installed
Version: 2.41-12

Package: waagent
Status: install ok installed
Version: 2.11.1.4-1
Depends: python3:any | python3-minimal, openssl | libssl3, systemd

Package: python3
Status: install ok installed
Version: 3.13.5-1
Depends: libc6
Description: a description
 spanning two lines, Depends: nothing

Package: systemd
Status: install ok installed
Version: 257.9-1~deb13u1
Depends: libc6

Package: removed-one
Status: deinstall ok config-files
Version: 1.0
"""

LISTS = {
    "bash": ["/.", "/bin", "/bin/bash", "/usr", "/usr/share"],
    "base-files": ["/.", "/etc", "/etc/os-release", "/usr", "/usr/share", "/usr/share/base-files"],
    "debianutils": ["/usr", "/usr/bin", "/usr/bin/which.debianutils"],
    "libc6": ["/usr", "/usr/lib", "/usr/lib/libc.so.6"],
    "waagent": ["/usr", "/usr/lib", "/usr/lib/python3", "/usr/lib/python3/dist-packages",
                "/usr/lib/python3/dist-packages/azurelinuxagent", "/usr/lib/python3/dist-packages/azurelinuxagent/a.py",
                "/usr/lib/systemd/system/walinuxagent.service", "/var/log/waagent"],
    "python3": ["/usr", "/usr/bin", "/usr/bin/python3"],
    "systemd": ["/usr", "/usr/lib", "/usr/lib/systemd", "/usr/lib/systemd/system"],
}

FILES = {"/bin/bash", "/etc/os-release", "/usr/bin/which.debianutils", "/usr/lib/libc.so.6", "/usr/bin/python3",
         "/usr/lib/python3/dist-packages/azurelinuxagent/a.py", "/usr/lib/systemd/system/walinuxagent.service"}


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    (root / "usr/bin").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")
    for name, paths in LISTS.items():
        (info / f"{name}.list").write_text("\n".join(paths) + "\n")
        for path in paths[1:]:
            full = root / normalize(path).lstrip("/")
            if path in FILES:
                full.parent.mkdir(parents=True, exist_ok=True)
                full.write_text(path)
            elif not full.is_symlink():
                full.mkdir(parents=True, exist_ok=True)
    # What maintainer scripts left behind: users, a byte-compiled module, an enabled unit, a machine id.
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    pycache = root / "usr/lib/python3/dist-packages/azurelinuxagent/__pycache__"
    pycache.mkdir()
    (pycache / "a.cpython-313.pyc").write_text("pyc")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "walinuxagent.service").symlink_to("/usr/lib/systemd/system/walinuxagent.service")
    (root / "etc/machine-id").write_text("0123\n")
    (root / "build-stamp").write_text("built\n")
    (root / "var/log/waagent/waagent.log").write_text("a log of the build\n")
    (root / "var/tmp").mkdir(parents=True)
    (root / "var/tmp/leftover").write_text("scratch")
    return root


def test_paths_follow_merged_usr_and_the_policy_name() -> None:
    assert normalize("/bin/bash") == "/usr/bin/bash"
    assert normalize("/lib/x86_64-linux-gnu") == "/usr/lib/x86_64-linux-gnu"
    assert normalize("/bin") == "/bin"  # the link itself stays where it is
    assert normalize("/etc/selinux/default/policy") == "/etc/selinux/targeted/policy"
    assert normalize("/etc/selinux/defaults") == "/etc/selinux/defaults"


def test_versions_and_file_names_rpm_accepts() -> None:
    assert rpm_version("1:2.41-12+deb13u1") == "2.41" and rpm_version("257.9-1~deb13u1") == "257.9"
    assert rpm_version("5.2.37") == "5.2.37" and rpm_version("1.0~rc1-2") == "1.0.rc1"
    assert _quote("/usr/bin/[") == '"/usr/bin/[[]"'
    assert _quote("/usr/lib/systemd/system/system-systemd\\x2dcryptsetup.slice") == (
        '"/usr/lib/systemd/system/system-systemd?x2dcryptsetup.slice"')
    assert _quote("/opt/100%") == '"/opt/100%%"'


def test_renamed_packages_carry_their_debian_files(tmp_path: Path) -> None:
    root = _root(tmp_path)
    packages = split(root, {"/usr/lib/os-release": "azurelinux-release"})
    assert rpm_name_of({"waagent": None, "bash": None})["waagent"] == "WALinuxAgent"  # type: ignore[dict-item]
    agent = packages["WALinuxAgent"]
    assert agent.debian == ["waagent"] and "/usr/lib/systemd/system/walinuxagent.service" in agent.paths
    # Debian's alternatives become requirements on what this root has, under the new names.
    assert agent.requires == {"python3", "systemd", "basesystem"}
    assert packages["debianutils"].requires == {"glibc", "basesystem"}  # Pre-Depends count; libc6 is glibc now
    assert "removed-one" not in packages


def test_state_that_scripts_made_goes_to_the_package_that_explains_it(tmp_path: Path) -> None:
    packages = split(_root(tmp_path), {})
    assert {"/etc/passwd", "/etc/group"} <= packages["setup"].paths
    agent = packages["WALinuxAgent"].paths
    assert "/usr/lib/python3/dist-packages/azurelinuxagent/__pycache__/a.cpython-313.pyc" in agent
    assert "/etc/systemd/system/multi-user.target.wants/walinuxagent.service" in agent
    assert "/var/log/waagent" in agent and "/var/log/waagent/waagent.log" not in agent  # its directory, no log
    everything = set().union(*(p.paths for p in packages.values()))
    assert "/etc/machine-id" not in everything and "/var/tmp/leftover" not in everything
    assert not any(p.startswith("/var/lib/dpkg") for p in everything)
    assert packages["filesystem"].left_out == ["/build-stamp"]  # made by the build, explained by no package


def test_shared_directories_and_essential_packages(tmp_path: Path) -> None:
    packages = split(_root(tmp_path), {"/bin": "filesystem"})
    assert {"/usr", "/usr/share", "/usr/lib", "/usr/bin", "/bin", "/var/tmp"} <= packages["filesystem"].paths

    assert "/usr/share/base-files" in packages["base-files"].paths  # one owner: stays with it
    # Debian never states a dependency on an Essential package: basesystem does, and everything needs it.
    assert "bash" in packages["basesystem"].requires
    assert all("basesystem" in p.requires for n, p in packages.items()
               if n not in ("filesystem", "setup", "basesystem", "azurelinux-release"))


def test_spec_installs_setup_first_and_declares_no_automatic_dependencies(tmp_path: Path) -> None:
    packages = split(_root(tmp_path), {})
    kernel_like = packages["systemd"]
    kernel_like.posttrans = "/usr/sbin/depmod -a 6.12"
    text = spec(kernel_like, ['%attr(-,root,root) "/usr/lib/systemd/system"'])
    assert "AutoReqProv: no" in text and "Requires(pre): setup" in text and "Requires: glibc" in text
    assert "%posttrans\n/usr/sbin/depmod -a 6.12" in text and "Release: 1.azl4" in text
    assert "Requires(pre)" not in spec(packages["setup"], [])


def test_the_iso_profiles_for_the_test_distribution_install_its_boot_chain() -> None:
    profiles = Path(__file__).resolve().parents[2] / "iso" / "profiles"
    chains = {"azl-vm-uefi.yaml": {"grub2-efi-x64", "shim-x64"}, "azl-vm-bios.yaml": {"grub2-pc"}}
    for name, chain in chains.items():
        profile = effective_profile(load_profile(profiles / name))
        assert profile.payload.image is None and profile.payload.groups == ("core", "azure-vm-server")
        assert profile.system.selinux == "enforcing" and profile.cloud_init is not None and profile.cloud_init.user_data
        wanted = chain | {"grub2-tools", "dracut", "selinux-policy-targeted", "policycoreutils", "WALinuxAgent"}
        assert wanted <= set(profile.payload.packages), name

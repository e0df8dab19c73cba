"""The RPM-built live root's inputs (iso/rpmlive.py): the live specs, the installer's repository, the kernel.

The build itself (dnf, dracut, the ISO) runs in tests/vm (rpm_installer_iso), where the ISO boots."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from iso import launcher, rpmlive
from iso.chroot import BuildError

LIVE = Path(rpmlive.__file__).resolve().parent / "live"


def test_the_test_distributions_spec_gets_the_repository_the_build_made(tmp_path: Path) -> None:
    payload = rpmlive.load_spec(LIVE / "testdistro.yaml", tmp_path / "azl-repo")
    assert [(r.name, r.baseurl, r.gpgcheck) for r in payload.repositories] == [
        ("azl-test", str(tmp_path / "azl-repo"), False)]
    assert {"kernel", "dracut-live", "azl-installer", "azl-installer-live", "shim-x64", "grub2-pc"} <= set(
        payload.packages)
    assert payload.docs is False and payload.releasever == "4.0"


def test_the_azure_linux_example_names_base_and_microsoft_signed_and_the_same_packages() -> None:
    example = rpmlive.load_spec(LIVE / "azurelinux-4.0.yaml", None)
    assert [r.name for r in example.repositories] == ["azurelinux-base", "azurelinux-microsoft"]
    assert all(r.gpgcheck and (r.baseurl or "").startswith("https://") for r in example.repositories)
    assert example.packages == rpmlive.load_spec(LIVE / "testdistro.yaml", Path("/r")).packages


@pytest.mark.parametrize(("text", "message"), [
    ("repositories: [{name: a, baseurl: /r}]\npackages: [kernel]\nkernal: 1\n",
     "unknown key 'kernal'"),
    ("repositories: [{name: a, baseurl: /r}]\n", "names no packages or no repositories"),
    ("packages: [kernel]\n", "names no packages or no repositories"),
    ("repositories: [{name: a, baseurl: '@testdistro@'}]\npackages: [kernel]\n",
     "a needs the test distribution, which was not built"),
    ("packages: [kernel\n", "cannot be read"),
    ("- just\n- a list\n", "expected a mapping of keys"),
])
def test_a_bad_spec_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "live.yaml"
    spec.write_text(text)
    with pytest.raises(BuildError) as caught:
        rpmlive.load_spec(spec, None)
    assert str(caught.value).startswith(f"live spec {spec}: "), caught.value
    assert message in str(caught.value) and "\n" not in str(caught.value), caught.value


def test_a_missing_spec_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"^live spec .*nothing\.yaml: cannot be read: "):
        rpmlive.load_spec(tmp_path / "nothing.yaml", None)


@pytest.mark.skipif(shutil.which("createrepo_c") is None, reason="createrepo_c is not installed")
def test_the_installers_rpms_become_one_more_repository(tmp_path: Path) -> None:
    spec = rpmlive.load_spec(LIVE / "testdistro.yaml", tmp_path / "azl-repo")
    rpms = tmp_path / "rpm"
    rpms.mkdir()
    (rpms / "repodata").mkdir()
    (rpms / "repodata" / "stale.xml").write_text("from an earlier build")
    payload = rpmlive.with_installer_rpms(spec, rpms)
    assert [r.name for r in payload.repositories] == ["azl-test", rpmlive.INSTALLER_REPO_ID]
    assert payload.repositories[-1].baseurl == str(rpms)
    assert (rpms / "repodata" / "repomd.xml").is_file() and not (rpms / "repodata" / "stale.xml").exists()


def test_the_newest_kernel_with_modules_is_taken(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no kernel in .*is the kernel package in the live spec"):
        rpmlive.kernel_version(tmp_path)
    for version in ("6.12.9-amd64", "6.12.10-amd64"):
        (tmp_path / "usr/lib/modules" / version).mkdir(parents=True)
        (tmp_path / "usr/lib/modules" / version / "modules.dep").write_text("")
    (tmp_path / "usr/lib/modules/6.99-leftover").mkdir()  # no modules.dep: a directory a package left
    assert rpmlive.kernel_version(tmp_path) == "6.12.9-amd64"  # sorted as text: as dracut's own default


def test_the_launcher_names_the_installers_rpm_only_where_rpm_knows_it(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rpm = tmp_path / "rpm"
    monkeypatch.setenv("PATH", str(tmp_path))
    rpm.write_text("#!/bin/sh\necho azl-installer-0.1.0-1.azl4.noarch\n")
    rpm.chmod(0o755)
    database = tmp_path / "sysimage-rpm"
    database.mkdir()
    assert launcher.installer_package([database]) is None  # an empty database directory (Debian's /var/lib/rpm)
    (database / "rpmdb.sqlite").write_bytes(b"")
    assert launcher.installer_package([database]) == "azl-installer-0.1.0-1.azl4.noarch"
    rpm.write_text("#!/bin/sh\necho 'package azl-installer is not installed'\nexit 1\n")
    assert launcher.installer_package([database]) is None
    rpm.unlink()
    assert launcher.installer_package([database]) is None


# What the test distribution does not have (docs/testdistro.md): RAID and btrfs layouts cannot be installed
# from the RPM-built ISO here. Azure Linux has both; its live spec (azurelinux-4.0.yaml) may add them.
NOT_IN_THE_TEST_DISTRIBUTION = {"mdadm", "btrfs-progs"}


def test_the_live_system_has_what_the_installer_only_recommends() -> None:
    """Weak dependencies are off in the live root, and a live installer must offer every profile: a
    Recommends of azl-installer missing from the live spec is a layout or unlock the ISO cannot install
    (as the TPM2 enrolment was, before tpm2-tools was in it)."""
    spec = (LIVE.parent / "rpm" / "azl-installer.spec").read_text()
    recommends = set(re.findall(r"^Recommends:\s*(\S+)", spec, re.M))
    assert recommends >= {"tpm2-tools", "lvm2"}, recommends
    live = set(rpmlive.load_spec(LIVE / "testdistro.yaml", Path("/r")).packages)
    assert recommends - NOT_IN_THE_TEST_DISTRIBUTION <= live, recommends - live

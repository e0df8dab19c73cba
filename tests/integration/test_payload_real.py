"""The payload step for real: dnf installs the sample repository into a directory root.

No loop device is needed: the target root is a plain directory. The result is checked from
outside with the host's rpm, reading the target's database.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RealRunner
from installer.payload import PayloadError, install_payload
from profiles.model import Payload, Repository, RootImage
from sample.build_repo import POST_MARKER, PackageSpec, build_repo

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="dnf --installroot and chrooted scriptlets need root"),
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in ("dnf", "rpmbuild", "createrepo_c", "tar", "mksquashfs")),
        reason="needs dnf, rpm (rpmbuild), createrepo-c, tar and squashfs-tools",
    ),
]

# azure-server = core (mandatory + default) + azure-agents, as defined in installer/data.
AZURE_SERVER = {
    "filesystem", "setup", "azurelinux-release", "bash", "coreutils", "util-linux", "shadow-utils",
    "systemd", "rpm", "dnf", "procps-ng", "iproute", "kernel", "openssh-server", "sudo", "vim-minimal",
    "WALinuxAgent", "cloud-init", "azure-vm-utils", "hyperv-daemons", "chrony", "cloud-utils-growpart",
}  # fmt: skip
# A cap_net_raw file capability (vfs_cap_data revision 2), as ping carries.
CAP_NET_RAW = b"\x01\x00\x00\x02\x00\x20\x00\x00" + bytes(12)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    badpost = PackageSpec("badpost", requires=("bash",), post='echo "badpost ran" >&2\nexit 3\n')
    out = build_repo(tmp_path_factory.mktemp("repo") / "sample", [badpost])
    return Repository("sample", out.as_uri(), gpgcheck=False)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


def installed(root: Path) -> set[str]:
    argv = ["rpm", "--root", str(root), "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--qf", "%{NAME}\\n"]
    return set(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split())


def install(payload: Payload, root: Path, workdir: Path) -> list[Event]:
    seen: list[Event] = []
    events = EventBus(seen.append)
    install_payload(payload, root, RealRunner(events), events, workdir)
    return seen


def test_environment_from_the_installers_comps(repo: Repository, root: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    start = time.monotonic()
    seen = install(Payload(repositories=(repo,), environment="azure-server"), root, workdir)
    print(f"installed azure-server in {time.monotonic() - start:.2f} s")

    assert installed(root) == AZURE_SERVER  # the groups resolved: comps merged from the extra repository
    assert (root / POST_MARKER.lstrip("/")).read_text() == "1\n"  # systemd's %post ran in the target
    assert (root / "etc/shadow").stat().st_mode & 0o7777 == 0
    assert os.readlink(root / "bin") == "usr/bin"
    assert (root / "var/lib/dnf/history.sqlite").is_file()  # dnf's state belongs to the target
    assert not (root / "root/.rpmdb").exists() and not (root / "var/lib/rpm").exists()
    # Nothing of the host's scratch directory leaks into the target (dnf's expired_repos.json).
    assert not (root / workdir.relative_to("/")).exists()
    assert (root / "tmp").is_dir()
    progress = [e.message for e in seen if e.kind == "step-progress"]
    assert len(progress) == len(AZURE_SERVER)
    assert "installing WALinuxAgent" in progress
    assert not [e for e in seen if e.level == "warning"]


def test_failing_post_scriptlet_fails_the_payload(repo: Repository, root: Path, tmp_path: Path) -> None:
    payload = Payload(repositories=(repo,), packages=("badpost",))
    expected = r"^%post scriptlet of package badpost-1\.0-.* \(exit status 3\): badpost ran$"
    with pytest.raises(PayloadError, match=expected):
        install(payload, root, tmp_path / "work")


def test_unknown_group_and_package_are_named(repo: Repository, root: Path, tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"^not found in the repositories: group 'no-such-group'$"):
        install(Payload(repositories=(repo,), groups=("no-such-group",)), root, tmp_path / "w1")
    with pytest.raises(PayloadError, match=r"^not found in the repositories: package 'no-such-package'$"):
        install(Payload(repositories=(repo,), packages=("vim-minimal", "no-such-package")), root, tmp_path / "w2")


def test_tar_image_then_packages(repo: Repository, root: Path, tmp_path: Path) -> None:
    image = tmp_path / "rootfs.tar.gz"
    with tarfile.open(image, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        data = b"from the image\n"
        member = tarfile.TarInfo("etc/image-marker")
        member.size, member.uid, member.gid, member.mode = len(data), 1234, 4321, 0o640
        member.pax_headers = {"SCHILY.xattr.security.capability": CAP_NET_RAW.decode("ascii")}
        archive.addfile(member, io.BytesIO(data))

    install(Payload(repositories=(repo,), packages=("vim-minimal",), image=RootImage(str(image))), root, tmp_path)

    marker = root / "etc/image-marker"
    assert marker.read_bytes() == data
    stat = marker.stat()
    assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (1234, 4321, 0o640)
    assert os.getxattr(marker, "security.capability") == CAP_NET_RAW
    assert installed(root) == {"vim-minimal"}


def test_squashfs_image(root: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "usr/lib").mkdir(parents=True)
    (tree / "usr/lib/os-release").write_text("ID=azurelinux\n")
    (tree / "lib").symlink_to("usr/lib")
    image = tmp_path / "root.squashfs"
    subprocess.run(["mksquashfs", str(tree), str(image), "-quiet", "-no-progress"], check=True)

    install(Payload(image=RootImage(str(image))), root, tmp_path / "work")

    assert (root / "lib/os-release").read_text() == "ID=azurelinux\n"

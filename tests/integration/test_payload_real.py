"""The payload step for real: dnf installs the sample repository into a directory root.

No loop device is needed: the target root is a plain directory. The dnf tests run twice, once
per dnf the installer may find: this host's dnf 4, and dnf5 in a Debian sid root
(tests/support/dnf5_root.py, built once and cached) that the product's own payload code reaches
through a runner that runs dnf5, rpm and createrepo_c in that root. Both must install the same
and fail with the same one-line messages. The result is checked from outside with the system's
rpm, reading the target's database.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from installer.core.events import Event, EventBus
from installer.core.runner import RealRunner, Runner
from installer.payload import PayloadError, install_payload
from installer.payload.dnf import comps_path
from profiles.model import Payload, Repository, RootImage
from sample.build_repo import POST_MARKER, PackageSpec, build_repo
from tests.support.dnf5_root import ChrootRunner, cached_tarball, unpack
from tests.support.faulty_repo import Fault, FaultyRepo, refused_url

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="dnf --installroot and chrooted scriptlets need root"),
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in ("rpmbuild", "createrepo_c", "tar", "mksquashfs")),
        reason="needs rpm (rpmbuild), createrepo-c, tar and squashfs-tools",
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
NO_KEY = ("repository 'sample' has gpgcheck on but no signing key: set its gpgkey, or gpgcheck: false for a "
          "trusted local repository")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    badpost = PackageSpec("badpost", requires=("bash",), post='echo "badpost ran" >&2\nexit 3\n')
    extra = PackageSpec("azl-extra", requires=("bash",))
    base = tmp_path_factory.mktemp("repo")
    (base / "big.bin").write_bytes(os.urandom(8 << 20))  # random: rpm cannot compress it away
    big = PackageSpec("bigdata", host_files=(("/usr/share/bigdata/big.bin", str(base / "big.bin")),))
    out = build_repo(base / "sample", [badpost, extra, big])
    return Repository("sample", out.as_uri(), gpgcheck=False)


@dataclass(frozen=True)
class DnfSystem:
    """The installer system the payload finds dnf on: this host, or the sid root with dnf5 (chroot)."""

    name: str
    chroot: Path | None
    history: str  # where this dnf keeps its history in the target

    def runner(self, events: EventBus, *shared: Path) -> Runner:
        real = RealRunner(events)
        if self.chroot is None:
            return real
        # What the payload's commands name: the test's directories, the repository, the installer's comps.
        return ChrootRunner(real, self.chroot, (*shared, comps_path().parent))


@pytest.fixture(scope="module", params=["dnf4", "dnf5"])
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnfSystem]:
    if request.param == "dnf4":
        if shutil.which("dnf") is None:
            pytest.skip("needs dnf (Debian's dnf 4)")
        yield DnfSystem("dnf 4", None, "var/lib/dnf/history.sqlite")
        return
    if shutil.which("mmdebstrap") is None:
        pytest.skip("needs mmdebstrap to build the dnf5 root (make setup)")
    # The first run on a machine builds the root (about a minute); `make test` builds it before pytest.
    chroot = unpack(cached_tarball(), tmp_path_factory.mktemp("dnf5-system"))
    yield DnfSystem("dnf5", chroot, "usr/lib/sysimage/libdnf5/transaction_history.sqlite")
    shutil.rmtree(chroot, ignore_errors=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


def installed(root: Path, system: DnfSystem | None = None) -> set[str]:
    argv = ["rpm", "--root", str(root), "--dbpath", "/usr/lib/sysimage/rpm", "-qa", "--qf", "%{NAME}\\n"]
    if system is not None:
        return set(system.runner(EventBus(), root).run(argv).output.split())
    return set(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split())


def install(payload: Payload, root: Path, workdir: Path, system: DnfSystem | None = None) -> list[Event]:
    seen: list[Event] = []
    events = EventBus(seen.append)
    runner = system.runner(events, root.parent, workdir, *_local_repos(payload)) if system else RealRunner(events)
    install_payload(payload, root, runner, events, workdir)
    return seen


def _local_repos(payload: Payload) -> list[Path]:
    return [Path(r.source().removeprefix("file://")) for r in payload.repositories if r.source().startswith("file://")]


def test_environment_groups_and_packages_from_the_installers_comps(
    system: DnfSystem, repo: Repository, root: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "work"
    start = time.monotonic()
    seen = install(Payload(repositories=(repo,), environment="azure-server", packages=("azl-extra",)), root, workdir,
                   system)
    print(f"{system.name} installed azure-server + azl-extra in {time.monotonic() - start:.2f} s")

    expected = AZURE_SERVER | {"azl-extra"}
    assert installed(root, system) == expected  # the groups resolved: comps merged from the extra repository
    assert (root / POST_MARKER.lstrip("/")).read_text() == "1\n"  # systemd's %post ran in the target
    assert (root / "etc/shadow").stat().st_mode & 0o7777 == 0
    assert os.readlink(root / "bin") == "usr/bin"
    assert (root / system.history).is_file()  # dnf's state belongs to the target
    assert not (root / "root/.rpmdb").exists() and not (root / "var/lib/rpm").exists()
    # Nothing of the host's scratch directory leaks into the target (dnf 4's expired_repos.json),
    # nor dnf5's lock files (/run/dnf, /var/lib/dnf/system-repo.lock).
    assert not (root / workdir.relative_to("/")).exists()
    assert (root / "tmp").is_dir()
    assert list((root / "run").iterdir()) == []
    assert not (root / "var/lib/dnf/system-repo.lock").exists()
    progress = [e.message for e in seen if e.kind == "step-progress"]
    assert len(progress) == len(expected)
    assert "installing WALinuxAgent" in progress and "installing azl-extra" in progress
    assert not [e for e in seen if e.level == "warning"]
    assert f"installing with {system.name}" in next(e.message for e in seen if e.message.startswith("installing with"))


def test_failing_post_scriptlet_fails_the_payload(
    system: DnfSystem, repo: Repository, root: Path, tmp_path: Path
) -> None:
    payload = Payload(repositories=(repo,), packages=("badpost",))
    expected = r"^%post scriptlet of package badpost-1\.0-1\.azl4\.noarch failed \(exit status 3\): badpost ran$"
    with pytest.raises(PayloadError, match=expected):
        install(payload, root, tmp_path / "work", system)


def test_unknown_group_and_package_are_named(system: DnfSystem, repo: Repository, root: Path, tmp_path: Path) -> None:
    with pytest.raises(PayloadError, match=r"^not found in the repositories: group 'no-such-group'$"):
        install(Payload(repositories=(repo,), groups=("no-such-group",)), root, tmp_path / "w1", system)
    with pytest.raises(PayloadError, match=r"^not found in the repositories: package 'no-such-package'$"):
        install(Payload(repositories=(repo,), packages=("vim-minimal", "no-such-package")), root, tmp_path / "w2",
                system)


def test_signature_check_on_an_unsigned_repository(
    system: DnfSystem, repo: Repository, root: Path, tmp_path: Path
) -> None:
    checked = Repository(repo.name, repo.baseurl, gpgcheck=True)
    with pytest.raises(PayloadError) as caught:
        install(Payload(repositories=(checked,), packages=("vim-minimal",)), root, tmp_path / "work", system)
    assert str(caught.value) == NO_KEY
    assert installed(root, system) == set()


@pytest.mark.parametrize(("fault", "expected"), [
    ("missing", r"^repository 'sample' at {url} could not be read: HTTP 404 Not Found \({url}repodata/repomd\.xml\)$"),
    ("refused", r"^repository 'sample' at {url} could not be read: the connection was refused \(nothing listens "
                r"there, or a firewall refuses\) \({url}repodata/repomd\.xml\)$"),
    ("stall", r"^repository 'sample' at {url} could not be read: no answer in time \(payload\.timeout\): .*"
              r"the last 1 seconds \({url}repodata/repomd\.xml\)$"),
    ("corrupt", r"^package vim-minimal-9\.1\.0-1\.azl4\.noarch is damaged: it was downloaded, but its checksum "
                r"does not match the repository's metadata \(a broken mirror or file\)$"),
], ids=["missing", "refused", "stall", "corrupt"])  # fmt: skip
def test_a_failing_repository_is_named_with_its_url_and_the_cause(
    system: DnfSystem, repo: Repository, root: Path, tmp_path: Path, fault: Fault | Literal["refused"], expected: str
) -> None:
    """A mirror that answers 404, refuses, stops sending (bounded by payload.timeout) or serves a damaged package."""
    served = Path(repo.source().removeprefix("file://"))
    with contextlib.ExitStack() as stack:
        url = refused_url() if fault == "refused" else stack.enter_context(FaultyRepo(served, fault)).url
        payload = Payload(repositories=(Repository("sample", url, gpgcheck=False),), packages=("vim-minimal",),
                          timeout=1)
        start = time.monotonic()
        with pytest.raises(PayloadError, match=expected.format(url=re.escape(url))):
            install(payload, root, tmp_path / "work", system)
    # A stalled mirror costs about four tries of payload.timeout, not dnf's default of minutes.
    assert time.monotonic() - start < 30
    assert installed(root, system) == set()


def test_a_target_too_small_names_the_filesystem_and_the_package(
    system: DnfSystem, repo: Repository, root: Path, tmp_path: Path
) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "azl-test-small", str(root)], check=True)
    try:
        with pytest.raises(PayloadError, match=r"^the target's / filesystem is too small: package "
                           r"bigdata-1\.0-1\.azl4\.noarch needs \d+MB more space there \(make / bigger, or "
                           r"install fewer packages\)$"):
            install(Payload(repositories=(repo,), packages=("bigdata",)), root, tmp_path / "work", system)
    finally:
        subprocess.run(["umount", str(root)], check=True)


@pytest.mark.skipif(shutil.which("dnf") is None, reason="needs dnf (Debian's dnf 4)")
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

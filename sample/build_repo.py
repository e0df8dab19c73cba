"""Build the bundled sample RPM repository: tiny noarch packages named like Azure Linux's.

The packages carry no real software, only what an install into an empty root needs to be
checked from the outside: a filesystem layout, /etc/passwd and friends, a working /bin/sh
(Debian's static busybox) so that scriptlets can run chrooted, and a %post in systemd that
leaves a marker file. Package names match Azure Linux so the installer's own comps groups
resolve against this repository as they would against the real one.

Usage: python -m sample.build_repo OUTDIR
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# The systemd package's %post writes "$1" (rpm's instance count, "1" on first install) here.
POST_MARKER = "/var/lib/azl-sample/systemd-post-ran"
STAMP_NAME = ".sample-repo-stamp"
_BUSYBOX_CANDIDATES = ("/usr/bin/busybox", "/bin/busybox")
# Applets linked into /usr/bin by the sample coreutils, so that a chroot into the target has
# the everyday commands that later installer steps and users' post scripts expect.
_COREUTILS_APPLETS = (
    "cat", "chmod", "chown", "cp", "cut", "date", "echo", "false", "head", "id", "ln", "ls", "mkdir",
    "mktemp", "mv", "rm", "rmdir", "sed", "sleep", "sort", "stat", "tail", "touch", "tr", "true",
    "uname", "wc",
)  # fmt: skip


@dataclass(frozen=True)
class PackageSpec:
    """One noarch package. Paths are absolute paths inside the installed system."""

    name: str
    version: str = "1.0"
    release: str = "1.azl4"
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (path, text content); a marker file if none at all
    post: str | None = None  # %post body, run by the target's /bin/sh
    symlinks: tuple[tuple[str, str], ...] = ()  # (path, link target)
    dirs: tuple[str, ...] = ()  # directories the package owns
    modes: tuple[tuple[str, int], ...] = ()  # (path, mode) for files not 0644
    host_files: tuple[tuple[str, str], ...] = ()  # (path, file on the build host to copy)


class BuildError(Exception):
    """rpmbuild or createrepo_c failed, or a build input is missing."""


def busybox_path() -> Path:
    """Debian's busybox-static binary; a dynamic busybox could not run inside the target."""
    for candidate in _BUSYBOX_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            # A dynamically linked busybox names its loader in PT_INTERP; the static one does not.
            if b"/ld-linux" in path.read_bytes()[:4096]:
                raise BuildError(f"{path} is dynamically linked: install busybox-static")
            return path
    raise BuildError("busybox not found: install busybox-static")


_OS_RELEASE = """NAME="Azure Linux"
VERSION="4.0 (sample)"
ID=azurelinux
VERSION_ID="4.0"
PRETTY_NAME="Azure Linux 4.0 (sample repository)"
"""


def _marker(name: str) -> tuple[tuple[str, str], ...]:
    return ((f"/usr/share/azl-sample/{name}", f"sample package {name}\n"),)


def default_packages() -> tuple[PackageSpec, ...]:
    busybox = str(busybox_path())
    top_dirs = (
        "/boot", "/dev", "/etc", "/home", "/proc", "/root", "/run", "/sys", "/tmp", "/usr", "/usr/bin",
        "/usr/lib", "/usr/lib64", "/usr/sbin", "/usr/share", "/var", "/var/lib", "/var/log", "/var/tmp",
    )  # fmt: skip
    return (
        PackageSpec(
            "setup",
            version="2.14.5",
            files=(
                ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
                ("/etc/group", "root:x:0:\n"),
                ("/etc/shadow", "root:*:19000:0:99999:7:::\n"),
                ("/etc/gshadow", "root:::\n"),
            ),
            modes=(("/etc/shadow", 0o000), ("/etc/gshadow", 0o000)),
        ),
        PackageSpec(
            "filesystem",
            version="3.18",
            requires=("setup",),
            dirs=top_dirs,
            # The usr-merge symlinks: /bin/sh resolves to the busybox in bash's /usr/bin.
            symlinks=(("/bin", "usr/bin"), ("/sbin", "usr/sbin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64")),
            modes=(("/root", 0o550), ("/tmp", 0o1777), ("/var/tmp", 0o1777)),
        ),
        PackageSpec(
            "bash",
            version="5.2.37",
            requires=("filesystem",),
            provides=("/bin/sh", "/bin/bash", "/usr/bin/sh"),
            host_files=(("/usr/bin/busybox", busybox),),
            modes=(("/usr/bin/busybox", 0o755),),
            symlinks=(("/usr/bin/sh", "busybox"), ("/usr/bin/bash", "busybox")),
        ),
        PackageSpec(
            "coreutils",
            version="9.5",
            requires=("bash",),
            symlinks=tuple((f"/usr/bin/{applet}", "busybox") for applet in _COREUTILS_APPLETS),
        ),
        PackageSpec(
            "systemd",
            version="255",
            requires=("setup", "bash"),
            files=_marker("systemd"),
            dirs=(os.path.dirname(POST_MARKER),),
            # Only a shell builtin: the marker proves that rpm ran the scriptlet in the target.
            post=f'echo "$1" > {POST_MARKER}\n',
        ),
        PackageSpec("azurelinux-release", version="4.0", files=(("/etc/os-release", _OS_RELEASE),)),
        PackageSpec("util-linux", version="2.40.2", files=_marker("util-linux")),
        PackageSpec("shadow-utils", version="4.16.0", requires=("setup",), files=_marker("shadow-utils")),
        PackageSpec("rpm", version="4.20.0", files=_marker("rpm")),
        PackageSpec("procps-ng", version="4.0.4", files=_marker("procps-ng")),
        PackageSpec("iproute", version="6.10.0", files=_marker("iproute")),
        PackageSpec("sudo", version="1.9.16", files=_marker("sudo")),
        PackageSpec("dnf", version="4.21.1", files=_marker("dnf")),
        PackageSpec("openssh-server", version="9.8p1", requires=("systemd",), files=_marker("openssh-server")),
        PackageSpec("vim-minimal", version="9.1.0", files=_marker("vim-minimal")),
        PackageSpec(
            "kernel",
            version="6.12.0",
            files=(("/usr/lib/modules/6.12.0-1.azl4.x86_64/sample-kernel", "not a real kernel\n"),),
        ),
        PackageSpec("WALinuxAgent", version="2.12.0.2", requires=("systemd",), files=_marker("WALinuxAgent")),
        PackageSpec("cloud-init", version="24.4", requires=("systemd",), files=_marker("cloud-init")),
        PackageSpec("cloud-utils-growpart", version="0.33", files=_marker("cloud-utils-growpart")),
        PackageSpec("azure-vm-utils", version="0.5.0", files=_marker("azure-vm-utils")),
        PackageSpec("hyperv-daemons", version="6.12.0", requires=("systemd",), files=_marker("hyperv-daemons")),
        PackageSpec("chrony", version="4.6", requires=("systemd",), files=_marker("chrony")),
    )


# Azure Linux 4.0's own comps holds only build groups and no environment; so does this one.
_REPO_COMPS = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>build</id>
    <name>Build</name>
    <description>Packages in the build root</description>
    <default>false</default>
    <uservisible>false</uservisible>
    <packagelist>
      <packagereq type="mandatory">bash</packagereq>
      <packagereq type="mandatory">coreutils</packagereq>
    </packagelist>
  </group>
  <group>
    <id>sample-extras</id>
    <name>Sample extras</name>
    <description>Sample packages without dependencies: safe on top of any root (the VM tests use it on
      the Debian-based live image, where the sample systemd/setup/bash would replace the real ones)</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">azure-vm-utils</packagereq>
      <packagereq type="mandatory">cloud-utils-growpart</packagereq>
      <packagereq type="default">vim-minimal</packagereq>
    </packagelist>
  </group>
</comps>
"""


def _render_spec(spec: PackageSpec, stage: Path) -> str:
    lines = [
        f"Name: {spec.name}",
        f"Version: {spec.version}",
        f"Release: {spec.release}",
        f"Summary: Azure Linux sample package {spec.name}",
        "License: MIT",
        "BuildArch: noarch",
        # Only the dependencies written here: no scanning of the (foreign, static) payload.
        "AutoReqProv: no",
        *(f"Requires: {r}" for r in spec.requires),
        *(f"Provides: {p}" for p in spec.provides),
        "",
        "%description",
        f"Sample package {spec.name} for installer tests; it carries no real software.",
        "",
        "%install",
        f'cp -a "{stage}/." "%{{buildroot}}/"',
        "",
    ]
    if spec.post is not None:
        lines += ["%post", spec.post.rstrip("\n"), ""]
    modes = dict(spec.modes)
    lines += ["%files", "%defattr(-,root,root,-)"]
    lines += [f"%dir %attr({modes.get(d, 0o755):04o},root,root) {d}" for d in spec.dirs]
    file_paths = [p for p, _ in spec.files] + [p for p, _ in spec.host_files]
    lines += [f"%attr({modes.get(p, 0o644):04o},root,root) {p}" for p in file_paths]
    lines += [p for p, _ in spec.symlinks]
    return "\n".join(lines) + "\n"


def _stage(spec: PackageSpec, stage: Path) -> None:
    stage.mkdir(parents=True)
    for d in spec.dirs:
        (stage / d.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for path, text in spec.files:
        target = stage / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, host in spec.host_files:
        target = stage / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(host, target)
    for path, link in spec.symlinks:
        target = stage / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(link)


def _with_default_marker(spec: PackageSpec) -> PackageSpec:
    if spec.files or spec.host_files or spec.symlinks or spec.dirs:
        return spec
    return dataclasses.replace(spec, files=_marker(spec.name))


def _build_one(spec: PackageSpec, work: Path, rpmdir: Path) -> None:
    top = work / spec.name
    stage = top / "stage"
    _stage(spec, stage)
    spec_file = top / f"{spec.name}.spec"
    spec_file.write_text(_render_spec(spec, stage))
    argv = [
        "rpmbuild", "-bb", "--quiet",
        "--define", f"_topdir {top}",
        "--define", f"_rpmdir {rpmdir}",
        # No brp scripts, debuginfo or build-id links: nothing here is compiled, and they cost time.
        "--define", "__os_install_post %{nil}",
        "--define", "debug_package %{nil}",
        "--define", "_build_id_links none",
        "--define", "_binaries_in_noarch_packages_terminate_build 0",
        str(spec_file),
    ]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"rpmbuild of {spec.name} failed:\n{proc.stdout}{proc.stderr}")


def _inputs_hash(specs: Sequence[PackageSpec]) -> str:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(json.dumps([dataclasses.asdict(s) for s in specs], sort_keys=True).encode())
    for spec in specs:
        for _, host in spec.host_files:
            digest.update(Path(host).read_bytes())
    return digest.hexdigest()


def build_repo(outdir: Path, extra_packages: Sequence[PackageSpec] = ()) -> Path:
    """Build (or reuse) the sample repository in outdir; returns outdir.

    Extra packages replace default ones of the same name. A stamp of the inputs' hash makes
    a second call with the same inputs return at once.
    """
    extra_names = {p.name for p in extra_packages}
    specs = [p for p in default_packages() if p.name not in extra_names]
    specs += [_with_default_marker(p) for p in extra_packages]
    want = _inputs_hash(specs)
    stamp = outdir / STAMP_NAME
    if (outdir / "repodata" / "repomd.xml").is_file() and stamp.is_file() and stamp.read_text() == want:
        return outdir

    outdir.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    rpmdir = outdir / "Packages"
    for owned in (rpmdir, outdir / "repodata"):
        shutil.rmtree(owned, ignore_errors=True)
    rpmdir.mkdir()  # before the parallel builds, which would race to create it
    with tempfile.TemporaryDirectory(prefix="sample-repo-") as tmp:
        work = Path(tmp)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for future in [pool.submit(_build_one, s, work, rpmdir) for s in specs]:
                future.result()
        comps = work / "comps.xml"
        comps.write_text(_REPO_COMPS)
        proc = subprocess.run(
            ["createrepo_c", "-q", "-g", str(comps), str(outdir)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise BuildError(f"createrepo_c failed:\n{proc.stdout}{proc.stderr}")
    stamp.write_text(want)
    return outdir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    try:
        path = build_repo(args.outdir)
    except BuildError as error:
        print(f"build_repo: {error}", file=sys.stderr)
        return 1
    print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

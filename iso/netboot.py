"""Network boot files from a built ISO: `python -m iso.netboot --iso ISO --out DIR` (`make netboot`).

DIR then holds what a machine needs to start the installer over the network, with no ISO:

  boot.ipxe                     the iPXE script: kernel and initramfs over HTTP, then boot
  live/vmlinuz, live/initrd.img  the ISO's own kernel and live-boot initramfs
  live/filesystem.squashfs      the live root, which the initramfs fetches over HTTP into memory
                                (live-boot's fetch=), the same file the ISO boots from
  azl-repo/, repo/              the ISO's package repositories, for profiles to install from over HTTP
  SHA256SUMS                    of every file above

The live root's SHA-256 is on the kernel command line (inst.live_sha256=): the launcher checks the
fetched copy before it installs or offers anything, so a download damaged on the way is one line and
exit code 2, not an install from a broken root. The kernel and initramfs come over the same HTTP; iPXE
checks nothing itself (a signed chain is a Secure Boot matter: the ISO's shim and GRUB).

URLs: with --url http://HOST:PORT the script names that server. Without it the script says @SERVER@,
which `azl-installer serve` replaces, for each machine, with the address that machine reached it at
(so one directory serves both a QEMU guest and a real network). Options for every machine (say
inst.profile=@SERVER@/fleet/) go in with --append.

The Debian-built ISO only: the RPM-built one boots with dracut, whose livenet module (root=live:URL)
would be its way (not built yet).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from installer.core.digest import file_sha256
from iso.grubcfg import CONSOLES, INITRD, KERNEL

SERVER = "@SERVER@"  # replaced by `azl-installer serve` in .ipxe files with http://<the Host the client used>
SQUASHFS = "/live/filesystem.squashfs"
REPOSITORIES = ("/azl-repo", "/repo")
_URL = re.compile(r"^https?://[A-Za-z0-9.\[\]:-]+(/[A-Za-z0-9._~/-]*)?$")


class NetbootError(Exception):
    """One line: what is missing or wrong."""


def kernel_args(base: str, live_sha256: str, append: Sequence[str] = ()) -> list[str]:
    """live-boot fetches the squashfs over HTTP (DHCP on the first NIC that gets a lease) into memory."""
    return ["initrd=initrd.img", "boot=live", f"fetch={base}{SQUASHFS}", f"inst.live_sha256={live_sha256}",
            *CONSOLES, *append]


def ipxe_script(base: str, live_sha256: str, append: Sequence[str] = ()) -> str:
    """The script iPXE runs (chained from the DHCP boot file name, or typed: chain URL/boot.ipxe)."""
    return "\n".join([
        "#!ipxe",
        "# azl-installer network boot (iso/netboot.py): the live system over HTTP.",
        "echo azl-installer: loading the live system",
        f"kernel {base}{KERNEL} {' '.join(kernel_args(base, live_sha256, append))}",
        f"initrd --name initrd.img {base}{INITRD}",
        "boot",
        "",
    ])


def extract(iso: Path, out: Path) -> None:
    """The ISO's kernel, initramfs, live root and repositories, with xorriso (no mount, no loop device)."""
    def take(paths: Sequence[str]) -> subprocess.CompletedProcess[str]:
        pairs = [arg for inside in paths for arg in ("-extract", inside, str(out / inside.lstrip("/")))]
        return subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), *pairs], capture_output=True,
                              text=True, check=False)

    done = take((KERNEL, INITRD, SQUASHFS))
    missing = [p for p in (KERNEL, INITRD, SQUASHFS) if not (out / p.lstrip("/")).is_file()]
    if done.returncode != 0 or missing:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise NetbootError(f"{iso}: cannot take {', '.join(missing) or 'the files'} from it ({reason}); is it "
                           "the Debian-built installer ISO?")
    for repository in REPOSITORIES:  # each where the ISO has it (an ISO built without the sample has no /repo)
        take((repository,))


def make_netboot(iso: Path, out: Path, url: str | None = None, append: Sequence[str] = ()) -> Path:
    """Write the network boot directory; returns the path of boot.ipxe."""
    if url is not None and not _URL.match(url.rstrip("/")):
        raise NetbootError(f"--url {url}: expected http://HOST[:PORT][/PATH]")
    if not iso.is_file():
        raise NetbootError(f"{iso}: no such ISO (make iso builds it)")
    if out.exists() and not out.is_dir():
        raise NetbootError(f"{out} is a file: give a directory")
    if out.is_dir() and any(out.iterdir()):
        # Replaced only when it is one this wrote before: a mistyped --out must not take a directory with it.
        if not (out / "boot.ipxe").is_file():
            raise NetbootError(f"{out} is not empty and holds no boot.ipxe: give a new or empty directory")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    extract(iso, out)
    for path in out.rglob("*"):  # xorriso keeps the ISO's read-only modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    base = url.rstrip("/") if url is not None else SERVER
    script = out / "boot.ipxe"
    append = [word.replace(SERVER, base) for word in append]
    script.write_text(ipxe_script(base, file_sha256(out / SQUASHFS.lstrip("/")), append))
    files = sorted(p for p in out.rglob("*") if p.is_file())
    (out / "SHA256SUMS").write_text("".join(f"{file_sha256(p)}  {p.relative_to(out)}\n" for p in files))
    return script


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iso.netboot", description="Network boot files (iPXE "
                                     "script, kernel, initramfs, live root, repositories) from a built installer "
                                     "ISO; see docs/fleet.md.")
    parser.add_argument("--iso", type=Path, required=True, help="the Debian-built installer ISO")
    parser.add_argument("--out", type=Path, required=True, help="the directory to write: new, empty, or one "
                        "written before (then replaced)")
    parser.add_argument("--url", help=f"the URL DIR will be served at (default: {SERVER}, which "
                        "`azl-installer serve` fills in)")
    parser.add_argument("--append", default="", metavar="ARGS",
                        help=f"kernel options for every machine, e.g. 'inst.profile={SERVER}/fleet/'")
    args = parser.parse_args(argv)
    try:
        script = make_netboot(args.iso, args.out, args.url, args.append.split())
    except NetbootError as err:
        print(f"netboot: {err}", file=sys.stderr)
        return 2
    print(f"netboot: {script} (serve {args.out}, then boot machines with iPXE: chain <URL>/boot.ipxe)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Installs what building, testing and the demo need on a fresh Debian 12/13 machine.
# Idempotent: apt and pip skip what is already there; a stamp file skips the apt step
# when the package list has not changed since the last successful run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config python3-dev python3-venv
  libparted-dev parted fdisk util-linux udev kmod
  e2fsprogs xfsprogs dosfstools btrfs-progs squashfs-tools tar zstd
  rpm rpm2cpio dnf python3-dnf python3-libcomps createrepo-c busybox-static curl
  tzdata tmux locales
  qemu-system-x86 qemu-utils ovmf xorriso grub-pc-bin grub-efi-amd64-bin mtools
  mmdebstrap grub-common libcap2-bin
  cryptsetup-bin swtpm rpmlint ipxe-qemu packer
)

stamp=.venv/.apt-stamp
want=$(printf '%s\n' "${APT_PACKAGES[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(id -u)" = 0 ] && { [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; }; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# The venv uses Debian's own Python so that Debian's python3-dnf/libcomps (compiled
# for it) can be imported alongside the pinned PyPI packages.
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
req_stamp=.venv/.req-stamp
req_want=$(cat requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$req_stamp" ] || [ "$(cat "$req_stamp")" != "$req_want" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  echo "$req_want" > "$req_stamp"
fi
[ "$(id -u)" = 0 ] && echo "$want" > "$stamp"
exit 0

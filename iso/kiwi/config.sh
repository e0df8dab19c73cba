#!/bin/bash
# KIWI runs this chrooted in the image root after all packages are installed: the image configuration
# no package carries. The project's own RPM build runs it the same way (iso/rpmlive.py, configure()).
# tests/unit/test_kiwi_description.py runs it in a scratch root and checks what it wrote.
set -euo pipefail

# KIWI's helper functions, when KIWI runs this (none of them is needed here).
test -f /.kconfig && . /.kconfig
test -f /.profile && . /.profile

echo azl-installer > /etc/hostname
# /etc/hosts is not written here: while KIWI builds, it is a link to a copy of the build host's, restored
# afterwards (a full build here showed it), so it comes from the overlay root/etc/hosts as KIWI asks.

# Empty, not absent: systemd then makes a machine id for this boot only and does not take the boot for a
# first boot (which would start systemd-firstboot's prompts on the console). Masked all the same.
: > /etc/machine-id
mkdir -p /etc/systemd/system
ln -sfn /dev/null /etc/systemd/system/systemd-firstboot.service

# Installed systems run cloud-init (it is in their payload); a live system has no use for it.
if [ -d /etc/cloud ]; then
  echo "the installer's live medium" > /etc/cloud/cloud-init.disabled
fi

# root: no password on the medium. The live system's generator gives root shells by agetty autologin
# (no password asked); an empty password field would also open other logins, so lock it if empty.
if [ -f /etc/shadow ]; then
  sed -i 's/^root::/root:!:/' /etc/shadow
fi

# The installer's code precompiled by the live python, then imported once: an import the live root
# cannot satisfy fails the image build, not a boot (iso/customize.py does the same).
python3 -m compileall -q -j 0 /usr/lib/azl-installer
/usr/bin/azl-installer schema > /dev/null

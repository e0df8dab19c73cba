#!/usr/bin/env bash
# Shows what `make demo` produced: the partition table of the image and how to look inside.
set -euo pipefail
image=$1
echo
echo "== The installed disk image: $image ($(du -h --apparent-size "$image" | cut -f1) virtual, $(du -h "$image" | cut -f1) used)"
sfdisk --list "$image" | sed -n '/^Device/,$p'
cat <<MSG

Inspect it (as root):
  dev=\$(losetup --find --show --read-only $image) && partx --add \$dev
  mount -o ro \${dev}p3 /mnt && ls /mnt/var/log/azl-installer && cat /mnt/etc/fstab
  rpm --root /mnt --dbpath /usr/lib/sysimage/rpm -qa | sort
  umount /mnt; partx --delete \$dev; losetup --detach \$dev
Events of the run (JSON lines): build/demo-events.jsonl; logs: build/logs/
MSG

"""The live environment and the bootable installer ISO, built on a Debian host from Debian packages.

`python -m iso.build --out build/azl-installer.iso` builds it (as root). The modules are small
and mostly pure so the tests can pin them: recipe (what goes into the live root and its cache
key), liveroot (mmdebstrap and the cache), pydeps (the installer's PyPI dependencies, cached),
customize (the installer and launcher put into the root), grubcfg (the boot menu), assemble
(squashfs, ISO tree, GRUB for BIOS, xorriso), efiboot (the UEFI image: the carried repository's signed
shim and GRUB, for Secure Boot), chroot (commands and throw-away mounts), launcher (runs
inside the live system at boot; standard library only, because it is copied there as is),
boottest (boots the ISO in QEMU and times it, for developers) and vm/ (the tester's QEMU harness
behind `azl-installer vm`, the one place that builds QEMU command lines and runs QEMU).
"""

"""The tester's QEMU harness: the one place that builds qemu-system command lines and runs QEMU.

It serves `azl-installer vm` (cli, session), the ISO boot check (iso/boottest.py) and the VM
tests (tests/vm) alike:

- qemu: command lines as pure functions (machine, firmware, disks, CD-ROM, console, network,
  the KVM probe), so tests can pin them;
- disks: qemu-img command lines and the fixed-VHD checks for Azure;
- serial: what the live system reports on its serial console (the install result and log);
- process: running QEMU, one process per `with`, always stopped (timeouts, Ctrl+C, SIGTERM),
  the KVM probe, and waiting for a marker on the serial console;
- session: the `azl-installer vm` flow; cli: its command line.

Nothing in installer/ imports this package, except installer/cli.py's `vm` command, lazily:
validate, plan and install never load it.
"""

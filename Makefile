# Two commands a newcomer needs (as root on Debian 12/13): `make demo` and `make test`.
# Both set up what they need first (scripts/setup-host.sh is idempotent).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
SAMPLE_REPO := $(BUILD)/sample-repo
AZL_REPO := $(BUILD)/azl-repo
DEMO_IMAGE := $(BUILD)/demo-disk.img

.PHONY: setup sample-repo testdistro dnf5-root kiwi-root rpm demo demo-image test test-fast test-fleet test-packer lint bench clean

setup:
	@bash scripts/setup-host.sh

sample-repo: setup
	@$(PY) -m sample.build_repo $(SAMPLE_REPO)

# The Azure Linux-shaped test distribution (Debian 13 binaries under Azure Linux's package names; see
# docs/testdistro.md). First build: a few minutes (mmdebstrap), then cached in /var/cache/azl-installer.
testdistro: setup
	@$(PY) -m sample.testdistro.build $(AZL_REPO)

# The installer system the dnf5 payload tests find dnf5 on: a Debian sid root (mmdebstrap), cached in
# /var/cache/azl-installer (first time about a minute, then instant); see tests/support/dnf5_root.py.
# Root only, as the tests that use it (without root they skip).
dnf5-root: setup
	@if [ "$$(id -u)" = 0 ]; then $(PY) -m tests.support.dnf5_root >/dev/null; fi

# The installer as RPMs (iso/rpm/azl-installer.spec): azl-installer (with its bundled Python libraries, cached
# in /var/cache/azl-installer) and azl-installer-live, noarch, into build/rpm; about 10 s once cached.
rpm: setup
	$(PY) -m iso.rpmbuild --out $(BUILD)/rpm

# Debian sid's KIWI (11.1, the one that reads the schema Azure Linux's descriptions use), in a sid root
# cached in /var/cache/azl-installer (first time about 90 s, then instant): it validates iso/kiwi/
# (tests/unit/test_kiwi_description.py; by hand: .venv/bin/python -m tests.support.kiwi iso/kiwi). Root only.
kiwi-root: setup
	@if [ "$$(id -u)" = 0 ]; then $(PY) -c "from tests.support.kiwi import cached_root; cached_root()" >/dev/null; fi

# The tester's flow: build the ISO (first time: a few minutes, then cached), boot it in QEMU
# with a blank virtual disk and the installer on this terminal, then boot the installed disk.
# On a terminal the installer is interactive, else it installs the azl-vm-uefi profile; both install the
# Azure Linux-shaped test distribution through dnf, SELinux enforcing (docs/testdistro.md).
demo: iso
	@if [ -t 0 ]; then \
	  $(VENV)/bin/azl-installer vm --iso $(BUILD)/azl-installer.iso --workdir $(BUILD)/vm; \
	else \
	  $(VENV)/bin/azl-installer vm --iso $(BUILD)/azl-installer.iso --workdir $(BUILD)/vm \
	    --profile iso/profiles/azl-vm-uefi.yaml --timeout 2400; \
	fi

# Quick look without QEMU: the sample profile into a fresh 4 GiB disk image file on this host.
demo-image: sample-repo
	@rm -f $(DEMO_IMAGE)
	$(VENV)/bin/azl-installer install --profile profiles/examples/sample.yaml \
	  --target-image $(DEMO_IMAGE) --image-size 4GiB --yes --log-dir $(BUILD)/logs \
	  --events $(BUILD)/demo-events.jsonl
	@bash scripts/demo-inspect.sh $(DEMO_IMAGE)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# Everything: lint, types, the import contract, then every tier: tests/unit, integration and ui four at a
# time (much of their time is spent waiting on subprocesses and screens), then tests/vm (QEMU) two guests
# at a time (one per core; tests/vm/conftest.py splits the long ones evenly between the two), with timings.
# The heavy host tests (fuzz, soak) run alone before it: beside QEMU guests they would starve them.
test: test-fast
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --durations=5 -m heavy tests
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 2 --dist loadgroup --durations=12 -m "vm and not fleet" tests

# Four guests network-booted from one `azl-installer serve`, each with its own profile (docs/fleet.md); 5 to 11
# minutes under TCG, outside `make test`, which runs two guests of the same setup (tests/vm/test_fleet_vm.py).
test-fleet: setup
	$(VENV)/bin/pytest -q -p no:cacheprovider -s -m fleet tests/vm/test_fleet_vm.py

# `packer build` of iso/packer/azl-installer.pkr.hcl from the ISO, then the VHD booted alone (about 10 minutes;
# also part of `make test`).
test-packer: setup
	$(VENV)/bin/pytest -q -p no:cacheprovider -s -m packer tests/vm/test_packer_vm.py

# The inner loop: all of the above but the QEMU tier (tests/vm), in about two minutes.
test-fast: setup sample-repo dnf5-root kiwi-root lint
	$(VENV)/bin/pytest -q -p no:cacheprovider -n 4 -m "not vm and not heavy" tests

# One RATIO line per figure with a goal (measured side by side in this run), then the numbers behind them;
# tens of minutes under TCG (tests/bench.py: --part to run some). tests/integration/test_bench.py keeps it working.
bench: sample-repo testdistro dnf5-root
	$(PY) -m tests.bench

clean:
	rm -rf $(BUILD)

# The installer ISO (live system + bundled sample repository); the live root is cached in
# /var/cache/azl-installer, so only the first build runs mmdebstrap. Phony: iso/ is a directory.
.PHONY: iso
iso: sample-repo
	$(PY) -m iso.build --out build/azl-installer.iso

# Network boot files from that ISO into build/netboot (boot.ipxe, kernel, initramfs, live root, repositories),
# for `azl-installer serve build/netboot --bind HOST:PORT`; NETBOOT_APPEND: kernel options for every machine,
# e.g. make netboot NETBOOT_APPEND='inst.profile=@SERVER@/fleet/' (docs/fleet.md).
NETBOOT_APPEND ?=
.PHONY: netboot
netboot: iso
	$(PY) -m iso.netboot --iso build/azl-installer.iso --out build/netboot --append "$(NETBOOT_APPEND)"

# An Azure-ready fixed VHD with Packer (iso/packer/azl-installer.pkr.hcl; docs/fleet.md) into build/packer: the ISO's
# kernel and initramfs copied out (QEMU boots them with the ISO as the live medium), then `packer build`, which
# installs iso/packer/http/$(PACKER_PROFILE). With KVM; PACKER_VARS='-var accelerator=tcg' without.
PACKER_PROFILE ?= azl-vm.yaml
PACKER_VARS ?=
.PHONY: packer
packer: iso
	rm -rf $(BUILD)/packer-boot
	$(PY) -c 'import sys, pathlib; from iso.boottest import extract_kernel; extract_kernel(*map(pathlib.Path, sys.argv[1:]))' \
	  $(BUILD)/azl-installer.iso $(BUILD)/packer-boot
	packer build -force -var iso=$(BUILD)/azl-installer.iso -var profile=$(PACKER_PROFILE) $(PACKER_VARS) \
	  iso/packer/azl-installer.pkr.hcl

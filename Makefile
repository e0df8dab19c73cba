# Two commands a newcomer needs (as root on Debian 12/13): `make demo` and `make test`.
# Both set up what they need first (scripts/setup-host.sh is idempotent).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
SAMPLE_REPO := $(BUILD)/sample-repo
DEMO_IMAGE := $(BUILD)/demo-disk.img

.PHONY: setup sample-repo demo test lint unit integration bench clean

setup:
	@bash scripts/setup-host.sh

sample-repo: setup
	@$(PY) -m sample.build_repo $(SAMPLE_REPO)

# Installs the sample profile into a fresh 4 GiB disk image file (never a disk of this machine).
demo: sample-repo
	@rm -f $(DEMO_IMAGE)
	$(VENV)/bin/azl-installer install --profile profiles/examples/sample.yaml \
	  --target-image $(DEMO_IMAGE) --image-size 4GiB --yes --log-dir $(BUILD)/logs \
	  --events $(BUILD)/demo-events.jsonl
	@bash scripts/demo-inspect.sh $(DEMO_IMAGE)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: setup sample-repo lint
	$(VENV)/bin/pytest -q -p no:cacheprovider tests

bench: sample-repo
	$(PY) -m tests.bench
	$(PY) -m tests.bench_ui

clean:
	rm -rf $(BUILD)

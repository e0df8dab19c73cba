"""The step registry: one ordered list that the plan and the engine both walk."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import installer.steps
from installer.core.runner import Reply
from installer.engine import InstallFailed
from installer.plan import make_plan
from installer.steps import STEPS, Step
from profiles import profile_from_text
from storage.inventory import DiskInfo, Inventory
from tests.support.engine import ONE_DISK, recorded_engine

EVERYTHING = ONE_DISK + """\
users: [{name: azureuser}]
bootloader: {enabled: false}
azure: {generalize: true}
cloud_init: {user_data: "#cloud-config\\nruncmd: [true]\\n"}
scripts:
  pre: [{name: check, body: "true"}]
  post: [{name: motd, body: "echo hi > /etc/motd"}]
"""


def test_every_step_module_is_registered_once_with_a_unique_id() -> None:
    defined = set()
    for module in pkgutil.iter_modules(installer.steps.__path__):
        loaded = importlib.import_module(f"installer.steps.{module.name}")
        defined |= {cls for _, cls in inspect.getmembers(loaded, inspect.isclass)
                    if issubclass(cls, Step) and cls is not Step and cls.__module__ == loaded.__name__}
    assert {type(step) for step in STEPS} == defined  # a step written but not in STEPS would never run
    ids = [step.id for step in STEPS]
    assert len(ids) == len(set(ids))
    for step in STEPS:
        assert step.title and step.doing and step.title[0].isupper() and step.doing[0].islower(), step.id
    assert ids[0] == "pre-scripts" and ids[-1] == "finish"
    assert ids.index("encryption-keys") < ids.index("storage")  # keys before any disk is written
    assert ids.index("unlock") < ids.index("bootloader")  # crypttab before the initramfs is built


def test_an_install_emits_exactly_the_plans_steps(tmp_path: Path) -> None:
    engine, _runner, seen, _root, _ = recorded_engine(tmp_path, EVERYTHING)
    engine.run()
    planned = [s.id for s in engine.plan.steps]
    assert planned == ["pre-scripts", "storage", "mount", "early-config", "payload", "system", "selinux", "azure",
                       "cloud-init", "generalize", "post-scripts", "selinux-relabel", "finish"]
    assert [e.step for e in seen if e.kind == "step-started"] == planned
    assert [e.step for e in seen if e.kind == "step-finished"] == planned


def test_the_plan_lists_the_steps_that_apply_in_registry_order() -> None:
    profile = profile_from_text(EVERYTHING.replace("DISK", "/dev/vda"))
    plan = make_plan(profile, Inventory((DiskInfo("/dev/vda", 8 * 1024**3),)))
    order = [s.id for s in STEPS]
    ids = [s.id for s in plan.steps]
    assert ids == sorted(ids, key=order.index)
    assert all(s.step is not None and s.step.id == s.id for s in plan.steps)
    # what the azure and cloud_init steps add to the one dnf transaction shows in the payload step
    payload = next(s for s in plan.steps if s.id == "payload")
    assert "WALinuxAgent" in payload.details[0] and "cloud-init" in payload.details[0]


def test_a_failing_step_ends_the_install_with_its_id_and_nothing_left_mounted(tmp_path: Path) -> None:
    engine, runner, seen, _root, _ = recorded_engine(tmp_path, EVERYTHING)
    runner.reply(["chroot"], Reply(returncode=3, output="motd: boom"))  # the post script, run in the target
    with pytest.raises(InstallFailed) as failed:
        engine.run()
    assert failed.value.step == "post-scripts" and "exit code 3" in failed.value.message
    steps = [(e.kind, e.step) for e in seen if e.kind in ("step-started", "step-finished", "step-failed")]
    assert steps[-2:] == [("step-started", "post-scripts"), ("step-failed", "post-scripts")]
    assert "finish" not in [step for _, step in steps]
    assert not engine.mounts.mounted
    assert [c[0] for c in runner.calls].count("umount") == [c[0] for c in runner.calls].count("mount")

"""`make bench` keeps working: its host parts (sample, testdistro, ui) run on tiny inputs, the sample
repository standing in for the test distribution, and print what the real run prints
(tests/vm/test_bench_vm.py does the same for the vm part with the fake installer ISO)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from tests import bench
from tests.support.benchkit import Inputs, Report, check_rendered
from tests.support.loop import ROOT_ONLY

HOST_RATIOS = ["payload-sample-dnf4", "payload-testdistro-dnf4", "payload-testdistro-dnf5", "install-vs-raw-copy",
               "ui-password-hash-seconds", "ui-first-screen-seconds", "ui-peak-rss-mb"]
@ROOT_ONLY
def test_the_host_parts_measure_tiny_inputs(tmp_path: Path) -> None:
    inputs = Inputs.tiny(fake_iso=tmp_path / "unused.iso")
    if not (inputs.sample_repo / "repodata/repomd.xml").is_file():
        pytest.fail(f"no {inputs.sample_repo}: `make sample-repo` builds it (make test does)")
    report = Report(progress=io.StringIO())
    bench.run(report, inputs, ["sample", "testdistro", "ui"], tmp_path)
    check_rendered(report, HOST_RATIOS)
    assert any(n.startswith("dnf4: test distribution payload of ") for n in report.numbers), report.numbers


def test_a_broken_part_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    inputs = replace(Inputs.tiny(fake_iso=tmp_path / "unused.iso"), distro_repo=tmp_path / "nothing-here")
    report = Report(progress=io.StringIO())
    bench.run(report, inputs, ["testdistro"], tmp_path)
    assert len(report.failures) == 1 and report.failures[0].startswith("testdistro: FileNotFoundError: no repository")
    assert report.render().splitlines()[-1].startswith("FAILED testdistro: ")


def test_an_unknown_part_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.main(["--part", "sample,warp"])
    assert exited.value.code == 2
    assert "unknown part warp; the parts are sample, testdistro, ui, vm, fleet" in capsys.readouterr().err

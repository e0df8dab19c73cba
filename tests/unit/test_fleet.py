"""Many machines from one place: the machine's identity, the per-machine profile the live launcher picks
from a directory, `azl-installer serve`, and the result report an install sends (report_url)."""

from __future__ import annotations

import json
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from installer import report
from installer.core.machine import Identity, clean_serial, clean_uuid, first_mac, identify
from installer.plan import PlanError
from installer.session import InstallOptions, Refused, install
from iso import launcher, serve
from iso.serve import ServeError, open_server, parse_bind, result_line, serving
from profiles import Profile, ProfileError, profile_from_text

UUID = "8c1f0e7a-2b4d-4e5f-9a6b-7c8d9e0f1a2b"


def fake_sysfs(root: Path, uuid: str = UUID.upper(), serial: str = "AZ-1234",
               nics: dict[str, tuple[int, str, bool]] | None = None) -> Path:
    dmi = root / "class/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "product_uuid").write_text(uuid + "\n")
    (dmi / "product_serial").write_text(serial + "\n")
    if nics is None:  # loopback and a bridge have no device behind them; eth0 has the lower ifindex
        nics = {"lo": (1, "00:00:00:00:00:00", False), "br0": (2, "02:00:00:00:00:01", False),
                "eth1": (4, "52:54:00:00:00:02", True), "eth0": (3, "52:54:00:AA:BB:01", True)}
    for name, (index, mac, hardware) in nics.items():
        link = root / "class/net" / name
        link.mkdir(parents=True)
        (link / "ifindex").write_text(f"{index}\n")
        (link / "address").write_text(mac + "\n")
        if hardware:
            (link / "device").mkdir()
    return root


def test_identity_most_specific_first(tmp_path: Path) -> None:
    found = identify(fake_sysfs(tmp_path))
    assert found == Identity(UUID, "AZ-1234", "52-54-00-aa-bb-01")  # lowest ifindex with a device; lowercased
    assert found.names() == [UUID, "AZ-1234", "52-54-00-aa-bb-01"] and found.name() == UUID


def test_placeholders_identify_nothing(tmp_path: Path) -> None:
    for placeholder in ("00000000-0000-0000-0000-000000000000", "03000200-0400-0500-0006-000700080009", "junk"):
        assert clean_uuid(placeholder) is None
    for serial in ("To be filled by O.E.M.", "Not Specified", "0", "000000", "Default string", "a/b", "x y", ""):
        assert clean_serial(serial) is None, serial
    assert clean_serial("0000-1111-2222") == "0000-1111-2222"
    bare = identify(fake_sysfs(tmp_path, uuid="00000000-0000-0000-0000-000000000000", serial="None", nics={}))
    assert bare.names() == [] and bare.name() is None
    assert first_mac(tmp_path / "nowhere") is None


def test_launcher_tries_each_name_then_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(launcher, "identify", lambda: Identity(UUID, None, "52-54-00-aa-bb-01"))
    www = tmp_path / "www"
    (www / "fleet").mkdir(parents=True)
    (www / "fleet/default.yaml").write_text("default\n")
    (www / "fleet/52-54-00-aa-bb-01.yaml").write_text("by mac\n")
    (www / "fleet/52-54-00-aa-bb-01.ks").write_text("ks by mac\n")
    say = launcher.Consoles([])
    with serving(www) as server:
        directory = f"{server.url}fleet/"
        source = launcher.parse_profile_value(directory)
        assert launcher.resolve_profile(source, say).read_text() == "by mac\n"
        (www / f"fleet/{UUID}.yaml").write_text("by uuid\n")
        assert launcher.resolve_profile(source, say).read_text() == "by uuid\n"
        ks = launcher.parse_profile_value(directory, "inst.ks")
        assert launcher.resolve_profile(ks, say).read_text() == "ks by mac\n"
        (www / "fleet/default.yaml").unlink()
        (www / f"fleet/{UUID}.yaml").unlink()
        (www / "fleet/52-54-00-aa-bb-01.yaml").unlink()
        with pytest.raises(launcher.ProfileUnavailable, match=rf"no profile at {directory} for this machine "
                           rf"\(tried {UUID}.yaml, 52-54-00-aa-bb-01.yaml, default.yaml\)"):
            launcher.resolve_profile(source, say)
        with pytest.raises(launcher.ProfileUnavailable, match="cannot fetch .*/one.yaml: not found"):
            launcher.resolve_profile(launcher.parse_profile_value(f"{server.url}one.yaml"), say)
    assert launcher.candidate_urls("http://h/d/", []) == ["http://h/d/default.yaml"]
    monkeypatch.setattr(launcher, "FETCH_LIMIT", 10)
    (www / "fleet/default.yaml").write_text("x" * 11)
    with serving(www) as server, pytest.raises(launcher.ProfileUnavailable, match="larger than 0 MiB"):
        launcher.resolve_profile(launcher.parse_profile_value(f"{server.url}fleet/"), say)


def _put(url: str, data: bytes, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def test_serve_reads_files_only_inside_and_writes_results_only(tmp_path: Path) -> None:
    www = tmp_path / "www"
    (www / "fleet").mkdir(parents=True)
    (www / "fleet/default.yaml").write_text("version: 1\n")
    (tmp_path / "outside.yaml").write_text("secret\n")
    (www / "fleet/link.yaml").symlink_to(tmp_path / "outside.yaml")
    results = tmp_path / "results"
    with serving(www, results=results) as server:
        url = server.url
        assert _get(f"{url}fleet/default.yaml") == (200, b"version: 1\n")
        assert _get(f"{url}fleet/")[0] == 404  # no listings: every machine's profile is its own
        assert _get(f"{url}fleet/link.yaml")[0] == 404
        assert _get(f"{url}fleet/%2e%2e/%2e%2e/outside.yaml")[0] == 404
        assert _put(f"{url}fleet/default.yaml", b"replaced") == 405
        assert (www / "fleet/default.yaml").read_text() == "version: 1\n"
        assert _put(f"{url}results/..%2fescape.json", b"{}") == 400
        assert _put(f"{url}results/m.exe", b"{}") == 400
        assert _put(f"{url}results/m1.json", b'{"result": "installed", "exit_code": 0}') == 201
        assert _put(f"{url}results/m1.tar.gz", b"bundle") == 201
        assert _get(f"{url}results/m1.tar.gz")[0] == 404  # stored, not served
        status, body = _get(f"{url}results/")
        assert status == 200 and json.loads(body) == {"m1": {"result": "installed", "exit_code": 0}}
    assert (results / "m1.tar.gz").read_bytes() == b"bundle" and (results / "m1.json").stat().st_mode & 0o777 == 0o600


def test_serve_bounds_uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve, "MAX_RESULTS", 2)
    with serving(tmp_path) as running:
        running.max_upload = 1000
        assert _put(f"{running.url}results/big.tar.gz", b"x" * 1001) == 413
        assert _put(f"{running.url}results/ok.tar.gz", b"x" * 1000) == 201
        assert _put(f"{running.url}results/ok.json", b"{}") == 201
        assert _put(f"{running.url}results/third.json", b"{}") == 507  # a full results directory takes no more
        assert _put(f"{running.url}results/ok.json", b"{}") == 201  # but a machine's own result is replaced
    assert not (tmp_path / "results/big.tar.gz").exists() and not (tmp_path / "results/third.json").exists()


def test_serve_arguments_fail_in_one_line(tmp_path: Path) -> None:
    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080) and parse_bind("[::1]:0") == ("::1", 0)
    for bad in ("8080", "localhost", ":80", "host:99999", "host:http"):
        with pytest.raises(ServeError, match="expected HOST:PORT"):
            parse_bind(bad)
    with pytest.raises(ServeError, match="not a directory"):
        open_server(tmp_path / "missing", "127.0.0.1:0")
    with serving(tmp_path) as busy, pytest.raises(ServeError, match="cannot listen on"):
        open_server(tmp_path, busy.url.removeprefix("http://").rstrip("/"))


def test_a_clients_words_cannot_drive_the_operators_terminal() -> None:
    line = result_line("m1", json.dumps({"result": "failed\x1b[2J", "exit_code": 1, "step": "pay\nload",
                                         "message": "x" * 1000}).encode())
    assert "\x1b" not in line and "\n" not in line and len(line) < 420
    assert result_line("m2", b"not json") == "serve: result of m2: a result that is not the installer's JSON"


def _profile(report_url: str | None) -> Profile:
    text = "storage:\n  disks: [{path: /dev/vda}]\npayload:\n  image: {path: /root.tar}\n" \
           "encryption:\n  passphrase: pa55-SECRET\n"
    return profile_from_text(text + (f"report_url: {report_url}\n" if report_url else ""), "fleet.yaml")


def test_report_arrives_whole_and_without_secrets(tmp_path: Path) -> None:
    log = tmp_path / "install-1.log"
    log.write_text("step payload failed: pa55-SECRET was wrong\n")
    lines: list[str] = []
    (tmp_path / "www").mkdir()
    with serving(tmp_path / "www") as server:
        profile = _profile(f"{server.url}results/")
        # A failed command's message: its line, then its output's tail (the document keeps the first line).
        ending = report.Ending("failed", 1, "payload", "\nit said pa55-SECRET \nexit 7 output\n", log)
        assert report.send(profile, ending, time.time() - 5, lines.append, Identity(UUID, None, None))
    results = tmp_path / "www/results"
    doc = json.loads((results / f"{UUID}.json").read_text())
    assert doc["result"] == "failed" and doc["step"] == "payload" and doc["machine"]["uuid"] == UUID
    assert doc["message"] == "it said <removed>" and doc["seconds"] >= 5
    with tarfile.open(results / f"{UUID}.tar.gz") as bundle:
        texts = {m.name: bundle.extractfile(m).read() for m in bundle.getmembers()}  # type: ignore[union-attr]
    assert f"azl-installer-logs-{UUID}/install.log" in texts and f"azl-installer-logs-{UUID}/profile.yaml" in texts
    assert not [name for name, data in texts.items() if b"pa55-SECRET" in data]
    assert lines == [f"azl-installer: result sent to {server.url}results/{UUID}.json"]


def test_a_report_that_cannot_go_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "RETRY_PAUSE", 0.0)
    lines: list[str] = []
    with serving(tmp_path) as server:
        dead = server.url
    ending = report.Ending("installed", 0)
    assert not report.send(_profile(f"{dead}results/"), ending, time.time(), lines.append, Identity(UUID))
    assert len(lines) == 1 and lines[0].startswith(f"azl-installer: the result was not sent to {dead}results/: ")
    with serving(tmp_path) as server:  # a path the server refuses: 405, not retried
        lines.clear()
        assert not report.send(_profile(f"{server.url}profiles/"), ending, time.time(), lines.append, Identity(UUID))
    assert lines == [f"azl-installer: the result was not sent to {server.url}profiles/: the server answered 405 "
                     "read-only"]
    assert report.send(_profile(None), ending, time.time(), lines.append) is False  # none asked for


@pytest.mark.parametrize("url", ["ftp://h/r/", "http://h/r/?x=1", "http://h/r/ x", "http://user@h/r/", "http:///r",
                                 'http://h/"r'])
def test_report_url_must_be_a_plain_http_directory(url: str) -> None:
    with pytest.raises(ProfileError, match="report_url: expected an http:// or https:// URL of a directory"):
        _profile(f"'{url}'")


def test_an_install_refused_before_it_starts_reports_it(tmp_path: Path) -> None:
    """No disk matches: nothing is written, the CLI says why in one line, and the fleet's server hears it."""
    (tmp_path / "www").mkdir()
    with serving(tmp_path / "www") as server:
        profile = profile_from_text(f"storage:\n  disks: [{{path: /dev/azl-no-such-disk}}]\npayload:\n  image: "
                                    f"{{path: /root.tar}}\nreport_url: {server.url}results/\n", "fleet.yaml")
        with pytest.raises((Refused, PlanError)):
            install(profile, InstallOptions(yes=True, log_dir=tmp_path / "logs", terminal=False))
    docs = [json.loads(p.read_text()) for p in (tmp_path / "www/results").glob("*.json")]
    assert [(d["result"], d["exit_code"]) for d in docs] == [("refused", 2)]
    assert docs[0]["message"].startswith("storage.disks[0]: no disk matches this rule")

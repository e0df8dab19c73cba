"""cloud-init seeding: user-data checks with lines, the NoCloud seed and datasource files, the three sources."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from installer.core.events import EventBus
from installer.core.runner import RecordingRunner
from installer.plan import make_plan
from installer.steps.cloud_init import CloudInitError, fetch_user_data, needs_cloud_init, seed_cloud_init
from iso import customize, recipe
from profiles import ProfileError, load_profile, profile_from_text
from profiles.userdata import check_network_config, check_user_data
from storage.inventory import DiskInfo, Inventory
from tests.support.targets import AZURE_LINUX_BASE as BASE
from tests.support.targets import azure_linux_target, snapshot, written

INVENTORY = Inventory((DiskInfo("/dev/sda", 30 * 1024**3),))
USER_DATA = """#cloud-config
users:
  - name: azureuser
    ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8Fq9m3fW2xYhSRC9Uuj7TqZxQ4t6c3cVYbdU2n4Qf a@b]
write_files:
  - path: /etc/azl-seeded
    content: "seeded\\n"
runcmd:
  - [touch, /var/tmp/first-boot]
"""
MULTIPART = """Content-Type: multipart/mixed; boundary="==BOUNDARY=="
MIME-Version: 1.0

--==BOUNDARY==
Content-Type: text/cloud-config; charset="us-ascii"

#cloud-config
pakages: [vim]

--==BOUNDARY==
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/sh
echo hi
--==BOUNDARY==--
"""
UNITS = ("cloud-init-local.service cloud-init-main.service cloud-init-network.service cloud-config.service "
         "cloud-final.service")


def _indented(text: str) -> str:
    return "".join("    " + line + "\n" for line in text.splitlines())


def test_valid_user_data_passes() -> None:
    assert check_user_data(USER_DATA) == []
    assert check_user_data("#cloud-config\n") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("users: []\n", "user-data must start with a '#cloud-config' line or be a MIME multipart"),
    ("#cloud-config\nusers: []\npakages: [vim]\n", "user-data line 3: unknown cloud-config key 'pakages' "
                                                    "(did you mean 'packages'?)"),
    ("#cloud-config\nruncmd:\n  - a\n - b\n", "user-data line 4: not valid YAML"),
    ("#cloud-config\nruncmd: {a: b}\n", "user-data line 2: 'runcmd' must be a list"),
    ("#cloud-config\nwrite_files:\n  - content: x\n", "user-data line 3: a write_files entry needs path"),
    ("#cloud-config\n- a\n", "user-data line 2: cloud-config must be a mapping"),
    (MULTIPART, "user-data line 8: unknown cloud-config key 'pakages'"),
])
def test_user_data_problems_name_the_line(text: str, expected: str) -> None:
    assert str(check_user_data(text)[0]).startswith(expected)


def test_a_valid_multipart_passes() -> None:
    assert check_user_data(MULTIPART.replace("pakages", "packages")) == []


def test_profile_message_points_at_the_key_and_the_user_data_line() -> None:
    text = BASE + "cloud_init:\n  user_data: |\n" + _indented("#cloud-config\nusers: []\nruncmnd: [ls]")
    with pytest.raises(ProfileError) as info:
        profile_from_text(text, "p.yaml")
    assert str(info.value) == ("p.yaml:8:3: cloud_init.user_data: user-data line 3: unknown cloud-config key "
                               "'runcmnd' (did you mean 'runcmd'?)")


@pytest.mark.parametrize(("extra", "expected"), [
    ("  user_data: '#cloud-config'\n  user_data_url: https://x/y\n", "cloud_init.user_data_url: give one of"),
    ("  user_data_url: ftp://x/y\n", "cloud_init.user_data_url: the user-data URL must start with http"),
    ("  network_config: 'ethernets: {}'\n", "cloud_init.network_config: network-config must be a mapping with"),
    ("  datasources: [Azure, 'No Cloud']\n", "cloud_init.datasources[1]: 'No Cloud' is not a datasource name"),
])
def test_cloud_init_profile_checks(extra: str, expected: str) -> None:
    with pytest.raises(ProfileError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        profile_from_text(BASE + "cloud_init:\n" + extra, "p.yaml")


def test_network_config_versions() -> None:
    assert check_network_config("network:\n  version: 2\n  ethernets: {}\n") == []
    assert check_network_config("version: 1\nconfig: []\n") == []
    assert check_network_config("version: [\n")[0].startswith("network-config line 2: not valid YAML")


def test_seed_on_an_azure_linux_target(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path / "root")
    before = snapshot(root)
    runner = RecordingRunner()
    profile = profile_from_text(BASE + "system: {hostname: vm1}\ncloud_init:\n  user_data: |\n"
                                + _indented(USER_DATA) + "  network_config: |\n" + _indented("version: 2"))
    seed_cloud_init(profile, root, runner, EventBus())
    assert runner.commands() == [f"chroot {root} systemctl enable {UNITS}"]
    assert written(before, snapshot(root)) == {
        "/var/lib/cloud/seed/nocloud/user-data": USER_DATA,
        "/var/lib/cloud/seed/nocloud/meta-data": "instance-id: iid-vm1\nlocal-hostname: vm1\n",
        "/var/lib/cloud/seed/nocloud/network-config": "version: 2\n",
        "/etc/cloud/cloud.cfg.d/99-azl-installer-datasource.cfg": ("# Written by azl-installer.\n"
                                                                    "datasource_list: [ NoCloud ]\n"),
        "/etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg": (
            "# Written by azl-installer: the profile's system.locale (user-data's locale: wins).\nlocale: C.UTF-8\n"),
    }
    seed = root / "var/lib/cloud/seed/nocloud"
    assert seed.stat().st_mode & 0o777 == 0o700 and (seed / "user-data").stat().st_mode & 0o777 == 0o600


def test_azure_puts_its_datasource_first(tmp_path: Path) -> None:
    root = azure_linux_target(tmp_path / "root")
    before = snapshot(root)
    profile = profile_from_text(BASE + "azure: {}\ncloud_init: {user_data: '#cloud-config', instance_id: i-1}\n")
    seed_cloud_init(profile, root, RecordingRunner(), EventBus())
    files = written(before, snapshot(root))
    assert files["/etc/cloud/cloud.cfg.d/91-azure_datasource.cfg"] == (
        "# Written by azl-installer.\ndatasource_list: [ Azure, NoCloud ]\n"
        "datasource:\n  Azure:\n    apply_network_config: False\n")
    assert files["/var/lib/cloud/seed/nocloud/meta-data"].startswith("instance-id: i-1\n")
    assert files["/var/lib/cloud/seed/nocloud/user-data"] == "#cloud-config\n"


def test_azure_without_a_seed_writes_only_the_datasource_and_locale(tmp_path: Path) -> None:
    root = tmp_path
    runner = RecordingRunner()
    seed_cloud_init(profile_from_text(BASE + "azure: {}\nsystem: {locale: en_US.UTF-8}\n"), root, runner,
                    EventBus())
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == [
        "etc/cloud/cloud.cfg.d/91-azure_datasource.cfg", "etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg"]
    assert (root / "etc/cloud/cloud.cfg.d/99-azl-installer-locale.cfg").read_text().endswith(
        "\nlocale: en_US.UTF-8\n")
    assert (root / "etc/cloud/cloud.cfg.d/91-azure_datasource.cfg").read_text() == (
        "# Written by azl-installer.\ndatasource_list: [ Azure ]\n")  # no NetworkManager in this target
    assert runner.calls == []  # no cloud-init units to enable


def test_seeding_switches_on_the_cloud_init_the_live_root_had_off(tmp_path: Path) -> None:
    # The installer ISO's live root (the VM profiles' payload) ships cloud-init with this marker.
    marker = tmp_path / "etc/cloud/cloud-init.disabled"
    marker.parent.mkdir(parents=True)
    marker.write_text("# live medium only\n")
    seen: list[str] = []
    events = EventBus()
    events.subscribe(lambda event: seen.append(event.message))
    profile = profile_from_text(BASE + "cloud_init: {user_data: '#cloud-config'}\n")
    seed_cloud_init(profile, tmp_path, RecordingRunner(), events)
    assert not marker.exists()
    assert "removed /etc/cloud/cloud-init.disabled (the payload had cloud-init switched off)" in seen
    assert "/etc/cloud/cloud-init.disabled removed if the payload has it" in make_plan(profile, INVENTORY).render()


def test_without_a_seed_the_step_does_not_run_and_the_marker_stays() -> None:
    # An install of the live root without cloud_init/azure boots without cloud-init, like the live system.
    assert not needs_cloud_init(profile_from_text(BASE))
    assert "cloud-init" not in make_plan(profile_from_text(BASE), INVENTORY).render().lower()


def test_user_data_file_is_relative_to_the_profile_and_checked_by_the_plan(tmp_path: Path) -> None:
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed/user-data").write_text(USER_DATA)
    path = tmp_path / "p.yaml"
    path.write_text(BASE + "cloud_init: {user_data_file: seed/user-data}\n")
    profile = load_profile(path)
    assert profile.cloud_init is not None and profile.cloud_init.user_data_file == str(tmp_path / "seed/user-data")
    assert make_plan(profile, INVENTORY).blockers == ()
    root = tmp_path / "root"
    seed_cloud_init(profile, root, RecordingRunner(), EventBus())
    assert (root / "var/lib/cloud/seed/nocloud/user-data").read_text() == USER_DATA
    (tmp_path / "seed/user-data").write_text("#cloud-config\nuser: x\nrncmd: []\n")
    assert tuple(map(str, make_plan(load_profile(path), INVENTORY).blockers)) == (
        f"cloud_init.user_data_file: {tmp_path}/seed/user-data: user-data line 3: unknown cloud-config key "
        "'rncmd' (did you mean 'runcmd'?)",)
    (tmp_path / "seed/user-data").unlink()
    assert tuple(map(str, make_plan(load_profile(path), INVENTORY).blockers)) == (
        f"cloud_init.user_data_file: cannot read {tmp_path}/seed/user-data: No such file or directory",)


class _Handler(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[dict[str, bytes]] = {"/ok": USER_DATA.encode(), "/bad": b"users: []\n"}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_user_data_url_is_fetched_at_install_time(server: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    profile = profile_from_text(BASE + f"cloud_init: {{user_data_url: '{server}/ok'}}\n")
    plan = make_plan(profile, INVENTORY)
    assert f"user-data fetched from {server}/ok at install time (checked then)" in plan.render()
    seed_cloud_init(profile, tmp_path, RecordingRunner(), EventBus(), timeout=5)
    assert (tmp_path / "var/lib/cloud/seed/nocloud/user-data").read_text() == USER_DATA


def test_user_data_url_failures_write_nothing(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with pytest.raises(CloudInitError, match="HTTP 404"):
        fetch_user_data(f"{server}/missing", timeout=5)
    profile = profile_from_text(BASE + f"cloud_init: {{user_data_url: '{server}/bad'}}\n")
    with pytest.raises(CloudInitError, match=f"{server}/bad: user-data must start with a '#cloud-config'"):
        seed_cloud_init(profile, tmp_path, RecordingRunner(), EventBus(), timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_the_live_root_carries_cloud_init_switched_off(tmp_path: Path) -> None:
    assert "cloud-init" in recipe.PACKAGES  # the installed copy runs it from its own packages
    written = customize.install_overlay(tmp_path)
    assert tmp_path / "etc/cloud/cloud-init.disabled" in written


def test_the_vm_seed_profile_installs_the_live_root_and_seeds_user_file_and_command() -> None:
    profile = load_profile(Path(__file__).resolve().parents[2] / "iso/profiles/vm-cloudinit.yaml")
    assert profile.payload.image is not None and profile.payload.image.format == "squashfs"
    assert profile.payload.repositories == ()  # the image holds cloud-init: nothing joins a dnf run
    assert profile.cloud_init is not None and profile.cloud_init.user_data is not None
    seed = yaml.safe_load(profile.cloud_init.user_data)
    assert seed["users"][0]["ssh_authorized_keys"] and seed["write_files"][0]["path"] and seed["runcmd"]
    vm_disk = Inventory((DiskInfo("/dev/vda", 4 * 1024**3, serial="AZL-TARGET-0"),))
    rendered = make_plan(profile, vm_disk).render()
    assert "/var/lib/cloud/seed/nocloud/user-data" in rendered and "datasource_list [ NoCloud ]" in rendered
    body = profile.scripts.post[0].body
    for line in ("cloud-init status --long --wait", "AZL-BOOT-CHECK begin", "Conflicts=serial-getty@ttyS0.service",
                 "Type=simple", "systemctl poweroff"):
        assert line in body

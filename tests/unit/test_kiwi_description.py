"""iso/kiwi/config.kiwi: the installer's live ISO for KIWI, kept the same system as iso/live/testdistro.yaml,
and accepted by Debian's KIWI (sid's 11.1, in the root of tests/support/kiwi.py) through KIWI's own code:
schema, schematron rules and the runtime checks `kiwi-ng system build` makes before it installs anything.

Copies with one fault each must be refused by the same check, so it can fail. The tests that read only
the files run anywhere; the KIWI ones need root (the first run builds the sid root: 70-110 s measured,
then cached in /var/cache/azl-installer; then this file takes about 5 s) and skip, saying why, where KIWI
cannot run.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from iso.grubcfg import CONSOLES, SERIAL_COMMAND
from tests.support.kiwi import KiwiCheck, KiwiUnavailable, available_root, check_descriptions, run_config_script

CHECKOUT = Path(__file__).resolve().parents[2]
KIWI_DIR = CHECKOUT / "iso" / "kiwi"
CONFIG = KIWI_DIR / "config.kiwi"
LIVE_SPEC = CHECKOUT / "iso" / "live" / "testdistro.yaml"
AZURELINUX_SPEC = CHECKOUT / "iso" / "live" / "azurelinux-4.0.yaml"
SCHEMA_VERSION = "8.5"  # the newest a Debian KIWI validates (sid's 11.1; bookworm's 9.24 knows only 7.5)
# What KIWI's live ISO needs beyond the live spec (<packages type="iso">), and the bootstrap section.
KIWI_LIVE_PACKAGES = {"dracut-network"}  # flags="dmsquash" adds dracut's livenet, which needs network
BOOTSTRAP_PACKAGES = {"filesystem", "setup", "azurelinux-release", "dnf5"}

# One fault each, as (text to find, replacement), and what KIWI's refusal must say.
BROKEN: dict[str, tuple[tuple[str, str], str]] = {
    # An attribute the schema does not know on <type> (KIWI 9's hybrid, gone from schema 8): RelaxNG.
    "unknown attribute on type": (('<type image="iso"', '<type image="iso" hybrid="true"'),
                                  "Invalid attribute hybrid for element type"),
    # Valid RelaxNG, refused by a schematron rule: the schematron rules do run.
    "attribute of another image type": (('<type image="iso"', '<type image="iso" bootfilesystem="ext4"'),
                                        "bootfilesystem attribute is only available"),
    # KIWI 11 knows dnf4 and dnf5 only.
    "plain dnf": (("<packagemanager>dnf5<", "<packagemanager>dnf<"), "Extra element packagemanager"),
    # Valid for schema and schematron, refused by a runtime check: KIWI's own live module is not listed.
    "kiwi-live without its module": (('primary="true" flags="dmsquash"', 'primary="true" flags="overlay"'),
                                     "dracut-kiwi-live"),
}


def spec(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def description() -> ET.Element:
    return ET.parse(CONFIG).getroot()


def package_names(root: ET.Element, section_type: str) -> list[str]:
    sections = root.findall(f"packages[@type='{section_type}']")
    return [str(p.get("name")) for section in sections for p in section.findall("package")]


def only_type(root: ET.Element) -> ET.Element:
    types = root.findall("preferences/type")
    assert len(types) == 1, "one build type: the live ISO"
    return types[0]


# --- the description as a file: runs anywhere ---


def test_image_packages_are_exactly_the_live_spec() -> None:
    wanted = [str(name) for name in spec(LIVE_SPEC)["packages"]]
    listed = package_names(description(), "image")
    assert not set(wanted) - set(listed), f"in {LIVE_SPEC.name}, not in config.kiwi: {set(wanted) - set(listed)}"
    assert not set(listed) - set(wanted), f"in config.kiwi, not in {LIVE_SPEC.name}: {set(listed) - set(wanted)}"
    assert listed == wanted, "same order, no duplicates: the two lists read side by side"


def test_azure_linux_spec_lists_the_same_packages() -> None:
    """Built from Azure Linux's repositories (README.md), the description is iso/live/azurelinux-4.0.yaml's system."""
    assert package_names(description(), "image") == [str(n) for n in spec(AZURELINUX_SPEC)["packages"]]


def test_only_what_kiwi_itself_needs_is_added() -> None:
    root = description()
    assert set(package_names(root, "iso")) == KIWI_LIVE_PACKAGES
    assert set(package_names(root, "bootstrap")) == BOOTSTRAP_PACKAGES
    assert not root.findall("packages[@type='delete']") and not root.findall("packages[@type='uninstall']")


def test_the_live_iso_type() -> None:
    root = description()
    assert root.get("schemaversion") == SCHEMA_VERSION and root.get("name") == "azl-installer"
    assert root.findtext("preferences/packagemanager") == "dnf5"
    assert root.findtext("preferences/release-version") == str(spec(LIVE_SPEC)["releasever"])
    iso = only_type(root)
    assert (iso.get("image"), iso.get("firmware"), iso.get("flags"), iso.get("mediacheck")) == \
        ("iso", "uefi", "dmsquash", "false")
    cmdline = str(iso.get("kernelcmdline")).split()
    assert "rd.live.overlay.overlayfs=1" in cmdline
    consoles = [word for word in cmdline if word.startswith("console=")]
    assert consoles == list(CONSOLES), "iso/grubcfg.py's consoles, in its order (the last is /dev/console)"
    loader = iso.find("bootloader")
    assert loader is not None and loader.get("name") == "grub2"
    assert loader.get("serial_line") == SERIAL_COMMAND and loader.get("output_console") == "serial console"


def test_hosts_comes_from_the_overlay() -> None:
    """KIWI restores /etc/hosts after config.sh (it is the build host's copy meanwhile): an overlay file it keeps."""
    assert (KIWI_DIR / "root/etc/hosts").read_text().splitlines()[:2] == ["127.0.0.1 localhost",
                                                                         "127.0.1.1 azl-installer"]


def test_root_gets_no_password_from_the_description() -> None:
    assert description().find("users") is None, "no <users>: root stays locked; the live consoles autologin"


# --- Debian's KIWI on the description ---


@pytest.fixture(scope="module")
def kiwi_root() -> Path:
    try:
        return available_root()
    except KiwiUnavailable as error:
        pytest.skip(f"Debian's KIWI cannot run here: {error}")


@pytest.fixture(scope="module")
def checks(kiwi_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KiwiCheck]:
    """KIWI's verdict on the real description and on each broken copy, in one run of KIWI."""
    copies = {}
    for name, ((find, replace), _) in BROKEN.items():
        copy = tmp_path_factory.mktemp("kiwi-broken") / "kiwi"
        shutil.copytree(KIWI_DIR, copy)
        text = (copy / "config.kiwi").read_text()
        assert text.count(find) == 1, f"{name}: {find!r} must occur once in config.kiwi"
        (copy / "config.kiwi").write_text(text.replace(find, replace))
        copies[name] = copy
    results = check_descriptions(kiwi_root, [KIWI_DIR, *copies.values()])
    return dict(zip(["real", *copies], results, strict=True))


def test_kiwi_accepts_the_description(checks: dict[str, KiwiCheck]) -> None:
    result = checks["real"]
    assert result.ok, f"KIWI {result.kiwi} refused iso/kiwi: {result.error}\n{result.log[:3000]}"
    facts = result.facts
    assert result.kiwi.split(".")[0] == "11" and facts["schemaversion"] == SCHEMA_VERSION
    assert (facts["name"], facts["packagemanager"], facts["build_type"]) == ("azl-installer", "dnf5", "iso")
    assert "check_dracut_module_for_live_iso_in_package_list" in facts["checks"]


def test_kiwi_sees_the_same_packages(checks: dict[str, KiwiCheck]) -> None:
    """KIWI's own reading of the sections: what it would install, bootstrap and image (with the iso type's)."""
    facts = checks["real"].facts
    assert set(facts["bootstrap"]) == BOOTSTRAP_PACKAGES
    assert set(facts["image"]) == {str(n) for n in spec(LIVE_SPEC)["packages"]} | KIWI_LIVE_PACKAGES


def test_kiwi_resolves_the_repositories_in_the_checkout(checks: dict[str, KiwiCheck]) -> None:
    assert checks["real"].facts["repositories"] == [f"dir://{CHECKOUT / 'build/azl-repo'}",
                                                    f"dir://{CHECKOUT / 'build/rpm'}"]


@pytest.mark.parametrize("fault", list(BROKEN))
def test_kiwi_refuses_a_broken_copy(checks: dict[str, KiwiCheck], fault: str) -> None:
    result, (_, reason) = checks[fault], BROKEN[fault]
    assert not result.ok, f"KIWI accepted a copy with: {fault}"
    assert reason in result.error + result.log, f"{fault}: KIWI said {result.error}\n{result.log[:2000]}"


def test_config_script_writes_the_image_configuration(kiwi_root: Path, tmp_path: Path) -> None:
    """config.sh run as KIWI runs it, chrooted, in a root (the KIWI one, under an overlay) given what the live
    root has by then: the installer's code and command, cloud-init's directory, a root with no password."""
    upper = tmp_path / "upper"
    (upper / "usr/lib/azl-installer/installer").mkdir(parents=True)
    (upper / "usr/lib/azl-installer/installer/__init__.py").write_text("")
    (upper / "usr/bin").mkdir(parents=True)
    (upper / "usr/bin/azl-installer").write_text('#!/bin/sh\necho "$@" > /var/azl-installer-ran\n')
    (upper / "usr/bin/azl-installer").chmod(0o755)
    (upper / "etc/cloud").mkdir(parents=True)
    shadow = (kiwi_root / "etc/shadow").read_text()
    (upper / "etc/shadow").write_text("root::20000:0:99999:7:::\n" + shadow.split("\n", 1)[1])
    proc = run_config_script(kiwi_root, tmp_path, KIWI_DIR / "config.sh")
    assert proc.returncode == 0, proc.stderr
    etc = upper / "etc"
    assert (etc / "hostname").read_text() == "azl-installer\n"
    assert (etc / "machine-id").read_text() == ""
    assert (etc / "systemd/system/systemd-firstboot.service").readlink() == Path("/dev/null")
    assert (etc / "cloud/cloud-init.disabled").is_file()
    assert (etc / "shadow").read_text().startswith("root:!:")
    assert list((upper / "usr/lib/azl-installer/installer/__pycache__").glob("__init__.*.pyc"))
    assert (upper / "var/azl-installer-ran").read_text() == "schema\n"


def test_config_script_fails_when_the_installer_does_not_import(kiwi_root: Path, tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "usr/lib/azl-installer").mkdir(parents=True)
    (upper / "usr/bin").mkdir(parents=True)
    (upper / "usr/bin/azl-installer").write_text("#!/bin/sh\necho 'No module named yaml' >&2\nexit 1\n")
    (upper / "usr/bin/azl-installer").chmod(0o755)
    proc = run_config_script(kiwi_root, tmp_path, KIWI_DIR / "config.sh")
    assert proc.returncode != 0 and "No module named yaml" in proc.stderr

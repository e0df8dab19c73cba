"""The installer's RPMs (`make rpm`, iso/rpmbuild.py with iso/rpm/azl-installer.spec): built once for the
module with the host's rpmbuild, then read back with rpm -qp and checked with rpmlint. The bundle of
Python libraries comes from the shared cache (/var/cache/azl-installer, as `make rpm` and the ISO build
use it): a cache under tmp would rerun pip (and build pykickstart's wheel) on every run. Once cached the
build takes about 10 s. The pure-wheel check is tested without pip or rpmbuild."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from iso import rpmbuild
from iso.chroot import BuildError
from iso.customize import OVERLAY
from iso.liveroot import DEFAULT_CACHE_DIR
from iso.pydeps import Environment, normalize

MAIN, LIVE = "azl-installer", "azl-installer-live"
needs_rpmbuild = pytest.mark.skipif(shutil.which("rpmbuild") is None or shutil.which("rpm") is None,
                                    reason="rpmbuild is not installed (Debian: apt-get install rpm)")


def _rpm(*argv: str) -> str:
    return subprocess.run(["rpm", *argv], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def rpms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("rpmbuild") is None or shutil.which("rpm") is None:
        pytest.skip("rpmbuild is not installed (Debian: apt-get install rpm)")
    writable = DEFAULT_CACHE_DIR.is_dir() and os.access(DEFAULT_CACHE_DIR, os.W_OK)
    cache = DEFAULT_CACHE_DIR if writable else tmp_path_factory.mktemp("cache")
    built = rpmbuild.build_rpms(tmp_path_factory.mktemp("rpm"), cache)
    return {_rpm("-qp", "--qf", "%{NAME}", str(path)): path for path in built}


def _files(rpm: Path) -> list[str]:
    return _rpm("-qlp", str(rpm)).splitlines()


@needs_rpmbuild
def test_two_noarch_packages_of_one_version(rpms: dict[str, Path]) -> None:
    assert sorted(rpms) == [MAIN, LIVE]
    for name, path in rpms.items():
        assert _rpm("-qp", "--qf", "%{ARCH} %{RELEASE}", str(path)) == "noarch 1.azl4"
        assert path.name == f"{name}-{_rpm('-qp', '--qf', '%{VERSION}', str(path))}-1.azl4.noarch.rpm"


@needs_rpmbuild
def test_main_package_holds_wrapper_code_and_bundle(rpms: dict[str, Path]) -> None:
    files = _files(rpms[MAIN])
    assert "/usr/bin/azl-installer" in files
    assert "/usr/lib/azl-installer/installer/cli.py" in files
    assert "/usr/lib/azl-installer/site-packages/textual/__init__.py" in files
    assert not [f for f in files if f.startswith("/usr/lib/azl-installer/iso")]  # the live package's
    assert not [f for f in files if "/tests/" in f or f.startswith("/usr/lib/azl-installer/site-packages/bin")]


@needs_rpmbuild
def test_no_bytecode_and_no_image_configuration(rpms: dict[str, Path]) -> None:
    for path in rpms.values():
        files = _files(path)
        assert not [f for f in files if f.endswith(".pyc") or "__pycache__" in f]
        assert not {f"/{name}" for name in rpmbuild.IMAGE_CONFIG} & set(files)


@needs_rpmbuild
def test_live_package_holds_generator_unit_and_launcher(rpms: dict[str, Path]) -> None:
    modes = dict(line.split(" ", 1)[::-1] for line in
                 _rpm("-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES}\n]", str(rpms[LIVE])).splitlines())
    assert modes["/usr/lib/systemd/system-generators/azl-live-generator"] == "-rwxr-xr-x"
    assert modes["/usr/lib/systemd/system/azl-live.service"] == "-rw-r--r--"
    assert "/usr/lib/azl-installer/iso/launcher.py" in modes
    assert "/usr/lib/systemd/network/80-azl-live.network" in modes
    config = _rpm("-qcp", str(rpms[LIVE])).split()
    assert config == ["/etc/profile.d/azl-live.sh"]


@needs_rpmbuild
def test_requires(rpms: dict[str, Path]) -> None:
    main = _rpm("-qp", "--requires", str(rpms[MAIN])).splitlines()
    assert {"python3", "python3-pyyaml", "python3-pyparted", "python3-cryptography", "/usr/bin/dnf",
            "systemd-udev", "cryptsetup"} <= set(main)
    assert "python3-dnf" not in main  # dnf runs as a command: Azure Linux 4.0 (dnf5) has no dnf 4 bindings
    assert not [r for r in main if "python(abi)" in r or "python3dist" in r]  # nothing generated from the bundle
    evr = _rpm("-qp", "--qf", "%{VERSION}-%{RELEASE}", str(rpms[MAIN]))
    assert f"azl-installer = {evr}" in _rpm("-qp", "--requires", str(rpms[LIVE])).splitlines()


@needs_rpmbuild
def test_every_bundled_library_is_provided_with_its_version(rpms: dict[str, Path]) -> None:
    provides = re.findall(r"^bundled\(python3dist\(([^)]+)\)\) = (\S+)$",
                          _rpm("-qp", "--provides", str(rpms[MAIN])), re.MULTILINE)
    dist_infos = {re.sub(r"-[^-]+\.dist-info$", "", Path(f).name) for f in _files(rpms[MAIN])
                  if re.fullmatch(r"/usr/lib/azl-installer/site-packages/[^/]+\.dist-info", f)}
    assert {name for name, _ in provides} == {normalize(name) for name in dist_infos}
    assert sorted(f"{name}=={version}" for name, version in provides) == rpmbuild.bundle_pins()
    assert not {"pyyaml", "pyparted", "cryptography", "cffi", "pycparser"} & {name for name, _ in provides}
    assert {"textual", "rich", "pykickstart", "azure-identity", "msal", "requests"} <= {n for n, _ in provides}


@needs_rpmbuild
@pytest.mark.skipif(shutil.which("rpmlint") is None, reason="rpmlint is not installed (apt-get install rpmlint)")
def test_rpmlint_is_clean(rpms: dict[str, Path]) -> None:
    proc = subprocess.run(["rpmlint", "-r", str(rpmbuild.RPMLINTRC), *map(str, rpms.values())],
                          capture_output=True, text=True, check=False)
    assert "0 errors, 0 warnings" in proc.stdout, proc.stdout


# ---- without rpmbuild ----

def test_every_rootfs_file_is_packaged_or_image_configuration() -> None:
    files = {p.relative_to(OVERLAY).as_posix() for p in OVERLAY.rglob("*") if p.is_file()}
    assert set(rpmbuild.IMAGE_CONFIG) <= files
    assert set(rpmbuild.packaged_rootfs()) == files - set(rpmbuild.IMAGE_CONFIG)


def test_bundle_pins_leave_out_what_the_system_ships() -> None:
    requires = {"azl-installer": ["PyYAML>=6", "textual>=8", "cryptography>=43", 'pytest; extra == "test"'],
                "textual": ["rich>=13"], "cryptography": ["cffi>=1.12"], "rich": []}
    versions = {"pyyaml": "6.0", "textual": "8.2.8", "cryptography": "46.0", "cffi": "2.0", "rich": "15.0.0"}
    env = Environment(requires=lambda name: requires.get(name, []), version=versions.get)
    assert rpmbuild.bundle_pins(env) == ["rich==15.0.0", "textual==8.2.8"]
    assert "Provides:       bundled(python3dist(rich)) = 15.0.0" in rpmbuild.bundled_provides(["rich==15.0.0"])


def test_a_dependency_not_installed_here_fails_naming_it() -> None:
    env = Environment(requires=lambda name: ["textual>=8"] if name == "azl-installer" else [],
                      version=lambda name: None)
    with pytest.raises(BuildError, match=r"^textual>=8 not installed"):
        rpmbuild.bundle_pins(env)


def _pip(returncode: int, output: str = "") -> tuple[list[list[str]], rpmbuild.Call]:
    calls: list[list[str]] = []

    def call(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(list(argv), returncode, output)
    return calls, call


def test_a_dependency_with_only_platform_wheels_fails_in_one_line(tmp_path: Path) -> None:
    output = ("WARNING: Location 'file:///x/simple/cffi/' is ignored\n"
              "ERROR: Could not find a version that satisfies the requirement cffi==2.1.1 (from versions: none)\n"
              "ERROR: No matching distribution found for cffi==2.1.1\n")
    calls, call = _pip(1, output)
    with pytest.raises(BuildError) as raised:
        rpmbuild.install_bundle(["cffi==2.1.1", "idna==3.20"], tmp_path / "site", tmp_path, call)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("cffi==2.1.1 has no pure-Python wheel (py3-none-any) for python 3.13")
    argv = calls[-1]
    assert argv[argv.index("--platform") + 1] == "any" and argv[argv.index("--implementation") + 1] == "py"
    assert "--no-deps" in argv and "--only-binary=:all:" in argv


def test_source_only_libraries_are_built_into_wheels_first(tmp_path: Path) -> None:
    calls, call = _pip(0)
    rpmbuild.install_bundle(["idna==3.20", "pykickstart==3.78"], tmp_path / "site", tmp_path, call)
    assert [argv[3] for argv in calls] == ["wheel", "install"]
    assert calls[0][-1] == "pykickstart==3.78" and "idna==3.20" not in calls[0]


def test_an_impure_wheel_in_the_bundle_fails_naming_it(tmp_path: Path) -> None:
    pure = tmp_path / "idna-3.20.dist-info"
    pure.mkdir()
    (pure / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    rpmbuild.check_pure(tmp_path)
    impure = tmp_path / "charset_normalizer-3.5.3.dist-info"
    impure.mkdir()
    (impure / "WHEEL").write_text("Root-Is-Purelib: false\nTag: cp313-cp313-manylinux_2_17_x86_64\n")
    with pytest.raises(BuildError, match=r"^charset_normalizer-3\.5\.3 is not pure Python"):
        rpmbuild.check_pure(tmp_path)
    assert rpmbuild.not_pure(["py2-none-any", "py3-none-any", "cp313-abi3-manylinux_2_28_x86_64"]) == [
        "cp313-abi3-manylinux_2_28_x86_64"]


def test_the_bundle_leaves_out_libraries_own_tests(tmp_path: Path) -> None:
    def pip(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        site = Path(argv[argv.index("--target") + 1])
        for name in ("certifi/__init__.py", "certifi/cacert.pem", "certifi/tests/test_certify.py",
                     "certifi/__pycache__/core.cpython-313.pyc", "certifi-2099.1.1.dist-info/WHEEL", "bin/x"):
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text("Tag: py3-none-any\n" if name.endswith("WHEEL") else "")
        return subprocess.CompletedProcess(list(argv), 0, "")

    with tarfile.open(rpmbuild.cached_bundle(tmp_path, ["certifi==2099.1.1"], pip)) as tar:
        names = {member.name for member in tar.getmembers() if member.isfile()}
    dist_info = "site-packages/certifi-2099.1.1.dist-info"
    assert names == {"site-packages/certifi/__init__.py", "site-packages/certifi/cacert.pem", f"{dist_info}/WHEEL",
                     f"{dist_info}/INSTALLER"}


def test_main_reports_one_line_without_rpmbuild(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert rpmbuild.main(["--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rpm: rpmbuild not found") and err.count("\n") == 1

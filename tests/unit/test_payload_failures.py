"""The one line a user reads when a download or the target's space fails, from both dnfs' own output.

The lines below are what dnf 4.14 (Debian 12) and dnf5 5.4 (sid) printed against the fault server in
tests/support/faulty_repo.py; tests/integration/test_payload_real.py runs the real ones end to end.
"""

from __future__ import annotations

from installer.payload.diskspace import SpaceProblems
from installer.payload.downloads import DownloadProblems

LOCATIONS = {"base": "http://127.0.0.1:8000/base/", "extra": "http://127.0.0.1:8001/"}


def _downloads(*lines: str) -> str | None:
    found = DownloadProblems()
    for line in lines:
        found.read(line)
    return found.describe(LOCATIONS)


def test_each_failed_repository_gets_its_own_cause_and_url() -> None:
    """dnf 4 names the repository but not its URL; the cause lines name the URL but not the repository."""
    text = _downloads(
        "Errors during downloading metadata for repository 'extra':",
        "  - Curl error (7): Couldn't connect to server for http://127.0.0.1:8001/repodata/repomd.xml "
        "[Failed to connect to 127.0.0.1 port 8001 after 0 ms: Couldn't connect to server]",
        "Error: Failed to download metadata for repo 'extra': Cannot download repomd.xml: All mirrors were tried",
        "  - Status code: 404 for http://127.0.0.1:8000/base/repodata/repomd.xml (IP: 127.0.0.1)",
        "Error: Failed to download metadata for repo 'base': Cannot download repomd.xml: All mirrors were tried",
    )
    assert text == (
        "repository 'extra' at http://127.0.0.1:8001/ could not be read: the connection was refused (nothing listens "
        "there, or a firewall refuses) (http://127.0.0.1:8001/repodata/repomd.xml); "
        "repository 'base' at http://127.0.0.1:8000/base/ could not be read: HTTP 404 Not Found "
        "(http://127.0.0.1:8000/base/repodata/repomd.xml)")


def test_dnf5_lines_and_a_mirror_lists_mirrors() -> None:
    """dnf5 says the location itself; a mirror's cause (not under the list's URL) is the repository's too."""
    text = _downloads(
        ">>> Curl error (60): SSL peer certificate or SSH remote key was not OK for https://mirror.test/r/repodata/"
        "repomd.xml [SSL certificate problem: self-signed certificate] - https://mirror.test/r/repodata/repomd.xml",
        ">>> Usable URL not found",
        'Failed to download metadata (mirrorlist: "https://list.test/m") for repository "base": Usable URL not found',
    )
    assert text == ("repository 'base' at https://list.test/m could not be read: the server's certificate is not "
                    "trusted: SSL certificate problem: self-signed certificate "
                    "(https://mirror.test/r/repodata/repomd.xml)")


def test_a_stalled_mirror_keeps_curls_detail_and_a_missing_host_does_not() -> None:
    assert _downloads(
        "  - Curl error (28): Timeout was reached for http://127.0.0.1:8001/repodata/repomd.xml [Operation too slow. "
        "Less than 1000 bytes/sec transferred the last 30 seconds]",
        "Error: Failed to download metadata for repo 'extra': Cannot download repomd.xml: All mirrors were tried",
    ) == ("repository 'extra' at http://127.0.0.1:8001/ could not be read: no answer in time (payload.timeout): "
          "Operation too slow. Less than 1000 bytes/sec transferred the last 30 seconds "
          "(http://127.0.0.1:8001/repodata/repomd.xml)")
    assert _downloads(
        "  - Curl error (6): Couldn't resolve host name for http://nowhere.test/repodata/repomd.xml "
        "[Could not resolve host: nowhere.test]",
        "Error: Failed to download metadata for repo 'base': Cannot download repomd.xml: All mirrors were tried",
    ) == ("repository 'base' at http://127.0.0.1:8000/base/ could not be read: the host name could not be resolved "
          "(http://nowhere.test/repodata/repomd.xml)")


def test_packages_that_fail_to_download_or_arrive_damaged_are_named() -> None:
    dnf4 = _downloads(
        "[MIRROR] vim-minimal-9.1.0-1.azl4.noarch.rpm: Downloading successful, but checksum doesn't match. "
        "Calculated: 20(sha256)  Expected: ff(sha256) ",
        "[MIRROR] vim-minimal-9.1.0-1.azl4.noarch.rpm: Downloading successful, but checksum doesn't match. ",
        "[MIRROR] bash-5.2.37-1.azl4.noarch.rpm: Status code: 404 for "
        "http://127.0.0.1:8000/base/Packages/bash-5.2.37-1.azl4.noarch.rpm (IP: 127.0.0.1)",
    )
    assert dnf4 == ("package vim-minimal-9.1.0-1.azl4.noarch is damaged: it was downloaded, but its checksum does not "
                    "match the repository's metadata (a broken mirror or file); package bash-5.2.37-1.azl4.noarch "
                    "could not be downloaded from http://127.0.0.1:8000/base/Packages/bash-5.2.37-1.azl4.noarch.rpm: "
                    "HTTP 404 Not Found")
    dnf5 = _downloads(">>> Downloading successful, but checksum doesn't match. Calculated: 20(sha256)  Expected: "
                      "ff(sha256)  - http://127.0.0.1:8001/Packages/noarch/azl-extra-1.0-1.azl4.noarch.rpm")
    assert dnf5 is not None and dnf5.startswith("package azl-extra-1.0-1.azl4.noarch is damaged:")


def test_nothing_said_about_downloads_is_no_download_problem() -> None:
    assert _downloads("Error: Transaction test error:", "Status code: 200 is not a line dnf prints") is None


def _space(*lines: str) -> str | None:
    found = SpaceProblems()
    for line in lines:
        found.read(line)
    return found.describe()


def test_a_target_too_small_names_each_filesystem_once() -> None:
    assert _space(
        "  installing package bigdata-1.0-1.azl4.noarch needs 10MB more space on the / filesystem",
        "  installing package bash-5.2-1.azl4.noarch needs 2MB more space on the / filesystem",
        "  installing package kernel-6.6-1.azl4.x86_64 needs 120 more inodes on the /boot filesystem",
        "   At least 10MB more space needed on the / filesystem.",
    ) == ("the target's / filesystem is too small: package bigdata-1.0-1.azl4.noarch needs 10MB more space there "
          "(make / bigger, or install fewer packages); the target's /boot filesystem is too small: package "
          "kernel-6.6-1.azl4.x86_64 needs 120 more inodes there (make /boot bigger, or install fewer packages)")


def test_a_filesystem_that_fills_up_while_packages_unpack() -> None:
    assert _space("error: unpacking of archive failed on file /usr/share/bigdata/big.bin;6650a1b2: cpio: write "
                  "failed - No space left on device") == (
        "the target ran out of space while writing /usr/share/bigdata/big.bin (no space left on device): make its "
        "filesystems bigger, or install fewer packages")
    unnamed = _space("some tool: No space left on device")
    assert unnamed is not None and unnamed.startswith("the target ran out of space (no space left on device)")
    assert _space("Installing: bash") is None

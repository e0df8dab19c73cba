"""Why a download failed, read from dnf's output: which repository or package, which URL, what cause.

Both dnfs hand the download to librepo (libcurl), and both print librepo's reason for each attempt
("Status code: 404 for URL", "Curl error (7): ... for URL [detail]", "Downloading successful, but
checksum doesn't match"), then a summary that names the repository but not the cause (dnf 4:
"Failed to download metadata for repo 'sample'", dnf5: 'Failed to download metadata (baseurl:
"...") for repository "sample"'). dnf5 prefixes librepo's lines with ">>> " and ends them with
" - URL"; dnf 4 starts a package's lines with "[MIRROR] name-version.rpm: ". DownloadProblems keeps
the first cause per URL and builds the one line the user reads from the two.
"""

from __future__ import annotations

import http
import re
from dataclasses import dataclass, field

# "Status code: 404 for http://host/repodata/repomd.xml (IP: 127.0.0.1)"
_STATUS = re.compile(r"Status code: (\d+) for (\S+)")
# "Curl error (7): Couldn't connect to server for http://host/x [Failed to connect to ...]"
_CURL = re.compile(r"Curl error \((\d+)\): (.+?) for (\S+)(?: \[(.*?)\])?(?: - \S+)?\s*$")
_CHECKSUM = "Downloading successful, but checksum doesn't match"
# dnf 4: "[MIRROR] vim-minimal-9.1.0-1.azl4.noarch.rpm: Downloading successful, ..."
_DNF4_PACKAGE = re.compile(r"^\[(?:MIRROR|FAILED)\] (\S+?)\.rpm: ")
# dnf5 ends librepo's lines with " - URL".
_TRAILING_URL = re.compile(r" - (\S+)\s*$")
_DNF4_METADATA = re.compile(r"^Error: Failed to download metadata for repo '(.+?)'")
_DNF5_METADATA = re.compile(r'^Failed to download metadata \((?:baseurl|mirrorlist|metalink): "(.*?)"\) '
                            r'for repository "(.+?)"')

# libcurl's error numbers as a user reads them; the others keep libcurl's own words.
_CURL_CAUSES = {
    "6": "the host name could not be resolved",
    "7": "the connection was refused (nothing listens there, or a firewall refuses)",
    "28": "no answer in time (payload.timeout)",
    "35": "the TLS handshake failed",
    "37": "no such file",
    "60": "the server's certificate is not trusted",
}


def _http_cause(code: str) -> str:
    try:
        return f"HTTP {code} {http.HTTPStatus(int(code)).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _curl_cause(code: str, words: str, detail: str | None) -> str:
    cause = _CURL_CAUSES.get(code, words)
    if code in ("6", "7", "37") or not detail:  # the number says it all; the detail repeats the URL's parts
        return cause
    return f"{cause}: {detail}"


def _package_of(url: str) -> str | None:
    """The package a URL downloads: ".../vim-minimal-9.1.0-1.azl4.noarch.rpm" -> "vim-minimal-9.1.0-1.azl4.noarch"."""
    name = url.rstrip("/").rpartition("/")[2]
    return name.removesuffix(".rpm") if name.endswith(".rpm") else None


def _under(url: str, where: str) -> bool:
    return bool(where) and url.startswith(where.rstrip("/") + "/")


@dataclass
class DownloadProblems:
    """What dnf said about downloads that failed, one cause per URL (librepo tries each a few times)."""

    causes: dict[str, str] = field(default_factory=dict)  # URL (or, from dnf 4, a package name) -> cause
    failed_repos: dict[str, str] = field(default_factory=dict)  # repository id -> its location, when dnf says it
    corrupt: list[str] = field(default_factory=list)  # packages whose checksum did not match

    def read(self, line: str) -> None:
        text = line.removeprefix(">>> ").strip()
        if match := _DNF4_METADATA.match(text):
            self.failed_repos.setdefault(match.group(1), "")
        elif match := _DNF5_METADATA.match(text):
            self.failed_repos.setdefault(match.group(2), match.group(1))
        elif match := _STATUS.search(text):
            self.causes.setdefault(match.group(2), _http_cause(match.group(1)))
        elif match := _CURL.search(text):
            code, words, url, detail = match.groups()
            self.causes.setdefault(url, _curl_cause(code, words, detail))
        elif _CHECKSUM in text:
            where = _TRAILING_URL.search(text)
            package = _DNF4_PACKAGE.match(text)
            name = package.group(1) if package else (_package_of(where.group(1)) if where else None)
            if name and name not in self.corrupt:
                self.corrupt.append(name)

    def describe(self, locations: dict[str, str]) -> str | None:
        """One line for the user, or None when dnf said nothing about downloads. locations: each repository's
        id and URL, as the profile gave them (dnf 4 does not repeat them)."""
        parts: list[str] = []
        for name in self.corrupt:
            parts.append(f"package {name} is damaged: it was downloaded, but its checksum does not match the "
                         "repository's metadata (a broken mirror or file)")
        package_urls = {url: cause for url, cause in self.causes.items() if _package_of(url)}
        for url, cause in package_urls.items():
            parts.append(f"package {_package_of(url)} could not be downloaded from {url}: {cause}")
        repo_causes = {url: cause for url, cause in self.causes.items() if url not in package_urls}
        wheres = {repo: said or locations.get(repo, "") for repo, said in self.failed_repos.items()}
        for repo, where in wheres.items():
            # A cause belongs to the repository whose URL it starts with; a mirror's, to any that has none.
            about = [f"{cause} ({url})" for url, cause in repo_causes.items() if _under(url, where)]
            about = about or [f"{cause} ({url})" for url, cause in repo_causes.items()
                              if not any(_under(url, other) for other in wheres.values())]
            reason = "; ".join(about) or "dnf gave no reason"
            parts.append(f"repository '{repo}' at {where or 'its mirrors'} could not be read: {reason}")
        return "; ".join(parts) or None

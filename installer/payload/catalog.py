"""What can be installed: comps environments and groups, with names, descriptions and sizes.

No dnf: comps is read by libcomps (the library dnf itself reads it with), the installer's
own comps file plus, for every repository that is a local directory (file:// or a plain
path), its repodata (repomd.xml -> group and primary metadata; those two small XML files
are read with ElementTree). Sizes are the installed sizes of a group's mandatory and default packages found
in those repositories; None where no local metadata is available (remote repositories).
"""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import libcomps

from installer.payload.dnf import comps_path
from profiles.model import Repository

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"
# What installing a group brings: its mandatory and default packages (optional ones only by
# name, conditional ones only with the package they depend on).
_INSTALLED_TYPES = (libcomps.PACKAGE_TYPE_MANDATORY, libcomps.PACKAGE_TYPE_DEFAULT)


class CatalogError(ValueError):
    """Repository metadata that cannot be read; one line naming the file."""


@dataclass(frozen=True)
class GroupInfo:
    id: str
    name: str
    description: str
    packages: tuple[str, ...]  # mandatory and default packages: what installing the group brings
    uservisible: bool = True
    size: int | None = None  # installed bytes of the packages found locally; None if unknown


@dataclass(frozen=True)
class EnvironmentInfo:
    id: str
    name: str
    description: str
    groups: tuple[str, ...]
    display_order: int = 0
    size: int | None = None


@dataclass(frozen=True)
class Catalog:
    environments: tuple[EnvironmentInfo, ...] = ()
    groups: tuple[GroupInfo, ...] = ()
    problems: tuple[str, ...] = ()  # repositories whose metadata could not be read (shown, not fatal)

    def group(self, group_id: str) -> GroupInfo | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def environment(self, env_id: str) -> EnvironmentInfo | None:
        return next((e for e in self.environments if e.id == env_id), None)


def local_directory(baseurl: str) -> Path | None:
    """The directory of a file:// URL or a plain path; None for remote repositories."""
    if "://" not in baseurl:
        return Path(baseurl)
    parsed = urlparse(baseurl)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _read_maybe_gz(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _read_comps(data: bytes) -> libcomps.Comps:
    """One comps document parsed by libcomps; CatalogError when it is not comps at all.

    libcomps reports recoverable defects (a group without a description) as log lines and
    keeps going, as dnf does; only a document it cannot parse at all is refused."""
    comps = libcomps.Comps()
    try:
        comps.fromxml_str(data.decode("utf-8", errors="replace"))
    except libcomps.ParserError as err:
        detail = " ".join("; ".join(comps.get_last_errors()).split()) or str(err)  # one line
        raise CatalogError(f"comps: {detail}") from None
    return comps


def _catalog_entries(comps: libcomps.Comps) -> tuple[list[GroupInfo], list[EnvironmentInfo]]:
    # libcomps gives the untranslated name and description as .name/.desc (translations live
    # in name_by_lang/desc_by_lang, which the installer does not show).
    groups = [
        GroupInfo(g.id, g.name or g.id, g.desc or "",
                  tuple(p.name for p in g.packages if p.type in _INSTALLED_TYPES), bool(g.uservisible))
        for g in comps.groups if g.id
    ]
    envs = [
        EnvironmentInfo(e.id, e.name or e.id, e.desc or "", tuple(gid.name for gid in e.group_ids),
                        e.display_order or 0)
        for e in comps.environments if e.id
    ]
    return groups, envs


def parse_comps(data: bytes) -> tuple[list[GroupInfo], list[EnvironmentInfo]]:
    return _catalog_entries(_read_comps(data))


def parse_primary_sizes(data: bytes) -> dict[str, int]:
    """Package name -> installed size (the largest when several versions are listed)."""
    sizes: dict[str, int] = {}
    for pkg in ET.fromstring(data).iter(f"{_COMMON_NS}package"):
        name = pkg.findtext(f"{_COMMON_NS}name")
        size = pkg.find(f"{_COMMON_NS}size")
        if name and size is not None:
            sizes[name] = max(sizes.get(name, 0), int(size.get("installed", "0")))
    return sizes


def _repodata(directory: Path) -> dict[str, Path]:
    """Metadata type -> file, from repodata/repomd.xml."""
    repomd = directory / "repodata" / "repomd.xml"
    try:
        root = ET.fromstring(repomd.read_bytes())
    except (OSError, ET.ParseError) as err:
        raise CatalogError(f"{repomd}: cannot read repository metadata ({err})") from None
    found = {}
    for data in root.findall(f"{_REPO_NS}data"):
        location = data.find(f"{_REPO_NS}location")
        if location is not None and location.get("href"):
            found[data.get("type", "")] = directory / str(location.get("href"))
    return found


def _sized_groups(groups: Iterable[GroupInfo], sizes: dict[str, int] | None) -> list[GroupInfo]:
    if sizes is None:
        return list(groups)
    return [replace(g, size=sum(sizes.get(p, 0) for p in g.packages)) for g in groups]


def load_catalog(repositories: Sequence[Repository], builtin: Path | None = None) -> Catalog:
    """The installer's own comps merged with each local repository's comps.

    Merged with libcomps' union, as dnf merges the comps of its repositories: a group defined
    twice keeps the later name and description and the packages of both."""
    merged = _read_comps(_read_maybe_gz(builtin or comps_path()))
    problems: list[str] = []
    sizes: dict[str, int] | None = None
    for repo in repositories:
        directory = local_directory(repo.baseurl) if repo.baseurl else None
        if directory is None:
            continue
        try:
            meta = _repodata(directory)
            if "primary" in meta:
                sizes = {**(sizes or {}), **parse_primary_sizes(_read_maybe_gz(meta["primary"]))}
            comps = meta.get("group") or meta.get("group_gz")
            if comps is not None:
                merged += _read_comps(_read_maybe_gz(comps))
        except (OSError, ET.ParseError, CatalogError) as err:
            problems.append(f"repository {repo.name}: {err}")
    groups, envs = _catalog_entries(merged)
    sized = {g.id: g for g in _sized_groups(groups, sizes)}
    env_list = []
    for env in envs:
        size = None
        if sizes is not None:
            packages = {p for gid in env.groups if gid in sized for p in sized[gid].packages}
            size = sum(sizes.get(p, 0) for p in packages)
        env_list.append(replace(env, size=size))
    env_list.sort(key=lambda e: (e.display_order, e.id))
    return Catalog(tuple(env_list), tuple(sorted(sized.values(), key=lambda g: g.id)), tuple(problems))

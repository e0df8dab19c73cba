"""Profiles: the typed description of an install, loaded from YAML with precise errors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from profiles.checks import check_profile
from profiles.convert import Converter, Problem, json_schema, path_text, to_plain
from profiles.model import AutoLayout, Profile
from profiles.source import Document, SourceError, parse

__all__ = [
    "Problem",
    "Profile",
    "ProfileError",
    "ProfileIssue",
    "dump_profile",
    "json_schema",
    "load_profile",
    "problems_of",
    "profile_from_text",
]


@dataclass(frozen=True)
class ProfileIssue:
    filename: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.key_path}: {self.message}"


class ProfileError(Exception):
    """A profile that cannot be used; holds every issue found, each a one-line message."""

    def __init__(self, issues: list[ProfileIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def _issues(doc: Document, problems: list[Problem]) -> list[ProfileIssue]:
    result = []
    for problem in problems:
        pos = doc.position(problem.path)
        result.append(ProfileIssue(doc.filename, pos.line, pos.column, path_text(problem.path), problem.text()))
    return sorted(result, key=lambda i: (i.line, i.column))


def profile_from_text(text: str, filename: str = "<profile>") -> Profile:
    try:
        doc = parse(text, filename)
    except SourceError as err:
        raise ProfileError(
            [ProfileIssue(filename, err.position.line, err.position.column, "(top)", str(err))]
        ) from None
    converter = Converter()
    profile = converter.build(Profile, doc.data)
    if converter.problems or profile is None:
        raise ProfileError(_issues(doc, converter.problems))
    if profile.storage.auto is None and not profile.storage.partitions:
        profile = replace(profile, storage=replace(profile.storage, auto=AutoLayout()))
    problems = check_profile(profile)
    if problems:
        raise ProfileError(_issues(doc, problems))
    assert isinstance(profile, Profile)
    return profile


def resolve_paths(profile: Profile, base: Path) -> Profile:
    """Make repository, image, user-data and CA bundle paths written relative to the profile absolute."""
    repos = tuple(
        r if not r.baseurl or "://" in r.baseurl else replace(r, baseurl=(base / r.baseurl).resolve().as_uri())
        for r in profile.payload.repositories
    )
    image = profile.payload.image
    if image is not None and not image.path.startswith("/"):
        image = replace(image, path=str((base / image.path).resolve()))
    ci = profile.cloud_init
    if ci is not None and ci.user_data_file is not None and not ci.user_data_file.startswith("/"):
        profile = replace(profile, cloud_init=replace(ci, user_data_file=str((base / ci.user_data_file).resolve())))
    enc = profile.encryption
    if enc is not None and enc.ca_bundle is not None and not enc.ca_bundle.startswith("/"):
        profile = replace(profile, encryption=replace(enc, ca_bundle=str((base / enc.ca_bundle).resolve())))
    return replace(profile, payload=replace(profile.payload, repositories=repos, image=image))


MAX_PROFILE_BYTES = 4 * 1024 * 1024  # a profile is a page or two; user-data and scripts make it longer


def load_profile(path: Path) -> Profile:
    try:
        if path.exists() and not path.is_file():  # a directory, a device or a FIFO: read forever or not at all
            what = "a directory" if path.is_dir() else "not a regular file"
            raise ProfileError([ProfileIssue(str(path), 1, 1, "(file)", f"cannot read the profile: {what}")])
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError([ProfileIssue(str(path), 1, 1, "(file)", "cannot read the profile: larger than "
                                             f"{MAX_PROFILE_BYTES // 2**20} MiB")])
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ProfileError([ProfileIssue(str(path), 1, 1, "(file)", f"cannot read the profile: {reason}")]) from None
    return resolve_paths(profile_from_text(text, str(path)), path.parent)


def problems_of(profile: Profile) -> list[tuple[str, str]]:
    """Cross-field problems of a Profile built in code (the UI): (key path, message) pairs."""
    return [(path_text(p.path), p.text()) for p in check_profile(profile)]


def dump_profile(profile: Profile, *, redact: bool = True) -> str:
    """YAML text of a profile that loads back to the same Profile (minus removed secrets)."""
    return yaml.safe_dump(to_plain(profile, redact=redact), sort_keys=False, default_flow_style=False)


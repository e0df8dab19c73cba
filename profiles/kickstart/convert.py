"""Kickstarts as profiles: what `import-kickstart`, `--kickstart` and the ISO's inst.ks= share.

A kickstart is read by pykickstart (the Fedora release Azure Linux 4.0 is built from), every command,
option and section is checked against what this installer carries over (supported.py), and the
rest becomes one profile, commented with the kickstart line each key came from. The profile then
goes through the same checks as any YAML profile; a problem there is reported at the kickstart line
the key came from. Nothing is dropped silently: what is not carried over is refused line by line,
what is harmless is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from installer.core.passwords import hash_password
from profiles import Profile, ProfileError, profile_from_text, resolve_paths
from profiles.kickstart.draft import Draft, KeyPath
from profiles.kickstart.emit import profile_yaml
from profiles.kickstart.errors import Finding, KickstartError, Origin, order
from profiles.kickstart.payload import convert_payload
from profiles.kickstart.reader import ReadError, read_kickstart
from profiles.kickstart.storage import convert_storage
from profiles.kickstart.supported import check_supported
from profiles.kickstart.system import Hasher, convert_network, convert_system


@dataclass(frozen=True)
class Conversion:
    text: str  # the profile as YAML, commented with where each part came from
    profile: Profile  # paths relative to the kickstart resolved
    warnings: list[Finding]


def _origin_of(path_text: str, draft: Draft) -> Origin | None:
    """The kickstart line behind a key path such as 'storage.partitions[1].size' (or its nearest parent)."""
    parts: list[str | int] = []
    for piece in path_text.replace("]", "").split("."):
        name, _, index = piece.partition("[")
        parts.append(name)
        parts += [int(i) for i in index.split("[") if i.isdigit()]
    path: KeyPath = tuple(parts)
    while path:
        notes = draft.origins.get(path) or (  # the section itself has none: its first noted key's line
            [] if len(path) > 1 else next((n for p, n in draft.origins.items() if p[:1] == path), []))
        if notes:
            file, _, rest = notes[0].rpartition(":")
            return Origin(file, int(rest.split(" ", 1)[0]))
        path = path[:-1]
    return None


def convert_kickstart(path: Path, shown: str | None = None, hasher: Hasher = hash_password) -> Conversion:
    shown = shown or str(path)
    try:
        ks = read_kickstart(path, shown)
    except ReadError as err:
        raise KickstartError([Finding(o, m) for o, m in err.problems]) from None
    draft = Draft()
    draft.problems += [Finding(o, m) for o, m in ks.errors]
    draft.warnings += [Finding(o, f"deprecated: {m}") for o, m in ks.deprecations]
    check_supported(ks, draft)
    if not ks.errors:
        convert_system(ks, draft, hasher)
        convert_network(ks, draft)
        convert_payload(ks, draft)
        convert_storage(ks, draft)
    if draft.problems:
        raise KickstartError(draft.problems, draft.warnings)
    header = [f"Converted by azl-installer from the kickstart {shown}.",
              "Each '# from FILE:LINE' comment names the kickstart line a key came from.",
              "Plain-text passwords were hashed; an encryption passphrase is kept: keep this file private.", ""]
    text = profile_yaml(draft.data, draft.origins, header)
    try:
        profile = profile_from_text(text, shown)
    except ProfileError as err:
        problems = []
        for issue in err.issues:
            origin = _origin_of(issue.key_path, draft) or ks.origin(None)
            problems.append(Finding(origin, f"{issue.key_path}: {issue.message}"))
        raise KickstartError(problems, draft.warnings) from None
    return Conversion(text, resolve_paths(profile, path.parent), sorted(draft.warnings, key=order))


def load_kickstart(path: Path) -> Profile:
    """The profile a kickstart converts to (what --kickstart installs); KickstartError if it does not."""
    return convert_kickstart(path).profile

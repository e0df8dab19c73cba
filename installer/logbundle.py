"""Files a user hands to someone else: the replayable profile and a log bundle, never with a secret.

The log bundle is a .tar.gz of the human log, the JSON event log, plan.txt and the profile
with its secrets removed. The engine never logs a secret; as a second line of defence every
value of a secret field of the profile is replaced in each member before it is written.
Both writers refuse to replace an existing file unless told to, and fail with one line.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from installer.plan import Plan
from profiles import dump_profile
from profiles.model import Profile

REMOVED = "<removed>"
PROFILE_HEADER = "# The profile of this install (secrets removed). Replay: azl-installer install --profile FILE\n"


class SaveError(Exception):
    """A file could not be written; str() is one line naming the path and the reason."""


class Exists(SaveError):
    """The path exists and overwriting was not confirmed."""


def secret_values(obj: Any) -> Iterator[str]:
    """Every non-empty value of a field marked secret, anywhere in a profile."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for fld in dataclasses.fields(obj):
            value = getattr(obj, fld.name)
            if fld.metadata.get("secret") and isinstance(value, str) and value:
                yield value
            else:
                yield from secret_values(value)
    elif isinstance(obj, tuple):
        for item in obj:
            yield from secret_values(item)


def scrub(text: str, secrets: list[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):  # a secret inside a longer one goes with the longer
        text = text.replace(value, REMOVED)
    return text


def profile_text(profile: Profile) -> str:
    return PROFILE_HEADER + dump_profile(profile, redact=True)


def events_log_of(log: Path) -> Path:
    """The JSON event log the session opened next to a human log (install-STAMP.log -> events-STAMP.jsonl)."""
    return log.with_name("events-" + log.name.removeprefix("install-")).with_suffix(".jsonl")


def _target(path: Path, overwrite: bool, root: Path | None) -> tuple[Path, Path]:
    """(the path as named, the file to write): under root when a dry-run keeps its machine's files there.
    Every message names the path as the user typed it."""
    path = path.expanduser()
    real = path if root is None else root / path.relative_to(path.anchor)
    if not path.name or real.is_dir():
        raise SaveError(f"{path} is a directory: type a file name")
    if real.exists() and not overwrite:
        raise Exists(f"{path} already exists")
    if not real.parent.is_dir():
        raise SaveError(f"cannot write {path}: the directory {path.parent} does not exist")
    return path, real


def _write(path: Path, real: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, so a failed save leaves no half file."""
    temporary = real.with_name(f".{real.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, real)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise SaveError(f"cannot write {path}: {err.strerror or err}") from None


def save_profile(profile: Profile, path: Path, *, overwrite: bool = False, root: Path | None = None) -> Path:
    """Write the replayable profile (secrets removed); returns the path written (as named, also under root)."""
    shown, real = _target(path, overwrite, root)
    _write(shown, real, profile_text(profile).encode())
    return shown


def bundle_members(plan: Plan | None, log: Path | None, profile: Profile | None = None) -> dict[str, bytes]:
    """name -> content of each file in the bundle; a log that was never written is named in a note. profile:
    the install's profile when there is no plan (one refused before planning), so its secrets go too."""
    profile = plan.profile if plan is not None else profile
    secrets = list(secret_values(profile)) if profile is not None else []
    members: dict[str, str] = {}
    missing: list[str] = []
    sources = {"install.log": log, "events.jsonl": events_log_of(log) if log is not None else None}
    for name, source in sources.items():
        try:
            if source is None:
                raise FileNotFoundError
            members[name] = source.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            missing.append(f"{name}: {source or 'no log was opened'}"
                           f"{': ' + err.strerror if isinstance(err, OSError) and err.strerror else ''}")
    if plan is not None:
        members["plan.txt"] = plan.render() + "\n"
    if profile is not None:
        members["profile.yaml"] = profile_text(profile)
    if missing:
        members["MISSING.txt"] = "Not in this bundle:\n" + "".join(f"  {m}\n" for m in missing)
    return {name: scrub(text, secrets).encode() for name, text in members.items()}


def save_log_bundle(plan: Plan | None, log: Path | None, path: Path, *, overwrite: bool = False,
                    root: Path | None = None) -> Path:
    """Write the .tar.gz log bundle of the human log at log (a path on this host); returns the path written."""
    target, real = _target(path, overwrite, root)
    folder = target.name.removesuffix(".gz").removesuffix(".tar").removesuffix(".tgz") or "azl-installer-logs"
    _write(target, real, bundle_bytes(bundle_members(plan, log), folder))
    return target


def bundle_bytes(members: dict[str, bytes], folder: str) -> bytes:
    """The .tar.gz of members, each under folder/ (what unpacking it makes), mode 0600."""
    stamp = int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mtime, info.mode = len(data), stamp, 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def default_name(kind: str, log: Path | None) -> str:
    """azl-installer-logs-STAMP.tar.gz or azl-installer-profile-STAMP.yaml, STAMP being the install log's."""
    stamp = log.stem.removeprefix("install-") if log is not None else time.strftime("%Y%m%d-%H%M%S")
    return f"azl-installer-{kind}-{stamp}" + (".tar.gz" if kind == "logs" else ".yaml")

"""The secrets cloud-init user-data can carry, removed from every copy of a profile that is saved or logged.

The NoCloud seed in the target keeps the user-data as given (mode 0600): cloud-init needs it to set
the passwords at first boot. Every other copy (the saved profile.yaml, the log bundle) replaces:
- the default user's `password:` and `chpasswd: list:` (plain text, cloud-init's own format);
- `chpasswd: users:` passwords unless `type: hash`;
- `users:` entries' `plain_text_passwd:` (their `passwd:`/`hashed_passwd:` hashes stay: replay needs them);
- `ssh_keys:` private host keys (`*_private`);
each with `<removed>`, as the profile's own secrets are. A MIME multipart or text that is not
YAML has the same keys' values replaced line by line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

REMOVED = "<removed>"
HEADER = "#cloud-config\n# Passwords and private keys removed by azl-installer (the installed seed has them).\n"
# Line by line, for what cannot be parsed: `key: value` of the keys above, in any indentation or list item.
_SECRET_LINE = re.compile(r"^(\s*(?:-\s+)?(?:password|plain_text_passwd|[a-z0-9]+_private)\s*:\s*)(?![|>]?\s*$)"
                          r"(\S.*)$", re.M)


def redact_user_data(text: str) -> str:
    if text.lstrip().startswith("#cloud-config"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        if isinstance(data, dict):
            return HEADER + yaml.safe_dump(_redacted(data), sort_keys=False) if _has_secret(data) else text
    return _SECRET_LINE.sub(lambda m: m.group(1) + REMOVED, text)


def _has_secret(data: dict[str, Any]) -> bool:
    return _redacted(data) != data


def _redacted(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if out.get("password") is not None:
        out["password"] = REMOVED
    chpasswd = out.get("chpasswd")
    if isinstance(chpasswd, dict):
        chpasswd = dict(chpasswd)
        if chpasswd.get("list"):
            chpasswd["list"] = REMOVED
        if isinstance(chpasswd.get("users"), list):
            chpasswd["users"] = [
                {**u, "password": REMOVED} if isinstance(u, dict) and "password" in u and u.get("type") != "hash"
                else u for u in chpasswd["users"]]
        out["chpasswd"] = chpasswd
    if isinstance(out.get("users"), list):
        out["users"] = [{**u, "plain_text_passwd": REMOVED} if isinstance(u, dict) and "plain_text_passwd" in u
                        else u for u in out["users"]]
    if isinstance(out.get("ssh_keys"), dict):
        out["ssh_keys"] = {k: REMOVED if str(k).endswith("_private") else v for k, v in out["ssh_keys"].items()}
    return out

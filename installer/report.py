"""The result of an install, sent to the profile's report_url so an operator sees a fleet in one place.

Two HTTP PUTs to the directory URL, named by the machine (installer/core/machine.py): NAME.json, a
small document (result, exit code, the step that failed and its one-line message, timings, the
machine's identity), then NAME.tar.gz, the log bundle (installer/logbundle.py: secrets removed). PUT,
not a form POST: any web server that accepts uploads (nginx's dav module, `azl-installer serve`)
stores them as files, and a second install of the same machine replaces its earlier result.

Reporting never changes the install's outcome: a server that is down is retried a few times within
a bounded time, then one line says the report was not sent.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from installer.core.machine import Identity, identify
from installer.logbundle import bundle_bytes, bundle_members, scrub, secret_values
from installer.plan import Plan
from profiles.model import Profile

Result = Literal["installed", "failed", "stopped", "refused"]
ATTEMPTS = 3
TIMEOUT = 10.0  # seconds for one request (a bundle is a few hundred KB): at most about a minute in all
RETRY_PAUSE = 3.0
FORMAT = 1  # the JSON document's format version (docs/fleet.md)


@dataclass(frozen=True)
class Ending:
    """How one install ended, as the session saw it."""

    result: Result
    exit_code: int
    step: str | None = None  # the step that failed or was stopped in
    message: str | None = None  # one line: why
    log: Path | None = None  # the human log (install-STAMP.log), when one was opened
    plan: Plan | None = None


def fallback_name(identity: Identity) -> str:
    """When the machine has no usable identity: its host name, then a fixed word (each such machine
    then replaces the last one's report; docs/fleet.md says to give machines a UUID)."""
    host = socket.gethostname().split(".")[0]
    return host if host and host.replace("-", "").isalnum() else "unknown-machine"


def one_line(message: str) -> str:
    """The first line that says something: a failed command's error carries its output's tail on the lines
    after it (the log bundle has all of it), and a fleet's table reads one line per machine."""
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def document(profile: Profile, ending: Ending, identity: Identity, started: float, ended: float) -> dict[str, object]:
    secrets = list(secret_values(profile))
    return {
        "format": FORMAT,
        "result": ending.result,
        "exit_code": ending.exit_code,
        "step": ending.step,
        "message": one_line(scrub(ending.message, secrets)) if ending.message else None,
        "machine": identity.as_dict(),
        "hostname": profile.system.hostname,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(ended - started, 1),
    }


def put(url: str, data: bytes, content_type: str) -> None:
    """One PUT, retried: raises OSError (urllib's errors are ones) when every attempt failed."""
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
            return
        except urllib.error.HTTPError as err:
            if err.code < 500 or attempt == ATTEMPTS:  # a 4xx says no the same way every time
                raise
        except OSError:
            if attempt == ATTEMPTS:
                raise
        time.sleep(RETRY_PAUSE)


def send(profile: Profile, ending: Ending, started: float, say: Callable[[str], None],
         identity: Identity | None = None) -> bool:
    """Send the report when the profile names a report_url; says one line either way. True if sent."""
    if profile.report_url is None:
        return False
    identity = identity or identify()
    name = identity.name() or fallback_name(identity)
    base = profile.report_url if profile.report_url.endswith("/") else profile.report_url + "/"
    body = json.dumps(document(profile, ending, identity, started, time.time()), indent=2).encode() + b"\n"
    bundle = bundle_bytes(bundle_members(ending.plan, ending.log, profile), f"azl-installer-logs-{name}")
    try:
        put(f"{base}{name}.tar.gz", bundle, "application/gzip")
        put(f"{base}{name}.json", body, "application/json")  # last: its arrival says the report is whole
    except urllib.error.HTTPError as err:
        say(f"azl-installer: the result was not sent to {base}: the server answered {err.code} {err.reason}")
        return False
    except OSError as err:
        reason = getattr(err, "reason", None) or err.strerror or err
        say(f"azl-installer: the result was not sent to {base}: {reason}")
        return False
    say(f"azl-installer: result sent to {base}{name}.json")
    return True

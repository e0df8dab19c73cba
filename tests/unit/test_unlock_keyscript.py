"""The initramfs keyscript (installer/data/unlock-keyvault) and the dracut agent that runs it
(installer/data/dracut/azl-unlock-agent), run on the host against the Key Vault stand-in.

cryptsetup, ipconfig and ip are stubs on PATH (the cryptsetup stub prints the volume's LUKS2 token);
curl, sed and base64 are the host's, talking HTTPS to the stand-in exactly as they do in the
initramfs. What the keyscript prints on stdout is what cryptsetup would read as the key; what the
agent sends through the host's systemd-reply-password is what systemd-cryptsetup would receive.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from installer.keyvault.client import VaultClient
from installer.keyvault.keysource import obtain_volume_key
from profiles.model import Encryption
from tests.support.keyvault_standin import StandIn
from tests.support.vault import VAULT_PASSPHRASE, standin_client

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
SCRIPT = resources.files("installer") / "data" / "unlock-keyvault"
AGENT = resources.files("installer") / "data" / "dracut" / "azl-unlock-agent"
REPLY_PASSWORD = Path("/usr/lib/systemd/systemd-reply-password")


def _vault(standin: StandIn) -> VaultClient:
    return standin_client(standin)


def _setup(tmp_path: Path, standin: StandIn, token: dict[str, Any], *, passphrase: str = "no",
           wait: int = 0) -> dict[str, str]:
    """Stubs, settings and the keyscript in tmp_path; returns the environment to run it with."""
    bin_dir, run_dir = tmp_path / "bin", tmp_path / "run"
    bin_dir.mkdir(exist_ok=True)
    run_dir.mkdir(exist_ok=True)
    (tmp_path / "token.json").write_text(json.dumps(token, indent=2))  # multi-line, as cryptsetup prints it
    stubs = {
        # token 0 is someone else's; ours is token 1
        "cryptsetup": f'[ "$4" = 1 ] && exec cat {tmp_path}/token.json\n[ "$4" = 0 ] && echo \'{{"type":"x"}}\'\n'
                      "exit 1\n",
        "ipconfig": f"echo 'DEVICE=eth0' > {run_dir}/net-eth0.conf\n",
        "askpass": "echo typed-at-the-console\n",
        # networkd's route to the metadata endpoint (dracut): `ip -4 route get HOST` succeeds for it alone
        "ip": '[ "$4" = 127.0.0.1 ] && echo "local 127.0.0.1 dev lo" && exit 0\nexit 2\n',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    conf = tmp_path / "unlock.conf"
    conf.write_text(f"AZL_UNLOCK_CLIENT_ID=\nAZL_UNLOCK_PASSPHRASE={passphrase}\nAZL_UNLOCK_CA={standin.ca.ca_pem}\n"
                    f"AZL_UNLOCK_IMDS={standin.imds_url}\nAZL_UNLOCK_RUN={run_dir}\nAZL_UNLOCK_WAIT={wait}\n"
                    f"AZL_UNLOCK_RESOLV={tmp_path}/resolv.conf\nAZL_UNLOCK_LEASES={tmp_path}/leases\n")
    script = tmp_path / "unlock-keyvault"
    script.write_text(SCRIPT.read_text().replace("/lib/cryptsetup/askpass", str(bin_dir / "askpass")))
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "AZL_UNLOCK_CONF": str(conf)}


def _run(tmp_path: Path, standin: StandIn, token: dict[str, Any], *, passphrase: str = "no",
         wait: int = 0) -> subprocess.CompletedProcess[bytes]:
    env = _setup(tmp_path, standin, token, passphrase=passphrase, wait=wait)
    env |= {"CRYPTTAB_SOURCE": "/dev/vda3", "CRYPTTAB_NAME": "luks-test"}
    return subprocess.run(["sh", tmp_path / "unlock-keyvault"], env=env, capture_output=True, timeout=60)


def test_unwraps_the_tokens_key_with_the_managed_identity(tmp_path: Path, standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek")
    key = obtain_volume_key(enc, _vault(standin))
    assert key.token is not None
    done = _run(tmp_path, standin, key.token)
    assert done.returncode == 0, done.stderr
    assert done.stdout == bytes(key.secret.view())
    assert len(done.stdout) == 64
    assert b"key for luks-test from Key Vault" in done.stderr
    assert any(m == "POST" and p.endswith("/unwrapkey") for m, p in standin.requests)
    assert ("GET", "/metadata/identity/oauth2/token") in standin.requests


def test_reads_the_secret_named_by_the_token(tmp_path: Path, standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-secret", vault_url=standin.vault_url,
                     key_name="disk-passphrase")
    key = obtain_volume_key(enc, _vault(standin))
    assert key.token is not None
    done = _run(tmp_path, standin, key.token)
    assert done.returncode == 0, done.stderr
    assert done.stdout == VAULT_PASSPHRASE.encode() == bytes(key.secret.view())


def test_vault_refusal_falls_back_to_the_console_only_when_allowed(tmp_path: Path, standin: StandIn) -> None:
    token = {"type": "azure-keyvault", "keyslots": ["0"], "vault_url": standin.vault_url, "secret": "missing"}
    refused = _run(tmp_path, standin, token)
    assert refused.returncode == 1 and refused.stdout == b""
    assert b"could not read secret missing" in refused.stderr
    assert b"no console passphrase is allowed" in refused.stderr
    asked = _run(tmp_path, standin, token, passphrase="yes")
    assert asked.returncode == 0 and asked.stdout == b"typed-at-the-console\n"
    assert b"asking on the console" in asked.stderr


def test_no_secret_reaches_stderr(tmp_path: Path, standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-secret", vault_url=standin.vault_url,
                     key_name="disk-passphrase")
    key = obtain_volume_key(enc, _vault(standin))
    assert key.token is not None
    done = _run(tmp_path, standin, key.token)
    assert done.returncode == 0
    assert VAULT_PASSPHRASE.encode() not in done.stderr
    assert standin.tokens and all(t.encode() not in done.stderr for t in standin.tokens)  # bearer tokens


def _agent(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    env = env | {"AZL_UNLOCK_ASK_DIR": str(tmp_path / "ask"), "AZL_UNLOCK_STATE": str(tmp_path / "state"),
                 "AZL_UNLOCK_KEYSCRIPT": str(tmp_path / "unlock-keyvault"), "AZL_UNLOCK_REPLY": str(REPLY_PASSWORD)}
    return subprocess.run(["sh", str(AGENT)], env=env, capture_output=True, timeout=60)


def _ask(tmp_path: Path) -> socket.socket:
    """A passphrase request as systemd-cryptsetup makes it: an ask file naming the device, and the
    datagram socket the answer goes to."""
    (tmp_path / "ask").mkdir()
    answers = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    answers.bind(str(tmp_path / "ask" / "sck.42"))
    answers.settimeout(0)
    (tmp_path / "ask" / "ask.42").write_text(
        f"[Ask]\nPID=42\nSocket={tmp_path}/ask/sck.42\nAcceptCached=1\nEcho=0\nNotAfter=0\n"
        "Message=Please enter passphrase for disk root:\nIcon=drive-harddisk\n"
        "Id=cryptsetup:/dev/disk/by-uuid/0f5c7e2a-0000-4000-8000-000000000001\n")
    return answers


@pytest.mark.skipif(not REPLY_PASSWORD.exists(), reason="needs systemd-reply-password")
def test_the_dracut_agent_answers_systemd_cryptsetup_once_with_the_key(tmp_path: Path, standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek")
    key = obtain_volume_key(enc, _vault(standin))
    assert key.token is not None
    env = _setup(tmp_path, standin, key.token)
    (tmp_path / "leases").mkdir()
    (tmp_path / "leases" / "2").write_text("ADDRESS=10.0.2.15\nDNS=10.0.2.3 10.0.2.4\n")
    answers = _ask(tmp_path)
    done = _agent(tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert answers.recv(4096) == b"+" + bytes(key.secret.view()) + b"\0"  # '+': a password follows
    assert done.stdout == b"" and bytes(key.secret.view()) not in done.stderr
    assert b"answered the passphrase request of /dev/disk/by-uuid/0f5c7e2a-" in done.stderr
    # networkd wrote no resolv.conf in the initramfs: the agent takes the lease's name servers
    assert (tmp_path / "resolv.conf").read_text() == "nameserver 10.0.2.3\nnameserver 10.0.2.4\n"
    # the same request again (say the console typed nothing yet): not asked of Key Vault twice
    unwraps = [r for r in standin.requests if r[1].endswith("/unwrapkey")]
    again = _agent(tmp_path, env)
    assert again.returncode == 0 and again.stderr == b""
    assert [r for r in standin.requests if r[1].endswith("/unwrapkey")] == unwraps
    with pytest.raises(BlockingIOError):
        answers.recv(4096)


@pytest.mark.skipif(not REPLY_PASSWORD.exists(), reason="needs systemd-reply-password")
def test_the_dracut_agent_says_in_one_line_what_happens_when_key_vault_refuses(tmp_path: Path,
                                                                                standin: StandIn) -> None:
    token = {"type": "azure-keyvault", "keyslots": ["0"], "vault_url": standin.vault_url, "secret": "missing"}
    answers = _ask(tmp_path)
    done = _agent(tmp_path, _setup(tmp_path, standin, token))
    assert done.returncode == 0
    lines = done.stderr.decode().splitlines()
    assert lines[-1] == ("azl-unlock: Key Vault did not give the key of /dev/disk/by-uuid/0f5c7e2a-0000-4000-8000-"
                         "000000000001 and no console passphrase is allowed: the boot waits")
    assert "could not read secret missing" in done.stderr.decode()
    assert not any("asking on the console" in line for line in lines)  # the console agent does that on dracut
    with pytest.raises(BlockingIOError):
        answers.recv(4096)
    # the profile allows the console: the console agent's prompt is there, and the line says so
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    _ask(allowed)
    done = _agent(allowed, _setup(allowed, standin, token, passphrase="yes"))
    assert done.stderr.decode().splitlines()[-1].endswith(": type its passphrase or recovery key at the prompt")

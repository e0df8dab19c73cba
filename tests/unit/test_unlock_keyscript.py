"""The initramfs keyscript (installer/data/unlock-keyvault) run on the host against the Key Vault stand-in.

cryptsetup and ipconfig are stubs on PATH (the stub prints the volume's LUKS2 token); curl, sed and
base64 are the host's, talking HTTPS to the stand-in exactly as they do in the initramfs. What the
script prints on stdout is what cryptsetup would read as the key.
"""

from __future__ import annotations

import json
import os
import shutil
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


def _vault(standin: StandIn) -> VaultClient:
    return standin_client(standin)


def _run(tmp_path: Path, standin: StandIn, token: dict[str, Any], *, passphrase: str = "no",
         wait: int = 0) -> subprocess.CompletedProcess[bytes]:
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
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    conf = tmp_path / "unlock.conf"
    conf.write_text(f"AZL_UNLOCK_CLIENT_ID=\nAZL_UNLOCK_PASSPHRASE={passphrase}\nAZL_UNLOCK_CA={standin.ca.ca_pem}\n"
                    f"AZL_UNLOCK_IMDS={standin.imds_url}\nAZL_UNLOCK_RUN={run_dir}\nAZL_UNLOCK_WAIT={wait}\n")
    script = tmp_path / "unlock-keyvault"
    script.write_text(SCRIPT.read_text().replace("/lib/cryptsetup/askpass", str(bin_dir / "askpass")))
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "AZL_UNLOCK_CONF": str(conf),
           "CRYPTTAB_SOURCE": "/dev/vda3", "CRYPTTAB_NAME": "luks-test"}
    return subprocess.run(["sh", script], env=env, capture_output=True, timeout=60)


def test_unwraps_the_tokens_key_with_the_managed_identity(tmp_path: Path, standin: StandIn) -> None:
    enc = Encryption(enabled=True, key_source="keyvault-key", vault_url=standin.vault_url, key_name="disk-kek")
    key = obtain_volume_key(enc, _vault(standin))
    assert key.token is not None
    done = _run(tmp_path, standin, key.token)
    assert done.returncode == 0, done.stderr
    assert done.stdout == bytes(key.secret.view())  # binary, 64 bytes, newlines and NULs included
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

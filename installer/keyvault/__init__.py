"""Azure Key Vault for disk encryption: a small client over the Azure SDK with one-line errors.

The names below load their modules on first use: importing installer.keyvault.memory (key files
on tmpfs) or planning an install must not import the Azure SDK (about 0.2 s and 20 MB).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from installer.keyvault.client import Retry, VaultClient, VaultSettings, WrappedKey
    from installer.keyvault.errors import SignInFailed, VaultError
    from installer.keyvault.identity import Credential
    from installer.keyvault.memory import KeyDir, SecretBytes

_WHERE = {"Retry": "client", "VaultClient": "client", "VaultSettings": "client", "WrappedKey": "client",
          "SignInFailed": "errors", "VaultError": "errors", "Credential": "identity", "KeyDir": "memory",
          "SecretBytes": "memory"}
__all__ = ["Credential", "KeyDir", "Retry", "SecretBytes", "SignInFailed", "VaultClient", "VaultError",
           "VaultSettings", "WrappedKey"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"installer.keyvault.{_WHERE[name]}"), name)

"""Azure Key Vault for disk encryption: a small client over the Azure SDK with one-line errors."""

from installer.keyvault.client import Retry, VaultClient, VaultSettings, WrappedKey
from installer.keyvault.errors import SignInFailed, VaultError
from installer.keyvault.identity import Credential
from installer.keyvault.memory import KeyDir, SecretBytes

__all__ = ["Credential", "KeyDir", "Retry", "SecretBytes", "SignInFailed", "VaultClient", "VaultError",
           "VaultSettings", "WrappedKey"]

"""Azure Key Vault for disk encryption: a small client over the Azure SDK with one-line errors.

Import the submodules (client, errors, identity) directly. This package imports nothing by
itself, so that planning an install or starting the UI never loads the Azure SDK (about 0.2 s
and 20 MB): only code that really talks to a vault imports installer.keyvault.client.
"""

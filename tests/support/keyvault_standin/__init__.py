"""A local Azure Key Vault + metadata-endpoint stand-in for tests, used through the real Azure SDK."""

from tests.support.keyvault_standin.ca import TestCA, make_ca, make_client_certificate
from tests.support.keyvault_standin.server import ROLES, Principal, StandIn, running_standin

__all__ = ["ROLES", "Principal", "StandIn", "TestCA", "make_ca", "make_client_certificate", "running_standin"]

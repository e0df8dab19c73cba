"""A faithful local Azure Key Vault, Entra ID token endpoint and instance metadata (IMDS) stand-in.

It speaks the wire shapes the real Azure SDK needs (FACTS.md): the vault answers an
unauthenticated request with a 401 Bearer challenge, tokens come from the IMDS endpoint
(plain HTTP, like 169.254.169.254) or from the tenant's OAuth2 token endpoint (service
principals: client secret or certificate assertion), secrets and keys are versioned, and
wrapkey/unwrapkey use real RSA-OAEP-256. Role-based access is checked per caller and errors
can be injected (403, 404, 429 with Retry-After, anything else). Serves 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from tests.support.keyvault_standin.ca import TestCA, make_ca

VAULT_RESOURCE = "https://vault.azure.net"
# Built-in Key Vault roles and the data actions each grants (the subset the installer uses).
ROLES: dict[str, frozenset[str]] = {
    "Key Vault Administrator": frozenset({"secrets/getSecret", "secrets/setSecret", "keys/read", "keys/wrap",
                                          "keys/unwrap"}),
    "Key Vault Secrets User": frozenset({"secrets/getSecret"}),
    "Key Vault Secrets Officer": frozenset({"secrets/getSecret", "secrets/setSecret"}),
    "Key Vault Crypto User": frozenset({"keys/read", "keys/wrap", "keys/unwrap"}),
    "Key Vault Crypto Service Encryption User": frozenset({"keys/read", "keys/wrap", "keys/unwrap"}),
    "Key Vault Reader": frozenset({"keys/read"}),
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


@dataclass
class Principal:
    """A caller: the managed identity or a service principal, with its role assignments."""

    client_id: str
    secret: str | None = None
    certificate: x509.Certificate | None = None
    roles: set[str] = field(default_factory=lambda: {"Key Vault Administrator"})


@dataclass
class Fault:
    """An injected error: the next `times` requests matching method and path get this answer."""

    pattern: re.Pattern[str]
    status: int
    code: str
    message: str
    method: str | None = None
    times: int = 1
    retry_after: int | None = None


@dataclass
class SecretVersion:
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str]
    created: int


@dataclass
class KeyVersion:
    version: str
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    created: int


class StandIn:
    """Start with start(), stop with stop(); configure with add_secret/add_rsa_key/fail/grant."""

    def __init__(self, workdir: Path, *, tenant_id: str = "72f988bf-0000-4000-8000-00000000cafe",
                 public_url: str | None = None) -> None:
        self.workdir = workdir
        self.tenant_id = tenant_id
        # public_url: the vault as a VM guest reaches it (forwarded to this server); ids name it.
        self.public_url = public_url
        host = urllib.parse.urlsplit(public_url).hostname if public_url else None
        self.ca: TestCA = make_ca(workdir / "ca", extra_ips=(host,) if host else ())
        self.managed_identity = Principal("a1b2c3d4-0000-4000-8000-00000000beef")
        self.principals: dict[str, Principal] = {}
        self.secrets: dict[str, list[SecretVersion]] = {}
        self.keys: dict[str, list[KeyVersion]] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) in arrival order
        self.tokens: dict[str, Principal] = {}
        self.lock = threading.Lock()
        self._https: ThreadingHTTPServer | None = None
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> StandIn:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca.cert_pem, self.ca.key_pem)
        self._https = _Server(("127.0.0.1", 0), _VaultHandler, self)
        self._https.socket = context.wrap_socket(self._https.socket, server_side=True)
        self._http = _Server(("127.0.0.1", 0), _ImdsHandler, self)
        for server in (self._https, self._http):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._https, self._http):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    @property
    def vault_url(self) -> str:
        assert self._https is not None
        return f"https://127.0.0.1:{self._https.server_address[1]}"

    @property
    def id_base(self) -> str:
        """The vault URL in the ids the vault hands out (kid, secret id)."""
        return self.public_url or self.vault_url

    @property
    def authority(self) -> str:
        """The sign-in authority for service principals (the same HTTPS server)."""
        return self.vault_url

    @property
    def imds_url(self) -> str:
        assert self._http is not None
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    # -- content -------------------------------------------------------------------------
    def add_secret(self, name: str, value: str, tags: dict[str, str] | None = None) -> str:
        with self.lock:
            return self._store_secret(name, value, None, tags or {})

    def _store_secret(self, name: str, value: str, content_type: str | None, tags: dict[str, str]) -> str:
        version = secrets.token_hex(16)
        self.secrets.setdefault(name, []).append(SecretVersion(version, value, content_type, tags, int(time.time())))
        return version

    def add_rsa_key(self, name: str, size: int = 2048) -> str:
        """Create an RSA key (a new version if it exists); returns its versioned key id."""
        return self._add_key(name, rsa.generate_private_key(public_exponent=65537, key_size=size))

    def add_ec_key(self, name: str) -> str:
        return self._add_key(name, ec.generate_private_key(ec.SECP256R1()))

    def _add_key(self, name: str, private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
        version = secrets.token_hex(16)
        with self.lock:
            self.keys.setdefault(name, []).append(KeyVersion(version, private, int(time.time())))
        return f"{self.id_base}/keys/{name}/{version}"

    def add_service_principal(self, client_id: str, *, secret: str | None = None,
                              certificate_der: bytes | None = None) -> Principal:
        cert = x509.load_der_x509_certificate(certificate_der) if certificate_der else None
        principal = Principal(client_id, secret=secret, certificate=cert)
        self.principals[client_id] = principal
        return principal

    def fail(self, path_pattern: str, status: int, *, method: str | None = None, times: int = 1,
             code: str | None = None, message: str | None = None, retry_after: int | None = None) -> None:
        """Answer the next `times` matching requests with this error (path_pattern: a regex, searched)."""
        default_code = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 429: "Throttled",
                        500: "InternalServerError", 503: "ServiceUnavailable"}.get(status, "BadParameter")
        self.faults.append(Fault(re.compile(path_pattern), status, code or default_code,
                                 message or f"injected {status}", method, times, retry_after))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.method is None or fault.method == method) and fault.pattern.search(path):
                    fault.times -= 1
                    return fault
        return None

    def issue_token(self, principal: Principal) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = principal
        return token, 3599


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], standin: StandIn) -> None:
        super().__init__(address, handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests assert on standin.requests instead

    @property
    def standin(self) -> StandIn:
        return self.server.standin

    def reply(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
              inner: str | None = None) -> None:
        body: dict[str, Any] = {"error": {"code": code, "message": message}}
        if inner:
            body["error"]["innererror"] = {"code": inner}
        self.reply(status, body, headers)

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""


class _ImdsHandler(_Handler):
    """The instance metadata service's managed identity token endpoint."""

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.standin.requests.append(("GET", url.path))
        query = dict(urllib.parse.parse_qsl(url.query))
        fault = self.standin._take_fault("GET", url.path)
        if fault is not None:
            self.reply(fault.status, {"error": fault.code, "error_description": fault.message})
            return
        if url.path != "/metadata/identity/oauth2/token":
            self.reply(404, {"error": "not_found", "error_description": f"no such endpoint {url.path}"})
            return
        if self.headers.get("Metadata") != "true":
            self.reply(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
            return
        mi = self.standin.managed_identity
        if query.get("client_id") not in (None, mi.client_id):
            self.reply(400, {"error": "invalid_request", "error_description": "Identity not found"})
            return
        resource = query.get("resource", "")
        token, expires_in = self.standin.issue_token(mi)
        self.reply(200, {"access_token": token, "client_id": mi.client_id, "expires_in": str(expires_in),
                         "expires_on": str(int(time.time()) + expires_in), "ext_expires_in": str(expires_in),
                         "not_before": str(int(time.time())), "resource": resource, "token_type": "Bearer"})


_SECRET = re.compile(r"^/secrets/(?P<name>[0-9A-Za-z-]+)(/(?P<version>[0-9a-f]*))?/?$")
_KEY = re.compile(r"^/keys/(?P<name>[0-9A-Za-z-]+)(/(?P<version>[0-9a-f]*))?/?$")
_KEY_OP = re.compile(r"^/keys/(?P<name>[0-9A-Za-z-]+)/(?P<version>[0-9a-f]*)/?(?P<op>wrapkey|unwrapkey)$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_DISCOVERY = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")


class _VaultHandler(_Handler):
    """The vault's REST API plus the tenant's sign-in endpoints (service principals)."""

    def do_GET(self) -> None:
        self.route("GET")

    def do_PUT(self) -> None:
        self.route("PUT")

    def do_POST(self) -> None:
        self.route("POST")

    def route(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        body = self.body()
        self.standin.requests.append((method, path))
        fault = self.standin._take_fault(method, path)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self.error(fault.status, fault.code, fault.message, headers)
            return
        if match := _DISCOVERY.match(path):
            self.discovery(match["tenant"])
            return
        if method == "POST" and (match := _TOKEN.match(path)):
            self.sign_in(match["tenant"], dict(urllib.parse.parse_qsl(body.decode())))
            return
        principal = self.caller()
        if principal is None:
            return
        data: dict[str, Any] = json.loads(body) if body else {}
        if match := _KEY_OP.match(path):
            self.key_operation(principal, match["name"], match["version"], match["op"], data)
        elif (match := _SECRET.match(path)) and method == "GET":
            self.get_secret(principal, match["name"], match["version"] or None)
        elif (match := _SECRET.match(path)) and method == "PUT":
            self.set_secret(principal, match["name"], data)
        elif (match := _KEY.match(path)) and method == "GET":
            self.get_key(principal, match["name"], match["version"] or None)
        else:
            self.error(400, "BadParameter", f"Unknown request {method} {path}")

    # -- authentication ------------------------------------------------------------------
    def caller(self) -> Principal | None:
        header = self.headers.get("Authorization", "")
        challenge = {"WWW-Authenticate": f'Bearer authorization="https://login.microsoftonline.com/'
                                         f'{self.standin.tenant_id}", resource="{VAULT_RESOURCE}"'}
        if not header.startswith("Bearer "):
            self.error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", challenge)
            return None
        principal = self.standin.tokens.get(header.removeprefix("Bearer "))
        if principal is None:
            self.error(401, "Unauthorized", "AKV10032: Invalid issuer.", challenge)
        return principal

    def authorize(self, principal: Principal, action: str, resource: str) -> bool:
        granted = set().union(*(ROLES.get(role, frozenset()) for role in principal.roles))
        if action in granted:
            return True
        self.error(403, "Forbidden",
                   "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
                   "assignments or role definitions were changed recently, please observe propagation time.\r\n"
                   f"Caller: appid={principal.client_id};\r\nAction: 'Microsoft.KeyVault/vaults/{action}/action'"
                   f"\r\nResource: '{resource}'\r\nAssignment: (not found)\r\n"
                   "DecisionReason: 'DeniedWithNoValidRBAC' \r\n", inner="ForbiddenByRbac")
        return False

    def discovery(self, tenant: str) -> None:
        base = f"{self.standin.authority}/{tenant}"
        self.reply(200, {"token_endpoint": f"{base}/oauth2/v2.0/token",
                         "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                         "issuer": f"{base}/v2.0", "tenant_region_scope": "WW",
                         "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]})

    def sign_in(self, tenant: str, form: dict[str, str]) -> None:
        def refuse(code: str, description: str, status: int = 401) -> None:
            self.reply(status, {"error": code, "error_description": description, "error_codes": [7000215]})

        if tenant != self.standin.tenant_id:
            refuse("invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.", 400)
            return
        principal = self.standin.principals.get(form.get("client_id", ""))
        if principal is None:
            refuse("unauthorized_client", f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                   "was not found in the directory.", 400)
            return
        if "client_secret" in form:
            if principal.secret is None or not secrets.compare_digest(form["client_secret"], principal.secret):
                refuse("invalid_client", "AADSTS7000215: Invalid client secret provided.")
                return
        elif "client_assertion" in form:
            problem = _check_assertion(form["client_assertion"], principal, f"{self.standin.authority}/{tenant}")
            if problem:
                refuse("invalid_client", f"AADSTS700027: Client assertion failed signature validation. {problem}")
                return
        else:
            refuse("invalid_client", "AADSTS7000218: The request body must contain client_assertion or "
                   "client_secret.", 400)
            return
        token, expires_in = self.standin.issue_token(principal)
        self.reply(200, {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
                         "access_token": token})

    # -- secrets -------------------------------------------------------------------------
    def secret_bundle(self, name: str, item: SecretVersion) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "value": item.value, "id": f"{self.standin.id_base}/secrets/{name}/{item.version}",
            "attributes": {"enabled": True, "created": item.created, "updated": item.created,
                           "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
            "tags": item.tags,
        }
        if item.content_type:
            bundle["contentType"] = item.content_type
        return bundle

    def get_secret(self, principal: Principal, name: str, version: str | None) -> None:
        if not self.authorize(principal, "secrets/getSecret", f"/secrets/{name}"):
            return
        versions = self.standin.secrets.get(name, [])
        found = [v for v in versions if version in (None, v.version)]
        if not found:
            self.error(404, "SecretNotFound", f"A secret with (name/id) {name}{'/' + version if version else ''} "
                       "was not found in this key vault. If you recently deleted this secret you may be able to "
                       "recover it using the correct recovery command.")
            return
        self.reply(200, self.secret_bundle(name, found[-1]))

    def set_secret(self, principal: Principal, name: str, data: dict[str, Any]) -> None:
        if not self.authorize(principal, "secrets/setSecret", f"/secrets/{name}"):
            return
        if not isinstance(data.get("value"), str):
            self.error(400, "BadParameter", "Property value is required.")
            return
        with self.standin.lock:
            self.standin._store_secret(name, data["value"], data.get("contentType"), dict(data.get("tags") or {}))
        self.reply(200, self.secret_bundle(name, self.standin.secrets[name][-1]))

    # -- keys ----------------------------------------------------------------------------
    def find_key(self, name: str, version: str | None) -> KeyVersion | None:
        found = [v for v in self.standin.keys.get(name, []) if version in (None, "", v.version)]
        if not found:
            self.error(404, "KeyNotFound", f"A key with (name/id) {name}{'/' + version if version else ''} was not "
                       "found in this key vault. If you recently deleted this key you may be able to recover it "
                       "using the correct recovery command.")
            return None
        return found[-1]

    def get_key(self, principal: Principal, name: str, version: str | None) -> None:
        if not self.authorize(principal, "keys/read", f"/keys/{name}"):
            return
        item = self.find_key(name, version)
        if item is None:
            return
        kid = f"{self.standin.id_base}/keys/{name}/{item.version}"
        jwk: dict[str, Any] = {"kid": kid}
        public = item.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            numbers = public.public_numbers()
            jwk |= {"kty": "RSA", "key_ops": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                    "n": b64url(_int_bytes(numbers.n)), "e": b64url(_int_bytes(numbers.e))}
        else:
            point = public.public_numbers()
            jwk |= {"kty": "EC", "crv": "P-256", "key_ops": ["sign", "verify"],
                    "x": b64url(point.x.to_bytes(32, "big")), "y": b64url(point.y.to_bytes(32, "big"))}
        self.reply(200, {"key": jwk, "attributes": {"enabled": True, "created": item.created, "updated": item.created,
                                                    "recoveryLevel": "Recoverable+Purgeable",
                                                    "recoverableDays": 90, "exportable": False}, "tags": {}})

    def key_operation(self, principal: Principal, name: str, version: str, op: str, data: dict[str, Any]) -> None:
        action = "keys/wrap" if op == "wrapkey" else "keys/unwrap"
        if not self.authorize(principal, action, f"/keys/{name}"):
            return
        item = self.find_key(name, version)
        if item is None:
            return
        if not isinstance(item.private, rsa.RSAPrivateKey):
            self.error(400, "BadParameter", f"Key and algorithm are not compatible: key type EC does not support "
                       f"{data.get('alg')}.")
            return
        if data.get("alg") != "RSA-OAEP-256":
            self.error(400, "BadParameter", f"Invalid algorithm {data.get('alg')} for this operation.")
            return
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        try:
            value = unb64url(str(data.get("value", "")))
            result = (item.private.public_key().encrypt(value, oaep) if op == "wrapkey"
                      else item.private.decrypt(value, oaep))
        except ValueError:
            self.error(400, "BadParameter", "Decryption failed: the value was not wrapped by this key.")
            return
        self.reply(200, {"kid": f"{self.standin.id_base}/keys/{name}/{item.version}", "value": b64url(result)})


def _check_assertion(assertion: str, principal: Principal, audience_base: str) -> str | None:
    """Verify a service principal's client assertion (a JWT signed with its certificate's key)."""
    if principal.certificate is None:
        return "No certificate is registered for this application."
    try:
        header_b64, payload_b64, signature_b64 = assertion.split(".")
        header = json.loads(unb64url(header_b64))
        payload = json.loads(unb64url(payload_b64))
    except ValueError:
        return "The assertion is not a JWT."
    der = principal.certificate.public_bytes(Encoding.DER)
    thumbprints = {b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())}
    sent = {str(header.get(k, "")).rstrip("=") for k in ("x5t", "x5t#S256")}
    if not sent & thumbprints:
        return "Key was not found (thumbprint mismatch)."
    public = principal.certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    try:
        scheme: padding.AsymmetricPadding = padding.PKCS1v15()
        if header.get("alg") == "PS256":
            scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
        public.verify(unb64url(signature_b64), f"{header_b64}.{payload_b64}".encode(), scheme, hashes.SHA256())
    except Exception:
        return "Signature is invalid."
    if not str(payload.get("aud", "")).startswith(audience_base) or payload.get("exp", 0) < time.time():
        return "Audience or lifetime is invalid."
    return None



@contextmanager
def running_standin(workdir: Path, *, public_url: str | None = None) -> Iterator[StandIn]:
    """A started stand-in, stopped on exit (also after a failing test)."""
    standin = StandIn(workdir, public_url=public_url).start()
    try:
        yield standin
    finally:
        standin.stop()

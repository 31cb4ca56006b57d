"""A local Entra ID test authority on loopback, over https, for the real azure-identity path in tests.

It serves what MSAL asks of an authority when instance discovery is off: the tenant's OpenID configuration
(``/{tenant}/v2.0/.well-known/openid-configuration``) and the token endpoint (``/{tenant}/oauth2/v2.0/token``,
client credentials with a client secret). Tokens are RS256 JWTs signed with the authority's key, for the
audience the scope names, with the roles the client is registered with, and ``lifetime`` seconds to live.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TENANT = "72f988bf-0000-4000-8000-00000000aad0"
CLUSTER_APP = "c1a55e7e-0000-4000-8000-0000000c1a55"
CLIENT_APP = "c11e47a9-0000-4000-8000-0000000c11e4"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Registered:
    secret: str
    roles: list[str]


@dataclass
class Authority:
    """Start with ``with Authority(folder) as authority``; ``authority.url`` is https://127.0.0.1:PORT."""

    folder: Path
    lifetime: float = 3600.0
    clients: dict[str, Registered] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.ca = trustme.CA()
        self.ca_path = self.folder / "authority-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/{TENANT}/v2.0"

    def token(self, audience: str, roles: list[str], lifetime: float | None = None) -> str:
        now = time.time()
        header = {"alg": "RS256", "typ": "JWT"}
        claims = {
            "aud": audience,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + (self.lifetime if lifetime is None else lifetime),
            "roles": roles,
            "tid": TENANT,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing}.{_b64(signature)}"

    def __enter__(self) -> Authority:
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authority._record(self.command, self.path)
                if self.path.endswith("/.well-known/openid-configuration"):
                    base = f"{authority.url}/{TENANT}"
                    self._json(
                        200,
                        {
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "issuer": authority.issuer,
                            "jwks_uri": f"{base}/discovery/v2.0/keys",
                            "response_types_supported": ["code", "token"],
                        },
                    )
                    return
                self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                authority._record(self.command, self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                client = authority.clients.get(form.get("client_id", ""))
                if (
                    not self.path.endswith("/oauth2/v2.0/token")
                    or form.get("grant_type") != "client_credentials"
                ):
                    self._json(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
                    return
                if client is None or client.secret != form.get("client_secret"):
                    self._json(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS7000215: Invalid client secret provided.",
                        },
                    )
                    return
                audience = form.get("scope", "").removesuffix("/.default")
                token = authority.token(audience, client.roles)
                with authority._lock:
                    authority.issued.append(token)
                self._json(
                    200,
                    {"token_type": "Bearer", "expires_in": int(authority.lifetime), "access_token": token},
                )

            def _json(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02})
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append(f"{method} {path.split('?')[0]}")

"""Who may call the emulator, as a secured cluster decides it: Entra ID bearer tokens, client-certificate roles,
and the known refusal of backup routes on common-name clusters.

- ``AadSetup``: the cluster's Entra ID registration. ``GET /$/GetAadMetadata`` answers it (unauthenticated, as
  sfclient-api-getaadmetadata documents: ``{type: "aad", metadata: {authority, client, cluster, login, redirect,
  tenant}}``); every other route needs ``Authorization: Bearer <JWT>`` whose RS256 signature verifies with the
  authority's public key, audience is the cluster application, issuer is ``<login>/<tenant>/v2.0`` and which has
  not expired. Its ``roles`` claim gives the role: Admin, or User (reads only). A refused token is answered 401
  with ``WWW-Authenticate: Bearer error="invalid_token", error_description="..."`` and no body (assumption:
  the gateway's exact refusal body is not documented; the WWW-Authenticate form is RFC 6750's).
- ``user_thumbprints``: client certificates (SHA-1 thumbprints) that have the User role, as a cluster's
  ClientCertificateThumbprints with IsAdmin=false; any other accepted certificate is Admin.
- ``refuse_backup_routes``: every Backup Restore route answers 403 E_ACCESSDENIED whatever the credential,
  while query routes work: microsoft/service-fabric#460 and service-fabric-issues#1553 on clusters whose
  certificates are declared by common name.

A cluster without Entra ID answers GetAadMetadata ``{"type": "none", "metadata": null}`` (assumption: the
documented model names only ``aad``; the client treats any other type as "not Entra ID").
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ADMIN = "Admin"
USER = "User"


class Unauthorized(Exception):
    """A missing or refused bearer token: answered 401 with the reason in WWW-Authenticate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AadSetup:
    tenant: str
    cluster_application: str
    client_application: str
    login: (
        str  # the login host URL, e.g. https://login.microsoftonline.com (a loopback test authority in tests)
    )
    public_key_pem: bytes  # the authority's token-signing key

    @property
    def issuer(self) -> str:
        return f"{self.login.rstrip('/')}/{self.tenant}/v2.0"

    def metadata(self) -> dict[str, Any]:
        login = self.login.rstrip("/")
        return {
            "type": "aad",
            "metadata": {
                "authority": f"{login}/{self.tenant}",
                "client": self.client_application,
                "cluster": self.cluster_application,
                "login": login,
                "redirect": "urn:ietf:wg:oauth:2.0:oob",
                "tenant": self.tenant,
            },
        }


@dataclass(frozen=True)
class Access:
    aad: AadSetup | None = None
    user_thumbprints: frozenset[str] = frozenset()
    refuse_backup_routes: bool = False
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def metadata(self) -> dict[str, Any]:
        return self.aad.metadata() if self.aad is not None else {"type": "none", "metadata": None}

    def role(self, authorization: str | None, client_certificate: bytes | None) -> str | None:
        """The caller's role (None: no rule here decides it); raises Unauthorized for a refused token."""
        if self.aad is not None:
            return _token_role(self.aad, authorization, self.clock())
        if client_certificate is not None:
            sha1 = hashlib.sha1(client_certificate).hexdigest().upper()
            return USER if sha1 in self.user_thumbprints else ADMIN
        return None


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _token_role(aad: AadSetup, authorization: str | None, now: float) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("no bearer token")
    token = authorization[len("Bearer ") :].strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("the token is not a JWT")
    try:
        header = json.loads(_b64(parts[0]))
        claims = json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except ValueError:
        raise Unauthorized("the token is not a JWT") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise Unauthorized("the token is not signed with RS256")
    key = serialization.load_pem_public_key(aad.public_key_pem)
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise Unauthorized("the token's signature is not the authority's") from None
    audience = claims.get("aud")
    if audience not in (aad.cluster_application, f"api://{aad.cluster_application}"):
        raise Unauthorized(f"the token's audience {audience} is not the cluster application")
    if claims.get("iss") != aad.issuer:
        raise Unauthorized(f"the token's issuer {claims.get('iss')} is not {aad.issuer}")
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires <= now:
        raise Unauthorized("the token is expired")
    roles = claims.get("roles")
    if isinstance(roles, list) and ADMIN in roles:
        return ADMIN
    if isinstance(roles, list) and USER in roles:
        return USER
    raise Unauthorized("the token holds neither the Admin nor the User role of the cluster application")

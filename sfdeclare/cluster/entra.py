"""Entra ID (Azure AD) tokens for ``cluster.auth: {kind: entra, ...}``: discovery, acquisition, refresh.

- **Discovery**: the cluster publishes its tenant, login host and cluster application at ``GET
  /$/GetAadMetadata`` (unauthenticated); each can be overridden in ``cluster.auth``. A login host that is not a
  known Entra ID host (public, US government, China clouds) is used only when ``cluster.auth.authority`` names
  it: a credential is never sent to a host the cluster alone vouches for.
- **Acquisition** through azure-identity (the optional extra ``sfdeclare[entra]``), by the credential the
  configuration names: workload_identity, azure_pipelines, managed_identity, azure_cli, client_secret,
  client_certificate. The scope is ``<cluster application>/.default``. With a custom login host, MSAL's instance
  discovery (a request to login.microsoftonline.com) is turned off.
- **Refresh**: a token is replaced before it expires, when less than half its lifetime, at most 5 minutes, is
  left, so a long apply never sends an expired one; a token the cluster refuses is replaced once at once.

Every token acquired, and every secret read for a credential, is kept for scrubbing (``secrets``); messages name
the credential and its references, never a value.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sfdeclare.errors import AuthError
from sfdeclare.model import references
from sfdeclare.model.declaration import EntraAuth
from sfdeclare.servicefabric.replies import AadMetadata

KNOWN_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn"})
REFRESH_AHEAD = 300.0


class EntraTokens:
    """Bearer tokens for one cluster, acquired lazily and refreshed before they expire. Thread-safe."""

    def __init__(
        self,
        auth: EntraAuth,
        *,
        env: Mapping[str, str],
        base_dir: str,
        discover: Callable[[], AadMetadata | None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.auth = auth
        self._env = env
        self._base_dir = base_dir
        self._discover = discover
        self._clock = clock
        self._lock = threading.Lock()
        self._credential: Any = None
        self._scope = ""
        self._where = ""
        self._token: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0
        self._metadata: AadMetadata | None = None
        self._discovered = False
        self.secrets: list[str] = []
        self.acquired = 0

    def describe(self) -> str:
        """The credential, as a message names it: 'Entra ID (client_secret credential, client id X)'."""
        who = f", client id {self.auth.client_id}" if self.auth.client_id else ""
        return f"Entra ID ({self.auth.credential} credential{who})"

    def authorization(self) -> str:
        """The Authorization header's value, a fresh token when the one held is due for refresh."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._acquire()
            assert self._token is not None
            return f"Bearer {self._token}"

    def invalidate(self) -> None:
        """The cluster refused the token held: the next request gets a new one, from a new credential (the
        old one's cache would hand back the same token)."""
        with self._lock:
            self._refresh_at = 0.0
            self._close_credential()

    def close(self) -> None:
        with self._lock:
            self._close_credential()

    def _close_credential(self) -> None:
        credential, self._credential = self._credential, None
        close = getattr(credential, "close", None)
        if close is not None:
            close()

    # --- internals ---------------------------------------------------------------------------------------

    def _acquire(self) -> None:
        if self._credential is None:
            self._credential = self._open()
        try:
            token = self._credential.get_token(self._scope)
        except AuthError:
            raise
        except Exception as exc:  # azure-identity raises ClientAuthenticationError and kin; say why, one line
            reason = " ".join(str(exc).split()) or type(exc).__name__
            for secret in self.secrets:
                reason = reason.replace(secret, "****") if len(secret) >= 4 else reason
            raise AuthError(
                f"cannot get a token for the cluster from {self._where} with {self.describe()}: {reason[:400]}"
            ) from None
        value = str(token.token)
        if not value or any(not 33 <= ord(ch) <= 126 for ch in value):
            raise AuthError(f"{self.describe()} returned a token that cannot be sent as a bearer token")
        now = self._clock()
        lifetime = max(0.0, float(token.expires_on) - now)
        self._token = value
        self.secrets.append(value)
        self.acquired += 1
        self._expires_at = now + lifetime
        self._refresh_at = now + lifetime - min(REFRESH_AHEAD, lifetime / 2)

    def _resolve(self, value: str | None) -> str | None:
        if value is None:
            return None
        return references.resolve(value, env=self._env, base_dir=self._base_dir, where=self.auth.location)

    def _open(self) -> Any:
        # azure-identity logs each failure as a warning, which Python would print as a second line on stderr:
        # the one-line AuthError says it all.
        logging.getLogger("azure").addHandler(logging.NullHandler())
        try:
            import azure.identity as identity
        except ImportError:
            raise AuthError(
                "cluster.auth kind entra needs azure-identity: pip install 'sfdeclare[entra]'"
            ) from None
        auth = self.auth
        needs_metadata = not (auth.tenant and auth.authority and auth.cluster_application)
        if needs_metadata and not self._discovered:
            self._metadata = self._discover()
            self._discovered = True
        metadata = self._metadata if needs_metadata else None
        if needs_metadata and metadata is None:
            raise AuthError(
                "cluster.auth is entra, but the cluster does not use Entra ID (GetAadMetadata says so): set "
                "tenant, authority and cluster_application in cluster.auth, or use cluster.tls client certificates"
            )
        tenant = self._resolve(auth.tenant) or (metadata.tenant if metadata else "")
        cluster_app = self._resolve(auth.cluster_application) or (metadata.cluster if metadata else "")
        authority = self._resolve(auth.authority)
        if authority is None and metadata is not None:
            authority = metadata.login or "https://login.microsoftonline.com"
            host = (urlsplit(authority).hostname or "").lower()
            if host not in KNOWN_HOSTS:
                raise AuthError(
                    f"the cluster names the login host {authority}, which is not a known Entra ID host: set "
                    "cluster.auth.authority to it if you trust it (a credential is never sent to a host the "
                    "cluster alone names)"
                )
        assert authority is not None
        if not tenant or not cluster_app:
            missing = "tenant" if not tenant else "cluster_application"
            raise AuthError(f"the cluster's GetAadMetadata has no {missing}: set cluster.auth.{missing}")
        parts = urlsplit(authority)
        if parts.scheme != "https" or not parts.hostname:
            raise AuthError(f"cluster.auth.authority {authority} is not an https:// URL")
        self._scope = f"{cluster_app}/.default"
        self._where = f"{parts.scheme}://{parts.netloc}/{tenant}"
        options: dict[str, Any] = {"authority": f"{parts.scheme}://{parts.netloc}"}
        if parts.hostname.lower() not in KNOWN_HOSTS:
            options["disable_instance_discovery"] = True  # else MSAL asks login.microsoftonline.com about it
        client_id = self._resolve(auth.client_id)
        kind = auth.credential
        if kind == "client_secret":
            secret = self._resolve(auth.client_secret) or ""
            self.secrets.append(secret)
            return identity.ClientSecretCredential(tenant, client_id or "", secret, **options)
        if kind == "client_certificate":
            path = os.path.join(
                self._base_dir, os.path.expanduser(self._resolve(auth.client_certificate) or "")
            )
            password = self._resolve(auth.client_certificate_password)
            if password:
                self.secrets.append(password)
            if not os.path.isfile(path):
                raise AuthError(f"cluster.auth.client_certificate {auth.client_certificate} does not exist")
            return identity.CertificateCredential(
                tenant, client_id or "", certificate_path=path, password=password, **options
            )
        if kind == "workload_identity":
            token_file = self._resolve(auth.token_file) or self._env.get("AZURE_FEDERATED_TOKEN_FILE")
            client_id = client_id or self._env.get("AZURE_CLIENT_ID")
            if not token_file or not client_id:
                raise AuthError(
                    "cluster.auth credential workload_identity needs client_id (or AZURE_CLIENT_ID) and token_file "
                    "(or AZURE_FEDERATED_TOKEN_FILE)"
                )
            return identity.WorkloadIdentityCredential(
                tenant_id=tenant, client_id=client_id, token_file_path=token_file, **options
            )
        if kind == "azure_pipelines":
            access_token = self._env.get("SYSTEM_ACCESSTOKEN")
            if not access_token:
                raise AuthError(
                    "cluster.auth credential azure_pipelines needs SYSTEM_ACCESSTOKEN in the environment "
                    "(env: SYSTEM_ACCESSTOKEN: $(System.AccessToken) in the pipeline step)"
                )
            self.secrets.append(access_token)
            return identity.AzurePipelinesCredential(
                tenant_id=tenant,
                client_id=client_id or "",
                service_connection_id=self._resolve(auth.service_connection_id) or "",
                system_access_token=access_token,
                **options,
            )
        if kind == "managed_identity":
            return (
                identity.ManagedIdentityCredential(client_id=client_id)
                if client_id
                else identity.ManagedIdentityCredential()
            )
        return identity.AzureCliCredential(tenant_id=tenant)

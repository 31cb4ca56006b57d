"""Opening the way to a cluster: the exchange a Client sends through, chosen from the endpoint, cluster.tls and
the environment's proxy variables.

- an https endpoint gets the SSL context built from ``cluster.tls`` (tls.py), its references resolved here;
- a proxy named by ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` (unless ``NO_PROXY`` exempts the host) is
  used through httpx's transport; only http:// and https:// proxies are supported, anything else (a SOCKS
  proxy) is refused in one line naming the variable;
- otherwise the client's own kept-alive connections (transport.ConnectionStack).

The in-process emulator is not opened here: its caller plugs it in as a transport (commands.session.connect),
so the network edge never imports the emulator.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import replace
from urllib.parse import urlsplit

import httpx

from sfdeclare.cluster.endpoint import Endpoint
from sfdeclare.cluster.tls import build_ssl_context
from sfdeclare.cluster.transport import ConnectionStack, Exchange, TransportExchange
from sfdeclare.errors import EndpointError
from sfdeclare.model import references
from sfdeclare.model.declaration import ClusterSettings, TlsSettings

_PROXY_SCHEMES = ("http", "https")


def open_exchange(
    endpoint: Endpoint,
    settings: ClusterSettings,
    *,
    base_dir: str,
    env: Mapping[str, str],
    warn: Callable[[str], None],
    size: int,
    timeouts: Mapping[str, float],
) -> Exchange:
    """The exchange for an http(s) endpoint: through the environment's proxy, or kept-alive connections of
    our own (at most ``size`` kept idle)."""
    if endpoint.kind == "emulator":
        raise ValueError(f"{endpoint} needs the in-process emulator's transport")
    context: ssl.SSLContext | None
    if endpoint.is_https:
        password = (
            references.resolve(
                settings.tls.client_cert_password, env=env, base_dir=base_dir, where=settings.location
            )
            if settings.tls.client_cert_password
            else None
        )
        context = build_ssl_context(
            resolved_tls(settings, env, base_dir), base_dir, warn, client_cert_password=password
        )
    else:
        if settings.tls != TlsSettings():
            warn(f"warning: cluster.tls is set but {endpoint.url} is plain http: it is not used")
        context = None
    proxy = environment_proxy(endpoint.url)
    if proxy is not None:
        through_proxy = httpx.HTTPTransport(
            proxy=proxy,
            # httpx would load certifi's CA bundle (0.1 s of CPU) for a context plain http never uses
            verify=context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        )
        return TransportExchange(through_proxy, endpoint.url, timeouts=timeouts)
    return ConnectionStack(endpoint.url, ssl_context=context, max_idle=size, timeouts=timeouts)


def resolved_tls(settings: ClusterSettings, env: Mapping[str, str], base_dir: str) -> TlsSettings:
    """cluster.tls with its ``${env:...}`` / ``${file:...}`` references resolved (paths, names and thumbprints;
    not the password, which stays a reference here so that messages can name it)."""
    tls = settings.tls

    def resolved(value: str | None) -> str | None:
        if value is None:
            return None
        return references.resolve(value, env=env, base_dir=base_dir, where=settings.location)

    return replace(
        tls,
        client_cert=resolved(tls.client_cert),
        client_key=resolved(tls.client_key),
        ca_bundle=resolved(tls.ca_bundle),
        server_cert_thumbprints=tuple(
            references.resolve(t, env=env, base_dir=base_dir, where=settings.location)
            for t in tls.server_cert_thumbprints
        ),
        server_common_name=resolved(tls.server_common_name),
        server_issuer_thumbprints=tuple(
            references.resolve(t, env=env, base_dir=base_dir, where=settings.location)
            for t in tls.server_issuer_thumbprints
        ),
    )


def environment_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` names for ``url``, unless ``NO_PROXY`` exempts it.

    Raises EndpointError for a proxy that is not an http(s) URL (httpx would need an extra package for SOCKS,
    and fail deep inside with an ImportError). The message names the variable, never its value (a proxy URL
    may hold a password).
    """
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    # proxy_bypass_environment is in every CPython since 2.x, though typeshed leaves it out
    if urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    key = parts.scheme if proxies.get(parts.scheme) else "all"
    proxy = proxies.get(key)
    if not proxy:
        return None
    variable = f"{key.upper()}_PROXY"
    scheme = urlsplit(proxy).scheme.lower() if "://" in proxy else ""
    if scheme not in _PROXY_SCHEMES:
        what = f"a {scheme}:// proxy" if scheme else "a proxy without a scheme"
        raise EndpointError(
            f"{variable} names {what}: sfdeclare reaches clusters only through http:// or https:// proxies "
            f"(write {variable}=http://host:port, unset it, or add the cluster's host to NO_PROXY)"
        )
    return proxy

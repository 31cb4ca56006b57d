"""Which cluster to talk to: ``--endpoint`` > ``SFDECLARE_ENDPOINT`` > ``cluster.endpoint`` (PRODUCT.md §3).

An endpoint is ``http(s)://host:port`` (a cluster or a served emulator) or ``emulator:PATH`` (the emulator
in-process, its state in the file PATH). Endpoint strings may hold ``${env:...}`` references.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from sfdeclare.errors import EndpointError
from sfdeclare.model import references
from sfdeclare.model.declaration import ClusterSettings

ENV_VAR = "SFDECLARE_ENDPOINT"
EMULATOR_PREFIX = "emulator:"


@dataclass(frozen=True)
class Endpoint:
    kind: Literal["http", "emulator"]
    url: str  # http(s)://host[:port][/prefix] without a trailing slash; "http://emulator" in-process
    state_path: str | None = None  # the emulator's state file

    @property
    def is_https(self) -> bool:
        return self.url.startswith("https://")

    def __str__(self) -> str:
        return EMULATOR_PREFIX + self.state_path if self.state_path is not None else self.url


def parse_endpoint(value: str, *, source: str = "endpoint", base_dir: str = ".") -> Endpoint:
    """Check and normalise one endpoint string (already resolved). Emulator paths are relative to base_dir."""
    text = value.strip()
    bad = next((ch for ch in text if ord(ch) < 32 or ord(ch) == 127), None)
    if bad is not None:
        raise EndpointError(f"{source} {value!r} holds a control character ({bad!r}): write it out plainly")
    if text.startswith(EMULATOR_PREFIX):
        path = text[len(EMULATOR_PREFIX) :]
        if not path:
            raise EndpointError(
                f"{source} {value!r}: write emulator:PATH, PATH being the emulator's state file"
            )
        return Endpoint("emulator", "http://emulator", os.path.join(base_dir, os.path.expanduser(path)))
    try:
        parts = urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise EndpointError(f"{source} {value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(
            f"{source} {value!r} is not an endpoint: write http(s)://host:port (e.g. https://mycluster:19080) "
            "or emulator:PATH"
        )
    if parts.username is not None or parts.password is not None:
        raise EndpointError(
            f"{source}: put credentials in cluster.token or cluster.tls, not in the endpoint URL"
        )
    if parts.query or parts.fragment:
        raise EndpointError(f"{source} {parts.scheme}://{parts.netloc}: an endpoint has no query or fragment")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number in 0..65535
    except ValueError:
        raise EndpointError(f"{source} {value!r} has an invalid port") from None
    if not _plausible_host(parts.hostname):
        raise EndpointError(f"{source} {value!r}: {parts.hostname!r} is not a host name or IP address")
    return Endpoint("http", f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}")


_NOT_IN_HOSTS = frozenset(' \t"<>\\^`{|}%')


def _plausible_host(host: str) -> bool:
    """An IP address, or a name without the characters no DNS name holds (spaces, quotes, ...)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return not any(ch in _NOT_IN_HOSTS or ch.isspace() for ch in host)


def resolve_endpoint(
    cli_value: str | None, env: Mapping[str, str], settings: ClusterSettings, *, base_dir: str = "."
) -> str:
    """The endpoint to use, by precedence, checked and normalised (``emulator:`` paths from the configuration
    are made relative to base_dir, the configuration's folder, instead of the working directory)."""
    candidates = (
        (cli_value, "--endpoint", "."),
        (env.get(ENV_VAR), ENV_VAR, "."),
        (settings.endpoint, "cluster.endpoint", base_dir),
    )
    for value, source, relative_to in candidates:
        if value:
            resolved = references.resolve(value, env=env, base_dir=base_dir, where=settings.location)
            return str(parse_endpoint(resolved, source=source, base_dir=relative_to))
    raise EndpointError(f"no cluster endpoint: pass --endpoint, set {ENV_VAR} or cluster.endpoint")

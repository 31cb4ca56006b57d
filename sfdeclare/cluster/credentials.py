"""Who the client says it is: the Authorization header sent with every request, from cluster settings.

A static ``cluster.token`` is resolved once (``${env:...}`` / ``${file:...}``) and checked: a value that is empty,
or holds a character a bearer token cannot (a line break would inject headers), is refused without being shown.
Client certificates are part of TLS (tls.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sfdeclare.cluster.endpoint import Endpoint
from sfdeclare.errors import ConfigError, Diagnostic
from sfdeclare.model import references
from sfdeclare.model.declaration import ClusterSettings


def static_token(
    settings: ClusterSettings,
    *,
    env: Mapping[str, str],
    base_dir: str,
    endpoint: Endpoint,
    warn: Callable[[str], None],
) -> str | None:
    """The resolved ``cluster.token``, or None when none is set; warns when it would travel over plain http."""
    if not settings.token:
        return None
    token = references.resolve(settings.token, env=env, base_dir=base_dir, where=settings.location)
    if not token or any(not 33 <= ord(ch) <= 126 for ch in token):
        # never sent: a line break would inject headers; never shown: it is a credential
        raise ConfigError(
            [
                Diagnostic(
                    "error",
                    f"cluster.token ({settings.token}) resolves to "
                    + ("an empty value" if not token else "characters a bearer token cannot hold")
                    + ": it must be printable ASCII without spaces or line breaks",
                    settings.location,
                )
            ]
        )
    if not endpoint.is_https and endpoint.kind == "http":
        warn(f"warning: sending cluster.token over plain http to {endpoint.url}")
    return token

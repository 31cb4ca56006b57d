"""Keeping secrets out of messages: which values of a request are secret, the forms a server may echo them in,
and scrubbing those forms from a message before it is raised.

A value is secret when it sits in a secret field (SECRET_FIELDS: ConnectionString, AccountKey, ...) or came from
a ``${env:...}`` / ``${file:...}`` reference; credentials (a bearer token) are added by the client. Values
shorter than 4 characters are left alone: scrubbing them would mangle ordinary words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sfdeclare.model.declaration import SECRET_FIELDS

MASK = "****"


def sensitive_values(original: Any, resolved: Any, key: str = "") -> list[str]:
    """Values of ``resolved`` that came from a reference in ``original``, or sit in a secret field."""
    found: list[str] = []
    if isinstance(original, Mapping) and isinstance(resolved, Mapping):
        for name, value in original.items():
            found.extend(sensitive_values(value, resolved.get(name), str(name)))
    elif isinstance(original, (list, tuple)) and isinstance(resolved, list):
        for value, out in zip(original, resolved, strict=False):
            found.extend(sensitive_values(value, out, key))
    elif isinstance(resolved, str) and resolved and (key in SECRET_FIELDS or original != resolved):
        found.append(resolved)
    return found


def secret_forms(secret: str) -> set[str]:
    """The ways a server may echo a secret: as sent, JSON-escaped (quotes, backslashes, non-ASCII), and the
    value of each ``key=value`` part of a connection string on its own (an AccountKey quoted alone)."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    for part in secret.split(";"):
        value = part.partition("=")[2].strip()
        if len(value) >= 8:
            forms.update((value, json.dumps(value)[1:-1]))
    return forms


def scrub(message: str, secrets: Iterable[str]) -> str:
    """``message`` with every form of every secret replaced by ****, longest first."""
    forms = {form for secret in secrets for form in secret_forms(secret)}
    for secret in sorted(forms, key=len, reverse=True):
        if len(secret) >= 4:
            message = message.replace(secret, MASK)
    return message

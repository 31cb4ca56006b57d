"""Broken answers for testing a client's error handling: the request is processed (state may change), then
the answer is damaged the way a misbehaving proxy or a dying server damages it."""

from __future__ import annotations

from sfdeclare.emulator.app import Response
from sfdeclare.emulator.modes import CHAOS_MODES

_HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The proxy received an invalid response.</p></body></html>"
)


def check_mode(mode: str | None) -> None:
    if mode is not None and mode not in CHAOS_MODES:
        raise ValueError(f"unknown chaos mode '{mode}' (expected one of: {', '.join(CHAOS_MODES)})")


def damage(mode: str, response: Response) -> Response:
    """The damaged answer for the body-level modes; connection-level modes are the server's to act out."""
    json_headers = (("Content-Type", "application/json; charset=utf-8"),)
    if mode == "invalid-json":
        return Response(response.status, json_headers, b'{"Items": [{"Name": "p1",')
    if mode == "html-error":
        return Response(502, (("Content-Type", "text/html"),), _HTML)
    if mode == "wrong-shape":
        if response.status >= 400:
            return Response(response.status, json_headers, b'{"Error": "something went wrong"}')
        return Response(response.status, json_headers, b'{"ContinuationToken": 7, "Items": {"Name": 1}}')
    return response

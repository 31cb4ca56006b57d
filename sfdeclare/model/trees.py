"""Walking JSON-shaped trees (mappings, lists, scalars) that the configuration and the wire both carry.

``servicefabric/routes.py`` and ``engine/diff.py`` use them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def plain(value: Any) -> Any:
    """A deep copy with every Mapping a dict (string keys) and every tuple a list: what ``json.dumps`` takes."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in the tree with its dotted path (``Storage.ContainerName``, ``Items[0]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")

"""Small helpers every view shares, free of any decision code: how values are spelled for people, counted
nouns, terminal colours and Markdown table cells."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

RED, GREEN, YELLOW, CYAN, BOLD, RESET = "\033[31m", "\033[32m", "\033[33m", "\033[36m", "\033[1m", "\033[0m"


_PLAIN = re.compile(r'[^"\x00-\x1f\x7f-\x9f]*')


def value(v: Any) -> str:
    """A value as the user writes it: a string in quotes as is (``"\\\\server\\share"`` stays a Windows path,
    not JSON's doubled backslashes); JSON escapes only where plain text would mislead or reach a terminal raw
    (a quote or a control character)."""
    if isinstance(v, str):
        if _PLAIN.fullmatch(v):
            return f'"{v}"'
        return json.dumps(v)
    if v is None:
        return "null"
    return json.dumps(v, sort_keys=True)


def flatten(body: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key in body:
        item = body[key]
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(item, Mapping):
            yield from flatten(item, path)
        else:
            yield path, item


def paint(text: str, code: str, color: bool) -> str:
    """``text`` in an ANSI colour (``RED``, ``BOLD``, ...) when ``color``, else unchanged."""
    return f"{code}{text}{RESET}" if color else text


def cell(text: str) -> str:
    """``text`` safe inside one Markdown table cell: pipes escaped, line breaks flattened."""
    return text.replace("|", "\\|").replace("\n", " ")


def prose_cell(text: str) -> str:
    """``cell`` for text outside code spans, where Markdown reads ``\\`` as an escaped ``\\``: backslashes are
    doubled, so a Windows path renders as written."""
    return cell(text.replace("\\", "\\\\"))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``plural(1, "file")`` -> "1 file"; ``plural(2, "policy", "policies")`` -> "2 policies"."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"

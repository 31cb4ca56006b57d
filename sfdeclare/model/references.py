"""``${env:NAME}`` and ``${file:PATH}`` references inside configuration strings.

A reference is resolved only where its value must be sent; everywhere else (validate, plan files, messages) the
reference text itself stands in for the value. ``$${`` writes a literal ``${``. Resolved values are never
interpolated again, so references cannot loop. Error messages name the reference, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from sfdeclare.errors import ConfigError, Diagnostic, Location

KINDS = ("env", "file")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)(\})?")


def _parse(value: str) -> list[str | tuple[str, str]]:
    """Split a string into literal text and (kind, name) references; raise ValueError when malformed."""
    parts: list[str | tuple[str, str]] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(value):
        literal.append(value[pos : match.start()])
        pos = match.end()
        if match.group(0) == "$${":
            literal.append("${")
            continue
        inner, closed = match.group(1), match.group(2)
        if closed is None:
            # show only the kind: the rest of an unterminated reference may be a pasted secret
            start = "${" + inner.partition(":")[0][:10] + (":" if ":" in inner else "")
            raise ValueError(
                f"unterminated reference {start}... (no closing }}): write ${{env:NAME}} or ${{file:PATH}}"
            )
        kind, colon, name = inner.partition(":")
        if not colon:
            raise ValueError(
                f"reference ${{{inner}}} has no kind: write ${{env:{inner}}} or ${{file:{inner}}} "
                "(or $${ for a literal ${)"
            )
        if kind not in KINDS:
            raise ValueError(f"unknown reference kind {kind!r} in ${{{inner}}}: use env or file")
        if not name:
            raise ValueError(f"reference ${{{inner}}} names nothing")
        if kind == "env" and not _ENV_NAME.fullmatch(name):
            raise ValueError(f"${{{inner}}} is not a valid environment variable name")
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append((kind, name))
    literal.append(value[pos:])
    tail = "".join(literal)
    if tail:
        parts.append(tail)
    return parts


def check(value: str) -> str | None:
    """The problem with the references in ``value``, or None when they are well formed."""
    try:
        _parse(value)
    except ValueError as exc:
        return str(exc)
    return None


def references(value: str) -> list[tuple[str, str]]:
    """The (kind, name) references in ``value``, in order. Raises ValueError when one is malformed."""
    return [part for part in _parse(value) if isinstance(part, tuple)]


def has_references(value: str) -> bool:
    """True when ``value`` holds a reference (well formed or not) that must be resolved before sending."""
    if "${" not in value:
        return False
    try:
        return any(isinstance(part, tuple) for part in _parse(value))
    except ValueError:
        return True


def _ref_text(kind: str, name: str) -> str:
    return "${" + kind + ":" + name + "}"


def _read_file(name: str, base_dir: str) -> str:
    path = os.path.join(base_dir, os.path.expanduser(name))
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ValueError(f"file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ValueError(f"file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"file {path} cannot be read: {exc.strerror}") from None
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _resolve(
    value: str, env: Mapping[str, str], base_dir: str, problems: list[str], refuse_empty: bool = False
) -> str:
    try:
        parts = _parse(value)
    except ValueError as exc:
        problems.append(str(exc))
        return value
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        kind, name = part
        if kind == "env":
            if name not in env:
                problems.append(
                    f"environment variable {name} is not set (referenced as {_ref_text(kind, name)})"
                )
                continue
            if refuse_empty and not env[name]:
                problems.append(
                    f"environment variable {name} is set but empty (referenced as {_ref_text(kind, name)})"
                )
                continue
            out.append(env[name])
        else:
            try:
                text = _read_file(name, base_dir)
            except ValueError as exc:
                problems.append(f"{exc} (referenced as {_ref_text(kind, name)})")
                continue
            if refuse_empty and not text:
                problems.append(f"file {name} is empty (referenced as {_ref_text(kind, name)})")
                continue
            out.append(text)
    return "".join(out)


def empty_references(value: str, *, env: Mapping[str, str], base_dir: str) -> list[str]:
    """What is wrong with each reference in ``value`` whose value is empty (a variable set to "", an empty
    file); references that are malformed, unset or unreadable are not reported here."""
    try:
        parts = _parse(value)
    except ValueError:
        return []
    found: list[str] = []
    for part in parts:
        if isinstance(part, tuple):
            problems: list[str] = []
            _resolve(_ref_text(*part), env, base_dir, problems, refuse_empty=True)
            found.extend(p for p in problems if " is set but empty " in p or " is empty (" in p)
    return found


def _raise(problems: list[str], where: Location | None) -> None:
    if problems:
        raise ConfigError([Diagnostic("error", p, where) for p in dict.fromkeys(problems)])


def resolve(
    value: str,
    *,
    env: Mapping[str, str],
    base_dir: str,
    where: Location | None = None,
    refuse_empty: bool = False,
) -> str:
    """``value`` with its references replaced and ``$${`` unescaped. Raises ConfigError naming every missing
    reference (never a value); with ``refuse_empty``, every reference whose value is empty too."""
    problems: list[str] = []
    result = _resolve(value, env, base_dir, problems, refuse_empty)
    _raise(problems, where)
    return result


def resolve_tree(
    obj: Any,
    *,
    env: Mapping[str, str],
    base_dir: str,
    where: Location | None = None,
    refuse_empty: bool = False,
) -> Any:
    """A copy of nested dicts / lists with every string resolved; raises ConfigError listing every problem
    (with ``refuse_empty``, a reference whose value is empty is one: CI turns a missing secret into "")."""
    problems: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _resolve(node, env, base_dir, problems, refuse_empty)
        if isinstance(node, Mapping):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(item) for item in node]
        return node

    result = walk(obj)
    _raise(problems, where)
    return result

"""Reading one YAML configuration file safely, remembering where every value was written.

PyYAML's (C) safe parser produces the event stream; this module builds plain values from it, iteratively, so
that it can (a) remember the 1-based line and column of every key and value by its path, (b) refuse duplicate
keys, which PyYAML's constructor silently collapses, (c) refuse every tag outside the JSON-like core without
constructing anything, and (d) bound nesting depth and alias expansion (billion laughs) while it builds, with
memory bounded by the file size because an alias shares the anchored value instead of copying it.

Plain scalars resolve as in YAML 1.2's core schema (what editors' YAML language servers assume): ``true`` /
``false``, ``null`` / ``~``, integers and floats; everything else (``10:00``, ``2024-01-01``, ``yes``, ``on``)
stays a string, so run times and dates are never turned into sexagesimal numbers or date objects.

Over 400 lines: the event-driven builder is one state machine (frames, marks, alias bounds), and the file
checks before it (size, encoding) are what make its bounds hold.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from sfdeclare.errors import Diagnostic, Location

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000
MAX_SCALAR_CHARS = 65_536  # far above any name, path or connection string; bounds what a plan would send
MAX_ALIAS_NODES = 100_000  # values reached through aliases: reuse of a block is fine, an alias bomb is not

PathKey = str | int
Path = tuple[PathKey, ...]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STD = "tag:yaml.org,2002:"
_ALLOWED_SCALAR_TAGS = {f"{_STD}{t}" for t in ("str", "int", "float", "bool", "null")}
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_INT_OCT = re.compile(r"0o[0-7]+")
_INT_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@functools.lru_cache(maxsize=65536)
def segment(part: PathKey) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return "." + part if _SIMPLE_KEY.fullmatch(part) else "[" + repr(part) + "]"


def format_path(path: Path) -> str:
    """A JSON path: ``$.policies.Daily.Schedule.Interval``, ``$.applications['fabric:/App'].policy``."""
    return "$" + "".join(segment(part) for part in path)


def show_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


@dataclass
class Source:
    """One parsed file: its data and the (line, column) of every value and mapping key, by path."""

    file: str
    data: dict[str, Any]
    value_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    _paths: dict[Path, str] = field(default_factory=dict, repr=False)

    def path_text(self, path: Path) -> str:
        """``format_path``, remembering prefixes: siblings share their parent's text."""
        text = self._paths.get(path)
        if text is None:
            text = self.path_text(path[:-1]) + segment(path[-1]) if path else "$"
            self._paths[path] = text
        return text

    def location(self, path: Path, *, key: bool = False, text: str | None = None) -> Location:
        """Where the value at ``path`` was written (with ``key``: where its key was, when it has one).

        ``text`` is ``format_path(path)`` when the caller has it already. Values reached through an alias have
        no marks of their own; they report the alias's place."""
        if key and path in self.key_marks:
            line, column = self.key_marks[path]
            return Location(self.file, line, column, text or self.path_text(path))
        probe = path
        while probe not in self.value_marks and probe:
            probe = probe[:-1]
        line, column = self.value_marks.get(probe, (1, 1))
        return Location(self.file, line, column, text or self.path_text(path))


class _Fatal(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


def _mark(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


_MAYBE_NOT_STRING = frozenset("0123456789+-.~nNtTfF")


def _plain_scalar(text: str) -> Any:
    if text and text[0] not in _MAYBE_NOT_STRING:
        return text
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        return int(text)
    if _INT_OCT.fullmatch(text):
        return int(text[2:], 8)
    if _INT_HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return text


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: Path
    anchor: str | None
    start_count: int
    key: str | None = None
    discard: bool = False
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Path, tuple[int, int]] = {}
        self.key_marks: dict[Path, tuple[int, int]] = {}
        self.diagnostics: list[Diagnostic] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.stack: list[_Frame] = []
        self.count = 0
        self.aliased = 0
        self.root: Any = None
        self.has_root = False
        self.documents = 0
        self.discarded = 0

    def error(self, message: str, where: tuple[int, int], path: Path) -> None:
        location = Location(self.file, where[0], where[1], format_path(path))
        self.diagnostics.append(Diagnostic("error", message, location))

    def grow(self, amount: int, where: tuple[int, int]) -> None:
        self.count += amount
        if self.count > MAX_NODES:
            raise _Fatal(f"the file holds more than {MAX_NODES:,} values; refusing it", *where)

    def check_tag(self, tag: str | None, allowed: set[str], where: tuple[int, int]) -> None:
        if tag is not None and tag != "!" and tag not in allowed:
            raise _Fatal(
                f"YAML tag {show_tag(tag)} is not allowed (only plain YAML data: strings, numbers, booleans, "
                "null, mappings, sequences)",
                *where,
            )

    def next_path(self, where: tuple[int, int], is_scalar: bool) -> Path | None:
        """The path of the node that starts now; None when it is a mapping key."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        if frame.key is None:
            if not is_scalar:
                raise _Fatal("a mapping key must be a plain string, not a mapping, list or alias", *where)
            return None
        if frame.discard:
            self.discarded += 1
            return ("\0discarded", self.discarded)
        return (*frame.path, frame.key)

    def place(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            self.has_root = True
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
            return
        assert frame.key is not None
        if not frame.discard:
            frame.container[frame.key] = value
        frame.key = None
        frame.discard = False

    def scalar(self, event: Any) -> None:
        where = _mark(event)
        path = self.next_path(where, is_scalar=True)
        if path is None:
            self.map_key(event, where)
            return
        self.grow(1, where)
        tag = event.tag
        self.check_tag(tag, _ALLOWED_SCALAR_TAGS, where)
        if len(event.value) > MAX_SCALAR_CHARS:
            self.error(
                f"a value of {len(event.value):,} characters is over the {MAX_SCALAR_CHARS:,}-character limit",
                where,
                path,
            )
            self.marks[path] = where
            self.place("")
            return
        value: Any
        plain = not event.style and event.implicit[0]
        if tag == f"{_STD}str" or (tag in (None, "!") and not plain):
            value = event.value
        elif tag in (None, "!"):
            value = _plain_scalar(event.value)
        elif tag in _ALLOWED_SCALAR_TAGS:
            value = _plain_scalar(event.value)
            kind = tag[len(_STD) :]
            valid = {
                "int": type(value) is int,
                "float": type(value) in (int, float),
                "bool": type(value) is bool,
                "null": value is None,
            }[kind]
            if not valid:
                self.error(f"{event.value!r} is not a valid {show_tag(tag)}", where, path)
            if kind == "float" and type(value) is int:
                value = float(value)
        else:
            value = event.value
        self.marks[path] = where
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        self.place(value)

    def map_key(self, event: Any, where: tuple[int, int]) -> None:
        frame = self.stack[-1]
        tag = event.tag
        self.check_tag(tag, {f"{_STD}str"}, where)
        key = event.value
        if len(key) > MAX_SCALAR_CHARS:
            raise _Fatal(
                f"a key of {len(key):,} characters is over the {MAX_SCALAR_CHARS:,}-character limit", *where
            )
        if key == "<<" and not event.style:
            self.error("YAML merge keys (<<) are not supported; write the keys out", where, frame.path)
        frame.key = key
        first = frame.seen.get(key)
        key_path = (*frame.path, key)
        if first is not None:
            self.error(f"duplicate key {key!r} (first written at line {first[0]})", where, key_path)
            frame.discard = True
        else:
            frame.seen[key] = where
            self.key_marks[key_path] = where

    def start(self, event: Any, container: dict[str, Any] | list[Any]) -> None:
        where = _mark(event)
        path = self.next_path(where, is_scalar=False)
        assert path is not None
        if len(self.stack) >= MAX_DEPTH:
            raise _Fatal(f"the file nests deeper than {MAX_DEPTH} levels; refusing it", *where)
        self.grow(1, where)
        kind = "map" if isinstance(container, dict) else "seq"
        self.check_tag(event.tag, {f"{_STD}{kind}"}, where)
        self.marks[path] = where
        self.stack.append(_Frame(container, path, event.anchor, self.count))

    def end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.anchors[frame.anchor] = (frame.container, self.count - frame.start_count + 1)
        self.place(frame.container)

    def alias(self, event: Any) -> None:
        where = _mark(event)
        path = self.next_path(where, is_scalar=False)
        assert path is not None
        found = self.anchors.get(event.anchor)
        if found is None:
            raise _Fatal(f"alias *{event.anchor} refers to no earlier anchor", *where)
        value, size = found
        self.aliased += size
        if self.aliased > MAX_ALIAS_NODES:
            raise _Fatal(
                f"aliases in the file expand to more than {MAX_ALIAS_NODES:,} values (an alias bomb?); refusing it",
                *where,
            )
        self.grow(size, where)
        self.marks[path] = where
        self.place(value)

    def document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            raise _Fatal("a configuration file holds one YAML document; split it into files", *_mark(event))

    def run(self, loader: Any) -> None:
        handlers: dict[type[Any], Callable[[Any], None]] = {
            yaml.ScalarEvent: self.scalar,
            yaml.MappingStartEvent: lambda event: self.start(event, {}),
            yaml.SequenceStartEvent: lambda event: self.start(event, []),
            yaml.MappingEndEvent: lambda event: self.end(),
            yaml.SequenceEndEvent: lambda event: self.end(),
            yaml.AliasEvent: self.alias,
            yaml.DocumentStartEvent: self.document,
        }
        get_event = loader.get_event
        while True:
            event = get_event()
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
            elif isinstance(event, yaml.StreamEndEvent):
                return


def _limit_text() -> str:
    mib = 1024 * 1024
    return f"{MAX_FILE_BYTES // mib} MiB" if MAX_FILE_BYTES % mib == 0 else f"{MAX_FILE_BYTES:,} bytes"


def _read_text(path: str, display: str) -> tuple[str | None, Diagnostic | None]:
    def fail(message: str, line: int = 1, column: int = 1) -> tuple[None, Diagnostic]:
        return None, Diagnostic("error", message, Location(display, line, column))

    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            return fail(f"the file is {size:,} bytes, over the {_limit_text()} limit")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return fail(f"cannot read the file: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:
        return fail(f"the file is over the {_limit_text()} limit")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return fail(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)", line, column
        )


CONFIG_KEYS = "version:, policies:, applications:, ..."


def parse_text(
    text: str, display: str, *, top_level: str = CONFIG_KEYS, empty_ok: bool = False
) -> tuple[Source | None, list[Diagnostic]]:
    """Build a Source from YAML text; None (with the reason) when it cannot be read at all.

    ``top_level`` names the keys a document of this kind starts with (for the message when it is not a
    mapping); ``empty_ok`` reads an empty document as an empty mapping instead of refusing it."""
    builder = _Builder(display)
    loader = _Loader(text)
    try:
        builder.run(loader)
    except _Fatal as exc:
        return None, [
            *builder.diagnostics,
            Diagnostic("error", str(exc), Location(display, exc.line, exc.column)),
        ]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        return None, [
            Diagnostic("error", f"YAML syntax error: {problem}{context}", Location(display, line, column))
        ]
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = getattr(exc, "reason", None) or "invalid YAML"
        return None, [Diagnostic("error", f"YAML syntax error: {reason}", Location(display, line, column))]
    finally:
        loader.dispose()
    if (not builder.has_root or builder.root is None) and empty_ok:
        return Source(display, {}), builder.diagnostics
    if not builder.has_root or builder.root is None:
        return None, [
            Diagnostic("error", "the file is empty (write at least `version: 1`)", Location(display, 1, 1))
        ]
    if not isinstance(builder.root, dict):
        where = builder.marks.get((), (1, 1))
        return None, [
            *builder.diagnostics,
            Diagnostic(
                "error",
                f"the top level must be a mapping ({top_level})",
                Location(display, *where),
            ),
        ]
    return Source(display, builder.root, builder.marks, builder.key_marks), builder.diagnostics


def load_file(
    path: str, display: str | None = None, *, top_level: str = CONFIG_KEYS, empty_ok: bool = False
) -> tuple[Source | None, list[Diagnostic]]:
    """Read and parse one file: size, encoding and YAML checks first, without running any YAML tag."""
    shown = display if display is not None else path
    text, problem = _read_text(path, shown)
    if text is None:
        assert problem is not None
        return None, [problem]
    return parse_text(text, shown, top_level=top_level, empty_ok=empty_ok)

"""Checking one parsed file against schemas/sfdeclare.schema.json, with messages a person can act on.

jsonschema finds the errors; this module turns each into one Diagnostic at the YAML line of the offending key
or value: unknown keys get a "did you mean", anyOf failures report their most relevant branch (or the schema's
``errorMessage``), and no message ever repeats the value of a secret field.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from sfdeclare import schemas
from sfdeclare.errors import Diagnostic
from sfdeclare.model.declaration import CREDENTIAL_FIELDS, SECRET_FIELDS
from sfdeclare.safeyaml.reader import Path, Source

_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_DISCRIMINATORS = ("StorageKind", "ScheduleKind")


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with every (non-recursive) ``$ref`` replaced by its target, so slices stand alone."""
    if isinstance(node, Mapping):
        if "$ref" in node:
            target = _inline(defs[str(node["$ref"]).rsplit("/", 1)[-1]], defs)
            return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@dataclass(frozen=True)
class _Validators:
    """The schema cut at applications and services, so that the (many, often alike) application and service
    nodes are validated one by one and alike nodes only once."""

    root: jsonschema.Draft202012Validator
    application: jsonschema.Draft202012Validator
    service: jsonschema.Draft202012Validator


@functools.cache
def _validators() -> _Validators:
    schema = schemas.load("sfdeclare")
    flat = _inline(schema, schema["$defs"])
    application = dict(flat["properties"]["applications"]["additionalProperties"])
    service = application["properties"]["services"]["additionalProperties"]
    application["properties"] = {
        **application["properties"],
        "services": {**application["properties"]["services"], "additionalProperties": True},
    }
    root = {
        **flat,
        "properties": {
            **flat["properties"],
            "applications": {**flat["properties"]["applications"], "additionalProperties": True},
        },
    }
    make = jsonschema.Draft202012Validator
    return _Validators(make(root), make(application), make(service))


def _field(path: Path) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "the value"


def _is_secret(path: Path) -> bool:
    if not path:
        return False
    return path[-1] in SECRET_FIELDS or (path[0] == "cluster" and path[-1] in CREDENTIAL_FIELDS)


def _describe(value: Any, path: Path) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _is_secret(path):
        return "a string"
    if isinstance(value, (int, float)) and _is_secret(path):
        return "a number"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"the string {shown!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _suggest(word: str, choices: list[str]) -> str:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f"; did you mean {lowered[word.lower()]!r}? (names are case-sensitive)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@functools.cache
def _kinds_by_field() -> Mapping[str, tuple[str, ...]]:
    """Which StorageKind / ScheduleKind branches define each field (from the branches' titles)."""
    found: dict[str, list[str]] = {}
    for definition in schemas.load("sfdeclare")["$defs"].values():
        title = definition.get("title", "")
        if title.startswith(_DISCRIMINATORS):
            for name in definition.get("properties", {}):
                found.setdefault(name, []).append(title)
    return {name: tuple(titles) for name, titles in found.items()}


def _other_kinds(word: str, context: str) -> str:
    owners = [t for t in _kinds_by_field().get(word, ()) if t != context]
    return f" ({word} belongs to {' / '.join(owners)})" if owners and context else ""


def _kind_context(instance: Any) -> str:
    if isinstance(instance, Mapping):
        for key in _DISCRIMINATORS:
            if isinstance(instance.get(key), str):
                return f"{key} {instance[key]}"
    return ""


def _messages(error: ValidationError, source: Source, prefix: Path = ()) -> Iterator[Diagnostic]:
    path: Path = (*prefix, *error.absolute_path)
    instance = error.instance
    subschema = error.schema if isinstance(error.schema, Mapping) else {}
    validator = error.validator
    expected: Any = error.validator_value
    name = _field(path)

    def at(message: str, where: Path = path, *, key: bool = False) -> Diagnostic:
        return Diagnostic("error", message, source.location(where, key=key))

    if validator == "additionalProperties" and isinstance(instance, Mapping):
        known = list(subschema.get("properties", {}))
        context = _kind_context(instance)
        for extra in instance:
            if extra in known:
                continue
            where = " for " + context if context else (f" in {name}" if path else " at the top level")
            hint = _suggest(str(extra), known) or _other_kinds(str(extra), context)
            yield at(f"unknown key {extra!r}{where}{hint}", (*path, extra), key=True)
        return
    if validator == "required" and isinstance(instance, Mapping):
        context = _kind_context(instance)
        title = subschema.get("title", "")
        for missing in expected:
            if missing in instance:
                continue
            if title.startswith("ScheduleFrequencyType") or (context and title):
                yield at(f"{title or context} requires {missing}", key=True)
            elif len(path) == 2 and path[0] == "policies":
                yield at(f"policy {name} is missing the required field {missing}", key=True)
            elif path:
                yield at(f"{name} is missing the required field {missing}", key=True)
            else:
                hint = " (write `version: 1` at the top)" if missing == "version" else ""
                yield at(f"missing the required field {missing!r}{hint}", key=True)
        return
    custom = subschema.get("errorMessage")
    if isinstance(custom, str):
        with_value = validator in ("type", "enum", "const", "anyOf", "oneOf", "minimum", "maximum", "pattern")
        yield at(f"{custom}, not {_describe(instance, path)}" if with_value else custom)
        return
    if validator in ("anyOf", "oneOf") and error.context:
        best = best_match(error.context)
        yield from _messages(best, source, prefix)
        return
    if validator == "type":
        expected = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in expected if t != "null")
        yield at(f"{name} must be {wanted or 'null'}, not {_describe(instance, path)}")
        return
    if validator == "enum":
        options = [str(o) for o in expected]
        hint = _suggest(instance, options) if isinstance(instance, str) else ""
        yield at(f"{name} must be one of {', '.join(options)}, not {_describe(instance, path)}{hint}")
        return
    if validator == "const":
        yield at(f"{name} must be {expected!r}, not {_describe(instance, path)}")
        return
    if validator == "pattern":
        custom = subschema.get("patternErrorMessage") or "has the wrong form"
        yield at(f"{name} {custom}, not {_describe(instance, path)}")
        return
    if validator == "minLength":
        least = int(expected)
        yield at(
            f"{name} must not be empty" if least <= 1 else f"{name} must have at least {least} characters"
        )
        return
    if validator == "maxLength":
        length = len(instance) if isinstance(instance, str) else 0
        yield at(f"{name} must have at most {expected} characters, not {length:,}")
        return
    if validator == "minItems":
        yield at(f"{name} must have at least {expected} item(s)")
        return
    if validator in ("minimum", "maximum"):
        bound = "at least" if validator == "minimum" else "at most"
        yield at(f"{name} must be {bound} {expected}, not {_describe(instance, path)}")
        return
    if _is_secret(path):
        yield at(f"{name} is not valid here")
        return
    yield at(error.message)


def _memo_key(node: Any) -> str:
    return json.dumps(node, sort_keys=True, default=repr)


def check(source: Source) -> list[Diagnostic]:
    """Every schema problem in one configuration file, each at its line."""
    validators = _validators()
    found: list[tuple[ValidationError, Path]] = [(e, ()) for e in validators.root.iter_errors(source.data)]
    applications = source.data.get("applications")
    memo: dict[tuple[str, str], list[ValidationError]] = {}

    def errors(kind: str, validator: jsonschema.Draft202012Validator, node: Any) -> list[ValidationError]:
        key = (kind, _memo_key(node))
        if key not in memo:
            memo[key] = list(validator.iter_errors(node))
        return memo[key]

    if isinstance(applications, Mapping):
        for app_key, app in applications.items():
            app_path: Path = ("applications", app_key)
            shell = {k: v for k, v in app.items() if k != "services"} if isinstance(app, Mapping) else app
            if isinstance(app, Mapping) and "services" in app:
                shell["services"] = {} if isinstance(app["services"], Mapping) else app["services"]
            found += [(e, app_path) for e in errors("application", validators.application, shell)]
            services = app.get("services") if isinstance(app, Mapping) else None
            if isinstance(services, Mapping):
                for service_key, service in services.items():
                    service_path: Path = (*app_path, "services", service_key)
                    found += [(e, service_path) for e in errors("service", validators.service, service)]
    diagnostics: dict[Diagnostic, None] = {}
    for error, prefix in found:
        # jsonschema reports each missing required field as its own error, each naming them all
        diagnostics.update(dict.fromkeys(_messages(error, source, prefix)))
    return list(diagnostics)


@functools.cache
def _whole(name: str) -> jsonschema.Draft202012Validator:
    schema = schemas.load(name)
    return jsonschema.Draft202012Validator(_inline(schema, schema.get("$defs", {})))


def check_file(source: Source, name: str) -> list[Diagnostic]:
    """Every problem one small file (a guardrails file) has against the shipped schema ``name``, each at its line,
    in the words ``check`` uses for configuration files."""
    diagnostics: dict[Diagnostic, None] = {}
    for error in _whole(name).iter_errors(source.data):
        diagnostics.update(dict.fromkeys(_messages(error, source)))
    return list(diagnostics)

"""The 11.3 BackupPolicyDescription fields (quick recovery, compression): the one place their wire form is
modelled.

Facts: release notes 11.3 add "Quick Recovery" (``FromPrimary``, default ``Disabled``) and Zstandard compression
"configured through BackupPolicy". Today's Service Fabric Explorer (microsoft/service-fabric-explorer, 2026-08,
``RawDataTypes.ts``, ``action-create-backup-policy.component.html``) sends ``QuickRecovery`` as
``Disabled`` | ``FromPrimary`` and ``CompressionType`` as ``CLUSTER_DEFINED`` | ``ZIP`` | ``ZSTANDARD``; its 2025
versions sent ``CompressionStrategy`` and a boolean ``QuickRecovery``, and Microsoft's .NET client still has a
boolean. No public source settles what the server reads or writes.

Assumptions (documented in docs/emulator.md):
- On input a runtime with the fields accepts both spellings and types: ``QuickRecovery`` as the enum name
  (any case, as Json.NET's enum converter reads it) or a boolean (true = FromPrimary); ``CompressionType`` or
  ``CompressionStrategy`` with the same values. Both compression names with different values is a 400.
- Reads answer today's Explorer form, because that Explorer reads policies back with the names it sends:
  ``QuickRecovery`` (enum name) and ``CompressionType``, with the server defaults ``Disabled`` and
  ``CLUSTER_DEFINED`` when the policy did not set them (an update replaces the whole policy, so leaving a field
  out of an update resets it to its default).
- Runtimes before 11.3 ignore the fields, as the server ignores unknown members, and never return them.
"""

from __future__ import annotations

from typing import Any

from sfdeclare.emulator import runtimes
from sfdeclare.emulator.fabric_errors import FabricFault, invalid

QUICK_RECOVERY = "QuickRecovery"
QUICK_RECOVERY_VALUES = ("Disabled", "FromPrimary")
QUICK_RECOVERY_DEFAULT = "Disabled"
COMPRESSION = "CompressionType"
COMPRESSION_ALIASES = ("CompressionType", "CompressionStrategy")  # the written name first
COMPRESSION_VALUES = ("CLUSTER_DEFINED", "ZIP", "ZSTANDARD")
COMPRESSION_DEFAULT = "CLUSTER_DEFINED"


def _error(field: str, message: str) -> FabricFault:
    return invalid(f"{{Message:The request is invalid.,ModelState:{{backupPolicy.{field}:[{message}]}}}}")


def _enum(value: Any, names: tuple[str, ...], field: str) -> str:
    if isinstance(value, str):
        for name in names:
            if name.lower() == value.strip().lower():
                return name
    raise _error(
        field, f"Error converting value {value} to type '{field}' (expected one of {', '.join(names)})."
    )


def bind(body: dict[str, Any], runtime: str) -> dict[str, str]:
    """The 11.3 fields of a policy body, canonical, or {} on a runtime that does not have them."""
    out: dict[str, str] = {}
    if runtimes.supports(runtime, runtimes.QUICK_RECOVERY):
        value = body.get(QUICK_RECOVERY)
        if isinstance(value, bool):
            out[QUICK_RECOVERY] = "FromPrimary" if value else "Disabled"
        elif value is not None:
            out[QUICK_RECOVERY] = _enum(value, QUICK_RECOVERY_VALUES, QUICK_RECOVERY)
    if runtimes.supports(runtime, runtimes.COMPRESSION):
        given = {
            name: _enum(body[name], COMPRESSION_VALUES, name)
            for name in COMPRESSION_ALIASES
            if body.get(name) is not None
        }
        if len(set(given.values())) > 1:
            raise _error(COMPRESSION, "CompressionType and CompressionStrategy disagree; send one of them.")
        if given:
            out[COMPRESSION] = next(iter(given.values()))
    return out


def render(policy: dict[str, Any], runtime: str) -> dict[str, str]:
    """The 11.3 fields as a read returns them (defaults filled in), or {} before 11.3."""
    out: dict[str, str] = {}
    if runtimes.supports(runtime, runtimes.QUICK_RECOVERY):
        out[QUICK_RECOVERY] = policy.get(QUICK_RECOVERY) or QUICK_RECOVERY_DEFAULT
    if runtimes.supports(runtime, runtimes.COMPRESSION):
        out[COMPRESSION] = policy.get(COMPRESSION) or COMPRESSION_DEFAULT
    return out

"""``sfdeclare emulator recreate-service`` / ``remove-service``: change the emulated cluster's services after
the topology was loaded, leaving the backup service's stored mappings and suspensions as a real cluster does
(``emulator/lifecycle.py``)."""

from __future__ import annotations

import argparse
import os
from typing import Any, TextIO

from sfdeclare.errors import ConfigError, Diagnostic


def add_subcommands(commands: Any) -> None:
    """Register both subcommands on ``sfdeclare emulator``'s subparsers."""
    for verb, what in (("recreate-service", "re-create"), ("remove-service", "remove")):
        p = commands.add_parser(
            verb, help=f"{what} a service of the emulated cluster (new partition ids; stored mappings stay)"
        )
        p.add_argument("--state", required=True, help="the emulator's state file")
        p.add_argument("service", metavar="NAME", help="the service's name, e.g. fabric:/App/Svc")
        p.set_defaults(run=run, remove=verb == "remove-service")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from sfdeclare.emulator.lifecycle import recreate_service, remove_service
    from sfdeclare.emulator.state import Store

    state: str = args.state
    if not os.path.isfile(state):
        raise ConfigError(
            [
                Diagnostic(
                    "error", f"{state}: no emulator state file (create one with: sfdeclare emulator init)"
                )
            ]
        )
    service: str = args.service
    name = service if service.startswith("fabric:/") else "fabric:/" + service
    store = Store(state)
    try:
        change = remove_service(store, name) if args.remove else recreate_service(store, name)
    finally:
        store.close()
    if args.remove:
        out.write(f"Removed {name} ({len(change.old_ids)} partitions); its backup mappings stay stored\n")
    else:
        out.write(f"Re-created {name} with new partition ids:\n")
        out.writelines(f"  {old} -> {new}\n" for old, new in zip(change.old_ids, change.new_ids, strict=True))
    return 0

"""`sfdeclare import`: read the live backup configuration and write it as configuration YAML.

Reads only. The applications named (or every application), their explicit mappings and suspensions, and the
policies they use (every policy when no application is named). Secret names go to stderr, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from sfdeclare.cluster.client import read_state
from sfdeclare.commands.session import endpoint_label, open_client, write_atomically
from sfdeclare.config.export import import_configuration
from sfdeclare.errors import SfdeclareError
from sfdeclare.model.addresses import application_name
from sfdeclare.model.declaration import ApplicationDecl, ClusterSettings, Declaration


def run(
    *,
    applications: Sequence[str],
    output: str | None,
    endpoint: str | None,
    api_version: str,
    parallelism: int,
    out: TextIO,
    err: TextIO,
    env: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if env is None else env
    if parallelism < 1:
        raise SfdeclareError("--parallelism must be at least 1")
    named = list(dict.fromkeys(application_name(a) for a in applications))
    for name in named:
        if name == "fabric:/" or name.endswith("/"):
            raise SfdeclareError(f"--application {name!r} is not an application name")
    cluster = ClusterSettings(api_version=api_version)
    declaration = Declaration(cluster=cluster, applications={name: ApplicationDecl(name) for name in named})
    with open_client(declaration, endpoint, env, parallelism, err) as client:
        # named: their services (to know they exist) and configuration; none named: every application's
        live = read_state(client, declaration, all_applications=not named, parallelism=parallelism)
        source = endpoint_label(client)
    missing = [name for name in named if name not in live.applications]
    if missing:
        raise SfdeclareError(
            f"application{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'do' if len(missing) > 1 else 'does'} not exist on the cluster"
        )
    chosen = named or sorted(live.configured_applications)
    result = import_configuration(
        live, chosen, every_policy=not named, api_version=api_version, source=source, named=bool(named)
    )
    for note in result.notes:
        err.write(f"warning: {note}\n")
    if result.secrets:
        err.write("Secrets were replaced by references; set these environment variables before apply:\n")
        for ref in result.secrets:
            err.write(f"  {ref.env_name}  (policy {ref.policy}, Storage.{ref.field})\n")
    if output:
        write_atomically(output, result.text)
        err.write(
            f"Wrote {output}: {result.applications} application{'s' if result.applications != 1 else ''}, "
            f"{result.policies} polic{'ies' if result.policies != 1 else 'y'}.\n"
        )
    else:
        out.write(result.text)
    return 0

"""`sfdeclare import`: read the live backup configuration and write it as configuration YAML.

Reads only. The applications named (or every application), their explicit mappings and suspensions, and the
policies they use (every policy when no application is named). Secret names go to stderr, never a value.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from typing import TextIO

from sfdeclare.cluster.read import read_state
from sfdeclare.commands.arguments import add_endpoint, add_parallelism
from sfdeclare.commands.session import endpoint_label, open_client, settle_runtime, write_atomically
from sfdeclare.config.export import import_configuration
from sfdeclare.errors import EXIT_OK, ConfigError, Location, SfdeclareError
from sfdeclare.model.addresses import application_name
from sfdeclare.model.declaration import ApplicationDecl, ClusterSettings, Declaration
from sfdeclare.model.scope import read_scope
from sfdeclare.render.common import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--application", dest="applications", action="append", default=[], metavar="NAME")
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    add_endpoint(parser)
    parser.add_argument(
        "--api-version",
        default=None,
        help="api-version of the backup calls (default: derived from the runtime)",
    )
    add_parallelism(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    env = os.environ
    output: str | None = args.output
    api_version: str | None = args.api_version
    parallelism: int = args.parallelism
    named = list(dict.fromkeys(application_name(a) for a in args.applications))
    for name in named:
        if name == "fabric:/" or name.endswith("/"):
            raise SfdeclareError(f"--application {name!r} is not an application name")
    # --api-version is written (checked against the runtime), or derived from the runtime read from the cluster
    cluster = (
        ClusterSettings(api_version=api_version, api_version_location=Location("--api-version", 1, 1, "$"))
        if api_version is not None
        else ClusterSettings()
    )
    declaration = Declaration(cluster=cluster, applications={name: ApplicationDecl(name) for name in named})
    with open_client(declaration, args.endpoint, env, parallelism, err) as client:
        declaration = settle_runtime(client, declaration)
        if any(d.severity == "error" for d in declaration.diagnostics):
            raise ConfigError(list(declaration.diagnostics))
        # named: their services (to know they exist) and configuration; none named: every application's
        # every policy: the named applications' mappings decide which ones are exported
        scope = replace(read_scope(declaration, all_applications=not named), policy_names=None)
        live = read_state(client, scope, parallelism=parallelism)
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
            err.write(f"  {ref.env_name}  (policy {ref.policy}, {ref.path})\n")
    if output:
        write_atomically(output, result.text)
        err.write(
            f"Wrote {output}: {plural(result.applications, 'application')}, "
            f"{plural(result.policies, 'policy', 'policies')}.\n"
        )
    else:
        out.write(result.text)
    return EXIT_OK

"""``sfdeclare __complete addresses WORD...``: the hidden helper the completion scripts call for addresses.

It reads the configuration files named among the words of the command line being completed (every word that is
not an option, nor an option's value, nor the command, and is a ``*.yaml`` / ``*.yml`` file or a folder) and
prints, one per line, the address of every declared policy, application, service and partition (partitions
declared by id). It never touches the network and never loads the HTTP client (the cli calls it before
building the parser); a configuration that does not load gives no address and no message (completion must
never print into the user's command line). Options are not completed here: the scripts carry them
(``commands/completion.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TextIO

from sfdeclare.config.loader import CONFIG_SUFFIXES, load_declaration
from sfdeclare.errors import EXIT_OK, SfdeclareError
from sfdeclare.model.addresses import application_name, service_name
from sfdeclare.model.declaration import Declaration

# The options of the commands that take addresses whose next word is their value (tests/test_completion.py
# checks this against the parser).
VALUE_OPTIONS = frozenset(
    {
        "--endpoint",
        "--format",
        "--out",
        "--target",
        "--exclude",
        "--replace",
        "--parallelism",
        "--guardrails",
        "--plan",
        "--report",
        "--report-format",
    }
)


def configuration_paths(words: Sequence[str]) -> list[str]:
    """The configuration files and folders among the words after the command."""
    paths: list[str] = []
    skip = True  # the first word is the command
    after_option = False
    for word in words:
        if skip:
            skip = False
            continue
        if after_option:
            after_option = False
            continue
        if word.startswith("-"):
            after_option = word in VALUE_OPTIONS
            continue
        if os.path.isdir(word) or (word.endswith(CONFIG_SUFFIXES) and os.path.isfile(word)):
            paths.append(word)
    return paths


def addresses(declaration: Declaration) -> Iterator[str]:
    for name in declaration.policies:
        yield f"policy[{name}]"
    for app in declaration.applications.values():
        app_name = application_name(app.name)
        yield f"application[{app_name}]"
        for svc in app.services:
            full = service_name(app_name, svc.name)
            yield f"service[{full}]"
            for part in svc.partitions:
                if part.selector.kind == "id":
                    yield f"partition[{full}/{part.selector.value}]"


def run(argv: Sequence[str], out: TextIO) -> int:
    """``argv``: what follows ``__complete``. Always exits 0 (a completion never fails loudly)."""
    if not argv or argv[0] != "addresses":
        return EXIT_OK
    paths = configuration_paths(argv[1:])
    if not paths:
        return EXIT_OK
    try:
        declaration = load_declaration(paths)
    except (SfdeclareError, OSError):
        return EXIT_OK
    for address in dict.fromkeys(addresses(declaration)):
        out.write(address + "\n")
    return EXIT_OK

"""`sfdeclare show PLANFILE`: render a saved plan for people (text, Markdown) or programs (JSON), with no cluster
access. The file is checked first exactly as ``apply --plan`` checks it (engine/planfile.py: size, JSON, format
version, checksum, schema, requests), so what an approver reads is what apply would execute; a refused file
prints nothing on stdout, changes nothing and exits 1. The text is complete (every effective change, and the
warnings, which ``plan`` writes to stderr): the readable artifact a pipeline keeps next to the plan file.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from sfdeclare.commands.session import read_plan_file
from sfdeclare.engine import planfile
from sfdeclare.errors import EXIT_OK
from sfdeclare.render import markdown, text

FORMATS = ("text", "markdown", "json")
READS = f"Reads plan files of {planfile.versions_read()}."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan_file", metavar="PLANFILE", help="a plan file written by plan --out")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.epilog = f"{parser.epilog} {READS}" if parser.epilog else READS
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    plan_file: str = args.plan_file
    plan = read_plan_file(plan_file)
    if args.format == "json":
        # the document as it was written (a version 1 file stays version 1), now known to be intact
        with open(plan_file, encoding="utf-8") as handle:
            out.write(json.dumps(json.load(handle), indent=2, ensure_ascii=False) + "\n")
    elif args.format == "markdown":
        out.write(markdown.render_plan(plan))
    else:
        out.write(text.render_plan(plan, complete=True))
    return EXIT_OK

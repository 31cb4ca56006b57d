"""`sfdeclare schema`: print a JSON schema the package ships (the configuration's, by default)."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from sfdeclare import schemas
from sfdeclare.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default="sfdeclare", choices=schemas.NAMES)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    out.write(json.dumps(schemas.load(args.name), indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK

"""Argument helpers several commands share: one definition of each option, so ``--help`` reads the same
everywhere and argparse enforces every bound (a command never re-checks one)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_endpoint(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        help="http(s)://host:port or emulator:PATH (overrides SFDECLARE_ENDPOINT and cluster.endpoint)",
    )


def add_parallelism(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument("--parallelism", type=positive_int, default=10, help=help)


def add_targeting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="limit to this address and what it contains (repeatable), e.g. service[fabric:/App/Svc]",
    )
    add_parallelism(parser, "concurrent requests (default 10)")
    parser.add_argument(
        "--refresh-secrets", action="store_true", help="re-send every policy that holds a secret"
    )

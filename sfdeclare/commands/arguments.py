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
    parser.add_argument(
        "--exclude",
        dest="exclude",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="leave out the changes at or inside this address, and those that wait for them (repeatable)",
    )
    parser.add_argument(
        "--replace",
        dest="replace",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="re-send this declared policy or mapping unchanged (repeatable), e.g. policy[Daily]",
    )
    add_parallelism(parser, "concurrent requests (default 10)")
    parser.add_argument(
        "--refresh-secrets", action="store_true", help="re-send every policy that holds a secret"
    )
    add_guardrails(parser)


def add_guardrails(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--guardrails",
        dest="guardrails",
        action="append",
        default=[],
        metavar="FILE",
        help="a guardrails file (repeatable; SFDECLARE_GUARDRAILS names one too): rules only tighten",
    )

"""Guardrails as values: the rules an organisation imposes on every backup configuration, and how rules from
several files combine.

Rules only tighten. A configuration directory loads every YAML file in it, so a pull request could add a file;
whatever that file sets, the strictest value of each rule wins (the highest minimum retention, the shortest
maximum interval, the fewest backups per day, the storage kinds every file allows, a prohibition set anywhere,
backup required wherever any file requires it). Every value keeps the place it was written, so a violation can
name the rule's line. No I/O here: ``config/guardrails.py`` reads the files, ``servicefabric/policy_rules.py`` and
``engine/guardrails.py`` check them.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sfdeclare.errors import Location
from sfdeclare.model.addresses import application_name

T = TypeVar("T")

# The rule names, as written in files and as SARIF rule ids take them (``guardrail/<name>``).
REQUIRE_BACKUP = "require_backup"
MIN_RETENTION = "min_retention"
MAX_INTERVAL = "max_interval"
ALLOWED_STORAGE_KINDS = "allowed_storage_kinds"
NO_CREDENTIALS = "no_credentials"
NO_AUTO_RESTORE = "no_auto_restore"
MAX_BACKUPS_PER_DAY = "max_backups_per_day"
RULES = (
    REQUIRE_BACKUP,
    MIN_RETENTION,
    MAX_INTERVAL,
    ALLOWED_STORAGE_KINDS,
    NO_CREDENTIALS,
    NO_AUTO_RESTORE,
    MAX_BACKUPS_PER_DAY,
)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One rule's value as one file wrote it, and where."""

    value: T
    location: Location | None = None
    text: str | None = None  # the value as written, where messages should echo it (PT24H, not P1D)

    def where(self) -> str:
        return f"{self.location.file}:{self.location.line}" if self.location else "built in"


@dataclass(frozen=True)
class Guardrails:
    """Every rule as every file set it; the accessors answer with the strictest setting.

    ``require_backup`` holds one setting per file that requires backup: ``None`` for every application the run
    reads, or a tuple of application name patterns (``fabric:/Prod*``, fnmatch, case-sensitive).
    ``allowed_storage_kinds`` holds each file's list: a kind is allowed only when every list allows it.
    """

    require_backup: tuple[Setting[tuple[str, ...] | None], ...] = ()
    min_retention: tuple[Setting[datetime.timedelta], ...] = ()
    max_interval: tuple[Setting[datetime.timedelta], ...] = ()
    allowed_storage_kinds: tuple[Setting[frozenset[str]], ...] = ()
    no_credentials: tuple[Setting[bool], ...] = ()
    no_auto_restore: tuple[Setting[bool], ...] = ()
    max_backups_per_day: tuple[Setting[int], ...] = ()

    def tightened(self, other: Guardrails) -> Guardrails:
        """Both sets of rules at once: nothing ``other`` says can loosen a rule of ``self``."""
        return Guardrails(
            require_backup=self.require_backup + other.require_backup,
            min_retention=self.min_retention + other.min_retention,
            max_interval=self.max_interval + other.max_interval,
            allowed_storage_kinds=self.allowed_storage_kinds + other.allowed_storage_kinds,
            no_credentials=self.no_credentials + other.no_credentials,
            no_auto_restore=self.no_auto_restore + other.no_auto_restore,
            max_backups_per_day=self.max_backups_per_day + other.max_backups_per_day,
        )

    def strictest_min_retention(self) -> Setting[datetime.timedelta] | None:
        return max(self.min_retention, key=lambda s: s.value, default=None)

    def strictest_max_interval(self) -> Setting[datetime.timedelta] | None:
        return min(self.max_interval, key=lambda s: s.value, default=None)

    def strictest_max_backups_per_day(self) -> Setting[int] | None:
        return min(self.max_backups_per_day, key=lambda s: s.value, default=None)

    def forbidding_storage_kind(self, kind: str) -> Setting[frozenset[str]] | None:
        """The first file's list that does not allow ``kind`` (None: every list allows it)."""
        return next((s for s in self.allowed_storage_kinds if kind not in s.value), None)

    def prohibition(self, rule: str) -> Setting[bool] | None:
        """``no_credentials`` / ``no_auto_restore``: the first file that sets it true (false loosens nothing)."""
        settings: tuple[Setting[bool], ...] = getattr(self, rule)
        return next((s for s in settings if s.value), None)

    def requiring_backup(self, application: str) -> Setting[tuple[str, ...] | None] | None:
        """The first setting that requires backup in ``application`` (a ``fabric:/`` name), if any."""
        for setting in self.require_backup:
            if setting.value is None or matches_any(application, setting.value):
                return setting
        return None

    def backup_patterns(self) -> tuple[str, ...]:
        """Every application pattern backup is required in (a plan reads the undeclared matching ones)."""
        return tuple(dict.fromkeys(p for s in self.require_backup if s.value is not None for p in s.value))


def normal_pattern(pattern: str) -> str:
    """``Prod*`` and ``fabric:/Prod*`` are one pattern, as application names are."""
    return application_name(pattern)


def matches_any(application: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(application, normal_pattern(p)) for p in patterns)


NO_GUARDRAILS = Guardrails()

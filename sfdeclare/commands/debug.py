"""Whether this run was asked for diagnostics (--debug or SFDECLARE_DEBUG=1); set by the CLI, read by commands."""

from __future__ import annotations

import contextvars

DEBUG: contextvars.ContextVar[bool] = contextvars.ContextVar("sfdeclare_debug", default=False)

"""How a plan's actions are spelled for people: their marks, legend, verbs and field lines (text, Markdown and
GitHub views share them)."""

from __future__ import annotations

from collections.abc import Mapping

from sfdeclare.engine.plan import Action, Change
from sfdeclare.render.common import flatten, value

SYMBOLS: dict[Action, str] = {
    Action.CREATE_POLICY: "+",
    Action.UPDATE_POLICY: "~",
    Action.DELETE_POLICY: "-",
    Action.ENABLE_BACKUP: "+",
    Action.DISABLE_BACKUP: "-",
    Action.SUSPEND_BACKUP: "||",
    Action.RESUME_BACKUP: ">",
}

LEGEND = (
    "Actions are marked:  + create / enable   ~ update / change policy   - disable / delete   "
    "|| suspend   > resume   !! destructive"
)


def symbol(change: Change) -> str:
    if change.action is Action.ENABLE_BACKUP and change.before is not None:
        return "~"
    return SYMBOLS[change.action]


def verb(change: Change) -> str:
    a = change.action
    if a is Action.CREATE_POLICY:
        return "will be created"
    if a is Action.UPDATE_POLICY:
        return "will be updated"
    if a is Action.DELETE_POLICY:
        return "will be deleted"
    if a is Action.ENABLE_BACKUP:
        return f"backup policy {change.before or '(none)'} -> {change.after}"
    if a is Action.DISABLE_BACKUP:
        text = f"backup policy {change.before} -> (none)"
        return text + ", stored backups deleted" if change.destructive else text
    if a is Action.SUSPEND_BACKUP:
        return "backup will be suspended"
    return "backup will be resumed"


def detail_lines(change: Change) -> list[str]:
    """The field lines under an action: every field of a new policy, the differing fields of an update."""
    if change.action is Action.CREATE_POLICY and isinstance(change.after, Mapping):
        return [f"{path} = {value(v)}" for path, v in flatten(change.after)]
    if change.action is Action.UPDATE_POLICY:
        lines = [
            f"{f.path}: {value(f.before)} (kept: sfdeclare does not model it)"
            if f.kept
            else f"{f.path}: {value(f.before)} -> {value(f.after)}"
            for f in change.fields
        ]
        if not any(not f.kept for f in change.fields):
            lines.append("(no field differs: secrets are re-sent)")
        return lines
    return []

"""``python -m sfdeclare``: the same entry point as the installed ``sfdeclare`` command."""

from sfdeclare.cli import run

if __name__ == "__main__":
    run()

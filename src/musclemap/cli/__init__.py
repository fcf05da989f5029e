"""`musclemap` console script. Command modules in this package register on `app` when imported.

Command modules import heavy dependencies (torch, mediapipe, av) inside the commands, so that
`musclemap --help` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from musclemap.cli.app import app
from musclemap.errors import MusclemapError

for _info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    if _info.name.rsplit(".", 1)[-1] != "app":
        importlib.import_module(_info.name)


def main() -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit."""
    try:
        app()
    except MusclemapError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


__all__ = ["app", "main"]

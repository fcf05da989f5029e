"""`musclemap` console script. Command modules in this package register on `app` when imported.

Command modules import heavy dependencies (torch, mediapipe, av) inside the commands, so that
`musclemap --help` stays fast.
"""

from __future__ import annotations

import errno
import importlib
import pkgutil
import sys
from collections.abc import Callable

from musclemap.cli.app import QUICK_EXIT, app, one_line, tolerant_streams
from musclemap.errors import MusclemapError

# Optional dependencies -> the extra that installs them (pyproject.toml).
EXTRAS = {
    "torch": "train",
    "tensorboard": "train",
    "mediapipe": "pose",
    "fastapi": "web",
    "uvicorn": "web",
    "multipart": "web",
}

for _info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    if _info.name.rsplit(".", 1)[-1] != "app":
        importlib.import_module(_info.name)


def main(command: Callable[[], None] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit. `command`: an
    already parsed command to run instead of parsing `sys.argv` (the console script's
    `direct_predict`)."""
    QUICK_EXIT["ok"] = False
    tolerant_streams()
    try:
        if command is None:
            app()
        else:
            command()
    except MusclemapError as err:
        print(f"error: {one_line(str(err))}", file=sys.stderr)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except OSError as err:
        # A name too long for the file system: Path.exists / is_file raise it (ENAMETOOLONG)
        # wherever a command first looks at a path it was given, a traceback in every command.
        if err.errno != errno.ENAMETOOLONG:
            raise
        name = str(err.filename or "")
        shown = name if len(name) <= 80 else f"{name[:40]}...{name[-30:]} ({len(name)} characters)"
        print(f"error: {one_line(shown)}: file name too long for the file system", file=sys.stderr)
        sys.exit(1)
    except SystemExit as exc:
        if exc.code == 130:  # typer's own Ctrl-C exit says nothing
            print("interrupted", file=sys.stderr)
        raise
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in EXTRAS:
            raise
        print(
            f"error: this command needs {top}, which is not installed: "
            f"pip install 'musclemap[{EXTRAS[top]}]'",
            file=sys.stderr,
        )
        sys.exit(1)


__all__ = ["app", "main"]

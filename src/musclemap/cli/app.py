"""The root Typer app; command modules under `musclemap.cli` register on it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="musclemap",
    help="Video-based Activated Muscle Group Estimation: which muscle groups work, how and when.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(
    help="Dataset manifests: import, validate, split, extract poses.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

# Set by a command whose work is all written out and flushed when it returns (predict): the
# console script (`musclemap.cli.entry`) then leaves without the interpreter's teardown of
# MediaPipe, PyAV and numpy (~0.1 s of a 2.4 s predict).
QUICK_EXIT = {"ok": False}

"""The root Typer app; command modules under `musclemap.cli` register on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

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

# "ok": set by a command whose work is all written out and flushed when it returns (predict,
# train; `work_written`): the console script (`musclemap.__main__.entry`, which sets "console")
# then leaves without the interpreter's teardown of MediaPipe, PyAV, numpy or torch (~0.1 s of a
# 2.4 s predict, ~0.3 s after a train).
QUICK_EXIT = {"ok": False, "console": False}


def work_written() -> None:
    """Say that the command's work is all written: under the console script a Ctrl-C from here
    on is ignored (it could only turn a finished run's exit into the signal's, with a traceback
    or no line at all), and the process leaves without the interpreter's teardown."""
    QUICK_EXIT["ok"] = True
    if QUICK_EXIT["console"]:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


class StdoutConsole(Console):
    """Standard output's console for the commands. When its reader has gone (`musclemap
    predict clip --json r.json | head`) the rest of what would be printed is dropped and the
    command goes on (the files asked for are still written, exit 0): rich's default left at
    once with exit 1, saying nothing, before predict had written its JSON."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def file_option(value: str) -> Path:
    """A file output option's value as given: a name ending in a path separator means a
    folder, which pathlib would silently turn into a file of that name (`--json out/new/` wrote
    a file `out/new`); a usage error instead."""
    if value.endswith(("/", os.sep)):
        raise typer.BadParameter(f"{value!r} ends with '/', a folder; give a file name")
    return Path(value)


def one_line(text: str) -> str:
    """`text` with control characters written as escapes (a newline as \\n): a file name with
    a newline or a tab split the one error line in two."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def tolerant_streams() -> None:
    """Characters the terminal's encoding cannot show are written as escapes: a file name
    such as `ütf 名前.mp4` on a Latin-1 or ASCII terminal (LC_ALL=C with PYTHONIOENCODING)
    was a UnicodeEncodeError traceback from the table, after the whole prediction."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            reconfigure(errors="backslashreplace")

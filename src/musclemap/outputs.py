"""Writing the user's output files: never over one of the command's inputs, never half-written
(a kill or Ctrl-C leaves the old file or none), and a failed write (disk full, /dev/full, a
vanished folder) is one clear line, not a traceback."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from musclemap.errors import MusclemapError


def resolved(path: str | os.PathLike[str]) -> Path:
    """The absolute, symlink-free path; a symlink loop (which `Path.resolve` raises on) or an
    unreadable folder leaves the absolute, normalised path instead."""
    try:
        return Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(os.path.normpath(Path(path).expanduser().absolute()))


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file (also through symlinks, hard links and `..`)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them does not exist (yet)
        return resolved(a) == resolved(b)


def refuse_inputs(
    path: Path | None, what: str, inputs: Iterable[tuple[str, str | os.PathLike[str] | None]]
) -> None:
    """MusclemapError when the output `path` is one of the inputs, given as (what, path) pairs:
    writing it would destroy the input (`predict x.mp4 --json x.mp4` replaced the video)."""
    if path is not None:
        InputFiles(inputs).refuse(path, what)


def clip_inputs(rows: Iterable[Any], manifest: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """(what, path) input pairs for the clips of manifest rows (`ManifestRow`) and their pose
    (`skeleton`) and `flow` files, named with their CSV line: an output of `data split`,
    `baseline` or `evaluate` that is one of them would replace a file of the data set
    (`evaluate --json clips/a.npz` replaced a pose file with the table)."""
    pairs = []
    for r in rows:
        pairs.append((f"clip of {manifest} (line {r.line})", Path(r.clip)))
        for kind in ("skeleton", "flow"):
            if getattr(r, kind, None) is not None:
                pairs.append((f"{kind} file of {manifest} (line {r.line})", Path(getattr(r, kind))))
    return pairs


class InputFiles:
    """Inputs looked up once, for the outputs checked against them: an output is refused when
    `same_file` matches one of them (the first in order is named). Indexed by inode and
    resolved path rather than compared pair by pair (a 20-video batch's 21 outputs: 420
    pairs, 28 ms; quadratic)."""

    def __init__(self, inputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
        self.names: list[str] = []
        self.by_id: dict[tuple[int, int], int] = {}  # (device, inode) of an existing input
        self.by_path: dict[Path, int] = {}  # `resolved` path of any input
        self.missing: dict[Path, int] = {}  # `resolved` path of an input that cannot be stat'ed
        for name, source in inputs:
            if source is None:
                continue
            i = len(self.names)
            self.names.append(name)
            key = resolved(source)
            self.by_path.setdefault(key, i)
            st = _stat(source)
            if st is None:
                self.missing.setdefault(key, i)
            else:
                self.by_id.setdefault((st.st_dev, st.st_ino), i)

    def refuse(self, path: Path | None, what: str) -> None:
        """MusclemapError when the output `path` is one of the inputs (`refuse_inputs`)."""
        if path is None:
            return
        st = _stat(path)
        if st is None:  # `same_file` compares the resolved paths with every input
            hits = [self.by_path.get(resolved(path))]
        else:  # with an existing input its inode, with a missing one the resolved paths
            hits = [self.by_id.get((st.st_dev, st.st_ino)), self.missing.get(resolved(path))]
        found = [i for i in hits if i is not None]
        if found:
            raise MusclemapError(
                f"{what} {path}: is also the {self.names[min(found)]}; writing it would destroy "
                "that input (pick another name)"
            )


def _stat(path: str | os.PathLike[str]) -> os.stat_result | None:
    """`os.stat` as `os.path.samefile` calls it, or None where `same_file` falls back."""
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def write_error(path: Path, what: str, err: OSError) -> MusclemapError:
    reason = err.strerror or str(err) or type(err).__name__
    return MusclemapError(f"{what} {path}: cannot write ({reason})")


@contextmanager
def atomic_path(path: str | os.PathLike[str], what: str = "output") -> Iterator[Path]:
    """A temporary path beside `path`, with its suffix (renderers pick the format from it), to
    write to; it replaces `path` (os.replace) only when the block ends without error and is
    removed otherwise (KeyboardInterrupt included), so `path` is never left half-written.

    An existing `path` that is a symlink or not a regular file (/dev/stdout, a FIFO, /dev/full)
    is written in place, through the link: renaming over it would replace the link or device
    node itself (`--json /dev/stdout > out.txt` would have replaced /dev/stdout). An OSError in
    the block or the rename becomes a MusclemapError naming `what` and `path`.
    """
    path = Path(path)
    if path.is_dir():
        raise MusclemapError(f"{what} {path}: is a folder, expected a file name; nothing written")
    base = path.absolute().parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise MusclemapError(f"{what} {path}: {base} is a file, not a folder; nothing written")
    direct = path.is_symlink() or (path.exists() and not path.is_file())
    # The stem is cut so that a long (still valid) name never makes a too-long temporary one.
    tmp = path.with_name(f".{path.stem[:40]}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    tmp = path if direct else tmp
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if not direct:
            os.replace(tmp, path)
    except OSError as err:
        raise write_error(path, what, err) from None
    finally:
        if not direct and tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike[str], text: str, what: str = "output") -> None:
    """`text` (UTF-8) to `path` through `atomic_path`."""
    with atomic_path(path, what) as tmp:
        tmp.write_text(text, encoding="utf-8")


def refuse_dash(path: str | os.PathLike[str], what: str) -> None:
    """MusclemapError for the path `-`: many tools read it as standard output, here it was a
    file named `-` in the working folder, written without a word (`predict --json -`)."""
    if str(path) == "-":
        raise MusclemapError(
            f"{what} -: '-' would be a file named '-', not standard output; give a file name "
            "(or /dev/stdout)"
        )


def check_folder(path: str | os.PathLike[str], what: str = "output folder") -> None:
    """MusclemapError now, before any work, unless the folder `path` exists or can be made, and
    can be written: tried for real with a temporary file in the nearest existing folder
    (permission bits say nothing for root, /proc or a read-only mount)."""
    refuse_dash(path, what)
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise MusclemapError(f"{what} {path}: is a file, expected a folder")
    base = folder.absolute()
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise MusclemapError(f"{what} {path}: {base} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as err:
        raise MusclemapError(f"{what} {path}: cannot write there ({err.strerror or err})") from None


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_target(path: Path, what: str) -> Path:
    """Raise `MusclemapError` when the file `path` cannot be written as it stands: a folder,
    a file that is not writable or marked read-only (os.access says yes to root, and the
    rename of `atomic_path` needs only the folder: such a file was replaced all the same), or a
    dangling link into a missing folder (`atomic_path` writes through links). Returns the
    folder the file will be written in (for `check_writable`'s probe); no file is made, so
    batch mode checks each of its planned files with it cheaply."""
    if path.is_dir():
        raise MusclemapError(f"{what} {path}: is a folder, expected a file name")
    if path.is_file() and not os.access(path, os.W_OK):
        raise MusclemapError(f"{what} {path}: file is not writable")
    if path.is_file() and not path.stat().st_mode & 0o222:
        raise MusclemapError(f"{what} {path}: file is read-only; nothing written")
    if path.is_symlink() and not path.exists():
        target = Path(os.path.realpath(path))
        if not target.parent.is_dir():
            raise MusclemapError(f"{what} {path}: a link to {target}, whose folder does not exist")
        return target.parent
    return _nearest_existing(path.parent)


def check_writable(path: Path, what: str, *, folder: bool = False) -> None:
    """Raise `MusclemapError` unless `path` (a file, or a folder with `folder`) can be created
    and written: `check_target` for a file, then a file created and removed in the nearest
    existing folder, which catches read-only folders, a path under a file, and /proc or /sys;
    `-` is refused (`refuse_dash`)."""
    refuse_dash(path, what)
    try:
        if folder:
            if path.exists() and not path.is_dir():
                raise MusclemapError(f"{what} {path}: is a file, expected a folder")
            base = _nearest_existing(path)
        else:
            base = check_target(path, what)
        if not base.is_dir():
            raise MusclemapError(f"{what} {path}: {base} is a file, not a folder")
        fd, probe = tempfile.mkstemp(dir=base, prefix=".musclemap-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise MusclemapError(f"{what} {path}: cannot write there ({reason})") from None

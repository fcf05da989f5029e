"""Importers that turn other dataset layouts into a musclemap manifest."""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musclemap.data.manifest import ManifestRow
from musclemap.errors import DatasetError
from musclemap.taxonomy import NUM_GROUPS

# The original release (PySlowFast-based MuscleMap code) has one pair of pickles per split: a
# list of video paths and, aligned with it, a list of muscle-index lists (0-19). Its split names
# say seen/unseen where musclemap says known/new.
RELEASE_SPLITS = {
    "train": "train",
    "val_seen": "val_known",
    "val_unseen": "val_new",
    "test_seen": "test_known",
    "test_unseen": "test_new",
}
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def _find_pickle(root: Path, split: str, kind: str) -> Path:
    """The pickle in `root` whose name holds the split name and 'video'/'label' (e.g.
    `val_seen_videos.pkl`, `test_unseen_label_list.pkl`)."""
    pattern = re.compile(rf"(^|[^a-z]){split}([^a-z]|$)", re.IGNORECASE)
    hits = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and pattern.search(p.name) and kind in p.name.lower()
    ]
    if len(hits) != 1:
        found = ", ".join(p.name for p in hits) or "none"
        raise DatasetError(
            f"expected one {kind} pickle for split {split!r} in {root} (found: {found})"
        )
    return hits[0]


# What the release's pickles hold besides lists, strings and numbers: numpy arrays and scalars.
# Rebuilding those runs no code; any other global (a function, a class) is refused.
_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"holds {module}.{name}, not plain data (refused)")


def _load_pickle(path: Path) -> list:
    try:
        with path.open("rb") as fh:
            data = _DataUnpickler(fh).load()
    except Exception as err:  # unpickling raises many types
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"cannot read {path}: {reason}") from None
    if not isinstance(data, list | tuple):
        raise DatasetError(f"{path}: expected a list, got {type(data).__name__}")
    return list(data)


def activity_from_path(path: str, mode: str = "parent") -> str:
    """Activity name from a clip path: its folder (`parent`) or the file-name prefix (`stem`)."""
    p = Path(path)
    if mode == "parent":
        return p.parent.name
    return re.split(r"__|[-_ ]?\d+$", p.stem)[0]


def import_release(
    root: str | Path,
    *,
    video_root: str | Path | None = None,
    activity_from: str = "parent",
    splits: Sequence[str] = tuple(RELEASE_SPLITS),
) -> list[ManifestRow]:
    """Rows from the original MuscleMap release layout (see RELEASE_SPLITS).

    Args:
        root: folder holding the pickles.
        video_root: prefix for relative video paths (default: `root`).
        activity_from: how to name the activity of a clip: its parent folder or its file stem.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"not a folder: {root}")
    base = Path(video_root) if video_root else root
    rows: list[ManifestRow] = []
    for split in splits:
        videos = _load_pickle(_find_pickle(root, split, "video"))
        labels = _load_pickle(_find_pickle(root, split, "label"))
        if len(videos) != len(labels):
            raise DatasetError(f"split {split}: {len(videos)} videos but {len(labels)} label lists")
        for i, (video, idx) in enumerate(zip(videos, labels, strict=True)):
            multi_hot = np.zeros(NUM_GROUPS, dtype=np.float32)
            for j in idx if isinstance(idx, list | tuple | np.ndarray) else [idx]:
                if not (isinstance(j, int | np.integer) and 0 <= int(j) < NUM_GROUPS):
                    raise DatasetError(
                        f"split {split}, clip {i} ({video}): muscle index {j!r} outside "
                        f"0-{NUM_GROUPS - 1}"
                    )
                multi_hot[int(j)] = 1.0
            path = Path(str(video))
            rows.append(
                ManifestRow(
                    clip=path if path.is_absolute() else (base / path).resolve(),
                    activity=activity_from_path(str(video), activity_from),
                    split=RELEASE_SPLITS[split],
                    labels=multi_hot,
                    clip_id=str(video),
                )
            )
    return rows


def import_folder(folder: str | Path, *, recursive: bool = True) -> list[ManifestRow]:
    """Rows for every video in a folder whose file name starts with its activity
    (`push_up__gym__1.mp4`, `squat-3.mp4`, `jumping_jack_12.mov`). Labels come from the knowledge
    base; an activity it does not know is an error naming the files."""
    from musclemap.activities import find_activity

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"not a folder: {folder}")
    files = sorted(
        p
        for p in (folder.rglob("*") if recursive else folder.iterdir())
        if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
    )
    if not files:
        raise DatasetError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {folder}")
    rows, unknown = [], []
    for f in files:
        name = activity_from_path(f.name, "stem")
        activity = find_activity(name)
        if activity is None:
            unknown.append(f.name)
            continue
        rows.append(
            ManifestRow(
                clip=f.resolve(), activity=activity.name, split="", labels=activity.labels()
            )
        )
    if unknown:
        raise DatasetError(
            f"{len(unknown)} file(s) start with no known activity, e.g. {unknown[0]}"
            " (see `musclemap activities --list`)"
        )
    return rows

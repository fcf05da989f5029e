"""Importers that turn other dataset layouts into a musclemap manifest."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musclemap.activities.library import FEDB_SOURCE, exercise_slug
from musclemap.data import VIDEO_SUFFIXES
from musclemap.data.benchmarks import BENCHMARKS, snake_case
from musclemap.data.manifest import ManifestRow
from musclemap.data.validate import KEYPOSE_PHOTOS
from musclemap.errors import DatasetError
from musclemap.taxonomy import (
    NUM_GROUPS,
    describe_unknown_term,
    find_muscle_term,
    groups_for_terms,
    to_multi_hot,
    working_groups,
)

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
    benchmark: str = "release",
) -> list[ManifestRow]:
    """Rows from the original MuscleMap release layout (see RELEASE_SPLITS).

    Args:
        root: folder holding the pickles.
        video_root: prefix for relative video paths (default: `root`).
        activity_from: MuscleMap136: name a clip's activity by its parent folder or file stem.
        benchmark: `release` (MuscleMap136), `muscle-ucf90` or `muscle-hmdb41` (same format;
            activity = the clip's UCF101/HMDB51 class in snake_case, see data/benchmarks.py).

    Raises:
        DatasetError: missing or unreadable pickles, misaligned lists, indices outside 0-19, or
            (companions) clips whose source class cannot be read from the path, all counted.
    """
    if benchmark not in BENCHMARKS:
        raise DatasetError(f"unknown benchmark {benchmark!r}; valid: {', '.join(BENCHMARKS)}")
    bench = BENCHMARKS[benchmark]
    if activity_from not in ("parent", "stem"):  # anything else named activities by stem
        raise DatasetError(f"--activity-from must be 'parent' or 'stem', got {activity_from!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"not a folder: {root}")
    if video_root is not None and Path(video_root).exists() and not Path(video_root).is_dir():
        # Relative clip paths under a file name no video (each row then a missing file).
        raise DatasetError(f"--video-root {video_root}: is a file, expected a folder")
    base = Path(video_root) if video_root else root
    rows: list[ManifestRow] = []
    unnamed: list[str] = []
    for split in splits:
        videos = _load_pickle(_find_pickle(root, split, "video"))
        labels = _load_pickle(_find_pickle(root, split, "label"))
        if len(videos) != len(labels):
            raise DatasetError(f"split {split}: {len(videos)} videos but {len(labels)} label lists")
        for i, (video, idx) in enumerate(zip(videos, labels, strict=True)):
            multi_hot = np.zeros(NUM_GROUPS, dtype=np.float32)
            for j in idx if isinstance(idx, list | tuple | np.ndarray) else [idx]:
                # bool is an int: a pickled True was read as group 1 (shoulder).
                ok = isinstance(j, int | np.integer) and not isinstance(j, bool)
                if not (ok and 0 <= int(j) < NUM_GROUPS):
                    raise DatasetError(
                        f"split {split}, clip {i} ({video}): muscle index {j!r} outside "
                        f"0-{NUM_GROUPS - 1}"
                    )
                multi_hot[int(j)] = 1.0
            extra = {"dataset": bench.title}
            if bench.source_class is None:
                activity = activity_from_path(str(video), activity_from)
            else:
                source_class = bench.source_class(str(video))
                if source_class is None:
                    unnamed.append(str(video))
                    continue
                activity = snake_case(source_class)
                extra["source_class"] = source_class
            path = Path(str(video))
            rows.append(
                ManifestRow(
                    clip=path if path.is_absolute() else (base / path).resolve(),
                    activity=activity,
                    split=RELEASE_SPLITS[split],
                    labels=multi_hot,
                    extra=extra,
                    clip_id=str(video),
                )
            )
    if unnamed:
        raise DatasetError(
            f"{len(unnamed)} clip(s) of {bench.title} name no {bench.source} class in their "
            f"path, e.g. {', '.join(unnamed[:3])}"
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
    named = [
        p
        for p in (folder.rglob("*") if recursive else folder.iterdir())
        if p.suffix.lower() in VIDEO_SUFFIXES
    ]
    # A link to nothing (a dropped git-annex file, a symlink loop) was left out of the
    # manifest without a word.
    broken = sorted(p for p in named if p.is_symlink() and not p.exists())
    if broken:
        from musclemap.textfile import missing_reason

        raise DatasetError(
            f"{len(broken)} video file(s) cannot be read, e.g. {broken[0]}: "
            f"{missing_reason(broken[0])}"
        )
    files = sorted(p for p in named if p.is_file())
    if not files:
        raise DatasetError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {folder}")
    rows, unknown = [], []
    for f in files:
        name = activity_from_path(f.name, "stem")
        activity = find_activity(name)
        if activity is None or not activity.groups:  # unknown, or a stretch of the library
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


# The Free Exercise DB (github.com/yuhonas/free-exercise-db): exercises.json + images/<id>/*.jpg.
FEDB_STRETCH_CATEGORY = "stretching"
_FEDB_FIELDS = ("id", "name", "category", "primaryMuscles", "secondaryMuscles")


@dataclass
class FreeExerciseImport:
    """Rows of a Free Exercise DB import and what was left out."""

    rows: list[ManifestRow]
    stretches_left_out: int


def _record_problem(exercise: dict) -> str:
    """What is wrong with a record's fields ("" if nothing)."""
    missing = [k for k in _FEDB_FIELDS if k not in exercise]
    if missing:
        return f"lacks {', '.join(missing)}"
    ident = exercise["id"]
    # The id names the record's photo folder (images/<id>/): `../../x` pointed outside it.
    if not isinstance(ident, str) or not exercise_slug(ident) or "/" in ident or "\\" in ident:
        shown = ident if not isinstance(ident, str) or len(ident) <= 60 else ident[:60] + "..."
        return f"id {shown!r} is not a name"
    # The category decides the stretch rule: a null or a list there would be taken for work.
    if not isinstance(exercise["category"], str) or not exercise["category"].strip():
        return f"category {exercise['category']!r} is not a word"
    for key in ("primaryMuscles", "secondaryMuscles"):
        value = exercise[key]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            return f"{key} is not a list of words"
    return "" if exercise["primaryMuscles"] else "has no primaryMuscles"


def _read_exercises(root: Path) -> list[dict]:
    path = root / "exercises.json"
    try:
        data = json.loads(path.read_text("utf-8-sig"))  # a BOM (Windows editors) is fine
    except (OSError, ValueError) as err:
        raise DatasetError(f"cannot read {path}: {err}") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise DatasetError(f"{path}: expected a list of exercise records")
    return data


def _fedb_row(exercise: dict, root: Path, groups: tuple[str, ...], kind: str) -> ManifestRow:
    text = {k: "" if exercise.get(k) is None else str(exercise[k]) for k in ("force", "mechanic")}
    stretch = kind == "stretch"
    return ManifestRow(
        clip=(root / "images" / exercise["id"]).resolve(),
        activity=exercise_slug(exercise["id"]),
        split="",
        labels=to_multi_hot(groups),
        extra={
            "source": FEDB_SOURCE,
            "name": str(exercise["name"]),
            "category": str(exercise["category"]),
            **text,
            "equipment": str(exercise.get("equipment") or ""),
            "level": str(exercise.get("level") or ""),
            "primary_muscles": ";".join(exercise["primaryMuscles"]),
            "secondary_muscles": ";".join(exercise["secondaryMuscles"]),
            "kind": kind,
            **({"stretched": ";".join(groups)} if stretch else {}),
        },
    )


def import_free_exercise_db(
    root: str | Path, *, include_stretches: bool = False
) -> FreeExerciseImport:
    """Rows from a Free Exercise DB folder: one per exercise, the clip being its photo folder.

    Labels are primaryMuscles + secondaryMuscles through the taxonomy's muscle-term vocabulary,
    plus the groups the primary ones imply (`taxonomy.working_groups`: a calf raise works
    feet_ankles, a shoulder press upper_back, as the knowledge base and the wild clips say).
    Stretches (category `stretching`) list the muscles they stretch, not working ones: they are
    left out unless `include_stretches`, and then have kind `stretch` and a `stretched` column
    (equal to their labels) so that a working-muscle model can drop them.

    Raises:
        DatasetError: exercises.json unreadable, or every problem at once (bad records, missing
            photos, unknown muscle terms) with counts.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"not a folder: {root}")
    problems: dict[str, list[str]] = {}
    rows: list[ManifestRow] = []
    stretches = 0
    seen: dict[str, str] = {}  # activity slug -> id
    for i, exercise in enumerate(_read_exercises(root)):
        why = _record_problem(exercise)
        if why:
            problems.setdefault("bad record", []).append(f"#{i} {why}")
            continue
        slug = exercise_slug(exercise["id"])
        if slug in seen:  # two records, one activity: ambiguous labels
            problems.setdefault("duplicate exercise", []).append(
                f"{exercise['id']} (activity {slug} already used by {seen[slug]})"
            )
            continue
        seen[slug] = exercise["id"]
        photos = [f"{exercise['id']}/{p}" for p in KEYPOSE_PHOTOS]
        absent = [p for p in photos if not (root / "images" / p).is_file()]
        problems.setdefault("missing photo", []).extend(absent)
        terms = [*exercise["primaryMuscles"], *exercise["secondaryMuscles"]]
        bad = [t for t in terms if find_muscle_term(t) is None]
        problems.setdefault("unknown muscle term", []).extend(
            f"{describe_unknown_term(t)} in {exercise['id']}" for t in bad
        )
        stretch = exercise["category"] == FEDB_STRETCH_CATEGORY
        stretches += stretch
        if absent or bad or (stretch and not include_stretches):
            continue
        # A stretch lists the muscles it stretches; a working exercise's primary muscles bring
        # their partners (taxonomy.PRIME_MOVER_PARTNERS: calves -> feet_ankles, shoulder ->
        # upper_back), as the knowledge base's activities list them.
        groups = (groups_for_terms(terms) if stretch else
                  working_groups(exercise["primaryMuscles"], exercise["secondaryMuscles"]))
        rows.append(_fedb_row(exercise, root, groups, "stretch" if stretch else "work"))
    problems = {k: v for k, v in problems.items() if v}
    if problems:
        total = sum(len(v) for v in problems.values())
        raise DatasetError(
            f"{root}: {total} problem(s): "
            + "; ".join(
                f"{kind} {len(v)} (e.g. {', '.join(v[:3])})" for kind, v in problems.items()
            )
        )
    if not rows:  # "wrote 0 clips" and exit 0 for an empty exercises.json
        raise DatasetError(
            f"{root}/exercises.json: no exercises" if not stretches else
            f"{root}: all {stretches} exercise(s) are stretches, left out (their listed muscles "
            "are stretched, not working); --include-stretches writes them with kind=stretch"
        )
    return FreeExerciseImport(rows, 0 if include_stretches else stretches)

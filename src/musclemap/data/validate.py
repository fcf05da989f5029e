"""`musclemap data validate`: every problem of a manifest at once, grouped with counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from musclemap.data.manifest import ManifestRow, Problem, parse_manifest
from musclemap.data.video_io import probe
from musclemap.errors import DatasetError, VideoError

# An image-folder clip (e.g. `data import --layout free-exercise-db`) holds the photos of two key
# positions of the movement.
KEYPOSE_PHOTOS = ("0.jpg", "1.jpg")


@dataclass
class ValidationReport:
    rows: list[ManifestRow]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        return dict(Counter(p.kind for p in self.problems))

    def split_counts(self) -> dict[str, int]:
        return dict(Counter(r.split or "(none)" for r in self.rows))


def video_readable(path: Path) -> str | None:
    """None when the video decoder (`data.video_io.probe`) opens the file and decodes a first
    frame, else the reason."""
    try:
        probe(path)
    except VideoError as err:
        return str(err).removeprefix(f"{path}: ")[:120]
    return None


def image_readable(path: Path) -> str | None:
    """None when Pillow decodes the image, else the reason."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
        return None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        return str(err).splitlines()[0][:120]


def photo_folder_problems(
    folder: Path, clip_id: str, *, decode: bool, line: int = 0
) -> list[Problem]:
    """Problems of an image-folder clip: it must hold its two key-pose photos (0.jpg, 1.jpg)."""
    problems = []
    for name in KEYPOSE_PHOTOS:
        photo = folder / name
        if not photo.is_file():
            problems.append(Problem("missing file", line, f"{clip_id}/{name}"))
        elif decode and (why := image_readable(photo)) is not None:
            problems.append(Problem("unreadable file", line, f"{clip_id}/{name}: {why}"))
    return problems


def _pose_problem(path: Path) -> str | None:
    """Why a pose file cannot be used (`load_pose_file`'s message), else None."""
    from musclemap.data.pose_sequence import load_pose_file

    try:
        load_pose_file(path)
    except DatasetError as err:
        return str(err)
    return None


def validate_manifest(
    path: str | Path,
    *,
    decode: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Check files, activities, labels, splits, leakage and duplicates; never stops early.

    Every problem carries the CSV line of its row (header = 1).
    """
    rows, problems = parse_manifest(path)  # rows, labels, duplicates, leaks
    report = ValidationReport(rows, problems)
    checked: set[Path] = set()
    for i, row in enumerate(rows):
        if progress:
            progress(i, len(rows))
        if row.clip in checked:  # a duplicate row (reported by parse_manifest)
            continue
        checked.add(row.clip)
        if row.clip.is_dir():  # a key-pose clip: a folder holding its photos
            report.problems += photo_folder_problems(
                row.clip, row.clip_id, decode=decode, line=row.line
            )
        elif not row.clip.is_file():
            report.problems.append(Problem("missing file", row.line, row.clip_id))
        elif decode and (why := video_readable(row.clip)) is not None:
            report.problems.append(Problem("unreadable file", row.line, f"{row.clip_id}: {why}"))
        for kind, p in (("skeleton", row.skeleton), ("flow", row.flow)):
            if p is not None and not p.is_file():
                report.problems.append(Problem(f"missing {kind} file", row.line, str(p)))
            elif kind == "skeleton" and p is not None and (why := _pose_problem(p)):
                # NaN / inf landmarks, a torn file: training and evaluate refuse it later.
                report.problems.append(Problem("unreadable skeleton file", row.line, why))
    report.problems.sort(key=lambda p: p.line)
    return report

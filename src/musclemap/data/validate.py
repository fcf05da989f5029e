"""`musclemap data validate`: every problem of a manifest at once, grouped with counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from musclemap.data.manifest import ManifestRow, Problem, parse_manifest

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
    """None when PyAV opens the file and decodes a first video frame, else the reason."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "no video stream"
            for _ in container.decode(video=0):
                return None
            return "no frames"
    except (av.error.FFmpegError, OSError, ValueError) as err:
        return str(err).splitlines()[0][:120]


def image_readable(path: Path) -> str | None:
    """None when Pillow decodes the image, else the reason."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
        return None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        return str(err).splitlines()[0][:120]


def photo_folder_problems(folder: Path, clip_id: str, *, decode: bool) -> list[Problem]:
    """Problems of an image-folder clip: it must hold its two key-pose photos (0.jpg, 1.jpg)."""
    problems = []
    for name in KEYPOSE_PHOTOS:
        photo = folder / name
        if not photo.is_file():
            problems.append(Problem("missing file", 0, f"{clip_id}/{name}"))
        elif decode and (why := image_readable(photo)) is not None:
            problems.append(Problem("unreadable file", 0, f"{clip_id}/{name}: {why}"))
    return problems


def validate_manifest(
    path: str | Path,
    *,
    decode: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Check files, activities, labels, splits, leakage and duplicates; never stops early."""
    rows, problems = parse_manifest(path)
    report = ValidationReport(rows, problems)
    seen: dict[Path, int] = {}
    for i, row in enumerate(rows):
        if progress:
            progress(i, len(rows))
        if row.clip in seen:
            report.problems.append(
                Problem("duplicate clip", 0, f"{row.clip_id} (rows {seen[row.clip]} and {i + 1})")
            )
            continue
        seen[row.clip] = i + 1
        if row.clip.is_dir():  # a key-pose clip: a folder holding its photos
            report.problems += photo_folder_problems(row.clip, row.clip_id, decode=decode)
        elif not row.clip.is_file():
            report.problems.append(Problem("missing file", 0, row.clip_id))
        elif decode and (why := video_readable(row.clip)) is not None:
            report.problems.append(Problem("unreadable file", 0, f"{row.clip_id}: {why}"))
        for kind, p in (("skeleton", row.skeleton), ("flow", row.flow)):
            if p is not None and not p.is_file():
                report.problems.append(Problem(f"missing {kind} file", 0, str(p)))
    splits_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        splits_of[row.activity].add(row.split)
    for activity, splits in sorted(splits_of.items()):
        if "train" in splits and splits & {"val_new", "test_new"}:
            report.problems.append(
                Problem(
                    "activity in train and a new split",
                    0,
                    f"{activity} ({', '.join(sorted(splits))})",
                )
            )
    return report

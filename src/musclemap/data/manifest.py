"""The AMGE manifest: one CSV format for any dataset.

Columns: `clip` (video path, relative to the manifest's folder or absolute), `activity`, `split`
(train, val_known, val_new, test_known, test_new, or empty before splitting), optional `labels`
(semicolon-separated group ids; when absent or empty they come from the activity knowledge base),
optional modality paths `skeleton` and `flow`; any other column is kept as provenance.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.errors import DatasetError, VideoError
from musclemap.outputs import atomic_path, resolved
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS
from musclemap.textfile import csv_records, format_lines

SPLITS = ("train", "val_known", "val_new", "test_known", "test_new")
CORE_COLUMNS = ("clip", "activity", "split", "labels", "skeleton", "flow")


@dataclass
class ManifestRow:
    clip: Path  # absolute
    activity: str
    split: str
    labels: np.ndarray  # (20,) float32 multi-hot
    skeleton: Path | None = None
    flow: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
    clip_id: str = ""  # the clip as written in the manifest: the key of prediction files
    line: int = 0  # CSV line number of the row in its manifest (header = 1); 0 when generated

    def __post_init__(self) -> None:
        if not self.clip_id:
            self.clip_id = str(self.clip)


@dataclass
class Problem:
    kind: str  # e.g. "missing file", "unknown activity", "label out of range"
    line: int  # CSV line number (header = 1); 0 when not tied to one line
    detail: str


def parse_labels(text: str) -> tuple[np.ndarray, list[str]]:
    """Multi-hot labels from `id;id;...` (group ids, or indices 0-19); returns (labels, errors)."""
    labels = np.zeros(NUM_GROUPS, dtype=np.float32)
    errors = []
    for token in (t.strip() for t in text.split(";")):
        if not token:
            continue
        if re.fullmatch(r"-?[0-9]+", token):  # str.isdigit takes "²" and "--1", int() not
            idx = int(token)
            if 0 <= idx < NUM_GROUPS:
                labels[idx] = 1.0
            else:
                errors.append(f"label index {idx} outside 0-{NUM_GROUPS - 1}")
        elif token in GROUP_IDS:
            labels[GROUP_IDS.index(token)] = 1.0
        else:
            errors.append(f"unknown muscle group {token!r}")
    return labels, errors


def format_labels(labels: np.ndarray) -> str:
    return ";".join(GROUP_IDS[i] for i in np.flatnonzero(np.asarray(labels) > 0))


def _resolve(base: Path, value: str) -> Path:
    # Absolute paths are resolved too, so that `/d/../d/a.mp4` is found a duplicate of
    # `/d/a.mp4`; a symlink loop is kept as written (it fails as a missing file, not a traceback).
    return resolved(base / Path(value).expanduser())


def _activity_labels(activity: str) -> np.ndarray | None:
    from musclemap.activities import find_activity  # the knowledge base (lazy: data file)

    found = find_activity(activity)
    # A library stretch has no working groups: no labels to give (see docs/activities.md).
    return None if found is None or not found.groups else found.labels()


def _duplicate_problems(rows: Sequence[ManifestRow]) -> list[Problem]:
    """Rows naming the same file: identical repeats, or conflicting ones (other labels)."""
    first: dict[Path, ManifestRow] = {}
    problems = []
    for row in rows:
        seen = first.setdefault(row.clip, row)
        if seen is row:
            continue
        same = same_clip_content(seen, row)
        problems.append(
            Problem(
                "duplicate clip" if same else "conflicting duplicate clip",
                row.line,
                f"{row.clip_id} (also line {seen.line}"
                + ("" if same else f": {describe_row(seen)} vs {describe_row(row)}")
                + ")",
            )
        )
    return problems


def _leak_problems(rows: Sequence[ManifestRow]) -> list[Problem]:
    """Activities that are both trained on and held out as "new" (the protocol's leak)."""
    splits_of: dict[str, set[str]] = defaultdict(set)
    first_new: dict[str, int] = {}
    for row in rows:
        splits_of[row.activity].add(row.split)
        if row.split in ("val_new", "test_new"):
            first_new.setdefault(row.activity, row.line)
    return [
        Problem(
            "activity in train and a new split",
            first_new[activity],
            f"{activity} ({', '.join(sorted(splits))})",
        )
        for activity, splits in sorted(splits_of.items())
        if "train" in splits and splits & {"val_new", "test_new"}
    ]


def same_clip_content(a: ManifestRow, b: ManifestRow) -> bool:
    """Two rows of one clip that say the same (activity, labels, modality files)."""
    return (
        a.activity == b.activity
        and np.array_equal(a.labels, b.labels)
        and (a.skeleton, a.flow) == (b.skeleton, b.flow)
    )


def describe_row(row: ManifestRow) -> str:
    return f"{row.activity} [{format_labels(row.labels)}]"


def parse_manifest(path: str | Path) -> tuple[list[ManifestRow], list[Problem]]:
    """Read a manifest leniently: every row that can be read, plus every problem found.

    Problems carry the CSV line the user sees in an editor (header = 1, blank lines and quoted
    line breaks counted). A file that is not a UTF-8 CSV with a `clip` and an `activity` column
    and at least one row raises DatasetError.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest not found: {path}")
    base = path.resolve().parent
    rows: list[ManifestRow] = []
    problems: list[Problem] = []
    records = csv_records(path, "manifest")
    header = next(records, None)
    if header is None:
        raise DatasetError(f"{path}: empty file (no header, no clips)")
    cols = [c.strip() for c in header[1]]
    for col in ("clip", "activity"):
        if col not in cols:
            raise DatasetError(f"{path}: missing required column {col!r} (has: {', '.join(cols)})")
    twice = sorted({c for c in cols if c and cols.count(c) > 1})
    if twice:
        raise DatasetError(f"{path}: column(s) named twice in the header: {', '.join(twice)}")
    for line, fields in records:
        if len(fields) != len(cols):
            problems.append(
                Problem(
                    "wrong number of fields",
                    line,
                    f"{len(fields)} fields, the header has {len(cols)}",
                )
            )
        rec = dict(zip(cols, fields, strict=False))
        clip_text = rec.get("clip", "").strip()
        activity = rec.get("activity", "").strip()
        split = rec.get("split", "").strip()
        if not clip_text:
            problems.append(Problem("empty clip path", line, ""))
            continue
        if not activity:
            problems.append(Problem("empty activity", line, clip_text))
        if split and split not in SPLITS:
            problems.append(
                Problem("unknown split", line, f"{split!r} (valid: {', '.join(SPLITS)})")
            )
        label_text = rec.get("labels", "").strip()
        if label_text:
            labels, errors = parse_labels(label_text)
            for err in errors:
                problems.append(Problem("label out of range", line, err))
        else:
            found = _activity_labels(activity) if activity else None
            if found is None:
                if activity:
                    problems.append(
                        Problem(
                            "unknown activity",
                            line,
                            f"{activity!r} has no labels and the knowledge base gives it no "
                            "working groups",
                        )
                    )
                found = np.zeros(NUM_GROUPS, dtype=np.float32)
            labels = found
        extra = {k: v for k, v in rec.items() if k not in CORE_COLUMNS and k}
        skeleton_text = rec.get("skeleton", "").strip()
        flow_text = rec.get("flow", "").strip()
        rows.append(
            ManifestRow(
                clip=_resolve(base, clip_text),
                activity=activity,
                split=split,
                labels=labels,
                skeleton=_resolve(base, skeleton_text) if skeleton_text else None,
                flow=_resolve(base, flow_text) if flow_text else None,
                extra=extra,
                clip_id=clip_text,
                line=line,
            )
        )
    if not rows and not problems:
        raise DatasetError(f"{path}: no clips (the manifest has only a header)")
    problems += _duplicate_problems(rows) + _leak_problems(rows)
    problems.sort(key=lambda p: p.line)
    return rows, problems


def summarize_problems(problems: Sequence[Problem]) -> str:
    """Every kind of problem with its count and lines, in one line."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for p in problems:
        by_kind[p.kind].append(p.line)
    parts = []
    for kind, lines in by_kind.items():
        where = format_lines(lines)
        parts.append(f"{kind} x{len(lines)}" + (f" ({where})" if where else ""))
    return f"{len(problems)} problem(s): " + "; ".join(parts)


def read_manifest(path: str | Path, *, allow: Collection[str] = ()) -> list[ManifestRow]:
    """Read a manifest strictly: any problem (except the kinds in `allow`) raises DatasetError.

    The error names every kind of problem with its count and CSV lines (one line of text);
    `musclemap data validate` shows the details.
    """
    rows, problems = parse_manifest(path)
    problems = [p for p in problems if p.kind not in allow]
    if problems:
        raise DatasetError(
            f"{path}: {summarize_problems(problems)}; "
            f"run `musclemap data validate {path}` for details"
        )
    return rows


def dedupe_rows(rows: Sequence[ManifestRow]) -> tuple[list[ManifestRow], list[ManifestRow]]:
    """(kept, dropped): later identical rows of a clip are dropped; conflicting ones raise."""
    first: dict[Path, ManifestRow] = {}
    kept, dropped = [], []
    for row in rows:
        seen = first.setdefault(row.clip, row)
        if seen is row:
            kept.append(row)
        elif same_clip_content(seen, row):
            dropped.append(row)
        else:
            raise DatasetError(
                f"{row.clip_id}: lines {seen.line} and {row.line} disagree "
                f"({describe_row(seen)} vs {describe_row(row)}); fix the manifest"
            )
    return kept, dropped


def require_files(rows: Sequence[Any], kind: str = "clip") -> None:
    """DatasetError naming every row whose `kind` file ("clip", "skeleton", "flow") is absent.

    Datasets call this when built, so a missing file stops a run before training, not in the
    middle of an epoch.
    """
    missing = [r for r in rows if (p := getattr(r, kind)) is None or not Path(p).is_file()]
    if not missing:
        return
    names = ", ".join(str(getattr(r, kind) or r.clip_id) for r in missing[:3])
    names += ", ..." if len(missing) > 3 else ""
    where = format_lines(getattr(r, "line", 0) for r in missing)  # duck-typed rows too
    hint = " (run `musclemap data poses`)" if kind == "skeleton" else ""
    error = VideoError if kind == "clip" else DatasetError
    raise error(
        f"{len(missing)} of {len(rows)} clip(s) have no {kind} file: {names}"
        + (f" (manifest {where})" if where else "")
        + hint
    )


def require_splits(
    rows: Sequence[ManifestRow], path: str | Path, splits: Collection[str]
) -> list[ManifestRow]:
    """The rows in `splits`; DatasetError when there are none (e.g. no split column)."""
    chosen = [r for r in rows if r.split in splits]
    if chosen:
        return chosen
    if not any(r.split for r in rows):
        raise DatasetError(
            f"{path}: no clip has a split (no 'split' column, or it is empty); "
            f"assign them with `musclemap data split {path} --out SPLIT.csv`"
        )
    have = ", ".join(sorted({r.split for r in rows if r.split}))
    raise DatasetError(f"{path}: no clip in {', '.join(sorted(splits))} (splits present: {have})")


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> None:
    """Write rows with paths relative to the manifest's folder; extra columns are kept."""
    rows = list(rows)
    path = Path(path)
    base = resolved(path).parent
    extra_cols: list[str] = []
    for row in rows:
        extra_cols += [k for k in row.extra if k not in extra_cols]
    has_skel = any(r.skeleton for r in rows)
    has_flow = any(r.flow for r in rows)
    cols = (
        ["clip", "activity", "split", "labels"]
        + (["skeleton"] if has_skel else [])
        + (["flow"] if has_flow else [])
        + extra_cols
    )

    def rel(p: Path | None) -> str:
        if p is None:
            return ""
        try:
            return os.path.relpath(p, base)
        except ValueError:  # another drive (Windows): no relative path exists
            return str(p)

    # Through a temporary file: `split m.csv --out m.csv` killed mid-write keeps m.csv whole.
    with atomic_path(path, "manifest") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        for r in rows:
            rec = {
                "clip": rel(r.clip),
                "activity": r.activity,
                "split": r.split,
                "labels": format_labels(r.labels),
                **r.extra,
            }
            if has_skel:
                rec["skeleton"] = rel(r.skeleton)
            if has_flow:
                rec["flow"] = rel(r.flow)
            writer.writerow(rec)

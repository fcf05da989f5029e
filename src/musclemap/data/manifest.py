"""The AMGE manifest: one CSV format for any dataset.

Columns: `clip` (video path, relative to the manifest's folder or absolute), `activity`, `split`
(train, val_known, val_new, test_known, test_new, or empty before splitting), optional `labels`
(semicolon-separated group ids; when absent or empty they come from the activity knowledge base),
optional modality paths `skeleton` and `flow`; any other column is kept as provenance.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musclemap.errors import DatasetError
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS

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
        if token.lstrip("-").isdigit():
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
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _activity_labels(activity: str) -> np.ndarray | None:
    from musclemap.activities import find_activity  # the knowledge base (lazy: data file)

    found = find_activity(activity)
    # A library stretch has no working groups: no labels to give (see docs/activities.md).
    return None if found is None or not found.groups else found.labels()


def parse_manifest(path: str | Path) -> tuple[list[ManifestRow], list[Problem]]:
    """Read a manifest leniently: every row that can be read, plus every problem found."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest not found: {path}")
    base = path.resolve().parent
    rows: list[ManifestRow] = []
    problems: list[Problem] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        for col in ("clip", "activity"):
            if col not in cols:
                raise DatasetError(
                    f"{path}: missing required column {col!r} (has: {', '.join(cols)})"
                )
        for line, rec in enumerate(reader, start=2):
            clip_text = (rec.get("clip") or "").strip()
            activity = (rec.get("activity") or "").strip()
            split = (rec.get("split") or "").strip()
            if not clip_text:
                problems.append(Problem("empty clip path", line, ""))
                continue
            if split and split not in SPLITS:
                problems.append(
                    Problem("unknown split", line, f"{split!r} (valid: {', '.join(SPLITS)})")
                )
            label_text = (rec.get("labels") or "").strip()
            if label_text:
                labels, errors = parse_labels(label_text)
                for err in errors:
                    problems.append(Problem("label out of range", line, err))
            else:
                found = _activity_labels(activity)
                if found is None:
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
            extra = {
                k: (v or "") for k, v in rec.items() if k not in CORE_COLUMNS and k is not None
            }
            rows.append(
                ManifestRow(
                    clip=_resolve(base, clip_text),
                    activity=activity,
                    split=split,
                    labels=labels,
                    skeleton=_resolve(base, rec["skeleton"])
                    if (rec.get("skeleton") or "").strip()
                    else None,
                    flow=_resolve(base, rec["flow"]) if (rec.get("flow") or "").strip() else None,
                    extra=extra,
                    clip_id=clip_text,
                )
            )
    return rows, problems


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read a manifest strictly: any problem raises DatasetError (run `data validate` for all)."""
    rows, problems = parse_manifest(path)
    if problems:
        first = problems[0]
        raise DatasetError(
            f"{path}: {len(problems)} problem(s), first at line {first.line}: {first.kind}: "
            f"{first.detail} (run `musclemap data validate {path}` for the full report)"
        )
    return rows


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> None:
    """Write rows with paths relative to the manifest's folder; extra columns are kept."""
    rows = list(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
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

    with path.open("w", newline="") as fh:
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


def rows_in_split(rows: Iterable[ManifestRow], split: str) -> list[ManifestRow]:
    return [r for r in rows if r.split == split]

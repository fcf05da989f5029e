"""The predictions file: CSV with `clip` and one probability column per group id."""

from __future__ import annotations

import csv
import difflib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musclemap.errors import DatasetError
from musclemap.outputs import atomic_path
from musclemap.taxonomy import GROUP_IDS, NUM_GROUPS
from musclemap.textfile import csv_records, format_lines


def write_predictions(path: str | Path, clip_ids: Sequence[str], scores: np.ndarray) -> None:
    """Predictions file: CSV with `clip` and one score column per group id."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(clip_ids), NUM_GROUPS):
        raise ValueError(f"scores must be ({len(clip_ids)}, {NUM_GROUPS}), got {scores.shape}")
    # Through a temporary file: a kill mid-write never leaves a half-written predictions file.
    with atomic_path(path, "predictions file") as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["clip", *GROUP_IDS])
        for clip, row in zip(clip_ids, scores, strict=True):
            writer.writerow([clip, *(f"{v:.6g}" for v in row)])


class Predictions(dict[str, np.ndarray]):
    """clip -> scores (20,) in file order; `lines[clip]` is the clip's CSV line."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}


def read_predictions(path: str | Path) -> Predictions:
    """Read a predictions CSV (`clip` + the 20 group ids, probabilities in [0, 1]).

    Raises:
        DatasetError: Every bad row at once (not a number, NaN/inf, outside [0, 1], clip twice or
            empty), with counts and CSV lines; binary or non-UTF-8 files in one line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"predictions file not found: {path}")
    records = csv_records(path, "predictions file")
    header = next(records, None)
    cols = [c.strip() for c in header[1]] if header else []
    missing = [c for c in ("clip", *GROUP_IDS) if c not in cols]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
    unknown = [c for c in cols if c and c not in ("clip", *GROUP_IDS)]
    if unknown:  # a misspelt or extra group column would be ignored without a word
        close = difflib.get_close_matches(unknown[0], GROUP_IDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DatasetError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}{hint}; a predictions "
            "file has clip and the 20 muscle groups only"
        )
    twice = sorted({c for c in cols if c and cols.count(c) > 1})
    if twice:  # which of the two columns holds the scores? Only the first was read.
        raise DatasetError(f"{path}: column(s) named twice in the header: {', '.join(twice)}")
    at = {c: cols.index(c) for c in ("clip", *GROUP_IDS)}
    from musclemap.data.tables import clip_spellings

    out = Predictions()
    first: dict[str, str] = {}  # each spelling of a clip read so far -> its key in `out`
    bad: dict[str, list[int]] = {}
    for line, fields in records:
        if len(fields) != len(cols):
            bad.setdefault("wrong number of fields", []).append(line)
            continue
        clip = fields[at["clip"]].strip()
        try:
            values = np.array([float(fields[at[g]]) for g in GROUP_IDS])
        except ValueError:
            bad.setdefault("a score is not a number", []).append(line)
            continue
        if not clip:
            bad.setdefault("empty clip", []).append(line)
        elif not np.isfinite(values).all():
            bad.setdefault("a score is NaN or infinite", []).append(line)
        elif ((values < 0) | (values > 1)).any():
            bad.setdefault("a score outside [0, 1] (probabilities expected)", []).append(line)
        elif any(k in first for k in clip_spellings(clip)):
            # Also under another spelling (`clips/./a.mp4`, or absolute): evaluate matches
            # both to one clip and used whichever row came last, without a word.
            seen = next(first[k] for k in clip_spellings(clip) if k in first)
            bad.setdefault(f"clip repeated (first at line {out.lines[seen]})", []).append(line)
        else:
            out[clip], out.lines[clip] = values, line
            first.update(dict.fromkeys(clip_spellings(clip), clip))
    if bad:
        total = sum(len(v) for v in bad.values())
        raise DatasetError(
            f"{path}: {total} bad row(s): "
            + "; ".join(
                f"{kind} x{len(lines)} ({format_lines(lines)})" for kind, lines in bad.items()
            )
        )
    return out

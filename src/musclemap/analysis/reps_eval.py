"""The repetition counter against hand counts (tests/data/wild_reps.csv) on extracted poses.

    musclemap data poses /work/shared/data/wild/manifest.csv --out POSES
    python -m musclemap.analysis.reps_eval tests/data/wild_reps.csv POSES [POSES2 ...]

prints a Markdown table (clip, hand count, counter, driving joint) and the mean absolute error.
A pose file is found by the clip's stem (`<stem>.npz`) in the first folder that has it.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musclemap.analysis.reps import count_reps
from musclemap.data.pose_sequence import load_pose_file


@dataclass
class CountRow:
    clip: str
    kind: str
    truth: int
    counted: int
    joint: str
    side: str
    hold_s: float
    truth_hold_s: float | None


def evaluate(table: Path, pose_dirs: Sequence[Path]) -> tuple[list[CountRow], list[str]]:
    """Count every clip of `table` whose pose file exists; returns rows and the missing clips."""
    rows, missing = [], []
    for r in csv.DictReader(table.open()):
        name = Path(r["clip"]).stem + ".npz"
        path = next((d / name for d in pose_dirs if (d / name).is_file()), None)
        if path is None:
            missing.append(r["clip"])
            continue
        seq = load_pose_file(path)
        res = count_reps(seq.world, seq.valid, seq.times, seq.fps, static=r["kind"] == "hold")
        rows.append(
            CountRow(
                r["clip"],
                r["kind"],
                int(r["reps"]),
                res.count,
                res.joint,
                res.side,
                res.hold_s,
                float(r["hold_s"]) if r["hold_s"] else None,
            )
        )
    return rows, missing


def mean_absolute_error(rows: Sequence[CountRow]) -> float:
    return sum(abs(r.counted - r.truth) for r in rows) / max(len(rows), 1)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", type=Path)
    ap.add_argument("poses", type=Path, nargs="+")
    args = ap.parse_args(argv)
    rows, missing = evaluate(args.table, args.poses)
    print("| clip | hand count | counter | driving joint |")
    print("|---|---:|---:|---|")
    for r in rows:
        got = f"{r.counted}" if r.kind == "reps" else f"hold {r.hold_s:.1f} s"
        want = f"{r.truth}" if r.kind == "reps" else f"hold {r.truth_hold_s} s"
        print(f"| {Path(r.clip).stem} | {want} | {got} | {r.joint} ({r.side}) |")
    exact = sum(r.counted == r.truth for r in rows)
    print(
        f"\n{len(rows)} clips: mean absolute error {mean_absolute_error(rows):.3f}, "
        f"{exact} exact" + (f"; {len(missing)} without a pose file" if missing else "")
    )


if __name__ == "__main__":
    main()

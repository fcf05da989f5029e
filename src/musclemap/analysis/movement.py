"""A clip's movement against the library's examples of the same exercise.

Measures (degrees, from MediaPipe world landmarks): for the elbow, shoulder, hip and knee the
range of motion and the smallest and largest angle (180 = straight; the side that moves more),
and the torso's smallest and largest inclination from vertical (0 = upright; relative to the
camera's vertical, which is gravity only for a level camera). A clip's extremes are its 2nd and
98th percentiles after light smoothing (0.06 s, which keeps 98% of a 2 s repetition's range); a
key-pose photo pair's are its two photos (the two key positions of the exercise, so their
difference is a range of motion).

The library statistics are a small packaged JSON (`movement_library.json`) of every example's
measures, grouped by `canonical_exercise`, written by

    python -m musclemap.analysis.movement --wild-manifest M.csv --wild-poses DIR [DIR...] \\
        --keypose-manifest K.csv --keypose-poses DIR \\
        --out src/musclemap/analysis/movement_library.json

A finding states the measured value, the library's 10th-90th percentile and how many examples
it comes from, and whether the value lies below, within or above that range; nothing else.
"""

from __future__ import annotations

import argparse
import csv
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.analysis.reps import FINE_S, JOINTS, _smooth, fill_gaps
from musclemap.pose.features import joint_angles
from musclemap.skeleton import MEDIAPIPE33

LIBRARY_FILE = "movement_library.json"
MEASURES: tuple[str, ...] = tuple(f"{j}_{k}" for j in JOINTS for k in ("rom", "min", "max")) + (
    "torso_incline_min",
    "torso_incline_max",
)
LABELS = {
    **{f"{j}_rom": f"{j} range of motion" for j in JOINTS},
    **{f"{j}_min": f"{j} smallest angle" for j in JOINTS},
    **{f"{j}_max": f"{j} largest angle" for j in JOINTS},
    "torso_incline_min": "torso inclination, most upright",
    "torso_incline_max": "torso inclination, most inclined",
}
MIN_EXAMPLES = 3  # fewer library examples make no range and no finding
MOVING_JOINT_DEG = 30.0  # a joint's findings are reported when its library median ROM reaches this
# What a finding is about: the range of motion and the most flexed angle of each moving joint,
# and the largest torso inclination (the other measures stay in the JSON's "measured").
REPORTED = tuple(f"{j}_{k}" for j in JOINTS for k in ("rom", "min")) + ("torso_incline_max",)
PERCENTILES = (10, 90)


def _extremes(x: np.ndarray, fps: float, key_positions: bool) -> tuple[float, float] | None:
    filled = fill_gaps(x)
    if filled is None:
        return None
    if key_positions:
        return float(filled.min()), float(filled.max())
    lo, hi = np.percentile(_smooth(filled, fps, FINE_S), [2, 98])
    return float(lo), float(hi)


def pose_measures(
    world: np.ndarray, fps: float, *, key_positions: bool = False
) -> dict[str, float]:
    """The measures of one example (`world` `(T, 33, >=3)`, NaN where no person).

    `key_positions`: the frames are key positions (a photo pair), not a sampled movement.
    Measures that cannot be taken (fewer than two frames with a person) are left out.
    """
    angles = joint_angles(world)
    out: dict[str, float] = {}
    for j in JOINTS:
        sides = [
            _extremes(180.0 * angles[f"{j}_{s}"], fps, key_positions) for s in ("left", "right")
        ]
        known = [s for s in sides if s is not None]
        if not known:
            continue
        lo, hi = max(known, key=lambda e: e[1] - e[0])  # the side that moves more
        out |= {f"{j}_rom": hi - lo, f"{j}_min": lo, f"{j}_max": hi}
    incline = _extremes(torso_inclination(world), fps, key_positions)
    if incline is not None:
        out |= {"torso_incline_min": incline[0], "torso_incline_max": incline[1]}
    return out


def torso_inclination(world: np.ndarray) -> np.ndarray:
    """Degrees between the hip-midpoint-to-shoulder-midpoint line and "up" (-y in MediaPipe's
    camera-aligned world axes) per frame; NaN where no person."""
    xyz = world[..., :3].astype(np.float64)
    torso = MEDIAPIPE33.midpoint(xyz, "shoulder") - MEDIAPIPE33.midpoint(xyz, "hip")  # (T, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cos = -torso[:, 1] / np.linalg.norm(torso, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclass
class Finding:
    """One measured value against the library's range for the exercise."""

    measure: str
    label: str
    value_deg: float
    library_p10_deg: float
    library_p90_deg: float
    examples: int
    position: str  # "below", "within" or "above" the 10th-90th percentile range
    text: str


@dataclass
class MovementReport:
    """The `movement` block of the predict JSON."""

    exercise: str  # the canonical exercise the library examples are of
    examples: int  # library examples of it (wild clips + key-pose photo pairs)
    wild_clips: int
    keypose_pairs: int
    measured: dict[str, float]
    findings: list[Finding]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["measured"] = {k: round(v, 1) for k, v in self.measured.items()}
        for f in out["findings"]:
            for k in ("value_deg", "library_p10_deg", "library_p90_deg"):
                f[k] = round(f[k], 1)
        return out


@lru_cache(maxsize=1)
def load_library() -> dict[str, Any]:
    """The packaged library statistics (see the module docstring)."""
    text = resources.files(__package__).joinpath(LIBRARY_FILE).read_text("utf-8")
    return dict(json.loads(text))


def compare_movement(
    measured: Mapping[str, float],
    exercise: str,
    library: Mapping[str, Any] | None = None,
    *,
    leave_out: str = "",
) -> MovementReport:
    """Findings for a clip's `measured` values against the examples of canonical `exercise`.

    `REPORTED` measures of a joint whose median library range of motion is at least
    `MOVING_JOINT_DEG` (the joints the exercise moves) and the torso inclination. Each finding
    needs at least `MIN_EXAMPLES` library values. `leave_out`: the id (clip stem) of a library
    example not to compare with, the clip itself when it is one of the library's.
    """
    lib = library if library is not None else load_library()
    entry = lib["exercises"].get(exercise)
    if entry is None:
        return MovementReport(exercise, 0, 0, 0, dict(measured), [], "no library examples")
    keep = [i for i, e in enumerate(entry["ids"]) if e != leave_out]
    kinds = [entry["kinds"][i] for i in keep]
    values = {
        m: [v for i in keep if (v := vals[i]) is not None] for m, vals in entry["measures"].items()
    }
    findings = []
    for m in REPORTED:
        lib_vals = values.get(m, [])
        if m not in measured or len(lib_vals) < MIN_EXAMPLES:
            continue
        joint = m.rsplit("_", 1)[0]
        if joint in JOINTS and np.median(values.get(f"{joint}_rom", [0.0])) < MOVING_JOINT_DEG:
            continue
        p10, p90 = (float(v) for v in np.percentile(lib_vals, PERCENTILES))
        v = float(measured[m])
        pos = "below" if v < p10 else "above" if v > p90 else "within"
        text = (
            f"{LABELS[m]} {v:.0f}° ({pos} the library's {p10:.0f}–{p90:.0f}°, "
            f"10th–90th percentile of {len(lib_vals)} {exercise} examples)"
        )
        findings.append(Finding(m, LABELS[m], v, p10, p90, len(lib_vals), pos, text))
    note = "" if findings else f"fewer than {MIN_EXAMPLES} library examples per measure"
    if len(keep) < len(entry["ids"]):
        note = f"the clip itself ({leave_out}) is a library example and was left out. {note}"
    return MovementReport(
        exercise,
        len(keep),
        kinds.count("wild"),
        kinds.count("keypose"),
        dict(measured),
        findings,
        note.strip(),
    )


def build_library(
    examples: Sequence[tuple[str, str, str, Mapping[str, float]]],
) -> dict[str, Any]:
    """Group `(exercise key, id, kind "wild" | "keypose", measures)` into the packaged format:
    per exercise the example ids and kinds, and per measure one value per example (None where
    it could not be taken)."""
    grouped: dict[str, list[tuple[str, str, Mapping[str, float]]]] = {}
    for key, ident, kind, meas in examples:
        grouped.setdefault(key, []).append((ident, kind, meas))
    out = {}
    for key, rows in sorted(grouped.items()):
        out[key] = {
            "ids": [r[0] for r in rows],
            "kinds": [r[1] for r in rows],
            "measures": {
                m: [None if m not in r[2] else round(float(r[2][m]), 1) for r in rows]
                for m in MEASURES
            },
        }
    return {"measures": list(MEASURES), "percentiles": list(PERCENTILES), "exercises": out}


def _examples_from(
    manifest: Path, pose_dirs: Sequence[Path], kind: str, source: str | None
) -> list[tuple[str, str, str, dict[str, float]]]:
    from musclemap.activities import canonical_exercise, find_activity
    from musclemap.data.pose_sequence import load_pose_file

    out = []
    for row in csv.DictReader(manifest.open()):
        name = Path(row.get("skeleton") or row["clip"]).stem + ".npz"
        path = next((d / name for d in pose_dirs if (d / name).is_file()), None)
        if path is None or find_activity(row["activity"], source=source) is None:
            continue
        seq = load_pose_file(path)
        if seq.valid.sum() < 2:
            continue
        key = canonical_exercise(row["activity"], source=source)
        meas = pose_measures(seq.world, seq.fps, key_positions=kind == "keypose")
        out.append((key, Path(name).stem, kind, meas))
    return out


def leave_one_out(
    examples: Sequence[tuple[str, str, str, Mapping[str, float]]],
    library: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """How often the library's own examples fall below / within / above their exercise's range
    with themselves left out: what a finding's `position` means for correct executions."""
    counts = {"clips": 0, "below": 0, "within": 0, "above": 0}
    for key, ident, _kind, meas in examples:
        report = compare_movement(meas, key, library, leave_out=ident)
        counts["clips"] += bool(report.findings)
        for f in report.findings:
            counts[f.position] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Write the library statistics from pose files (see the module docstring); with
    `--leave-one-out` print the positions of the wild clips against the packaged library."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wild-manifest", type=Path, required=True)
    ap.add_argument("--wild-poses", type=Path, nargs="+", required=True)
    ap.add_argument("--keypose-manifest", type=Path)
    ap.add_argument("--keypose-poses", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--leave-one-out", action="store_true")
    args = ap.parse_args(argv)
    examples = _examples_from(args.wild_manifest, args.wild_poses, "wild", None)
    if args.leave_one_out:
        c = leave_one_out(examples)
        n = max(c["below"] + c["within"] + c["above"], 1)
        print(
            f"{c['clips']} wild clips with findings, {n} findings: "
            + ", ".join(f"{k} {c[k]} ({c[k] / n:.0%})" for k in ("below", "within", "above"))
        )
        return
    if args.out is None:
        ap.error("--out is required to build the library")
    if args.keypose_manifest is not None:
        kp_dirs = [args.keypose_poses or args.keypose_manifest.parent]
        examples += _examples_from(args.keypose_manifest, kp_dirs, "keypose", "free-exercise-db")
    lib = build_library(examples)
    args.out.write_text(json.dumps(lib, separators=(",", ":")) + "\n")
    n_wild = sum(1 for e in examples if e[2] == "wild")
    print(
        f"{args.out}: {len(examples)} examples ({n_wild} wild clips, "
        f"{len(examples) - n_wild} key-pose pairs) of {len(lib['exercises'])} exercises, "
        f"{args.out.stat().st_size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()

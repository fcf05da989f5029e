"""The exercise, movement and repetition blocks of a prediction as console text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console


def _groups(ids: list[str]) -> str:
    return ", ".join(ids) if ids else "none"


def print_analysis(
    console: Console, blocks: Mapping[str, Any], segments: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Print `prediction.analysis` (see musclemap.analysis) and, for a video that changes
    exercise, each part's (`Prediction.segments`); paths and names are not markup."""
    out = console.print
    ex = blocks.get("exercise")
    parts = [seg for seg in segments if "repetitions" in seg]
    if parts:
        _print_parts(console, parts)
        if not ex:
            return
    if ex:
        how = (
            f"guessed: looks like {ex['query']} (similarity {ex['similarity']:.2f})"
            if ex["guessed"]
            else f"as given: {ex['query']!r}"
        )
        out(f"exercise: {ex['name']} ({ex['source']}; {how})", markup=False)
        out(f"  expected: {_groups(ex['expected'])}", markup=False)
        out(f"  observed active: {_groups(ex['observed_active'])}", markup=False)
        out(f"  expected but below threshold: {_groups(ex['missing'])}", markup=False)
        out(f"  active but not expected: {_groups(ex['unexpected'])}", markup=False)
    else:
        out("exercise: none named and no 'looks like' match (use --exercise NAME)")
    mv = blocks.get("movement")
    if mv:
        out(
            f"movement against the library ({mv['examples']} {mv['exercise']} examples: "
            f"{mv['wild_clips']} clips, {mv['keypose_pairs']} key-pose photo pairs):",
            markup=False,
        )
        for f in mv["findings"]:
            out(f"  {f['text']}", markup=False)
        if mv["note"]:
            out(f"  {mv['note']}", markup=False)
    _print_reps(console, blocks.get("repetitions"))


def _print_parts(console: Console, parts: Sequence[Mapping[str, Any]]) -> None:
    """Each part of a video that changes exercise: its exercise (a guess) and repetitions."""
    out = console.print
    out("the video changes exercise; each part:")
    for i, seg in enumerate(parts):
        ex = seg.get("exercise")
        what = (
            f"{ex['name']} (guessed: looks like {ex['query']}, similarity {ex['similarity']:.2f})"
            if ex
            else "no 'looks like' match"
        )
        out(f"part {i + 1}, {seg['start_s']:.1f}-{seg['end_s']:.1f} s: {what}", markup=False)
        if ex:
            out(f"  expected: {_groups(ex['expected'])}", markup=False)
            out(f"  observed active: {_groups(ex['observed_active'])}", markup=False)
        _print_reps(console, seg["repetitions"], indent="  ")


def _print_reps(console: Console, reps: Mapping[str, Any] | None, indent: str = "") -> None:
    out = console.print
    if not reps:
        return
    if reps["kind"] == "hold":
        span = (
            f" ({reps['hold_start_s']:.1f}-{reps['hold_end_s']:.1f} s)"
            if reps["hold_start_s"] is not None
            else ""
        )
        out(f"{indent}hold: {reps['hold_s']:.1f} s still{span}")
        return
    out(
        f"{indent}repetitions: {reps['count']} (driving joint: {reps['joint']}, {reps['side']}; "
        f"rest {reps['rest']})"
    )
    for r in reps["reps"]:
        out(
            f"{indent}  {r['index']:>2}"
            f"  {r['start_s']:5.1f}-{r['end_s']:5.1f} s  {r['duration_s']:.1f} s"
            f"  range {r['rom_deg']:.0f}° ({r['angle_min_deg']:.0f}-{r['angle_max_deg']:.0f}°)"
            f"  {r['side']}"
        )

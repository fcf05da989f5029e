"""The Free Exercise DB as part of the knowledge base: 873 exercises with provenance.

The packaged `free_exercise_db.json` is generated from the library's `exercises.json` (public
domain, github.com/yuhonas/free-exercise-db) by

    python -m musclemap.activities.library ../shared/data/keyposes/exercises.json

It keeps, per exercise, the authors' fields (no instructions, no photos) and `same_as`: the
curated activity it is the same exercise as, where that is clear. Groups are derived at load time
through the taxonomy's muscle-term vocabulary, so there is one mapping of muscle words, plus
the partners of the primary groups (`taxonomy.working_groups`, as the importer labels them).

`same_as` rules, in order: an explicit entry of `LINKS` (reviewed by hand: grip, stance and
equipment variants the name rules miss, e.g. "Barbell Full Squat" -> squat, and the few wrong
folds); else the curated activity the exercise's name or id resolves to by the knowledge base's
own rules (exact name or alias, then equipment words stripped: "Dumbbell Bench Press" ->
bench_press) when both agree on being a stretch or not ("Butterfly" the machine fly is not the
curated butterfly stretch); else none.
"""

from __future__ import annotations

import argparse
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from musclemap.activities import Activity, ExerciseRecord, KnowledgeBaseError, find_activity
from musclemap.taxonomy import groups_for_terms, working_groups

FEDB_SOURCE = "free-exercise-db"
FEDB_URL = "https://github.com/yuhonas/free-exercise-db"
LIBRARY_FILE = "free_exercise_db.json"
# The library's categories in the knowledge base's words where they are the same concept.
_CATEGORIES = {
    "stretching": "stretch",
    "plyometrics": "plyometric",
    "cardio": "cardio",
    "olympic weightlifting": "olympic lift",
    "strength": "strength",
    "powerlifting": "powerlifting",
    "strongman": "strongman",
}
_STRETCH_LIKE = {"stretch", "mobility"}  # curated categories that count as stretches

# Reviewed links (Free Exercise DB id -> curated activity, or None for "not the same").
LINKS: dict[str, str | None] = {
    # squats
    "Barbell_Full_Squat": "squat", "Wide_Stance_Barbell_Squat": "squat",
    "Narrow_Stance_Squats": "squat", "Olympic_Squat": "squat", "Speed_Squats": "squat",
    "Squat_with_Bands": "squat", "Squat_with_Chains": "squat", "Squats_-_With_Bands": "squat",
    "Box_Squat": "squat", "Box_Squat_with_Bands": "squat", "Box_Squat_with_Chains": "squat",
    "Speed_Box_Squat": "squat", "Lying_Machine_Squat": None,
    "Front_Barbell_Squat": "front_squat", "Front_Squat_Clean_Grip": "front_squat",
    "Front_Squats_With_Two_Kettlebells": "front_squat", "Plie_Dumbbell_Squat": "sumo_squat",
    "Narrow_Stance_Leg_Press": "leg_press",
    # hinges
    "Deadlift_with_Bands": "deadlift", "Deadlift_with_Chains": "deadlift",
    "Deficit_Deadlift": "deadlift", "Axle_Deadlift": "deadlift",
    "Stiff-Legged_Barbell_Deadlift": "romanian_deadlift",
    "Stiff-Legged_Dumbbell_Deadlift": "romanian_deadlift",
    "Stiff_Leg_Barbell_Good_Morning": "good_morning",
    # presses
    "Barbell_Bench_Press_-_Medium_Grip": "bench_press", "Bench_Press_-_Powerlifting": "bench_press",
    "Bench_Press_-_With_Bands": "bench_press", "Bench_Press_with_Chains": "bench_press",
    "Wide-Grip_Barbell_Bench_Press": "bench_press",
    "Dumbbell_Bench_Press_with_Neutral_Grip": "bench_press",
    "Close-Grip_Barbell_Bench_Press": "close_grip_bench_press",
    "Barbell_Incline_Bench_Press_-_Medium_Grip": "incline_bench_press",
    "Hammer_Grip_Incline_DB_Bench_Press": "incline_bench_press",
    "Decline_Barbell_Bench_Press": "decline_bench_press",
    "Decline_Dumbbell_Bench_Press": "decline_bench_press",
    "Wide-Grip_Decline_Barbell_Bench_Press": "decline_bench_press",
    "Arnold_Dumbbell_Press": "arnold_press",
    "Machine_Shoulder_Military_Press": "shoulder_press",
    "Leverage_Shoulder_Press": "shoulder_press",
    "Smith_Machine_Overhead_Shoulder_Press": "shoulder_press",
    "Shoulder_Press_-_With_Bands": "shoulder_press",
    "Double_Kettlebell_Push_Press": "push_press", "Push_Press_-_Behind_the_Neck": "push_press",
    "Push-Up_Wide": "push_up", "Push-Ups_With_Feet_Elevated": "decline_push_up",
    "Incline_Push-Up_Medium": "incline_push_up", "Incline_Push-Up_Wide": "incline_push_up",
    "Dips_-_Chest_Version": "dip", "Dips_-_Triceps_Version": "dip",
    # pulls
    "Wide-Grip_Lat_Pulldown": "lat_pulldown", "Close-Grip_Front_Lat_Pulldown": "lat_pulldown",
    "Full_Range-Of-Motion_Lat_Pulldown": "lat_pulldown",
    "Band_Assisted_Pull-Up": "pull_up", "Wide-Grip_Rear_Pull-Up": "pull_up",
    "Bent_Over_Barbell_Row": "bent_over_row", "Bent_Over_Two-Dumbbell_Row": "bent_over_row",
    "Bent_Over_Two-Dumbbell_Row_With_Palms_In": "bent_over_row",
    "Reverse_Grip_Bent-Over_Rows": "bent_over_row",
    "Seated_One-arm_Cable_Pulley_Rows": "seated_row", "Inverted_Row_with_Straps": "inverted_row",
    "Upright_Barbell_Row": "upright_row", "Upright_Cable_Row": "upright_row",
    "Upright_Row_-_With_Bands": "upright_row",
    "Bent-Arm_Dumbbell_Pullover": "dumbbell_pullover",
    "Straight-Arm_Dumbbell_Pullover": "dumbbell_pullover",
    "Barbell_Shrug_Behind_The_Back": "shrug", "Smith_Machine_Behind_the_Back_Shrug": "shrug",
    "Leverage_Shrug": "shrug",
    "Power_Clean_from_Blocks": "power_clean", "Hang_Snatch_-_Below_Knees": "snatch",
    "Power_Snatch_from_Blocks": "snatch", "Snatch_from_Blocks": "snatch",
    "Double_Kettlebell_Snatch": "kettlebell_snatch", "Kettlebell_Sumo_High_Pull": "high_pull",
    # arms and shoulders
    "Dumbbell_Alternate_Bicep_Curl": "bicep_curl", "Standing_Biceps_Cable_Curl": "bicep_curl",
    "Alternate_Hammer_Curl": "hammer_curl", "Cable_Hammer_Curls_-_Rope_Attachment": "hammer_curl",
    "Reverse_Barbell_Curl": "reverse_curl", "Reverse_Cable_Curl": "reverse_curl",
    "Reverse_Plate_Curls": "reverse_curl",
    "Triceps_Pushdown_-_Rope_Attachment": "tricep_pushdown",
    "Triceps_Pushdown_-_V-Bar_Attachment": "tricep_pushdown",
    "Reverse_Grip_Triceps_Pushdown": "tricep_pushdown",
    "Cable_Rope_Overhead_Triceps_Extension": "overhead_tricep_extension",
    "Standing_Overhead_Barbell_Triceps_Extension": "overhead_tricep_extension",
    "Triceps_Overhead_Extension_with_Rope": "overhead_tricep_extension",
    "Lying_Dumbbell_Tricep_Extension": "skull_crusher",
    "Front_Dumbbell_Raise": "front_raise", "Front_Cable_Raise": "front_raise",
    "Front_Plate_Raise": "front_raise", "Front_Two-Dumbbell_Raise": "front_raise",
    "Lateral_Raise_-_With_Bands": "lateral_raise",
    "Dumbbell_Lying_Rear_Lateral_Raise": "reverse_fly",
    # legs
    "Calf_Raise_On_A_Dumbbell": "calf_raise", "Calf_Raises_-_With_Bands": "calf_raise",
    "Rocking_Standing_Calf_Raise": "calf_raise", "Donkey_Calf_Raises": "calf_raise",
    "Dumbbell_Rear_Lunge": "reverse_lunge", "Elevated_Back_Lunge": "reverse_lunge",
    # core
    "Crunch_-_Hands_Overhead": "crunch", "Decline_Crunch": "crunch",
    "Exercise_Ball_Crunch": "crunch", "3_4_Sit-Up": "sit_up",
    "Weighted_Sit-Ups_-_With_Bands": "sit_up", "Air_Bike": "bicycle_crunch",
    "Alternate_Heel_Touchers": "heel_touch",
    # cardio
    "Rope_Jumping": "jump_rope",
}  # fmt: skip


def exercise_slug(exercise_id: str) -> str:
    """The key of an exercise id: lower case, other characters -> `_` (`Barbell_Full_Squat` ->
    `barbell_full_squat`, `3_4_Sit-Up` -> `3_4_sit_up`); also its manifest activity."""
    return re.sub(r"[^a-z0-9]+", "_", exercise_id.lower()).strip("_")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _same_as(exercise: dict) -> str:
    if exercise["id"] in LINKS:
        return LINKS[exercise["id"]] or ""
    stretch = exercise["category"] == "stretching"
    for name in (exercise["name"], exercise["id"]):
        act = find_activity(name, source="curated")
        if act is not None and (act.category in _STRETCH_LIKE) == stretch:
            return act.name
    return ""


def build_library(exercises: list[dict]) -> dict[str, Any]:
    """The packaged document from the records of the library's `exercises.json`."""
    return {
        "source": FEDB_SOURCE,
        "url": FEDB_URL,
        "license": "Unlicense (public domain)",
        "exercises": [
            {
                "key": exercise_slug(e["id"]),
                "id": e["id"],
                "name": e["name"],
                "category": e["category"],
                **{k: _text(e.get(k)) for k in ("equipment", "force", "mechanic", "level")},
                "primary_muscles": list(e["primaryMuscles"]),
                "secondary_muscles": list(e["secondaryMuscles"]),
                "same_as": _same_as(e),
            }
            for e in exercises
        ],
    }


def _activity(entry: dict) -> Activity:
    primary = groups_for_terms(entry["primary_muscles"])
    # plus the partners of the prime movers (calves -> feet_ankles, shoulder -> upper_back)
    working = working_groups(entry["primary_muscles"], entry["secondary_muscles"])
    secondary = tuple(g for g in working if g not in primary)
    record = ExerciseRecord(
        source=FEDB_SOURCE,
        id=entry["id"],
        name=entry["name"],
        category=entry["category"],
        equipment=entry["equipment"],
        force=entry["force"],
        mechanic=entry["mechanic"],
        level=entry["level"],
        primary_muscles=tuple(entry["primary_muscles"]),
        secondary_muscles=tuple(entry["secondary_muscles"]),
    )
    stretch = entry["category"] == "stretching"
    return Activity(
        name=entry["key"],
        primary=() if stretch else primary,
        secondary=() if stretch else secondary,
        aliases=(entry["name"], entry["id"]),
        category=_CATEGORIES.get(entry["category"], entry["category"]),
        kind="stretch" if stretch else "work",
        # a stretch's listed muscles, in taxonomy order, without partners: stretched, not working
        stretched=(
            groups_for_terms([*entry["primary_muscles"], *entry["secondary_muscles"]])
            if stretch
            else ()
        ),
        source=FEDB_SOURCE,
        same_as=entry["same_as"],
        record=record,
    )


@lru_cache(maxsize=1)
def load_library() -> dict[str, Activity]:
    """The packaged Free Exercise DB exercises by key (their id as a snake_case slug)."""
    text = resources.files(__package__).joinpath(LIBRARY_FILE).read_text("utf-8")
    return {a.name: a for a in map(_activity, json.loads(text)["exercises"])}


def _dumps(doc: dict[str, Any]) -> str:
    """JSON with one exercise per line: compact, and a regenerated file diffs line by line."""
    head = {k: v for k, v in doc.items() if k != "exercises"}
    rows = ",\n".join(json.dumps(e, ensure_ascii=False) for e in doc["exercises"])
    return json.dumps(head)[:-1] + ', "exercises": [\n' + rows + "\n]}\n"


def main(argv: list[str] | None = None) -> None:
    """Regenerate the packaged file from a Free Exercise DB `exercises.json`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("exercises_json", type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name(LIBRARY_FILE), help="file to write"
    )
    args = parser.parse_args(argv)
    exercises = json.loads(args.exercises_json.read_text("utf-8"))
    unknown = set(LINKS) - {e["id"] for e in exercises}
    if unknown:  # a renamed id upstream: review the links
        raise KnowledgeBaseError(f"LINKS name unknown ids: {', '.join(sorted(unknown))}")
    doc = build_library(exercises)
    args.out.write_text(_dumps(doc), "utf-8")
    linked = sum(bool(e["same_as"]) for e in doc["exercises"])
    print(f"wrote {args.out}: {len(doc['exercises'])} exercises, {linked} linked to curated ones")


if __name__ == "__main__":
    main()

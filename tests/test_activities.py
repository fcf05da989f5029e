"""Activity knowledge base: data integrity, name normalisation, lookup (the CLI:
test_cli_activities.py)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from musclemap.activities import (
    Activity,
    KnowledgeBaseError,
    activity_labels,
    find_activity,
    list_activities,
    load_knowledge_base,
    lookup,
    normalize_name,
    parse_knowledge_base,
)
from musclemap.errors import UnknownActivityError
from musclemap.taxonomy import GROUP_IDS, to_multi_hot

# The paper's 20 held-out activities (Sec. III-C), spelled as the paper spells them.
PAPER_HELD_OUT = (
    "hollow hold",
    "v-ups",
    "calf raise hold",
    "modified scissors",
    "scissors",
    "reverse crunches",
    "march twists",
    "hops on the spot",
    "up and down planks",
    "diamond push ups",
    "running",
    "plank jacks",
    "archer push ups",
    "front kicks",
    "triceps dip hold",
    "side plank rotation",
    "raised leg push ups",
    "reverse plank kicks",
    "circle push ups",
    "shoulder taps",
)


def _minimal(**activities: dict) -> dict:
    return {"categories": ["core", "legs"], "activities": activities}


def test_knowledge_base_is_large_and_consistent() -> None:
    kb = load_knowledge_base()
    assert len(kb) >= 120
    categories = set(
        yaml.safe_load(
            (Path(__file__).parents[1] / "src/musclemap/activities/activities.yaml").read_text()
        )["categories"]
    )
    for name, act in kb.items():
        assert act.name == name
        assert act.primary, name
        assert not set(act.primary) & set(act.secondary), name
        assert set(act.groups) <= set(GROUP_IDS)
        assert act.category in categories
    # Every group is reachable from some activity, so the KB can label every class.
    covered = {g for act in kb.values() for g in act.groups}
    assert covered == set(GROUP_IDS)


def test_groups_in_taxonomy_order_and_labels() -> None:
    act = lookup("deadlift")
    assert act.groups == tuple(g for g in GROUP_IDS if g in act.groups)
    assert set(act.groups) == set(act.primary) | set(act.secondary)
    labels = act.labels()
    assert labels.dtype == np.float32 and labels.shape == (20,)
    np.testing.assert_array_equal(labels, to_multi_hot(act.groups))
    np.testing.assert_array_equal(activity_labels("Deadlifts"), labels)
    assert act.role("gluteus") == "primary" and act.role("forearms") == "secondary"
    assert act.role("neck_head") == ""


def test_wild_labels_match_exactly(wild_dir: Path) -> None:
    kb = load_knowledge_base()
    with (wild_dir / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 80
    for row in rows:
        name = row["activity"]
        assert name in kb, f"{name} missing from the knowledge base (verbatim name)"
        assert set(kb[name].groups) == set(row["muscle_groups"].split(";")), name


def test_paper_held_out_activities_resolve() -> None:
    names = [lookup(spelling).name for spelling in PAPER_HELD_OUT]
    assert len(set(names)) == 20
    assert lookup("shoulder taps").name == "plank_shoulder_tap"
    assert lookup("triceps dip hold").name == "tricep_dip_hold"
    assert lookup("hops on the spot").name == "hop_on_the_spot"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Push-Ups", "push_up"),
        ("  push   ups ", "push_up"),
        ("v-ups", "v_up"),
        ("Crunches", "crunch"),
        ("chest flyes", "chest_fly"),
        ("calves", "calf"),
        ("Farmer's walks", "farmer_walk"),
        ("clean & jerk", "clean_and_jerk"),
        ("press", "press"),
        ("gluteus", "gluteus"),
        ("Bícep curls", "bicep_curl"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


@pytest.mark.parametrize(
    "spelling", ["push-up", "pushup", "push ups", "Push Ups", "press-up", "PUSHUPS", "push_up"]
)
def test_push_up_spellings(spelling: str) -> None:
    assert lookup(spelling).name == "push_up"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dumbbell bench press", "bench_press"),
        ("Barbell back squats", "squat"),
        ("seated cable row", "seated_row"),
        ("EZ-bar curls", "bicep_curl"),
        ("trap bar deadlift", "deadlift"),
        ("kettlebell swings", "kettlebell_swing"),  # full name wins over stripping
        ("seated calf raise", "seated_calf_raise"),
        ("biceps curl", "bicep_curl"),
        ("triceps pushdowns", "tricep_pushdown"),
        ("RDL", "romanian_deadlift"),
    ],
)
def test_aliases_and_equipment_variants(text: str, expected: str) -> None:
    assert lookup(text).name == expected


def test_unknown_activity_suggests_close_matches() -> None:
    with pytest.raises(
        UnknownActivityError,
        match=r"unknown activity 'pushupz'; did you mean "
        r"push_up",
    ) as info:
        lookup("pushupz")
    assert "\n" not in str(info.value)
    assert len(str(info.value).split("did you mean ")[1].split(", ")) <= 3
    with pytest.raises(UnknownActivityError, match="--list"):
        lookup("xyzzy quux")
    assert find_activity("xyzzy quux") is None
    assert find_activity("") is None
    assert find_activity("dumbbell") is None  # stripping never leaves an empty name


def test_list_activities_sorted_and_filtered() -> None:
    acts = list_activities()
    assert [a.name for a in acts] == sorted(a.name for a in acts)
    core = list_activities("core")
    assert core and all(a.category == "core" for a in core)
    assert isinstance(acts[0], Activity)


def test_knowledge_base_returns_copies() -> None:
    kb = load_knowledge_base()
    kb.pop("push_up")
    assert "push_up" in load_knowledge_base()


@pytest.mark.parametrize(
    ("activities", "message"),
    [
        ({"plank": {"category": "core", "primary": ["abs"]}}, "unknown muscle group"),
        ({"plank": {"category": "yoga", "primary": ["chest"]}}, "unknown category"),
        ({"plank": {"category": "core", "primary": []}}, "at least one primary"),
        ({"plank": {"category": "core"}}, "missing field"),
        ({"plank": {"category": "core", "primary": ["chest"], "notes": "x"}}, "unknown field"),
        (
            {"plank": {"category": "core", "primary": ["chest"], "secondary": ["chest"]}},
            "both primary and secondary",
        ),
        ({"Plank": {"category": "core", "primary": ["chest"]}}, "snake_case"),
        (
            {
                "plank": {"category": "core", "primary": ["chest"], "aliases": ["hold"]},
                "squat": {"category": "legs", "primary": ["quadriceps"], "aliases": ["holds"]},
            },
            "duplicate alias 'holds'",
        ),
        (
            {
                "plank": {"category": "core", "primary": ["chest"]},
                "squat": {"category": "legs", "primary": ["quadriceps"], "aliases": ["Plank"]},
            },
            "duplicate alias",
        ),
    ],
)
def test_parse_rejects_bad_entries(activities: dict, message: str) -> None:
    with pytest.raises(KnowledgeBaseError, match=message):
        parse_knowledge_base(_minimal(**activities), source="test.yaml")


def test_load_rejects_duplicate_yaml_keys(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(
        "categories: [core]\nactivities:\n"
        "  plank: {category: core, primary: [chest]}\n"
        "  plank: {category: core, primary: [triceps]}\n"
    )
    with pytest.raises(KnowledgeBaseError, match="duplicate key 'plank'"):
        load_knowledge_base(path)
    with pytest.raises(KnowledgeBaseError, match="cannot read"):
        load_knowledge_base(tmp_path / "missing.yaml")


def test_load_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "kb.yaml"
    path.write_text(
        "categories: [core]\nactivities:\n"
        "  plank: {category: core, primary: [upper_abdominis], aliases: [hold]}\n"
    )
    kb = load_knowledge_base(path)
    assert list(kb) == ["plank"] and kb["plank"].aliases == ("hold",)

"""The Free Exercise DB in the knowledge base: packaged file, lookup, stretches, canonical keys."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from musclemap.activities import (
    canonical_exercise,
    find_activity,
    list_activities,
    load_knowledge_base,
    lookup,
    suggest,
    variants_of,
)
from musclemap.activities.library import LINKS, build_library, load_library
from musclemap.cli import app
from musclemap.data.manifest import parse_manifest
from musclemap.errors import UnknownActivityError
from musclemap.taxonomy import GROUP_IDS, from_multi_hot

FEDB = "free-exercise-db"


def record(ex_id: str, category: str, primary: list[str], secondary: list[str] = ()) -> dict:
    return {
        "id": ex_id, "name": ex_id.replace("_", " "), "category": category, "force": None,
        "level": "beginner", "mechanic": None, "equipment": "dumbbell",
        "primaryMuscles": primary, "secondaryMuscles": list(secondary), "instructions": [],
        "images": [],
    }  # fmt: skip


def test_packaged_library_counts_and_groups() -> None:
    lib = load_library()
    assert len(lib) == 873
    stretches = [a for a in lib.values() if a.kind == "stretch"]
    assert len(stretches) == 123
    assert all(not a.groups and a.stretched and a.category == "stretch" for a in stretches)
    work = [a for a in lib.values() if a.kind == "work"]
    assert all(a.primary and not set(a.primary) & set(a.secondary) for a in work)
    assert {g for a in work for g in a.groups} <= set(GROUP_IDS)
    assert all(a.source == FEDB and a.record is not None for a in lib.values())
    curated = load_knowledge_base()
    assert all(a.same_as in curated for a in lib.values() if a.same_as)
    assert all(target in curated for target in LINKS.values() if target)


def test_list_has_every_exercise() -> None:
    acts = list_activities()
    assert len(acts) == 222 + 873 >= 1000
    assert len(list_activities(source=FEDB)) == 873
    with pytest.raises(UnknownActivityError, match="unknown source 'wiki'"):
        list_activities(source="wiki")


def test_library_exercise_answers_with_provenance() -> None:
    act = lookup("barbell full squat")
    assert (act.name, act.source, act.same_as) == ("barbell_full_squat", FEDB, "squat")
    assert act.primary == ("quadriceps",)
    assert act.secondary == ("lower_back", "hamstring", "calves", "gluteus")
    assert act.record.id == "Barbell_Full_Squat" and act.record.equipment == "barbell"
    assert act.record.secondary_muscles == ("calves", "glutes", "hamstrings", "lower back")
    assert lookup("Barbell_Full_Squat") == act == lookup("barbell_full_squat", source=FEDB)
    pulldown = lookup("Wide-Grip Lat Pulldown")
    assert pulldown.groups == ("shoulder", "biceps", "upper_back", "latissimus")  # + "middle back"
    # Primary calves / shoulders bring their partners (taxonomy.PRIME_MOVER_PARTNERS) as
    # secondary groups; the authors' words stay as written.
    calf = lookup("Standing Calf Raises", source=FEDB)
    assert (calf.primary, calf.secondary) == (("calves",), ("feet_ankles",))
    assert calf.record.primary_muscles == ("calves",) and calf.record.secondary_muscles == ()
    raise_ = lookup("Side Lateral Raise", source=FEDB)
    assert (raise_.primary, raise_.secondary) == (("shoulder",), ("upper_back",))
    stretch = lookup("Calf Stretch Hands Against Wall", source=FEDB)
    assert stretch.groups == () and stretch.stretched == ("calves",)


def test_curated_names_win() -> None:
    assert lookup("dumbbell bench press").name == "bench_press"  # curated, equipment stripped
    assert lookup("dumbbell bench press", source=FEDB).same_as == "bench_press"
    assert lookup("butterfly").name == "butterfly_stretch"
    machine_fly = lookup("butterfly", source=FEDB)  # the pec-deck of the library
    assert machine_fly.groups == ("chest",) and machine_fly.same_as == ""
    assert find_activity("barbell full squat", source="curated") is None


def test_stretch_lists_stretched_groups_not_working_ones() -> None:
    act = lookup("90/90 hamstring")
    assert act.kind == "stretch" and act.stretched == ("hamstring", "calves")
    assert act.groups == () and not act.labels().any()
    assert act.role("hamstring") == "stretched" and act.role("chest") == ""


@pytest.mark.parametrize(
    ("name", "source", "key"),
    [
        ("squat", None, "squat"),
        ("barbell_full_squat", None, "squat"),
        ("Barbell Squat", FEDB, "squat"),
        ("Smith Machine Squat", FEDB, "squat"),
        ("3_4_sit_up", FEDB, "sit_up"),
        ("wide_grip_lat_pulldown", FEDB, "lat_pulldown"),
        ("triceps_pushdown_rope_attachment", FEDB, "tricep_pushdown"),
        ("standing_calf_raises", FEDB, "calf_raise"),
        ("air_bike", FEDB, "bicycle_crunch"),
        ("lying_machine_squat", FEDB, "lying_machine_squat"),  # reviewed: not a squat
        ("zercher_squats", FEDB, "zercher_squats"),  # no curated twin: its own key
        ("butterfly", FEDB, "butterfly"),
        ("butterfly", None, "butterfly_stretch"),
    ],
)
def test_canonical_exercise(name: str, source: str | None, key: str) -> None:
    assert canonical_exercise(name, source=source) == key


def test_canonical_unknown_raises_with_close_matches() -> None:
    with pytest.raises(UnknownActivityError, match="did you mean barbell_full_squat"):
        canonical_exercise("barbel full squat")
    assert suggest("barbel full squat")[0] == "barbell_full_squat"


def test_variants_of_curated() -> None:
    names = {a.record.name for a in variants_of("squat")}
    assert {"Barbell Full Squat", "Barbell Squat", "Bodyweight Squat"} <= names
    assert "Lying Machine Squat" not in names


def test_build_library_same_as_rules() -> None:
    doc = build_library(
        [
            record("Dumbbell_Bench_Press", "strength", ["chest"], ["shoulders", "triceps"]),
            record("Butterfly", "strength", ["chest"]),  # curated "butterfly" is a stretch
            record("Quad_Stretch", "stretching", ["quadriceps"]),
            record("Barbell_Full_Squat", "strength", ["quadriceps"]),  # LINKS
            record("Lying_Machine_Squat", "strength", ["quadriceps"]),  # LINKS: not the same
            record("Zercher_Squats", "strength", ["quadriceps"]),
        ]
    )
    same = {e["key"]: e["same_as"] for e in doc["exercises"]}
    assert same == {
        "dumbbell_bench_press": "bench_press", "butterfly": "", "quad_stretch": "quad_stretch",
        "barbell_full_squat": "squat", "lying_machine_squat": "", "zercher_squats": "",
    }  # fmt: skip
    first = doc["exercises"][0]
    assert (first["id"], first["equipment"], first["force"]) == (
        "Dumbbell_Bench_Press", "dumbbell", "",
    )  # fmt: skip
    assert doc["source"] == FEDB and "Unlicense" in doc["license"]


def test_packaged_file_is_the_generated_one(shared_dir: Path) -> None:
    source = shared_dir / "data" / "keyposes" / "exercises.json"
    if not source.is_file():
        pytest.skip(f"needs {source}")
    packaged = resources.files("musclemap.activities").joinpath("free_exercise_db.json")
    expected = build_library(json.loads(source.read_text("utf-8")))
    assert json.loads(packaged.read_text("utf-8")) == expected, (
        "regenerate: python -m musclemap.activities.library " + str(source)
    )


def test_manifest_labels_from_library(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text(
        "clip,activity,split\nimages/a,barbell_full_squat,\nimages/b,90_90_hamstring,\n"
    )
    rows, problems = parse_manifest(tmp_path / "m.csv")
    assert from_multi_hot(rows[0].labels) == [
        "lower_back", "hamstring", "quadriceps", "calves", "gluteus",
    ]  # fmt: skip
    assert [(p.kind, p.line) for p in problems] == [("unknown activity", 3)]
    assert "no working groups" in problems[0].detail


def test_cli_library_exercise_json() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["activities", "barbell full squat", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["source"], data["same_as"], data["canonical"]) == (FEDB, "squat", "squat")
    assert data["record"]["id"] == "Barbell_Full_Squat" and data["kind"] == "work"
    result = runner.invoke(app, ["activities", "90_90_hamstring", "--json"])
    data = json.loads(result.output)
    assert data["kind"] == "stretch" and data["stretched"] == ["hamstring", "calves"]
    assert data["groups"] == [] and sum(data["labels"]) == 0
    result = runner.invoke(app, ["activities", "squat"])
    assert "same exercise in free-exercise-db" in result.output
    assert "Barbell Full Squat" in " ".join(result.output.split())

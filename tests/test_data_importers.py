import csv
import json
import pickle
from collections import Counter

import numpy as np
import pytest

from musclemap.data.importers import (
    activity_from_path,
    exercise_slug,
    import_free_exercise_db,
    import_release,
)
from musclemap.data.manifest import read_manifest, write_manifest
from musclemap.data.validate import validate_manifest
from musclemap.errors import DatasetError
from musclemap.taxonomy import GROUP_IDS, from_multi_hot


def write_release(root, splits):
    for split, (videos, labels) in splits.items():
        (root / f"{split}_video_list.pkl").write_bytes(pickle.dumps(videos))
        (root / f"{split}_label_list.pkl").write_bytes(pickle.dumps(labels))


def test_release_round_trip(tmp_path):
    splits = {
        "train": (["squat/a.mp4", "push_up/b.mp4"], [[13, 17], [1, 2, 4]]),
        "val_seen": (["squat/c.mp4"], [[13, 17]]),
        "val_unseen": (["plank/d.mp4"], [[9, 10]]),
        "test_seen": (["push_up/e.mp4"], [[1, 2, 4]]),
        "test_unseen": (["plank/f.mp4"], [[9, 10]]),
    }
    write_release(tmp_path, splits)
    rows = import_release(tmp_path)
    assert [r.split for r in rows] == [
        "train",
        "train",
        "val_known",
        "val_new",
        "test_known",
        "test_new",
    ]
    assert [r.activity for r in rows] == ["squat", "push_up", "squat", "plank", "push_up", "plank"]
    assert list(np.flatnonzero(rows[1].labels)) == [1, 2, 4]
    write_manifest(rows, tmp_path / "m.csv")
    again = read_manifest(tmp_path / "m.csv")
    assert [r.clip for r in again] == [r.clip for r in rows]
    for a, b in zip(again, rows, strict=True):
        np.testing.assert_array_equal(a.labels, b.labels)
        assert (a.split, a.activity) == (b.split, b.activity)


def test_release_errors(tmp_path):
    write_release(tmp_path, {"train": (["a/x.mp4"], [[25]])})
    with pytest.raises(DatasetError, match="muscle index 25 outside 0-19"):
        import_release(tmp_path, splits=["train"])
    with pytest.raises(DatasetError, match="expected one video pickle for split 'val_seen'"):
        import_release(tmp_path, splits=["val_seen"])
    write_release(tmp_path, {"train": (["a/x.mp4", "a/y.mp4"], [[1]])})
    with pytest.raises(DatasetError, match="2 videos but 1 label"):
        import_release(tmp_path, splits=["train"])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("push_up__gym__1.mp4", "push_up"),
        ("squat-3.mp4", "squat"),
        ("jumping_jack_12.mov", "jumping_jack"),
        ("plank.mp4", "plank"),
    ],
)
def test_activity_from_file_name(name, expected):
    assert activity_from_path(name, "stem") == expected


# ---------------------------------------------------------------- Free Exercise DB
def fedb_record(ex_id, category, primary, secondary=(), **extra):
    return {
        "id": ex_id,
        "name": ex_id.replace("_", " "),
        "force": extra.get("force", "push"),
        "level": "beginner",
        "mechanic": extra.get("mechanic"),
        "equipment": extra.get("equipment", "barbell"),
        "primaryMuscles": list(primary),
        "secondaryMuscles": list(secondary),
        "instructions": ["..."],
        "category": category,
        "images": [f"{ex_id}/0.jpg", f"{ex_id}/1.jpg"],
    }


def write_fedb(root, records, *, skip_photos=()):
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    (root / "exercises.json").write_text(json.dumps(records))
    for rec in records:
        folder = root / "images" / rec["id"]
        folder.mkdir(parents=True)
        for k in (0, 1):
            if f"{rec['id']}/{k}.jpg" not in skip_photos:
                Image.new("RGB", (8, 6), (40 * k, 90, 200)).save(folder / f"{k}.jpg")
    return root


FEDB = [
    fedb_record(
        "Barbell_Full_Squat",
        "strength",
        ["quadriceps"],
        ["calves", "glutes", "hamstrings", "lower back"],
        mechanic="compound",
    ),
    fedb_record("Wide-Grip_Lat_Pulldown", "strength", ["lats"], ["biceps", "middle back"]),
    fedb_record("3_4_Sit-Up", "strength", ["abdominals"], equipment=None),
    fedb_record("90_90_Hamstring", "stretching", ["hamstrings"], ["calves"]),
]


def test_fedb_import_values(tmp_path):
    lib = write_fedb(tmp_path / "lib", FEDB)
    result = import_free_exercise_db(lib)
    assert result.stretches_left_out == 1
    by_activity = {r.activity: r for r in result.rows}
    assert list(by_activity) == ["barbell_full_squat", "wide_grip_lat_pulldown", "3_4_sit_up"]
    assert from_multi_hot(by_activity["barbell_full_squat"].labels) == [
        "lower_back", "hamstring", "quadriceps", "calves", "gluteus",
    ]  # fmt: skip
    assert from_multi_hot(by_activity["wide_grip_lat_pulldown"].labels) == [
        "biceps", "upper_back", "latissimus",
    ]  # fmt: skip
    assert from_multi_hot(by_activity["3_4_sit_up"].labels) == [
        "upper_abdominis", "lower_abdominis",
    ]  # fmt: skip
    squat = by_activity["barbell_full_squat"]
    assert squat.clip == (lib / "images" / "Barbell_Full_Squat").resolve()
    assert squat.extra["primary_muscles"] == "quadriceps"
    assert squat.extra["secondary_muscles"] == "calves;glutes;hamstrings;lower back"
    assert (squat.extra["source"], squat.extra["kind"], squat.extra["mechanic"]) == (
        "free-exercise-db", "work", "compound",
    )  # fmt: skip
    assert by_activity["3_4_sit_up"].extra["equipment"] == ""  # null in the JSON

    # The manifest: clips relative to its own folder, validated (two photos per folder).
    out = tmp_path / "out" / "m.csv"
    write_manifest(result.rows, out)
    with out.open() as fh:
        records = list(csv.DictReader(fh))
    assert records[0]["clip"] == "../lib/images/Barbell_Full_Squat"
    assert records[0]["labels"] == "lower_back;hamstring;quadriceps;calves;gluteus"
    assert records[0]["split"] == ""
    assert "stretched" not in records[0]
    report = validate_manifest(out)
    assert report.ok, report.problems
    (lib / "images" / "3_4_Sit-Up" / "1.jpg").unlink()
    (lib / "images" / "Barbell_Full_Squat" / "0.jpg").write_bytes(b"not a jpeg")
    assert sorted((p.kind, p.detail.split(":")[0]) for p in validate_manifest(out).problems) == [
        ("missing file", "../lib/images/3_4_Sit-Up/1.jpg"),
        ("unreadable file", "../lib/images/Barbell_Full_Squat/0.jpg"),
    ]


def test_fedb_stretches_included(tmp_path):
    lib = write_fedb(tmp_path, FEDB)
    result = import_free_exercise_db(lib, include_stretches=True)
    assert result.stretches_left_out == 0
    stretch = result.rows[-1]
    assert stretch.activity == "90_90_hamstring"
    assert stretch.extra["kind"] == "stretch"
    assert stretch.extra["stretched"] == "hamstring;calves"
    assert from_multi_hot(stretch.labels) == ["hamstring", "calves"]
    assert [r.extra["kind"] for r in result.rows] == ["work", "work", "work", "stretch"]


def test_fedb_prime_mover_partners(tmp_path):
    """A working exercise's primary calves bring feet_ankles, primary shoulders upper_back (the
    knowledge base's convention); as secondary muscles, or in a stretch, they do not."""
    records = [
        fedb_record("Standing_Calf_Raises", "strength", ["calves"]),
        fedb_record("Side_Lateral_Raise", "strength", ["shoulders"]),
        fedb_record("Bench_Press", "strength", ["chest"], ["shoulders", "triceps"]),
        fedb_record("Calf_Stretch", "stretching", ["calves"]),
    ]
    rows = import_free_exercise_db(write_fedb(tmp_path, records), include_stretches=True).rows
    assert [from_multi_hot(r.labels) for r in rows] == [
        ["calves", "feet_ankles"], ["shoulder", "upper_back"], ["chest", "shoulder", "triceps"],
        ["calves"],
    ]  # fmt: skip
    assert rows[0].extra["primary_muscles"] == "calves"  # the authors' words are kept as written


def test_fedb_every_problem_at_once(tmp_path):
    records = [
        *FEDB,
        fedb_record("Bad_Terms", "strength", ["bicepz"], ["core", "glutes"]),
        {"id": "No_Muscles", "name": "x", "category": "strength"},
        {**fedb_record("Not_A_List", "strength", []), "primaryMuscles": "biceps"},
        fedb_record("barbell-full-squat", "strength", ["quadriceps"]),  # same slug as #0
    ]
    lib = write_fedb(
        tmp_path, records, skip_photos={"Barbell_Full_Squat/1.jpg", "3_4_Sit-Up/0.jpg"}
    )
    with pytest.raises(DatasetError) as err:
        import_free_exercise_db(lib)
    message = str(err.value)
    assert "7 problem(s)" in message
    assert (
        "bad record 2 (e.g. #5 lacks primaryMuscles, secondaryMuscles, "
        "#6 primaryMuscles is not a list of words)"
    ) in message
    assert (
        "duplicate exercise 1 (e.g. barbell-full-squat (activity barbell_full_squat already "
        "used by Barbell_Full_Squat))"
    ) in message
    assert "missing photo 2 (e.g. Barbell_Full_Squat/1.jpg, 3_4_Sit-Up/0.jpg)" in message
    assert "unknown muscle term 2" in message
    assert "'bicepz' (did you mean bicep" in message and "'core' in Bad_Terms" in message
    assert "\n" not in message


def test_fedb_category_and_nothing_to_import(tmp_path):
    # A null category was taken for work (the stretch rule reads it); an empty exercises.json
    # wrote a manifest of 0 clips and exit 0.
    records = [{**fedb_record("Null_Category", "strength", ["biceps"]), "category": None}]
    with pytest.raises(DatasetError, match=r"bad record 1 \(e.g. #0 category None is not a word"):
        import_free_exercise_db(write_fedb(tmp_path / "a", records))
    with pytest.raises(DatasetError, match=r"exercises.json: no exercises$"):
        import_free_exercise_db(write_fedb(tmp_path / "b", []))
    stretches = [fedb_record("90_90_Hamstring", "stretching", ["hamstrings"])]
    with pytest.raises(DatasetError, match="all 1 exercise.s. are stretches.*--include-stretches"):
        import_free_exercise_db(write_fedb(tmp_path / "c", stretches))
    rows = import_free_exercise_db(write_fedb(tmp_path / "d", stretches), include_stretches=True)
    assert [r.extra["kind"] for r in rows.rows] == ["stretch"]


def test_fedb_unreadable_json(tmp_path):
    with pytest.raises(DatasetError, match="exercises.json"):
        import_free_exercise_db(tmp_path)
    (tmp_path / "exercises.json").write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read .*exercises.json"):
        import_free_exercise_db(tmp_path)
    (tmp_path / "exercises.json").write_text('{"id": 1}')
    with pytest.raises(DatasetError, match="expected a list of exercise records"):
        import_free_exercise_db(tmp_path)


@pytest.mark.parametrize(
    ("exercise_id", "slug"),
    [
        ("Barbell_Full_Squat", "barbell_full_squat"),
        ("3_4_Sit-Up", "3_4_sit_up"),
        ("Anterior_Tibialis-SMR", "anterior_tibialis_smr"),
        ("Alternating_Deltoid_Raise", "alternating_deltoid_raise"),
    ],
)
def test_exercise_slug(exercise_id, slug):
    assert exercise_slug(exercise_id) == slug


def test_fedb_real_set(shared_dir):
    lib = shared_dir / "data" / "keyposes"
    if not (lib / "exercises.json").is_file():
        pytest.skip(f"needs the Free Exercise DB in {lib}")
    result = import_free_exercise_db(lib, include_stretches=True)
    kinds = Counter(r.extra["kind"] for r in result.rows)
    assert len(result.rows) == 873 and kinds == {"work": 750, "stretch": 123}
    assert len({r.activity for r in result.rows}) == 873
    assert all(set(from_multi_hot(r.labels)) <= set(GROUP_IDS) and r.labels.any()
               for r in result.rows)  # fmt: skip
    squat = next(r for r in result.rows if r.activity == "barbell_full_squat")
    assert from_multi_hot(squat.labels) == [
        "lower_back", "hamstring", "quadriceps", "calves", "gluteus",
    ]  # fmt: skip
    assert import_free_exercise_db(lib).stretches_left_out == 123


def test_fedb_cli(tmp_path):
    from typer.testing import CliRunner

    from musclemap.cli import app

    lib = write_fedb(tmp_path / "lib", FEDB)
    out = tmp_path / "m.csv"
    res = CliRunner().invoke(
        app, ["data", "import", str(lib), "--layout", "free-exercise-db", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "3 clips" in res.output and "left out 1 stretch (their" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["data", "validate", str(tmp_path / "m.csv")])
    assert res.exit_code == 0 and "no problems found" in res.output


def test_fedb_id_with_path_parts_and_a_bom(tmp_path):
    # An id such as `../../x` named a photo folder outside the library; a UTF-8 BOM (as
    # Windows editors save JSON) was "Unexpected UTF-8 BOM" though manifests accept it.
    lib = write_fedb(tmp_path / "lib", FEDB[:1])
    (lib / "exercises.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(FEDB[:1]).encode())
    assert [r.activity for r in import_free_exercise_db(lib).rows] == ["barbell_full_squat"]
    bad = [{**FEDB[0], "id": "../../Barbell_Full_Squat"}, {**FEDB[1], "id": "a\\b"}]
    (lib / "exercises.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetError) as err:
        import_free_exercise_db(lib)
    assert "bad record 2 (e.g. #0 id '../../Barbell_Full_Squat' is not a name, " in str(err.value)
    assert "#1 id 'a\\\\b' is not a name)" in str(err.value)


def test_release_bool_labels_and_bad_options_are_refused(tmp_path):
    # A pickled True was read as muscle index 1 (bool is an int); `--activity-from nonsense`
    # named activities by file stem; `--video-root` a file made every clip a missing file; all
    # exit 0 (session 13's hostile pass).
    write_release(tmp_path, {"train": (["squat/a.mp4"], [[True, 13]])})
    with pytest.raises(DatasetError, match=r"muscle index True outside 0-19"):
        import_release(tmp_path, splits=["train"])
    write_release(tmp_path, {"train": (["squat/a.mp4"], [[13]])})
    with pytest.raises(DatasetError, match="--activity-from must be 'parent' or 'stem', got 'x'"):
        import_release(tmp_path, splits=["train"], activity_from="x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="--video-root .*file: is a file, expected a folder"):
        import_release(tmp_path, splits=["train"], video_root=tmp_path / "file")
    assert [r.activity for r in import_release(tmp_path, splits=["train"])] == ["squat"]



def test_folder_import_names_links_to_nothing(tmp_path):
    # A link named like a video that leads nowhere (a dropped git-annex file, a loop) was left
    # out of the manifest without a word; a link to the folder itself is not followed.
    import os

    (tmp_path / "squat_1.mp4").write_bytes(b"v")
    os.symlink(".", tmp_path / "again")
    from musclemap.data.importers import import_folder

    assert [r.clip.name for r in import_folder(tmp_path)] == ["squat_1.mp4"]
    os.symlink("squat_2.mp4", tmp_path / "squat_2.mp4")  # a loop
    with pytest.raises(DatasetError) as err:
        import_folder(tmp_path)
    assert str(err.value) == (
        f"1 video file(s) cannot be read, e.g. {tmp_path / 'squat_2.mp4'}: file not found (a "
        "symlink to nothing, or a symlink loop)"
    )


def test_import_folder_and_predict_take_the_same_video_endings(tmp_path):
    # Both read musclemap.data.VIDEO_SUFFIXES: `data import DIR` used to skip the .wmv and .gif
    # files that `predict DIR` takes.
    from musclemap.cli.predict import expand_videos
    from musclemap.data.importers import import_folder

    names = ["squat__a__1.wmv", "push_up__b__1.GIF", "lunge__c__1.webm", "notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    rows = import_folder(tmp_path)
    assert sorted(r.activity for r in rows) == ["lunge", "push_up", "squat"]
    assert sorted(p.name for p in expand_videos([tmp_path])) == sorted(names[:3])

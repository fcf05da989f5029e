"""data/pose_sequence.py: PoseSequence with its layout, and the pose-file format (old files too)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.pose_sequence import (
    FORMAT_VERSION,
    PoseFrame,
    PoseSequence,
    load_pose_file,
    save_pose_file,
)
from musclemap.errors import DatasetError, MusclemapError
from musclemap.skeleton import COCO17, MEDIAPIPE33, SkeletonLayout


def _sequence(t: int = 5, layout: SkeletonLayout = MEDIAPIPE33) -> PoseSequence:
    rng = np.random.default_rng(0)
    v = layout.num_joints
    frames = [
        None
        if i == 2
        else PoseFrame(rng.random((v, 3), np.float32), rng.random((v, 4), np.float32))
        for i in range(t)
    ]
    return PoseSequence.from_frames(
        frames,
        [i / 10 for i in range(t)],
        fps=10.0,
        width=64,
        height=48,
        source="x.mp4",
        layout=layout,
    )


def test_from_frames_marks_missing_rows() -> None:
    seq = _sequence()
    assert seq.image.shape == (5, 33, 3) and seq.world.shape == (5, 33, 4)
    assert seq.valid.tolist() == [True, True, False, True, True]
    assert np.isnan(seq.image[2]).all() and np.isnan(seq.world[2]).all()
    assert seq.coverage == pytest.approx(0.8) and seq.duration_s == pytest.approx(0.4)
    assert seq.num_people == 1 and seq.layout is MEDIAPIPE33 and seq.num_joints == 33


def test_the_layout_sets_the_joint_count() -> None:
    seq = _sequence(layout=COCO17)
    assert seq.image.shape == (5, 17, 3) and seq.layout is COCO17
    assert PoseSequence.empty(fps=10, width=1, height=1, layout="coco17").image.shape == (0, 17, 3)
    with pytest.raises(ValueError, match=r"image has shape \(5, 17, 3\), expected \(5, 33, 3\)"):
        PoseSequence(seq.image, seq.world, seq.valid, seq.times, 10.0, 64, 48)  # MEDIAPIPE33


def test_shape_mismatch_is_rejected() -> None:
    seq = _sequence()
    with pytest.raises(ValueError, match="world"):
        PoseSequence(seq.image, seq.world[:, :, :3], seq.valid, seq.times, 10.0, 64, 48)


def test_save_load_round_trip_keeps_the_layout(tmp_path: Path) -> None:
    for layout in (MEDIAPIPE33, COCO17):
        seq = _sequence(layout=layout)
        seq.extra = {"estimator": "x", "track_jumps_s": [0.3]}
        path = save_pose_file(seq, tmp_path / layout.name / "p.npz")
        back = load_pose_file(path)
        assert back.layout is layout
        np.testing.assert_array_equal(back.image, seq.image)
        np.testing.assert_array_equal(back.world, seq.world)
        np.testing.assert_array_equal(back.valid, seq.valid)
        np.testing.assert_array_equal(back.times, seq.times)
        assert (back.fps, back.width, back.height, back.source) == (10.0, 64, 48, "x.mp4")
        assert back.extra == seq.extra
        assert back.image.dtype == np.float32 and back.times.dtype == np.float64
        assert [p.name for p in path.parent.iterdir()] == ["p.npz"]  # no temp file left
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
        assert meta["layout"] == layout.name and meta["format_version"] == FORMAT_VERSION


def test_a_file_written_before_layouts_were_recorded_loads_as_mediapipe33(
    tmp_path: Path,
) -> None:
    # What the first pose files hold: the arrays, and meta without layout or format version.
    t = 3
    image = np.full((t, 33, 3), 0.25, np.float32)
    world = np.zeros((t, 33, 4), np.float32)
    meta = {"fps": 10.0, "width": 640, "height": 480, "source": "old.mp4"}
    path = tmp_path / "old.npz"
    np.savez_compressed(
        path,
        image=image,
        world=world,
        valid=np.ones(t, bool),
        times=np.arange(t) / 10.0,
        meta=np.asarray(json.dumps(meta)),
    )
    seq = load_pose_file(path)
    assert seq.layout is MEDIAPIPE33 and len(seq) == 3 and seq.num_people == 1
    assert (seq.width, seq.height, seq.source, seq.extra) == (640, 480, "old.mp4", {})
    np.testing.assert_array_equal(seq.image, image)
    # Saved again, it records the layout.
    with np.load(save_pose_file(seq, tmp_path / "new.npz")) as data:
        assert json.loads(str(data["meta"]))["layout"] == "mediapipe33"


def test_an_unknown_layout_names_the_file_and_the_known_ones(tmp_path: Path) -> None:
    seq = _sequence()
    path = save_pose_file(seq, tmp_path / "p.npz")
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.asarray(json.dumps({**meta, "layout": "halpe26"}))
    np.savez_compressed(path, **arrays)
    with pytest.raises(DatasetError, match=r"p\.npz: .*unknown skeleton layout 'halpe26'.*coco17"):
        load_pose_file(path)


def test_load_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_pose_file(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_text("nope")
    with pytest.raises(DatasetError, match="bad.npz"):
        load_pose_file(bad)
    partial = tmp_path / "partial.npz"
    np.savez_compressed(partial, image=np.zeros((1, 33, 3)))
    with pytest.raises(DatasetError, match="partial.npz"):
        load_pose_file(partial)


def test_to_layout_matches_joints_by_name() -> None:
    seq = _sequence()
    coco = seq.to_layout("coco17")
    assert coco.layout is COCO17 and coco.image.shape == (5, 17, 3)
    knee_mp, knee_coco = MEDIAPIPE33.index("left_knee"), COCO17.index("left_knee")
    np.testing.assert_array_equal(coco.image[:, knee_coco], seq.image[:, knee_mp])
    np.testing.assert_array_equal(coco.world[:, knee_coco], seq.world[:, knee_mp])
    assert coco.valid.tolist() == seq.valid.tolist() and coco.fps == seq.fps
    # Back to MediaPipe-33: joints COCO lacks (heels, ...) are NaN with visibility 0.
    back = coco.to_layout(MEDIAPIPE33)
    heel = MEDIAPIPE33.index("left_heel")
    assert np.isnan(back.image[0, heel, :2]).all() and back.image[0, heel, 2] == 0
    np.testing.assert_array_equal(back.image[:, knee_mp], seq.image[:, knee_mp])
    assert seq.to_layout(MEDIAPIPE33) is seq


def test_an_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C while `data poses` or the pose cache wrote a file left `.x.<pid>.tmp.npz` behind.
    path = save_pose_file(_sequence(), tmp_path / "x.npz")
    before = path.read_bytes()
    real = Path.write_bytes

    def interrupted(self: Path, data: bytes) -> int:
        real(self, data)  # the temporary file is complete on disk ...
        raise KeyboardInterrupt  # ... when Ctrl-C arrives

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_pose_file(_sequence(8), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `data poses` on a full disk: "OSError: [Errno 28] ..." per clip, and numpy's zip writer,
    # failing in its own close, printed "Exception ignored ... Traceback".
    import errno

    def full(self: Path, data: bytes) -> int:
        with self.open("wb") as f:
            f.write(bytes(data)[:100])  # a part made it to the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(MusclemapError) as err:
        save_pose_file(_sequence(), tmp_path / "x.npz")
    says = f"pose file {tmp_path / 'x.npz'}: cannot write (No space left on device)"
    assert str(err.value) == says
    assert not list(tmp_path.iterdir())
    with pytest.raises(MusclemapError, match="is a file, not a folder"):  # under a file
        (tmp_path / "f").write_text("x")
        monkeypatch.undo()
        save_pose_file(_sequence(), tmp_path / "f" / "x.npz")


@pytest.mark.parametrize(
    "poison, message",
    [
        ("image_nan", "no finite image landmark in 1 of 4 frames with a person"),
        ("image_inf", "inf in the image landmarks"),
        ("world_inf", "inf in the world landmarks"),
        ("times", "non-finite times or frame rate"),
    ],
)
def test_non_finite_poses_are_refused(tmp_path: Path, poison: str, message: str) -> None:
    # NaN / inf landmarks were scored with NumPy warnings into NaN features (evaluate printed a
    # table and exit 0; validate found "no problems"). NaN world landmarks mean "no 3D output",
    # NaN for some joints a joint the layout lacks, and a frame without a person may be NaN.
    seq = _sequence()
    seq.world[0, 0, :3] = np.nan
    seq.image[0, 5:] = np.nan
    seq.image[2] = np.nan  # frame 2 has no person
    save_pose_file(seq, tmp_path / "ok.npz")
    assert len(load_pose_file(tmp_path / "ok.npz")) == 5
    if poison == "image_nan":
        seq.image[1, :, 0] = np.nan
    elif poison == "image_inf":
        seq.image[4, 0, 1] = np.inf
    elif poison == "world_inf":
        seq.world[1, 0, 2] = -np.inf
    else:
        seq.times[3] = np.nan
    save_pose_file(seq, tmp_path / "bad.npz")
    with pytest.raises(DatasetError) as err:
        load_pose_file(tmp_path / "bad.npz")
    assert str(err.value) == f"{tmp_path / 'bad.npz'}: not a valid pose file ({message})"

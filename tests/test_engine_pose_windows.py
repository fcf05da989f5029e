"""engine/pose_windows.py: items, the typed pose_default settings, augmentation, training arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musclemap.config import load_config
from musclemap.engine import pose_windows
from musclemap.errors import ConfigError, DatasetError
from musclemap.pose import keypose
from musclemap.pose.synthetic import synthetic_landmarks
from musclemap.skeleton import MEDIAPIPE33
from musclemap.taxonomy import GROUP_IDS


def _cfg(*overrides: str):
    return load_config(
        None,
        ["task=pose_default", "model.name=keypose_mlp", "data.synthetic=true",
         "data.synthetic_clips=6", "data.window=20", *overrides],
    )


def test_settings_come_from_the_typed_section() -> None:
    cfg = _cfg("pose_default.stride=7", "pose_default.min_visibility=0.2",
               "pose_default.motion=true", "pose_default.score_keypose_videos=3",
               "pose_default.still_range=0.1", "pose_default.pool_motion=0.05")
    assert pose_windows.settings(cfg) == {
        "window": 20, "stride": 7, "min_visibility": 0.2, "motion": True, "tempo": False,
        "still_range": 0.1, "pool_motion": 0.05, "pair_videos": 3,
    }
    assert pose_windows.settings(_cfg())["min_visibility"] == keypose.MIN_VISIBILITY


def test_synthetic_items_cycle_exercises_with_their_labels() -> None:
    items = pose_windows.synthetic_items(4)
    assert [it.activity for it in items] == ["squat", "biceps_curl", "shoulder_press", "squat"]
    curl = items[1]
    assert [GROUP_IDS[i] for i in np.flatnonzero(curl.labels)] == ["biceps", "forearms"]
    assert len(curl.seq) == 50 and curl.seq.fps == 10.0  # 5 s at 10 fps
    assert curl.baseline.shape == (58,) and curl.kind == "clip"


def test_augment_pitches_the_camera_and_hides_one_limb() -> None:
    world, _ = synthetic_landmarks("squat", seconds=1.0)
    out = pose_windows.augment(world, np.random.default_rng(0), occlude=1.0)
    # A rotation about the x axis: x kept, every distance from the origin kept.
    np.testing.assert_allclose(out[..., 0], world[..., 0])
    np.testing.assert_allclose(
        np.linalg.norm(out[..., :3], axis=-1), np.linalg.norm(world[..., :3], axis=-1), atol=1e-5
    )
    hidden = np.flatnonzero(out[0, :, 3] == 0.0)
    names = {MEDIAPIPE33.joints[i] for i in hidden}
    assert names and len({n.split("_")[0] for n in names}) == 1  # one side only
    assert any(set(names) == {f"{n.split('_')[0]}_{j}" for j in limb}
               for n in names for limb in pose_windows._LIMBS)
    untouched = pose_windows.augment(world, np.random.default_rng(0), occlude=0.0)
    assert (untouched[..., 3] == world[..., 3]).all()
    assert np.isfinite(out[..., :3]).all()  # by default only the visibility goes


def test_augment_can_drop_the_hidden_limb_and_its_side_comes_from_the_other() -> None:
    world, _ = synthetic_landmarks("biceps_curl", seconds=3.0)
    kept = pose_windows.augment(world, np.random.default_rng(2), occlude=1.0)
    dropped = pose_windows.augment(world, np.random.default_rng(2), occlude=1.0,
                                   drop_hidden=True)
    hidden = kept[..., 3] == 0.0
    assert {MEDIAPIPE33.joints[i] for i in np.flatnonzero(hidden[0])} == {
        f"left_{j}" for j in ("elbow", "wrist", "pinky", "index", "thumb")}  # a forearm
    np.testing.assert_array_equal(np.isnan(dropped[..., 0]), hidden)  # exactly the hidden limb
    np.testing.assert_array_equal(dropped[~hidden], kept[~hidden])  # same pitch, same rest
    # At min_visibility 0 the visibility alone changes no feature; without the forearm, the
    # left arm's features are the right arm's (the synthetic curl is symmetric).
    win = lambda w: keypose.sequence_windows(w, np.ones(len(w), bool), window=30,  # noqa: E731
                                             stride=10, min_visibility=0.0)[1]
    np.testing.assert_allclose(win(kept), win(kept[..., :3]), atol=1e-6)  # visibility unread
    a, b = win(kept)[0], win(dropped)[0]
    names = keypose.FEATURE_NAMES
    gone = [names[i] for i in np.flatnonzero(np.isnan(b))]
    assert gone == ["pose_spread_hands", "rom_spread_hands", "span_spread_hands"]  # both hands
    arm = [names.index(f"pose_{n}_asym") for n in ("angle_elbow", "tilt_forearm", "palm_up")]
    assert (a[arm] > 1e-3).all() and (b[arm] == 0).all()  # one arm, seen twice
    legs = [i for i, n in enumerate(names) if any(j in n for j in ("knee", "hip", "ankle"))]
    np.testing.assert_allclose(b[legs], a[legs], atol=1e-5)
    # In training: the copies change, the originals do not.
    items = pose_windows.synthetic_items(6)
    on = ["pose_default.min_visibility=0", "pose_default.augment_copies=1"]
    a = pose_windows.item_windows(items, _cfg(*on, "pose_default.occlusion=missing"), seed=0)
    b = pose_windows.item_windows(items, _cfg(*on), seed=0)
    n = [len(keypose.window_starts(len(it.seq), 20, 10)) for it in items]
    assert all(np.array_equal(x[:k], y[:k]) for x, y, k in zip(a, b, n, strict=True))
    assert any(not np.array_equal(x[k:], y[k:], equal_nan=True)
               for x, y, k in zip(a, b, n, strict=True))


def test_item_windows_are_seeded_per_item() -> None:
    cfg = _cfg("pose_default.augment_copies=2")
    items = pose_windows.synthetic_items(3)
    every = pose_windows.item_windows(items, cfg, seed=0)
    # Per item: its own windows, plus the same number per augmented copy.
    plain = [keypose.window_starts(len(it.seq), 20, 10) for it in items]
    assert [len(x) for x in every] == [3 * len(s) for s in plain]
    assert every[0].shape[1] == keypose.num_features(False)
    again = pose_windows.item_windows(items, cfg, seed=0)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(every, again, strict=True))
    other = pose_windows.item_windows(items, cfg, seed=1)
    assert not np.array_equal(every[0], other[0], equal_nan=True)


def _clip_and_photo_pair(override: str, clip_windows: int, pair_windows: int) -> tuple:
    """A generated clip and a photo pair with that many windows each, and their training
    arrays (x, y, w) under the config override."""
    items = pose_windows.synthetic_items(2)
    items[1].kind = "keypose"
    windows = [np.zeros((clip_windows, 3), np.float32), np.ones((pair_windows, 3), np.float32)]
    return items, pose_windows.training_arrays(items, windows, _cfg(override))


def test_training_arrays_weigh_items_not_windows() -> None:
    items, (x, y, w) = _clip_and_photo_pair("pose_default.keypose_weight=0.5", 4, 2)
    assert x.shape == (6, 3) and np.array_equal(y[:4], np.repeat(items[0].labels[None], 4, 0))
    # clip: 1 shared by 4 windows, key poses: 0.5 shared by 2; then scaled to mean 1
    raw = np.array([0.25] * 4 + [0.25] * 2)
    np.testing.assert_allclose(w, raw / raw.mean())
    assert w.mean() == pytest.approx(1.0)


def test_training_arrays_smooth_only_the_key_pose_targets() -> None:
    items, (_, y, _) = _clip_and_photo_pair("pose_default.keypose_label_smoothing=0.2", 2, 3)
    assert np.array_equal(y[:2], np.repeat(items[0].labels[None], 2, 0))  # a clip: as labelled
    # a photo pair: 1 -> 0.9, 0 -> 0.1 on every one of its windows
    want = np.where(items[1].labels > 0.5, 0.9, 0.1).astype(np.float32)
    np.testing.assert_allclose(y[2:], np.repeat(want[None], 3, 0), rtol=1e-6)
    assert set(np.unique(items[1].labels)) == {0.0, 1.0}  # the items' own labels untouched


def test_keypose_label_smoothing_out_of_range_is_one_line() -> None:
    with pytest.raises(ConfigError, match="keypose_label_smoothing must be <= 1"):
        _cfg("pose_default.keypose_label_smoothing=1.5")
    with pytest.raises(ConfigError, match="keypose_label_smoothing must be >= 0"):
        _cfg("pose_default.keypose_label_smoothing=-0.1")


def test_load_items_reads_the_library_manifest(tmp_path: Path) -> None:
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.pose.synthetic import synthetic_pose_sequence

    pose = save_pose_file(synthetic_pose_sequence("squat", seconds=2.0), tmp_path / "kp.npz")
    (tmp_path / "lib.csv").write_text(
        f"clip,activity,split,labels,skeleton,source\nkp/a.jpg,barbell_squat,,quadriceps,"
        f"{pose},free-exercise-db\n"
    )
    items = pose_windows.load_items(_cfg(f"pose_default.library_manifest={tmp_path / 'lib.csv'}"))
    assert [it.kind for it in items] == ["clip"] * 6 + ["keypose"]
    assert items[-1].exercise == items[0].exercise == "squat"  # one exercise across both kinds


def test_same_exercise_is_one_group_across_datasets() -> None:
    items = pose_windows.synthetic_items(4)  # squat, biceps_curl, shoulder_press, squat clips
    extra = pose_windows.synthetic_items(2)
    for it, act in zip(extra, ("barbell_squat", "leg_press"), strict=True):
        it.activity, it.kind, it.source, it.item_id = act, "keypose", "free-exercise-db", act
    pose_windows.group_exercises(items + extra)
    assert items[0].exercise == items[3].exercise == extra[0].exercise == "squat"
    assert extra[1].exercise not in {it.exercise for it in items}
    assert len({it.exercise for it in items[:3]}) == 3


def test_manifest_without_skeletons_is_a_clear_error(tmp_path: Path) -> None:
    from musclemap.errors import DatasetError

    manifest = tmp_path / "m.csv"
    (tmp_path / "a.mp4").write_bytes(b"")
    manifest.write_text("clip,activity,split,labels\na.mp4,squat,,quadriceps\n")
    cfg = load_config(None, ["task=pose_default", f"data.manifest={manifest}"])
    with pytest.raises(DatasetError, match="skeleton"):
        pose_windows.load_items(cfg)


def test_exercise_ids_index_each_window_by_its_exercise() -> None:
    items = pose_windows.synthetic_items(4)  # squat, biceps_curl, shoulder_press, squat
    pose_windows.group_exercises(items)
    windows = [np.zeros((n, 3), np.float32) for n in (2, 1, 3, 1)]
    # sorted exercises: biceps_curl 0, shoulder_press 1, squat 2; in training_arrays order
    assert pose_windows.exercise_ids(items, windows).tolist() == [2, 2, 0, 1, 1, 1, 2]


def _photo_pair(exercise: str = "squat"):
    """A key-position photo pair: the two frames of a generated clip farthest apart in knee
    angle (top and bottom of a squat)."""
    from musclemap.data.pose_sequence import PoseSequence

    world, image = synthetic_landmarks(exercise, seconds=2.5, period_s=2.5)
    _, sides = keypose.frame_descriptors(world, min_visibility=0.0)
    knee = sides[:, 0, keypose.SIDE_NAMES.index("angle_knee")]
    pick = [int(np.argmin(knee)), int(np.argmax(knee))]
    return PoseSequence(image=image[pick], world=world[pick], valid=np.ones(2, bool),
                        times=np.zeros(2), fps=10.0, width=640, height=480)


def test_keypose_video_moves_between_the_two_photos() -> None:
    pair = _photo_pair()
    pair.world[1, :5, 3] = 0.3  # the face less visible in the second photo
    world, image = pose_windows.keypose_video(pair, np.random.default_rng(0), frames=30,
                                              fps=10.0, jitter_m=0.0)
    assert world.shape == (30, 33, 4) and image.shape == (30, 33, 3)
    a, b = pair.world[0, :, :3], pair.world[1, :, :3]
    # every frame on the straight line from a to b, at one shared fraction u in [0, 1]
    d = b - a
    u = np.sum((world[..., :3] - a) * d, axis=(1, 2)) / np.sum(d * d)
    np.testing.assert_allclose(world[..., :3], a + u[:, None, None] * d, atol=1e-5)
    assert u.min() > -1e-6 and u.max() < 1 + 1e-6 and u.max() - u.min() > 0.5
    assert (world[:, :5, 3] == np.float32(0.3)).all()  # the smaller visibility of the two
    assert (world[:, 5:, 3] == pair.world[0, 5:, 3]).all()
    ui = (image[:, 0, 0] - pair.image[0, 0, 0]) / (pair.image[1, 0, 0] - pair.image[0, 0, 0])
    np.testing.assert_allclose(ui, u, atol=1e-4)  # the image moves in step with the world
    noisy, _ = pose_windows.keypose_video(pair, np.random.default_rng(0), frames=30, fps=10.0)
    assert 0.005 < np.std(noisy[..., :3] - world[..., :3]) < 0.015  # 1 cm jitter


def test_keypose_video_windows_look_like_the_photos_in_motion() -> None:
    pair = _photo_pair()
    world, image = pose_windows.keypose_video(pair, np.random.default_rng(1), frames=30,
                                              fps=10.0)
    _, x, _ = keypose.sequence_windows(world, np.ones(30, bool), window=30, stride=10,
                                       min_visibility=0.0, motion=True, fps=10.0, image=image)
    _, photo, _ = keypose.sequence_windows(pair.world, pair.valid, window=30, stride=10,
                                           min_visibility=0.0, motion=True, fps=10.0,
                                           image=pair.image)
    names = keypose.FEATURE_NAMES + keypose.MOTION_NAMES
    still = names.index("still")
    assert photo[0, still] == 1.0 and x[0, still] == 0.0  # a video: motion is measured
    knee = names.index("rom_angle_knee_max")
    # the range of motion of the video's key poses: most of the photos' (the key poses average
    # the quarter of frames at each end of the movement)
    assert 0.6 * photo[0, knee] < x[0, knee] <= photo[0, knee] + 0.02
    assert np.isfinite(x[0, names.index("speed_angle_knee_max")])


def test_item_windows_add_pseudo_videos_to_key_pose_items_only() -> None:
    items = pose_windows.synthetic_items(2)
    pair = pose_windows.Item("kp", "barbell_squat", "barbell squat", "keypose",
                             "free-exercise-db", items[0].labels, _photo_pair())
    items.append(pair)
    plain = pose_windows.item_windows(items, _cfg("pose_default.augment_copies=1"), seed=0)
    more = pose_windows.item_windows(
        items, _cfg("pose_default.augment_copies=1", "pose_default.keypose_videos=3"), seed=0)
    for a, b in zip(plain[:2], more[:2], strict=True):  # clips: unchanged
        assert np.array_equal(a, b, equal_nan=True)
    # the photo pair: its own window and its copy as before, then one window per pseudo-video
    assert len(plain[2]) == 2 and len(more[2]) == 5
    assert np.array_equal(more[2][:2], plain[2], equal_nan=True)
    assert not np.isnan(more[2][2:]).all(1).any()


def test_a_pairs_mirror_is_a_second_training_copy_the_own_windows_unchanged() -> None:
    items = pose_windows.synthetic_items(2)
    pair = pose_windows.Item("kp", "barbell_squat", "barbell squat", "keypose",
                             "free-exercise-db", items[0].labels, _photo_pair())
    items.append(pair)
    cfg = _cfg("pose_default.augment_copies=1", "pose_default.keypose_videos=2")
    plain = pose_windows.item_windows(items, cfg, seed=0)
    mirror = _photo_pair()
    mirror.world = MEDIAPIPE33.flip(mirror.world) + 0.01  # another estimate, mapped back
    pair.copies = [mirror]
    more = pose_windows.item_windows(items, cfg, seed=0)
    for a, b in zip(plain[:2], more[:2], strict=True):  # clips: unchanged
        assert np.array_equal(a, b, equal_nan=True)
    # the pair's own windows (photos, copy, 2 pseudo-videos) first, bit for bit, then the
    # mirror's as many
    assert len(plain[2]) == 4 and len(more[2]) == 8
    assert np.array_equal(more[2][:4], plain[2], equal_nan=True)
    assert not np.array_equal(more[2][4:], plain[2], equal_nan=True)
    # the features are mirror-invariant: the mirrored photos' own window is the pair's, up to
    # the offset's effect
    np.testing.assert_allclose(more[2][4], plain[2][0], atol=0.05)
    # training arrays: the pair still weighs one item
    _, _, w = pose_windows.training_arrays(items, more, cfg)
    assert w[-8:].sum() == pytest.approx(w[: len(more[0])].sum())


def test_load_items_reads_the_mirror_column_only_when_asked(tmp_path: Path) -> None:
    from musclemap.data.pose_sequence import save_pose_file

    save_pose_file(_photo_pair(), tmp_path / "kp.npz")
    save_pose_file(_photo_pair(), tmp_path / "kp.mirror.npz")
    lib = tmp_path / "lib.csv"
    lib.write_text(
        "clip,activity,split,labels,skeleton,source,skeleton_mirror\n"
        "kp/a,barbell_squat,,quadriceps,kp.npz,free-exercise-db,kp.mirror.npz\n"
    )
    on = f"pose_default.library_manifest={lib}"
    assert pose_windows.load_items(_cfg(on))[-1].copies == []
    items = pose_windows.load_items(_cfg(on, "pose_default.keypose_mirror=true"))
    assert len(items[-1].copies) == 1 and len(items[-1].copies[0]) == 2
    lib.write_text(lib.read_text().replace("kp.mirror.npz", "gone.npz"))
    with pytest.raises(DatasetError, match="skeleton_mirror of kp/a not found"):
        pose_windows.load_items(_cfg(on, "pose_default.keypose_mirror=true"))
    lib.write_text(lib.read_text().replace(",gone.npz", ","))
    with pytest.raises(ConfigError, match="has no skeleton_mirror pose files"):
        pose_windows.load_items(_cfg(on, "pose_default.keypose_mirror=true"))


def test_load_items_reads_a_clip_s_mirror_when_clip_mirror_is_on(tmp_path: Path) -> None:
    from musclemap.data.pose_sequence import save_pose_file
    from musclemap.pose.synthetic import synthetic_pose_sequence

    squat = synthetic_pose_sequence("squat", seconds=3.0)
    save_pose_file(squat, tmp_path / "a.npz")
    nobody = synthetic_pose_sequence("squat", seconds=3.0)
    nobody.valid[:] = False
    nobody.image[:], nobody.world[:] = np.nan, np.nan
    save_pose_file(squat, tmp_path / "a.mirror.npz")
    save_pose_file(nobody, tmp_path / "b.mirror.npz")
    (tmp_path / "m.csv").write_text(
        "clip,activity,split,labels,skeleton,source_repo,skeleton_mirror\n"
        "a.mp4,squat,,quadriceps,a.npz,s1,a.mirror.npz\n"
        "b.mp4,squat,,quadriceps,a.npz,s2,b.mirror.npz\n"
    )
    base = ["data.synthetic=false", f"data.manifest={tmp_path / 'm.csv'}"]
    assert [len(it.copies) for it in pose_windows.load_items(_cfg(*base))] == [0, 0]
    items = pose_windows.load_items(_cfg(*base, "pose_default.clip_mirror=true"))
    assert [len(it.copies) for it in items] == [1, 0]  # b's mirror has no person: no copy
    (tmp_path / "m.csv").write_text(
        (tmp_path / "m.csv").read_text().replace("a.mirror.npz", "").replace("b.mirror.npz", "")
    )
    with pytest.raises(ConfigError, match="pose_default.clip_mirror: the manifest"):
        pose_windows.load_items(_cfg(*base, "pose_default.clip_mirror=true"))

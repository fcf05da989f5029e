"""pose/estimator.py: the PoseEstimator protocol and the estimators by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from musclemap.errors import ArgumentError, MusclemapError, UnknownNameError
from musclemap.pose import estimator as registry
from musclemap.pose.estimator import (
    DEFAULT_ESTIMATOR,
    PACKAGED_WEIGHTS,
    MirroredEstimator,
    PoseEstimator,
    WrappedEstimator,
    build_estimator,
    check_estimator_name,
    estimator_for,
    estimator_note,
    list_estimators,
    pool_factory,
    pooled_name,
    predict_estimator,
    register_estimator,
    weights_estimator,
)
from musclemap.predictor import WEIGHTS_DIR
from musclemap.skeleton import COCO17, MEDIAPIPE33
from pose_standins import BrightnessEstimator, ScriptedEstimator, registered


def test_stand_ins_satisfy_the_protocol() -> None:
    assert isinstance(ScriptedEstimator(), PoseEstimator)
    assert isinstance(BrightnessEstimator(layout=COCO17), PoseEstimator)

    class NoLayout:
        name = "x"

        def settings(self) -> dict:
            return {}

        def estimate(self, frame_rgb: object) -> None:
            return None

        def close(self) -> None:
            pass

    assert not isinstance(NoLayout(), PoseEstimator)  # an estimator says which joints it gives


def test_a_wrapped_estimator_is_its_inner_one_unless_it_says_otherwise() -> None:
    import numpy as np

    from musclemap.pose.quality import RotatedEstimator

    inner = BrightnessEstimator(layout=COCO17)
    wrapped = WrappedEstimator(inner)
    assert isinstance(wrapped, PoseEstimator)
    assert (wrapped.name, wrapped.layout) == (inner.name, COCO17)
    assert wrapped.settings() == inner.settings()
    frame = np.full((8, 8, 3), 10, np.uint8)  # brightness 10: a person
    assert np.array_equal(wrapped.estimate(frame).image, inner.estimate(frame).image)
    wrapped.reset()
    assert inner.resets == 1
    # the subclasses keep their own settings (their poses are cached apart) and the reset
    assert MirroredEstimator(inner).settings() == {**inner.settings(), "mirrored": True}
    turned = RotatedEstimator(inner, 5)
    assert turned.settings()["rotate_ccw_deg"] == 90 and turned.layout == COCO17
    turned.reset()
    assert inner.resets == 2
    turned.close()
    assert not inner.closed  # not its own: the caller closes it
    wrapped.close()
    assert inner.closed


def test_mediapipe_is_the_default() -> None:
    assert DEFAULT_ESTIMATOR == "mediapipe" and "mediapipe" in list_estimators()
    est = build_estimator("mediapipe")  # reads MediaPipe's version; the graph starts on use
    try:
        assert est.name == "mediapipe_pose" and est.layout is MEDIAPIPE33
        assert isinstance(est, PoseEstimator) and est.settings()["model_complexity"] == 1
    finally:
        est.close()
    # extract_poses opens the pooled ones by name (and their workers)
    assert estimator_for("mediapipe") == "mediapipe"
    assert estimator_for("mediapipe_g4") == "mediapipe_g4"
    assert pooled_name(None) == "mediapipe" and pool_factory("mediapipe") is None
    assert pool_factory("mediapipe_g4") is registry.ESTIMATORS["mediapipe_g4"]


def test_weights_say_their_estimator(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(json.dumps({"pose_estimator": "mediapipe_g4"}))
    assert weights_estimator(tmp_path / "m.safetensors") == "mediapipe_g4"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.json").write_text(json.dumps({"pose_estimator": "mediapipe_g4"}))
    assert weights_estimator(tmp_path / "run") == "mediapipe_g4"
    (tmp_path / "old.json").write_text(json.dumps({"fps": 10.0}))  # before the field
    assert weights_estimator(tmp_path / "old.safetensors") == "mediapipe"
    assert weights_estimator(tmp_path / "none.safetensors") == "mediapipe"
    # predict's choice: the given name, else the model's, else the packaged model's.
    assert predict_estimator(tmp_path / "old.safetensors", "mediapipe_g4") == "mediapipe_g4"
    assert predict_estimator(tmp_path / "m.safetensors", None) == "mediapipe_g4"
    assert predict_estimator(tmp_path / "old.safetensors", None) == "mediapipe"
    assert PACKAGED_WEIGHTS.parent == WEIGHTS_DIR and PACKAGED_WEIGHTS.is_file()
    assert predict_estimator(None, None) == weights_estimator(PACKAGED_WEIGHTS)
    assert estimator_note("mediapipe_g4", "mediapipe_g4") is None
    assert estimator_note(None, "mediapipe_g4") is None
    note = estimator_note("mediapipe", "mediapipe_g4")
    assert note is not None and "mediapipe pose estimator" in note and "mediapipe_g4" in note


def test_an_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(KeyError) as err:
        check_estimator_name("mediapip")
    assert err.value.args[0] == (
        "unknown pose estimator 'mediapip'; did you mean 'mediapipe', 'mediapipe_g4'? "
        "known: mediapipe, mediapipe_g4"
    )
    with pytest.raises(KeyError) as err:
        build_estimator("openpose")
    assert err.value.args[0] == "unknown pose estimator 'openpose'; known: mediapipe, mediapipe_g4"
    with pytest.raises(KeyError, match="unknown pose estimator"):
        estimator_for("openpose")


def test_an_unknown_name_is_an_argument_error_of_one_unquoted_line() -> None:
    # It was a bare KeyError: a traceback from the Python API (`musclemap.predict(...,
    # pose_estimator="openpose")`), found by the hostile pass's API cases (session 15).
    with pytest.raises(ArgumentError) as err:
        check_estimator_name("openpose")
    assert isinstance(err.value, KeyError | MusclemapError)
    assert str(err.value) == "unknown pose estimator 'openpose'; known: mediapipe, mediapipe_g4"
    with pytest.raises(UnknownNameError, match="unknown pose estimator 3;"):
        check_estimator_name(3)  # type: ignore[arg-type]


def test_registered_estimators_are_built_fresh_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with registered() as made:
        assert list_estimators() == ["mediapipe", "mediapipe_g4", "scripted"]
        a, b = build_estimator("scripted"), estimator_for("scripted")
        assert isinstance(a, ScriptedEstimator) and isinstance(b, ScriptedEstimator)
        assert a is not b and made == [a, b]
    assert "scripted" not in registry.ESTIMATORS  # unregistered afterwards
    monkeypatch.setattr(registry, "ESTIMATORS", dict(registry.ESTIMATORS))
    register_estimator("coco", lambda: BrightnessEstimator(layout=COCO17))
    assert build_estimator("coco").layout is COCO17
    with pytest.raises(KeyError, match="did you mean 'coco'"):
        build_estimator("cocoa")


def test_grid_poses_never_reuse_cached_mediapipe_ones(tmp_path: Path) -> None:
    from musclemap.pose.cache import video_cache_path
    from musclemap.pose.sequential import pose_settings

    video = tmp_path / "v.mp4"
    video.write_bytes(b"the same file")
    own, g4 = build_estimator("mediapipe"), build_estimator("mediapipe_g4")
    assert own.name == g4.name  # the same estimator class: its settings tell them apart
    a, b = pose_settings(own, 720), pose_settings(g4, 720)
    assert "roi_grid" not in a and b["roi_grid"]["centre_px"] == 4.0
    assert video_cache_path(video, own.name, a, 10.0, tmp_path) != video_cache_path(
        video, g4.name, b, 10.0, tmp_path
    )

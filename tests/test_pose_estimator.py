"""pose/estimator.py: the PoseEstimator protocol and the estimators by name."""

from __future__ import annotations

import pytest

from musclemap.pose import estimator as registry
from musclemap.pose.estimator import (
    DEFAULT_ESTIMATOR,
    PoseEstimator,
    build_estimator,
    check_estimator_name,
    estimator_for,
    list_estimators,
    register_estimator,
)
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


def test_mediapipe_is_the_default() -> None:
    assert DEFAULT_ESTIMATOR == "mediapipe" and "mediapipe" in list_estimators()
    est = build_estimator("mediapipe")  # reads MediaPipe's version; the graph starts on use
    try:
        assert est.name == "mediapipe_pose" and est.layout is MEDIAPIPE33
        assert isinstance(est, PoseEstimator) and est.settings()["model_complexity"] == 1
    finally:
        est.close()
    assert estimator_for("mediapipe") is None  # extract_poses opens it (and its workers)


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

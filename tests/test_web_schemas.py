"""The REST API's models: the predict JSON of the real model validates and keeps its extra
blocks; refusals of wrong statuses, progress out of range and missing fields."""

from __future__ import annotations

import pytest

pytest.importorskip("pydantic")  # the [web] extra
from pydantic import ValidationError  # noqa: E402

from musclemap.demo import synthetic_pose_sequence  # noqa: E402
from musclemap.predictor import Predictor  # noqa: E402
from musclemap.taxonomy import GROUP_IDS  # noqa: E402
from musclemap.web.schemas import JobStatus, MuscleGroupInfo, PredictResult, Progress  # noqa: E402


@pytest.fixture(scope="module")
def predict_json() -> dict:
    """What `musclemap predict --json` writes for a generated squat."""
    return Predictor.default().predict_poses(synthetic_pose_sequence("squat")).to_dict()


def test_the_predict_json_is_a_predict_result(predict_json: dict) -> None:
    result = PredictResult.model_validate(predict_json)
    assert list(result.muscles) == list(GROUP_IDS)
    assert result.timeline and result.timeline[0].end_s > result.timeline[0].start_s
    assert set(result.timeline[0].muscles) == set(GROUP_IDS)
    dumped = result.model_dump()
    # Blocks the schema does not list (threshold, looks_like, quality, ...) pass through.
    assert dumped["threshold"] == predict_json["threshold"]
    assert dumped["looks_like"] == predict_json["looks_like"]
    assert dumped["model"] == predict_json["model"]


def test_a_result_without_its_muscles_is_refused(predict_json: dict) -> None:
    broken = {k: v for k, v in predict_json.items() if k != "muscles"}
    with pytest.raises(ValidationError, match="muscles"):
        PredictResult.model_validate(broken)


def test_job_status_values_and_progress_bounds() -> None:
    job = {"job_id": "j1", "status": "queued", "filename": "a.mp4",
           "progress": {"fraction": 0.0, "stage": "queued"}}
    status = JobStatus.model_validate(job)
    assert status.result is None and status.error is None and status.links == {}
    with pytest.raises(ValidationError, match="status"):
        JobStatus.model_validate({**job, "status": "paused"})
    for fraction in (-0.1, 1.5):
        with pytest.raises(ValidationError, match="fraction"):
            Progress(fraction=fraction, stage="x")


def test_group_info_needs_every_field() -> None:
    info = MuscleGroupInfo(id="biceps", name="Biceps", region="front", muscles=["biceps brachii"])
    assert info.model_dump() == {"id": "biceps", "name": "Biceps", "region": "front",
                                 "muscles": ["biceps brachii"]}
    with pytest.raises(ValidationError, match="region"):
        MuscleGroupInfo.model_validate({"id": "biceps", "name": "Biceps", "muscles": []})

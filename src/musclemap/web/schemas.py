"""Pydantic models of the REST API (they make up its OpenAPI schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TimelineSegment(BaseModel):
    model_config = ConfigDict(extra="allow")

    start_s: float = Field(description="Segment start in seconds from the video's start.")
    end_s: float = Field(description="Segment end in seconds.")
    muscles: dict[str, float] = Field(description="Activation probability per muscle group id.")


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    version: str


class PredictResult(BaseModel):
    """The predict JSON, the same as `musclemap predict --json` writes."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    video: str = Field(description="The uploaded file's name (as a label only).")
    muscles: dict[str, float] = Field(description="Probability per muscle group id (20 groups).")
    active: list[str] = Field(description="Groups judged active, most probable first.")
    timeline: list[TimelineSegment]
    pose_coverage: float = Field(description="Fraction of sampled frames with a detected person.")
    people: int = Field(description="Most people seen at once.")
    model: ModelInfo


class Progress(BaseModel):
    fraction: float = Field(ge=0.0, le=1.0, description="0 to 1.")
    stage: str = Field(description="What the worker is doing, in words.")


class JobStatus(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "failed"]
    filename: str = Field(description="The uploaded file's name (as a label only).")
    progress: Progress
    error: str | None = Field(None, description="One-line reason when status is failed.")
    result: PredictResult | None = Field(None, description="The predict JSON when status is done.")
    links: dict[str, str] = Field(
        default_factory=dict, description="URLs of the pictures and the JSON when done."
    )


class JobCreated(BaseModel):
    job_id: str
    status_url: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    max_upload_mb: float
    workers: int
    queue_size: int
    jobs: dict[str, int] = Field(description="Number of known jobs by status.")


class MuscleGroupInfo(BaseModel):
    id: str
    name: str
    region: str = Field(description="front, back or both: where the body map draws it.")
    muscles: list[str]


class ErrorMessage(BaseModel):
    detail: str

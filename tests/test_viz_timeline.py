"""Timeline heat map: overlapping windows are averaged, gaps stay blank, PNG is valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musclemap.taxonomy import GROUP_IDS
from musclemap.viz.timeline import render_timeline, timeline_matrix


def _window(start: float, end: float, value: float) -> dict:
    return {"start_s": start, "end_s": end, "muscles": {g: value for g in GROUP_IDS}}


def test_overlapping_windows_are_averaged_and_gaps_are_nan() -> None:
    timeline = [_window(0, 2, 0.2), _window(1, 3, 0.6), _window(4, 5, 1.0)]
    edges, values = timeline_matrix(timeline)
    assert edges.tolist() == [0, 1, 2, 3, 4, 5]
    assert values.shape == (20, 5)
    assert np.allclose(values[0, :3], [0.2, 0.4, 0.6])
    assert np.isnan(values[:, 3]).all()  # 3 s .. 4 s: no window
    assert np.allclose(values[:, 4], 1.0)


def test_group_missing_from_a_window_is_not_invented() -> None:
    timeline = [{"start_s": 0.0, "end_s": 1.0, "muscles": {"chest": 0.7}}]
    _, values = timeline_matrix(timeline)
    assert values[GROUP_IDS.index("chest"), 0] == pytest.approx(0.7)
    assert np.isnan(np.delete(values, GROUP_IDS.index("chest"), axis=0)).all()


@pytest.mark.parametrize("num_windows", [1, 40])
def test_render_writes_a_png(num_windows: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    timeline = [
        {
            "start_s": 0.5 * k,
            "end_s": 0.5 * k + 3.2,
            "muscles": {g: float(p) for g, p in zip(GROUP_IDS, rng.random(20), strict=True)},
        }
        for k in range(num_windows)
    ]
    out = render_timeline(timeline, tmp_path / "timeline.png", title="clip.mp4", dpi=60)
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.width > 300 and img.height > 300
        colours = np.asarray(img.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 50  # a heat map, not a blank canvas


@pytest.mark.parametrize(
    ("timeline", "message"),
    [
        ([], "non-empty"),
        ([{"start_s": 0, "muscles": {}}], "needs numeric start_s"),
        ([{"start_s": 2, "end_s": 1, "muscles": {}}], "must be after"),
        ([{"start_s": 0, "end_s": 1, "muscles": {"pecs": 0.1}}], "unknown muscle group"),
        ([{"start_s": 0, "end_s": 1, "muscles": {"chest": 2}}], r"must be in \[0, 1\]"),
    ],
)
def test_bad_timeline_raises(timeline: list, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        render_timeline(timeline, tmp_path / "t.png")


def test_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        render_timeline([_window(0, 1, 0.5)], tmp_path / "t.svg")


def test_reps_are_marked(tmp_path: Path) -> None:
    timeline = [_window(0.0, 2.0, 0.2), _window(2.0, 4.0, 0.8)]
    plain = np.asarray(Image.open(render_timeline(timeline, tmp_path / "a.png", dpi=60)))
    reps = [
        {"index": 1, "start_s": 0.3, "turn_s": 1.0, "end_s": 1.8},
        {"index": 2, "start_s": 2.2, "turn_s": 3.0, "end_s": 3.7},
    ]
    marked = render_timeline(timeline, tmp_path / "b.png", dpi=60, reps=reps)
    img = np.asarray(Image.open(marked).convert("RGB"), dtype=int)
    assert img.shape == plain.shape[:2] + (3,)
    blue = (img[..., 2] > 180) & (img[..., 0] < 80)  # the repetition bars and turning lines
    assert blue.sum() > 50
    from musclemap.viz.common import VizError

    with pytest.raises(VizError, match="start_s <= turn_s"):
        render_timeline(timeline, tmp_path / "c.png", reps=[{**reps[0], "turn_s": 5.0}])


def test_parts_of_a_video_that_changes_exercise_are_marked(tmp_path: Path) -> None:
    timeline = [_window(t, t + 3.0, 0.5) for t in range(0, 14)]
    plain = np.asarray(Image.open(render_timeline(timeline, tmp_path / "a.png", dpi=60)))
    segments = [
        {"start_s": 0.0, "end_s": 8.0, "looks_like": [{"exercise": "squat", "similarity": 0.9}]},
        {"start_s": 8.0, "end_s": 17.0, "looks_like": []},
    ]
    marked = render_timeline(timeline, tmp_path / "b.png", dpi=60, segments=segments)
    img = np.asarray(Image.open(marked).convert("RGB"), dtype=int)
    assert img.shape == plain.shape[:2] + (3,)
    darker = img.sum(-1) < 0.5 * plain[..., :3].sum(-1)  # the line and the labels
    assert darker[:, img.shape[1] // 2 :].any(0).sum() >= 1  # a line down the map
    assert darker.sum() > 400
    # one part: nothing to mark
    one = render_timeline(timeline, tmp_path / "c.png", dpi=60, segments=segments[:1])
    assert np.array_equal(np.asarray(Image.open(one)), plain)
    from musclemap.viz.common import VizError

    with pytest.raises(VizError, match="segment 1: needs start_s < end_s"):
        render_timeline(timeline, tmp_path / "d.png", segments=[segments[0], {**segments[1],
                        "end_s": 8.0}])  # fmt: skip

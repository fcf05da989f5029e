"""The pictures a prediction can be drawn as: one table for the CLI, the web server and the demo.

Each `Picture` has a name (the CLI option `--body-map`, the batch/demo file `body_map.svg`, the
web file `body-map.svg`), the file suffixes its renderer writes, and whether it needs the video
itself (the overlay). `Picture.render` draws a `Prediction` or its predict JSON (the web worker
has only the JSON) with the picture module, importing it only then: matplotlib, PyAV and PIL
stay unloaded until a picture is asked for. This module composes the pictures (above them in
contract `viz`); the pictures themselves share only `viz.common`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".mp4": "video/mp4"}


def _blocks(pred: Any) -> Mapping[str, Any]:
    """The exercise-aware blocks (exercise, repetitions): `Prediction.analysis`, which the
    predict JSON carries at its top level."""
    return pred if isinstance(pred, Mapping) else pred.analysis


def _field(pred: Any, name: str) -> Any:
    return pred[name] if isinstance(pred, Mapping) else getattr(pred, name)


def body_map_marks(pred: Any) -> dict[str, Any]:
    """Expected-but-weak and unexpected-active groups for the body map, for a named exercise
    only (a guess might be wrong, and its expectations would mislead)."""
    ex = _blocks(pred).get("exercise")
    if not ex or ex.get("guessed"):
        return {}
    return {"missing": ex["missing"], "unexpected": ex["unexpected"]}


def _draw_body_map(pred: Any, path: Path, video: Path | None, title: str) -> None:
    from musclemap.viz.body_map import render_body_map

    render_body_map(_field(pred, "muscles"), path, title=title, **body_map_marks(pred))


def _draw_timeline(pred: Any, path: Path, video: Path | None, title: str) -> None:
    from musclemap.viz.timeline import render_timeline

    reps = (_blocks(pred).get("repetitions") or {}).get("reps") or None
    segments = (pred.get("segments") if isinstance(pred, Mapping) else pred.segments) or []
    if any("repetitions" in seg for seg in segments):  # each part's own, numbered on
        parts = [r for seg in segments for r in (seg.get("repetitions") or {}).get("reps", [])]
        reps = [{**r, "index": i + 1} for i, r in enumerate(parts)] or None
    render_timeline(_field(pred, "timeline"), path, title=title, reps=reps, segments=segments)


def _draw_overlay(pred: Any, path: Path, video: Path | None, title: str) -> None:
    pose = None if isinstance(pred, Mapping) else pred.pose
    if video is None or pose is None:
        from musclemap.viz.common import VizError

        raise VizError("--overlay needs a real video")
    from musclemap.viz.overlay import write_overlay

    write_overlay(video, path, pose, _field(pred, "timeline"))


@dataclass(frozen=True)
class Picture:
    """One kind of picture of a prediction.

    Attributes:
        name: Identifier with underscores (`body_map`): the CLI option is `--body-map`, batch
            and demo files `<stem>_body_map.svg` / `body_map.svg`, web files `body-map.svg`.
        suffixes: File suffixes the renderer writes (the first is the default).
        needs_video: Drawn over the input video (not offered where there is none: web, demo).
        draw: `(prediction or predict JSON, path, video, title)`, writing the file.
    """

    name: str
    suffixes: tuple[str, ...]
    needs_video: bool
    draw: Callable[[Any, Path, Path | None, str], None]

    @property
    def option(self) -> str:
        return f"--{self.name.replace('_', '-')}"

    def media_type(self, suffix: str) -> str:
        return MEDIA_TYPES[suffix.lower()]

    def web_files(self) -> dict[str, str]:
        """`{file name: media type}` as the web server writes and serves them."""
        stem = self.name.replace("_", "-")
        return {f"{stem}{s}": self.media_type(s) for s in self.suffixes}

    def drawable(self, pred: Any, video: Path | None = None) -> bool:
        """Whether there is anything to draw: a clip shorter than one window has no timeline,
        and the overlay needs the video and its poses."""
        if self.needs_video and (video is None or isinstance(pred, Mapping) or pred.pose is None):
            return False
        return self.name != "timeline" or bool(_field(pred, "timeline"))

    def render(
        self, pred: Any, path: str | Path, *, video: Path | None = None, title: str = ""
    ) -> Path:
        """Draw `pred` (a `Prediction` or its predict JSON) into `path`, whose suffix picks the
        format; `video` is the input video (the overlay's background).

        Raises:
            VizError: A suffix this picture does not write, bad prediction values, or no video
                for a picture that needs one.
        """
        from musclemap.viz.common import VizError  # here: it loads PIL

        path = Path(path)
        if path.suffix.lower() not in self.suffixes:
            raise VizError(
                f"{self.name} path must end in {' or '.join(self.suffixes)}, got {str(path)!r}"
            )
        self.draw(pred, path, video, title)
        return path


PICTURES: dict[str, Picture] = {
    p.name: p
    for p in (
        Picture("body_map", (".svg", ".png"), needs_video=False, draw=_draw_body_map),
        Picture("timeline", (".png",), needs_video=False, draw=_draw_timeline),
        Picture("overlay", (".mp4",), needs_video=True, draw=_draw_overlay),
    )
}


def web_files() -> dict[str, str]:
    """Every picture file the web server writes for a job, `{name: media type}`, sorted by name
    (the order of the job's links)."""
    files = {n: t for p in PICTURES.values() if not p.needs_video for n, t in p.web_files().items()}
    return dict(sorted(files.items()))

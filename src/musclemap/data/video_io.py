"""Video decoding with PyAV: probe, stream frames at a sampling rate, read frames by index.

Frames come out upright (the container's display matrix, or an older `rotate` tag, is applied)
as RGB uint8 arrays `(H, W, 3)` in display size. Sampling follows presentation timestamps, so
variable-frame-rate phone videos are sampled evenly in time. Every failure a user can cause
(missing file, not a video, corrupt or truncated stream, no frames) raises `VideoError` with
one line naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from musclemap.errors import VideoError
from musclemap.textfile import missing_reason

# A stream that yields far fewer frames than its header announces was cut short.
_TRUNCATED_FRACTION = 0.9


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns about a video without decoding it all.

    Attributes:
        path: The video file.
        width: Display width in pixels (square pixels, after rotation).
        height: Display height in pixels (square pixels, after rotation).
        rotation: Counter-clockwise rotation in degrees (0, 90, 180, 270) applied for display.
        fps: Average frame rate.
        duration_s: Duration in seconds.
        num_frames: Frame count from the container header, else duration x fps (an estimate).
        codec: Codec name, e.g. "h264".
        start_s: Presentation time of the first frame in seconds (the origin of `iter_frames`
            times), or None when the stream has no timestamps (then it cannot be split).
    """

    path: Path
    width: int
    height: int
    rotation: int
    fps: float
    duration_s: float
    num_frames: int
    codec: str
    start_s: float | None = 0.0


def _open(path: Path, threads: int | None = None) -> Any:
    """Open a container with its first video stream, or raise `VideoError`.

    `threads`: decoder threads (None: FFmpeg's choice, one per core); processes that decode in
    parallel pass their share of the cores so that they do not oversubscribe them.
    """
    import av

    if not path.is_file():
        raise VideoError(f"{path}: {missing_reason(path)}")  # missing, a folder, a FIFO, ...
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as err:
        raise VideoError(f"{path}: not a readable video ({_reason(err)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: no video stream")
    stream = container.streams.video[0]
    # Frame-level threads decode faster on multi-core machines without changing the output.
    stream.thread_type = "AUTO"
    if threads is not None:
        stream.thread_count = max(int(threads), 1)
    return container


def _reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return str(text).splitlines()[0] if text else type(err).__name__


def _rotation_of(frame: Any, stream: Any) -> int:
    """Counter-clockwise display rotation in {0, 90, 180, 270}."""
    degrees = float(frame.rotation or 0)
    if degrees == 0 and "rotate" in stream.metadata:
        # The legacy `rotate` tag is clockwise.
        try:
            degrees = -float(stream.metadata["rotate"])
        except ValueError:
            degrees = 0.0
    return int(round(degrees / 90.0)) % 4 * 90


def _upright(image: np.ndarray, rotation: int) -> np.ndarray:
    if rotation == 0:
        return image
    # np.rot90 with k > 0 turns the picture counter-clockwise, as the display matrix asks.
    return np.ascontiguousarray(np.rot90(image, k=rotation // 90))


def _to_rgb(
    frame: Any,
    rotation: int,
    max_side: int | None = None,
    scaler: Any = None,
    aspect: float = 1.0,
) -> np.ndarray:
    """Upright RGB (H, W, 3) in square pixels; with `max_side`, scaled (in the same swscale
    pass) to fit it.

    `scaler`: a `VideoReformatter` kept over a video's frames (None: a new one). swscale runs
    in this thread: with its default (a thread per core) PyAV's `frame.reformat` started a
    thread pool for every frame, 2.9 ms of CPU and 4.3 ms of wall time a 1280x720 frame
    against 1.6 ms here, the same pixels. `aspect`: the stream's sample aspect ratio
    (`pixel_aspect`), undone in the same pass. An interlaced frame gives one field
    (`_one_field`), an HDR one SDR light (`sdr_curve`)."""
    scaler = scaler or _scaler()
    w, h = scaled_size(*display_size(frame.width, frame.height, aspect), max_side)
    if getattr(frame, "interlaced_frame", False):
        rgb = _one_field(frame, w, h, scaler)
    else:
        # PyAV's default (bilinear) for the colour conversion alone, else an area filter
        interpolation = None if (w, h) == (frame.width, frame.height) else "AREA"
        rgb = scaler.reformat(
            frame, width=w, height=h, format="rgb24", interpolation=interpolation, threads=1
        ).to_ndarray()
    lut = sdr_curve(int(getattr(frame, "color_trc", 0) or 0))
    if lut is not None:
        rgb = lut[rgb]
    return _upright(rgb, rotation)  # (H, W, 3)


# Transfer characteristics (ITU-T H.273) of HDR video: PQ (SMPTE ST 2084) and HLG (ARIB
# STD-B67), as phones and cameras record it. swscale converts YUV to RGB but not the curve:
# an HDR picture came out flat and dark (PQ) or flat (HLG). 14 wild clips re-encoded as the
# signal those curves give moved their largest group score by 0.049 (PQ) and 0.045 (HLG) on
# average, a pushdown 0.24, and in a fifteenth, under PQ, MediaPipe found the person in 6 of
# 93 frames: refused. Through `sdr_curve`: 0.024 and 0.039, the fifteenth posed (session 20,
# docs/reliability.md).
TRC_PQ, TRC_HLG = 16, 18
SDR_WHITE_NITS = 203.0  # BT.2408: HDR reference white, shown as SDR white
HLG_PEAK_NITS = 1000.0  # the nominal HLG display; its system gamma 1.2
KNEE = 0.75  # relative light above which highlights are rolled off towards SDR white
# SMPTE ST 2084 (PQ) constants m1, m2, c1, c2, c3.
PQ_CONSTANTS = (0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875)


@lru_cache(maxsize=4)
def sdr_curve(trc: int) -> np.ndarray | None:
    """(256,) uint8 lookup from an HDR video's 8-bit RGB signal to SDR (BT.1886, gamma 2.4),
    reference white to white and highlights rolled off softly; None for any other transfer
    (SDR video: left as it is). Per channel, primaries kept: enough for a pose, not grading."""
    v = np.arange(256) / 255.0
    if trc == TRC_PQ:
        m1, m2, c1, c2, c3 = PQ_CONSTANTS
        e = v ** (1 / m2)
        nits = 10000.0 * (np.maximum(e - c1, 0) / (c2 - c3 * e)) ** (1 / m1)
    elif trc == TRC_HLG:
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        scene = np.where(v <= 0.5, v**2 / 3, (np.exp((v - c) / a) + b) / 12)
        nits = HLG_PEAK_NITS * scene**1.2
    else:
        return None
    light = nits / SDR_WHITE_NITS
    over = np.maximum(light - KNEE, 0) / (1 - KNEE)
    light = np.where(light <= KNEE, light, KNEE + (1 - KNEE) * (1 - np.exp(-over)))
    return np.asarray(np.round(255 * light ** (1 / 2.4)), np.uint8)


def _one_field(frame: Any, width: int, height: int, scaler: Any) -> np.ndarray:
    """An interlaced frame's first field (its even lines) as RGB `width` x `height`.

    Interlaced video (broadcast, DV, DVD, many camcorders) weaves two fields filmed 1/50-1/60 s
    apart into one frame: shown as stored, a moving limb is a comb of both positions. 15 wild
    clips woven so (each frame's odd lines from the next frame) moved their largest group
    score by 0.053 on average, an inchworm by 0.26; one field, 0.028 and 0.052, as little as
    progressive frames flagged interlaced move (0.025; session 20, docs/reliability.md). One
    field is one moment; swscale scales across the lines, so the field is taken first and
    scaled after. Only the vertical detail of the other field is lost, and the pose pass scales
    most frames down further anyway."""
    import cv2

    interpolation = None if width == frame.width else "AREA"
    full = scaler.reformat(
        frame,
        width=width,
        height=frame.height,
        format="rgb24",
        interpolation=interpolation,
        threads=1,
    ).to_ndarray()
    field = full[0::2]
    if field.shape[0] == height:
        return np.ascontiguousarray(field)
    shrink = height < field.shape[0]
    return cv2.resize(
        field, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )


def pixel_aspect(stream: Any) -> float:
    """A video stream's sample aspect ratio (pixel width / height; 1.0 when unset or absurd).

    Anamorphic video (DV, DVD, broadcast: 720x576 shown as 1024x576) stores non-square
    pixels; posed as stored, every body would be squeezed or stretched sideways and its joint
    angles wrong, so frames are converted to square pixels (`display_size`)."""
    for source in (stream, getattr(stream, "codec_context", None)):
        sar = getattr(source, "sample_aspect_ratio", None)
        if sar:
            value = float(sar)
            if MIN_PIXEL_ASPECT <= value <= 1 / MIN_PIXEL_ASPECT:
                return value
    return 1.0


# Sample aspect ratios outside [this, 1 / this] are taken for broken headers, not pixels.
MIN_PIXEL_ASPECT = 0.25


def display_size(width: int, height: int, aspect: float) -> tuple[int, int]:
    """The square-pixel size of a `width` x `height` picture of pixels `aspect` wide for
    their height: the wider side of a pixel is kept (no detail lost), the other stretched."""
    if abs(aspect - 1.0) < 1e-3:
        return width, height
    if aspect > 1:
        return max(round(width * aspect), 1), height
    return width, max(round(height / aspect), 1)


# `scaled_size` divides by a whole factor unless that leaves the longer side under this share of
# `max_side` (an 800 px video halved to 400): then it scales to `max_side` exactly.
MIN_WHOLE_SHARE = 2 / 3


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size a `width` x `height` frame is converted at to fit `max_side` (unchanged if it
    fits): divided by the smallest whole factor that makes it fit. 1280x720 and 1920x1080 at
    720 become 640x360: swscale's area filter halves a 1280x720 frame in 0.9 ms of CPU
    against 2.35 ms to 720x405, and every pixel of the result is a plain average of whole
    source pixels."""
    longer = max(width, height)
    if max_side is None or longer <= max_side:
        return width, height
    factor = math.ceil(longer / max_side)
    if longer / factor >= MIN_WHOLE_SHARE * max_side:
        return max(round(width / factor), 1), max(round(height / factor), 1)
    scale = max_side / longer
    return max(round(width * scale), 1), max(round(height * scale), 1)


def _scaler() -> Any:
    from av.video.reformatter import VideoReformatter

    return VideoReformatter()


def _frame_time(frame: Any, stream: Any) -> float | None:
    if frame.pts is None:
        return None
    return float(frame.pts * stream.time_base)


def _decode(
    container: Any, path: Path, wanted: Callable[[], frozenset[int] | None] | None = None
) -> Iterator[Any]:
    """Decoded frames of the first video stream; decoder errors become `VideoError`.

    `wanted`: the timestamps of the frames the caller may use (None: not known yet). A packet of
    another frame is decoded only if later frames refer to it: FFmpeg skips non-reference frames
    (`skip_frame = NONREF`, set per packet), which changes no other frame and saves about 40%
    of the decoding of a clip sampled at a third of its rate (measured on 720p H.264).
    """
    import av

    stream = container.streams.video[0]
    try:
        if wanted is None:
            yield from container.decode(stream)
            return
        context = stream.codec_context
        for packet in container.demux(stream):
            keep = wanted()
            skip = keep is not None and packet.pts is not None and packet.pts not in keep
            context.skip_frame = "NONREF" if skip else "DEFAULT"
            yield from packet.decode()
    except av.error.FFmpegError as err:
        raise VideoError(f"{path}: corrupt or truncated video stream ({_reason(err)})") from None


def _wanted_pts(
    pts: tuple[int, ...], time_base: Any, start: float, fps: float, k: int, stop: int | None
) -> frozenset[int]:
    """Timestamps of the frames `_sample` emits for targets k, k+1, ... (before `stop`): for a
    target k / fps the first frame at or after it, or the one before when that is as near."""
    times = np.array([float(p * time_base) for p in pts]) - start  # as `_sample` computes t
    if times.size == 0:
        return frozenset()
    last = int(math.floor(float(times[-1]) * fps)) + 2
    if stop is not None:
        last = min(last, stop)
    targets = np.arange(k, max(last, k)) / fps
    j = np.searchsorted(times, targets, side="left")
    inside = j < times.size
    targets, j = targets[inside], j[inside]
    before = np.maximum(j - 1, 0)
    take_before = (j > 0) & (
        np.abs(targets - times[before]) <= np.abs(times[np.minimum(j, times.size - 1)] - targets)
    )
    chosen = np.where(take_before, before, j)
    return frozenset(pts[i] for i in np.unique(chosen).tolist())


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's size, rotation, frame rate, duration and frame count.

    Decodes only the first frame (the rotation is stored as frame side data). Remembered per
    file while its size and modification time stay the same (predict asks several times).

    Raises:
        VideoError: The file is missing, not a video, corrupt or has no frames.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return _probe(path)  # raises the right VideoError
    info = _probed(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    return info if info.path == path else replace(info, path=path)


@lru_cache(maxsize=64)
def _probed(path: str, size: int, mtime_ns: int) -> VideoInfo:
    return _probe(Path(path))


def _probe(path: Path) -> VideoInfo:
    with _open(path) as container:
        stream = container.streams.video[0]
        first = next(_decode(container, path), None)
        if first is None:
            raise VideoError(f"{path}: video has no frames")
        rotation = _rotation_of(first, stream)
        width, height = display_size(first.width, first.height, pixel_aspect(stream))
        if rotation in (90, 270):
            width, height = height, width
        fps, duration = _timing(container, stream)
        num_frames = int(stream.frames) or int(round(duration * fps))
        return VideoInfo(
            path=path,
            width=width,
            height=height,
            rotation=rotation,
            fps=fps,
            duration_s=duration,
            num_frames=max(num_frames, 1),
            codec=stream.codec_context.name,
            start_s=_frame_time(first, stream),
        )


def _timing(container: Any, stream: Any) -> tuple[float, float]:
    """(average frame rate, duration in seconds) from a stream's and container's headers."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000  # microseconds
    else:
        duration = 0.0
    return fps, duration


def header_timing(path: str | os.PathLike[str]) -> tuple[float, float] | None:
    """`probe`'s (frame rate, duration in seconds) read from the headers alone, nothing
    decoded (~3 ms a file: cheap enough to plan a batch on); None for anything `probe` would
    refuse or whose header has no duration."""
    try:
        with _open(Path(path)) as container:
            fps, duration = _timing(container, container.streams.video[0])
    except (VideoError, OSError, ValueError):
        return None
    return (fps, duration) if duration > 0 else None


def iter_frames(
    path: str | os.PathLike[str],
    *,
    fps: float | None = 10.0,
    max_side: int | None = None,
    start: int = 0,
    stop: int | None = None,
    origin_s: float | None = None,
    threads: int | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Stream upright RGB frames sampled at `fps`, never holding more than two decoded frames.

    For each target time k / fps (k = 0, 1, ...; relative to the first frame) the frame whose
    presentation time is nearest is chosen, so variable frame rates are sampled evenly; a video
    slower than `fps` repeats frames (same returned time). Targets after the last frame are not
    produced. Only the chosen frames are converted to RGB (and scaled, in the same pass).

    A segment `[start, stop)` of the targets yields exactly the frames that the whole stream
    yields for those k: the decoder seeks to a keyframe before target `start` instead of decoding
    from the beginning (the basis of `musclemap.pose.parallel`).

    Args:
        path: Video file.
        fps: Sampling rate in frames per second; None yields every frame.
        max_side: Downscale frames whose longer side exceeds this (keeping the aspect ratio);
            cheaper than converting full-size frames when a consumer resizes anyway.
        start: First target index k (needs `fps` and `origin_s` when > 0).
        stop: Target index to stop before (None: to the end of the video).
        origin_s: Presentation time of the video's first frame (`probe(...).start_s`).
        threads: Decoder threads (None: FFmpeg's choice).

    Yields:
        `(time_s, frame)`: the chosen frame's presentation time in seconds from the first frame,
        and the frame as uint8 `(H, W, 3)` RGB in display orientation.

    Raises:
        VideoError: Missing file, not a video, corrupt or truncated stream, or no frames.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    if start < 0 or (start > 0 and (fps is None or origin_s is None)):
        raise ValueError("a segment start > 0 needs fps and origin_s (probe(...).start_s)")
    path = Path(path)
    with _open(path, threads) as container:
        if start > 0:
            assert fps is not None and origin_s is not None
            stream = container.streams.video[0]
            # Land on a keyframe well before the first target; frames before it only become
            # the "previous" candidate, so the choice is the same as from the beginning.
            seek_s = max(origin_s + start / fps - _SEEK_MARGIN_S, 0.0)
            container.seek(int(seek_s / stream.time_base), stream=stream, backward=True)
            try:
                yield from _sample(container, path, fps, max_side, start, stop, origin_s)
                return
            except _SeekMissed:
                pass  # the container seeks imprecisely: decode from the beginning instead
            container.seek(0, stream=stream, backward=True)
        yield from _sample(container, path, fps, max_side, start, stop, origin_s)


# Seeking lands this far before a segment's first target (at a keyframe at or before it).
_SEEK_MARGIN_S = 1.0


class _SeekMissed(Exception):
    """After a seek the first decoded frame is already past the first target."""


def _sample(
    container: Any,
    path: Path,
    fps: float | None,
    max_side: int | None,
    k: int,
    stop: int | None,
    origin_s: float | None,
) -> Iterator[tuple[float, np.ndarray]]:
    """The sampling loop of `iter_frames` from target k (see there)."""
    stream = container.streams.video[0]
    declared = int(stream.frames or 0)
    rate = float(stream.average_rate or 1)
    count = 0
    rotation = 0
    segment = k > 0
    start: float | None = origin_s if segment else None
    prev: tuple[float, Any] | None = None  # (time, undecoded-to-RGB frame)
    t = 0.0
    # The frames this loop can emit, from the demuxed timestamps once the origin is known; the
    # others are not decoded where nothing refers to them (`_decode`).
    pts = _stream_pts(path) if fps is not None else ()
    plan: dict[str, frozenset[int] | None] = {"wanted": None}
    scaler = _scaler()  # one swscale set-up for the video's frames
    aspect = pixel_aspect(stream)

    def wanted() -> frozenset[int] | None:
        if plan["wanted"] is None and start is not None and fps is not None:
            plan["wanted"] = _wanted_pts(pts, stream.time_base, start, fps, k, stop)
        return plan["wanted"]

    for frame in _decode(container, path, wanted if pts else None):
        t_pts = _frame_time(frame, stream)
        if count == 0:
            rotation = _rotation_of(frame, stream)
        t = count / rate if t_pts is None else t_pts
        if start is None:
            start = t
        t -= start
        if count == 0 and segment and fps is not None and t > k / fps:
            raise _SeekMissed
        count += 1
        if fps is None:
            yield t, _to_rgb(frame, rotation, max_side, scaler, aspect)
            continue
        # Emit every target time that this frame (or the previous one) is nearest to.
        while k / fps <= t:
            if stop is not None and k >= stop:
                return
            target = k / fps
            if prev is not None and abs(target - prev[0]) <= abs(t - target):
                yield prev[0], _to_rgb(prev[1], rotation, max_side, scaler, aspect)
            else:
                yield t, _to_rgb(frame, rotation, max_side, scaler, aspect)
            k += 1
        prev = (t, frame)
    if count == 0:
        raise VideoError(f"{path}: video has no frames")
    # From a seek, or with frames skipped, the decoded count is partial; the last frame's time
    # tells how far it went.
    decoded = int(round(t * rate)) + 1 if segment or pts else count
    if declared and decoded < _TRUNCATED_FRACTION * declared:
        raise VideoError(f"{path}: truncated video (decoded {decoded} of {declared} frames)")


@lru_cache(maxsize=256)
def _frame_pts(path: str, mtime_ns: int, size: int) -> tuple[int, ...]:
    """Sorted presentation timestamps of every frame (demuxed, not decoded); cached per file."""
    with _open(Path(path)) as container:
        stream = container.streams.video[0]
        pts = [p.pts for p in container.demux(stream) if p.size > 0]
    if any(p is None for p in pts):
        return ()
    return tuple(sorted(pts))


def _stream_pts(path: Path) -> tuple[int, ...]:
    """`_frame_pts` of a file (empty when its timestamps are missing)."""
    import av

    stat = path.stat()
    try:
        return _frame_pts(str(path), stat.st_mtime_ns, stat.st_size)
    except (av.error.FFmpegError, VideoError):
        return ()  # the decoder says what is wrong with it


def frame_timestamps(path: str | os.PathLike[str]) -> np.ndarray:
    """Exact presentation times (seconds from the first frame) of every frame, from the demuxer.

    Its length is the exact frame count that `read_clip` indices refer to.

    Raises:
        VideoError: As `probe`, or when the container gives no timestamps.
    """
    path = Path(path)
    stat = path.stat() if path.is_file() else None
    if stat is None:
        _open(path).close()  # raises the right VideoError
        raise VideoError(f"{path}: not a file")
    pts = _frame_pts(str(path), stat.st_mtime_ns, stat.st_size)
    if not pts:
        raise VideoError(f"{path}: no frame timestamps in the container")
    with _open(path) as container:
        time_base = float(container.streams.video[0].time_base)
    return (np.asarray(pts, dtype=np.float64) - pts[0]) * time_base


def read_clip(path: str | os.PathLike[str], indices: Sequence[int]) -> np.ndarray:
    """Frames at the given frame indices (presentation order), upright RGB.

    Seeks to the keyframe before the smallest index and decodes forward only as far as the
    largest, so short clips from long videos are cheap. Indices may repeat and be unsorted; the
    output follows their order.

    Args:
        path: Video file.
        indices: Frame indices in `[0, frame count)`.

    Returns:
        uint8 array `(T, H, W, 3)` with T = len(indices).

    Raises:
        VideoError: As `probe`, or an index outside the video.
    """
    path = Path(path)
    wanted = np.asarray(indices, dtype=np.int64)
    if wanted.ndim != 1 or wanted.size == 0:
        raise ValueError("indices must be a non-empty 1-D sequence of frame indices")
    stat = path.stat() if path.is_file() else None
    pts = _frame_pts(str(path), stat.st_mtime_ns, stat.st_size) if stat else None
    if pts is None:
        _open(path).close()
        raise VideoError(f"{path}: not a file")
    total = len(pts) if pts else None
    if wanted.min() < 0 or (total is not None and wanted.max() >= total):
        raise VideoError(
            f"{path}: frame index out of range ({int(wanted.min())}..{int(wanted.max())} "
            f"for {total} frames)"
        )
    frames = _decode_indices(path, sorted(set(wanted.tolist())), pts)
    missing = [i for i in wanted.tolist() if i not in frames]
    if missing:
        raise VideoError(f"{path}: could not decode frame {missing[0]} (corrupt or truncated)")
    return np.stack([frames[i] for i in wanted.tolist()])  # (T, H, W, 3)


def _decode_indices(path: Path, unique: list[int], pts: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Decode the frames at sorted unique indices; `pts` maps index -> timestamp (or is empty)."""
    index_of = {p: i for i, p in enumerate(pts)}
    out: dict[int, np.ndarray] = {}
    todo = set(unique)
    with _open(path) as container:
        stream = container.streams.video[0]
        if pts and unique[0] > 0:
            # backward=True lands on the keyframe at or before the first wanted frame.
            container.seek(pts[unique[0]], stream=stream, backward=True, any_frame=False)
        rotation: int | None = None
        sequential = -1
        scaler = _scaler()
        aspect = pixel_aspect(stream)
        for frame in _decode(container, path):
            if rotation is None:
                rotation = _rotation_of(frame, stream)
            sequential += 1
            # Without timestamps the stream was decoded from the start, so counting works.
            idx = index_of.get(frame.pts, -1) if pts else sequential
            if idx in todo:
                out[idx] = _to_rgb(frame, rotation, scaler=scaler, aspect=aspect)
                todo.discard(idx)
                if not todo:
                    break
            elif idx > unique[-1]:
                break
    return out

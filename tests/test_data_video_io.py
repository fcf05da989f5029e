"""Decoding: probe, sampled streaming (VFR, rotation, odd sizes), read_clip, bad files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from musclemap.data.video_io import (
    PQ_CONSTANTS,
    VideoInfo,
    frame_timestamps,
    header_timing,
    iter_frames,
    probe,
    read_clip,
    scaled_size,
    sdr_curve,
)
from musclemap.errors import VideoError


def _encode(
    path: Path,
    frames: np.ndarray,
    *,
    times_ms: list[int] | None = None,
    rotation: int = 0,
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    gop: int = 0,
    sar: Fraction | None = None,
    interlaced: bool = False,
    transfer: str = "",
) -> Path:
    """Encode RGB frames; `times_ms` gives explicit (variable-rate) timestamps; `interlaced`:
    as interlaced video, each frame flagged (top field first)."""
    import av

    t, h, w, _ = frames.shape
    with av.open(str(path), mode="w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if times_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        params = []
        if gop:
            stream.codec_context.gop_size = gop
            params.append(f"keyint={gop}:min-keyint={gop}")
        if interlaced:
            params.append("interlaced=1:tff=1")
        if transfer:
            params.append(f"transfer={transfer}")
        if params:
            stream.codec_context.options = {"x264-params": ":".join(params)}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if times_ms is not None:
                frame.pts, frame.time_base = times_ms[i], Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _levels(num: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Frame i is a flat grey of level 5 * i, readable back despite compression."""
    return np.stack([np.full((h, w, 3), 5 * i, np.uint8) for i in range(num)])


def test_probe_reports_size_rate_and_count(make_video) -> None:
    path = make_video("v.mp4", num_frames=20, size=(64, 48), fps=10)
    info = probe(path)
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.fps == pytest.approx(10.0)
    assert info.num_frames == 20
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    assert info.codec == "h264"


def test_header_timing_is_probes_rate_and_duration_without_decoding(
    make_video, tmp_path: Path
) -> None:
    path = make_video(num_frames=25, fps=10)
    info = probe(path)
    assert header_timing(path) == (info.fps, info.duration_s) == (10.0, pytest.approx(2.5))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    assert header_timing(junk) is None
    assert header_timing(tmp_path / "missing.mp4") is None
    assert header_timing(tmp_path) is None  # a folder


def test_iter_frames_samples_by_time(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(30))  # 10 fps, 3 s
    got = list(iter_frames(path, fps=5.0))
    times = [t for t, _ in got]
    assert times == pytest.approx([0.2 * k for k in range(15)])
    levels = [int(round(f.mean() / 5)) for _, f in got]
    assert levels == [2 * k for k in range(15)]
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 for _, f in got)


def test_iter_frames_all_frames_and_upsampling(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(10))
    assert len(list(iter_frames(path, fps=None))) == 10
    # Sampling faster than the video repeats the nearest frame: every target up to 0.9 s.
    times = [t for t, _ in iter_frames(path, fps=20.0)]
    assert len(times) == 19
    assert len(set(times)) == 10


def test_iter_frames_variable_frame_rate(tmp_path: Path) -> None:
    # Bursty timestamps: a uniform index-based sampler would drift; a timestamp one must not.
    times_ms = [0, 30, 60, 90, 400, 410, 420, 900, 1000, 1500, 2000]
    path = _encode(tmp_path / "vfr.mp4", _levels(len(times_ms)), times_ms=times_ms)
    got = list(iter_frames(path, fps=2.0))  # targets 0, 0.5, 1.0, 1.5, 2.0
    assert [t for t, _ in got] == pytest.approx([0.0, 0.42, 1.0, 1.5, 2.0])
    assert [int(round(f.mean() / 5)) for _, f in got] == [0, 6, 8, 9, 10]
    assert frame_timestamps(path) == pytest.approx(np.asarray(times_ms) / 1000)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotation_metadata_makes_frames_upright(tmp_path: Path, rotation: int) -> None:
    frames = np.zeros((4, 48, 64, 3), np.uint8)
    frames[:, :16, :16] = 255  # a bright square in the stored top-left corner
    path = _encode(tmp_path / "rot.mp4", frames, rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation
    expected = np.rot90(frames[0], k=rotation // 90)  # counter-clockwise, as ffmpeg displays
    assert (info.height, info.width) == expected.shape[:2]
    _, first = next(iter(iter_frames(path, fps=10.0)))
    assert first.shape == expected.shape
    assert np.abs(first.astype(int) - expected).mean() < 10
    clip = read_clip(path, [3, 0])
    assert clip.shape == (2, *expected.shape)


@pytest.mark.parametrize(("sar", "shown"), [(Fraction(3, 2), (96, 48)), (Fraction(2, 3), (64, 72))])
def test_anamorphic_video_is_converted_to_square_pixels(
    tmp_path: Path, sar: Fraction, shown: tuple[int, int]
) -> None:
    # A 64x48 picture whose pixels are 3:2 (or 2:3) shows as 96x48 (64x72): a disc stored
    # squeezed comes out round, so a body is posed with its true proportions (and, rotated, it
    # still is: the stretch comes first, in stored coordinates).
    yy, xx = np.mgrid[:48, :64]
    rx, ry = (16 / sar, 16) if sar > 1 else (16, 16 * sar)  # a disc once shown
    disc = (((xx - 32) / rx) ** 2 + ((yy - 24) / ry) ** 2 <= 1).astype(np.uint8) * 255
    frames = np.repeat(np.repeat(disc[None, :, :, None], 3, axis=3), 3, axis=0)
    path = _encode(tmp_path / "sar.mp4", frames, pix_fmt="yuv444p", sar=sar)
    info = probe(path)
    assert (info.width, info.height) == shown
    _, first = next(iter(iter_frames(path, fps=10.0)))
    assert first.shape == (shown[1], shown[0], 3)
    ys, xs = np.nonzero(first[..., 0] > 127)
    assert xs.max() - xs.min() == pytest.approx(ys.max() - ys.min(), abs=2)  # round
    assert read_clip(path, [1]).shape == (1, shown[1], shown[0], 3)
    _, turned = next(iter(iter_frames(_encode(
        tmp_path / "sar_rot.mp4", frames, pix_fmt="yuv444p", sar=sar, rotation=90
    ), fps=10.0)))
    assert turned.shape == (shown[0], shown[1], 3)


def test_an_interlaced_frame_is_one_field_not_a_comb(tmp_path: Path) -> None:
    # Two moments woven as interlaced video weaves them: the even lines show a block on the
    # left, the odd lines (filmed a field later) the block moved right. Shown as stored, both
    # blocks would be there, each a comb; one field shows one moment, whole.
    frames = np.zeros((4, 96, 128, 3), np.uint8)
    frames[:, 0::2, 16:48] = 255  # first field: the block on the left
    frames[:, 1::2, 80:112] = 255  # second field: moved right
    path = _encode(tmp_path / "woven.mp4", frames, interlaced=True)
    for _, rgb in iter_frames(path, fps=10.0):
        assert rgb.shape == (96, 128, 3)
        left, right = rgb[8:88, 20:44].mean(), rgb[8:88, 84:108].mean()
        assert left > 200 and right < 50, (left, right)  # no comb: lines alike
        assert np.abs(np.diff(rgb[8:88, 20:44].astype(int), axis=0)).mean() < 20
    (clip,) = read_clip(path, [2])
    assert clip[8:88, 20:44].mean() > 200 and clip[8:88, 84:108].mean() < 50
    # at half the height the field is the picture as it is: no scaling across the lines
    _, half = next(iter(iter_frames(path, fps=10.0, max_side=64)))
    assert half.shape == (48, 64, 3) and half[4:44, 10:22].mean() > 200


def test_hdr_curves_map_reference_white_to_white_and_grey_to_grey() -> None:
    # BT.2408: HDR reference white is 203 nits, 75% of the HLG signal; 18% grey of it
    # (36.5 nits) is SDR's 18% grey, 0.18 ** (1 / 2.4) of full scale.
    def pq_signal(nits: float) -> int:
        m1, m2, c1, c2, c3 = PQ_CONSTANTS
        y = (nits / 10000) ** m1
        return round(255 * ((c1 + c2 * y) / (1 + c3 * y)) ** m2)

    pq, hlg = sdr_curve(16), sdr_curve(18)
    assert pq is not None and hlg is not None and sdr_curve(1) is None and sdr_curve(0) is None
    for lut in (pq, hlg):
        assert lut[0] == 0 and lut[-1] == 255 and (np.diff(lut.astype(int)) >= 0).all()
    grey = round(255 * 0.18 ** (1 / 2.4))
    assert abs(int(pq[pq_signal(0.18 * 203)]) - grey) <= 3
    assert pq[pq_signal(203)] >= 240 and hlg[round(0.75 * 255)] >= 240  # white, rolled off
    assert pq[pq_signal(1000)] == 255  # highlights kept under white


@pytest.mark.parametrize("transfer", ["smpte2084", "arib-std-b67", ""])
def test_hdr_video_is_decoded_to_sdr_light(tmp_path: Path, transfer: str) -> None:
    # A flat picture at one signal level, flagged with an HDR curve: the frame gives the SDR
    # level it stands for; unflagged (SDR), the level itself.
    levels = np.full((2, 32, 32, 3), 100, np.uint8)
    path = _encode(tmp_path / "hdr.mp4", levels, transfer=transfer)
    _, rgb = next(iter(iter_frames(path, fps=10.0)))
    lut = sdr_curve({"smpte2084": 16, "arib-std-b67": 18}.get(transfer, 1))
    want = 100 if lut is None else int(lut[100])
    assert abs(float(rgb.mean()) - want) <= 2, (rgb.mean(), want)


def test_odd_size(tmp_path: Path) -> None:
    path = _encode(tmp_path / "odd.mp4", _levels(5, h=37, w=63), pix_fmt="yuv444p")
    info = probe(path)
    assert (info.width, info.height) == (63, 37)
    assert read_clip(path, [4]).shape == (1, 37, 63, 3)
    assert next(iter(iter_frames(path)))[1].shape == (37, 63, 3)


def test_read_clip_unsorted_repeated_indices(tmp_path: Path) -> None:
    # Keyframe every 8 frames so reading from the middle really seeks.
    path = _encode(tmp_path / "v.mp4", _levels(48), gop=8)
    clip = read_clip(path, [40, 3, 3, 47, 0, 21])
    assert clip.shape == (6, 48, 64, 3)
    assert [int(round(f.mean() / 5)) for f in clip] == [40, 3, 3, 47, 0, 21]
    assert len(frame_timestamps(path)) == 48


def test_read_clip_out_of_range(make_video) -> None:
    path = make_video("v.mp4", num_frames=8)
    with pytest.raises(VideoError, match="out of range"):
        read_clip(path, [0, 8])


def test_missing_file(tmp_path: Path) -> None:
    for call in (probe, lambda p: list(iter_frames(p)), lambda p: read_clip(p, [0])):
        with pytest.raises(VideoError, match="not found"):
            call(tmp_path / "nope.mp4")


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match="notes.mp4"):
        probe(path)
    with pytest.raises(VideoError, match="notes.mp4"):
        list(iter_frames(path))


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = np.zeros((1, 800), np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        probe(path)


@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_file(tmp_path: Path, faststart: bool) -> None:
    options = {"movflags": "faststart"} if faststart else {}
    full = _encode(tmp_path / "full.mp4", _levels(40), options=options)
    cut = tmp_path / "cut.mp4"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        list(iter_frames(cut, fps=None))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match="empty.mp4"):
        probe(path)


def test_bad_fps(make_video) -> None:
    with pytest.raises(ValueError, match="fps"):
        next(iter_frames(make_video(), fps=0.0))


def test_max_side_downscales_keeping_aspect(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(3, h=48, w=64), rotation=90)
    frames = [f for _, f in iter_frames(path, fps=None, max_side=32)]
    assert [f.shape for f in frames] == [(32, 24, 3)] * 3  # rotated to portrait, then fit
    assert int(round(frames[2].mean() / 5)) == 2
    assert next(iter(iter_frames(path, max_side=100)))[1].shape == (64, 48, 3)  # no upscaling


def test_frames_too_large_are_divided_by_a_whole_factor() -> None:
    assert scaled_size(1280, 720, 720) == (640, 360)  # halved, not 720x405
    assert scaled_size(1920, 1080, 720) == (640, 360)
    assert scaled_size(2160, 3840, 720) == (360, 640)  # portrait 4K: a sixth
    assert scaled_size(642, 360, 720) == (642, 360)  # fits: unchanged (every wild clip)
    assert scaled_size(1280, 720, None) == (1280, 720)
    # Halving an 800 px frame would leave 400 px (< 2/3 of 720): scaled to 720 instead.
    assert scaled_size(800, 450, 720) == (720, 405)
    assert scaled_size(1000, 500, 720) == (500, 250)  # 500 >= 480: halved


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuvj420p", "yuv444p"])
def test_frames_are_the_pixels_pyav_converts(tmp_path: Path, pix_fmt: str) -> None:
    # Converted in this thread with one swscale set-up per video (not PyAV's per-frame one
    # with a thread per core): the same pixels as PyAV's own conversion, scaled or not.
    import av

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 90, 160, 3), dtype=np.uint8)
    path = _encode(tmp_path / "v.mp4", frames, pix_fmt=pix_fmt)
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    whole = [f.to_ndarray(format="rgb24") for f in decoded]
    small = [
        f.reformat(width=80, height=45, format="rgb24", interpolation="AREA").to_ndarray()
        for f in decoded
    ]
    got_whole = [f for _, f in iter_frames(path, fps=None)]
    got_small = [f for _, f in iter_frames(path, fps=None, max_side=100)]  # halved
    assert len(got_whole) == len(got_small) == 4 and got_small[0].shape == (45, 80, 3)
    assert all(np.array_equal(a, b) for a, b in zip(got_whole, whole, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(got_small, small, strict=True))
    assert np.array_equal(read_clip(path, [2, 0]), np.stack([whole[2], whole[0]]))


@pytest.mark.parametrize("gop", [0, 4])
@pytest.mark.parametrize("fps", [10.0, 4.0, 25.0])
def test_iter_frames_segments_equal_the_whole_stream(tmp_path: Path, gop: int, fps: float) -> None:
    # Segments [a, b) decoded after a seek give exactly the frames of the whole stream, with a
    # keyframe every 4 frames (a real seek) and with one keyframe only (decoded from the start).
    path = _encode(tmp_path / "v.mp4", _levels(40), gop=gop)
    whole = list(iter_frames(path, fps=fps))
    origin = probe(path).start_s
    assert origin is not None
    bounds = [0, 7, 8, 19, len(whole)]
    parts: list[tuple[float, np.ndarray]] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        stop = None if b == len(whole) else b
        parts += list(iter_frames(path, fps=fps, start=a, stop=stop, origin_s=origin, threads=1))
    assert [t for t, _ in parts] == [t for t, _ in whole]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(parts, whole, strict=True))


def test_iter_frames_segment_past_the_end_is_empty(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(20), gop=4)
    assert list(iter_frames(path, fps=10.0, start=50, origin_s=probe(path).start_s)) == []


def test_iter_frames_segment_needs_the_origin(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(10))
    with pytest.raises(ValueError, match="origin_s"):
        next(iter_frames(path, fps=10.0, start=3))


def test_iter_frames_segments_of_a_variable_rate_video(tmp_path: Path) -> None:
    times_ms = [0, 30, 60, 90, 400, 410, 420, 900, 1000, 1500, 2000, 2050, 2600, 3000]
    path = _encode(tmp_path / "vfr.mp4", _levels(len(times_ms)), times_ms=times_ms, gop=3)
    whole = [t for t, _ in iter_frames(path, fps=4.0)]
    origin = probe(path).start_s
    parts = [t for t, _ in iter_frames(path, fps=4.0, stop=5)]
    parts += [t for t, _ in iter_frames(path, fps=4.0, start=5, origin_s=origin)]
    assert parts == whole and len(whole) == 13


@pytest.mark.parametrize("fps", [3.0, 4.0, 10.0])
def test_frames_nothing_refers_to_are_not_decoded(
    tmp_path: Path, fps: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # x264's B-frames that no frame refers to are skipped unless sampled: fewer frames decoded,
    # the same frames and times out, also for a segment and a variable-rate video.
    import musclemap.data.video_io as video_io

    path = _encode(tmp_path / "v.mp4", _levels(40))
    vfr = _encode(
        tmp_path / "vfr.mp4",
        _levels(14),
        times_ms=[0, 30, 60, 90, 400, 410, 420, 900, 1000, 1500, 2000, 2050, 2600, 3000],
    )
    decoded: list[int] = []
    real = video_io._decode

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for frame in real(*args, **kwargs):  # type: ignore[arg-type]
            decoded[-1] += 1
            yield frame

    monkeypatch.setattr(video_io, "_decode", counting)

    def run(video: Path, start: int = 0) -> list[tuple[float, np.ndarray]]:
        decoded.append(0)
        origin = probe(video).start_s if start else None
        return list(iter_frames(video, fps=fps, start=start, origin_s=origin, threads=1))

    skipping = [run(path), run(path, start=5), run(vfr)]
    monkeypatch.setattr(video_io, "_stream_pts", lambda p: ())  # no timestamps: decode all
    every = [run(path), run(path, start=5), run(vfr)]
    for a, b in zip(skipping, every, strict=True):
        assert [t for t, _ in a] == [t for t, _ in b]
        assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b, strict=True))
    assert decoded[3] == 40
    if fps < 10:  # x264's default: 3 B-frames, the unsampled ones no frame refers to skipped
        assert decoded[0] < 32


def test_wanted_pts_is_the_nearest_frame_rule() -> None:
    from musclemap.data.video_io import _wanted_pts

    pts = (0, 30, 60, 90, 400, 410, 420, 900, 1000, 1500)
    got = _wanted_pts(pts, Fraction(1, 1000), 0.0, 4.0, 0, None)
    # targets 0, .25, .5, .75, 1.0, 1.25 (a tie: the earlier), 1.5: the nearest frame
    assert got == {0, 400, 420, 900, 1000, 1500}
    assert _wanted_pts(pts, Fraction(1, 1000), 0.0, 4.0, 2, 4) == {420, 900}


def test_probe_is_remembered_until_the_file_changes(tmp_path: Path) -> None:
    path = _encode(tmp_path / "v.mp4", _levels(10))
    first = probe(path)
    assert probe(str(path)) == first and probe(str(path)).path == Path(str(path))
    _encode(path, _levels(20))  # rewritten: another size and time
    assert probe(path).num_frames == 20 and first.num_frames == 10


def test_a_folder_or_fifo_is_named_for_what_it_is(tmp_path: Path) -> None:
    import os

    with pytest.raises(VideoError, match="is a folder, not a file"):
        probe(tmp_path)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(VideoError, match="not a regular file"):
        list(iter_frames(fifo))

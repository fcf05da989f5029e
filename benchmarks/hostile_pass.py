"""A hostile pass over the console commands (issue 12): bad inputs, odd options, outputs that
would replace something; each case in a fresh process, each outcome classified.

    PYTHONPATH=src nice -n 10 .venv/bin/python benchmarks/hostile_pass.py [--filter TEXT] \
        [--json OUT.json] [--keep DIR]

Inputs are generated in a temporary folder (tiny videos made with PyAV, corrupt files, odd
manifests, pose files, configs); one real clip of ../shared/data/wild (MUSCLEMAP_SHARED) is
copied in for the cases that need a person, and those cases are skipped without it. Classes:

- OK: exit 0 and a correct result (the case's own check passed);
- CLEAR: exit != 0, no traceback, one `error:` line (or click's usage box, exit 2);
- TRACEBACK: a Python traceback, or death by a signal;
- SILENT-WRONG: exit 0 where the input should have been refused, or a result / note missing;
- DATA-LOSS: a file that existed before (an input, a model) was replaced or removed, or the
  work was done and then lost (an output refused only after the run);
- REFUSED-OK: a valid input refused; UNCLEAR: refused, but not in one line; HANG: past the
  case's time limit.

Training is only driven through its argument and config checks (smoke configs with at most two
optimisation steps); `serve` only through option checks (a valid one is stopped after a few
seconds). CPU: one case at a time, about 2 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
GOOD_CLIP = SHARED / "data" / "wild" / "clips" / "bicep_curl__kshitij__1.mp4"
WORKOUT_CLIP = SHARED / "data" / "wild" / "clips" / "squat__kbtrainer__1.mp4"
CLASSES = (
    "OK",
    "CLEAR",
    "TRACEBACK",
    "SILENT-WRONG",
    "DATA-LOSS",
    "REFUSED-OK",
    "UNCLEAR",
    "HANG",
    "SKIPPED",
)

# A check gets the finished run and says what is wrong with it: None if nothing, else
# (class, why).
Check = Callable[["Run"], "tuple[str, str] | None"]


@dataclass
class Case:
    name: str
    args: list[str]
    expect: str = "refuse"  # "refuse", "ok" or "either"
    protect: list[str] = field(default_factory=list)  # files that must stay as they are
    check: Check | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    needs_clip: bool = False
    running_ok: bool = False  # serve: still running at the time limit is the right outcome
    message: str = ""  # a refusal must contain this
    cwd: str = ""  # the folder (under the inputs' root) the command runs in
    interrupt: float = 0.0  # send Ctrl-C (SIGINT to the process group) after this many seconds
    api: str = ""  # Python code run through API_RUNNER instead of `python -m musclemap ARGS`


@dataclass
class Run:
    case: Case
    root: Path
    rc: int | None
    out: str
    err: str
    seconds: float
    leftover: int = 0  # processes of the command's group still alive after it exited


# -- inputs ------------------------------------------------------------------------------------


def write_video(
    path: Path,
    *,
    frames: int = 20,
    size: tuple[int, int] = (96, 96),
    fps: int = 10,
    codec: str = "libx264",
) -> Path:
    """Random-noise frames (no person): enough to decode, nothing to pose."""
    import av

    rng = np.random.default_rng(0)
    w, h = size
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for _ in range(frames):
            rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_variants(root: Path) -> dict[str, Path]:
    """GOOD_CLIP's frames in other codecs, containers, sizes and rates, cut to one frame or a
    fraction of a second, and an MP4 with sound only (session 17)."""
    import av

    with av.open(str(GOOD_CLIP)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    h, w = (d - d % 2 for d in frames[0].shape[:2])
    frames = [np.ascontiguousarray(f[:h, :w]) for f in frames]

    def encode(name: str, pics: list[np.ndarray], codec: str = "libx264", rate: int = 30,
               pix_fmt: str = "yuv420p", **opts: object) -> Path:  # fmt: skip
        path = root / name
        with av.open(str(path), mode="w") as out:
            stream = out.add_stream(codec, rate=Fraction(rate))
            stream.height, stream.width = pics[0].shape[:2]
            stream.pix_fmt = pix_fmt
            for key, value in opts.items():
                target = stream.codec_context if key == "sample_aspect_ratio" else stream
                setattr(target, key, value)
            for rgb in pics:
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb)):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path

    import cv2

    big = [cv2.resize(f, (3840, 2160), interpolation=cv2.INTER_LINEAR) for f in frames]
    x265 = {"options": {"x265-params": "log-level=error"}}
    out = {
        "vp9": encode("curl_vp9.webm", frames, "libvpx-vp9", bit_rate=1_000_000),
        "mpeg4": encode("curl_mpeg4.avi", frames, "mpeg4", bit_rate=2_000_000),
        "mjpeg": encode("curl_mjpeg.avi", frames, "mjpeg", pix_fmt="yuvj420p"),
        "hevc": encode("curl_hevc.mp4", frames, "libx265", **x265),
        "4k": encode("curl_4k.mp4", big),
        "60fps": encode("curl_60fps.mp4", [f for f in frames for _ in (0, 1)], rate=60),
        "1fps": encode("curl_1fps.mp4", frames[::15] * 3, rate=1),
        "one_frame": encode("curl_one_frame.mp4", frames[:1]),
        "short": encode("curl_0.3s.mp4", frames[:9]),
        "still": encode("curl_still.mp4", frames[:1] * 60),  # a picture shown for 2 s
        # session 18: filmed in slow motion (each frame 4 times) and sped up twice
        "slow4": encode("curl_slow4.mp4", [f for f in frames for _ in range(4)]),
        "fast2": encode("curl_fast2.mp4", frames[::2]),
        # session 19: pixels 3:2 wide (anamorphic, as DV or HDV stores them), 10-bit HEVC (a
        # phone's HDR video), grey, and an animated GIF
        "anamorphic": encode(
            "curl_anamorphic.mp4",
            [cv2.resize(f, (w * 2 // 3 // 2 * 2, h), interpolation=cv2.INTER_AREA) for f in frames],
            sample_aspect_ratio=Fraction(3, 2),
        ),
        "hevc10": encode("curl_hevc10.mp4", frames, "libx265", pix_fmt="yuv420p10le", **x265),
        "grey": encode(
            "curl_grey.mp4",
            [np.repeat(f.mean(2, keepdims=True), 3, 2).astype(np.uint8) for f in frames],
        ),
        "gif": encode("curl.gif", [f[::2, ::2] for f in frames[::3]], "gif", 10, "rgb8"),
        # session 20: interlaced, each frame's odd lines from the next frame (as a camcorder's
        # second field, filmed later), flagged so
        "interlaced": encode(
            "curl_interlaced.mp4", _woven(frames), options={"x264-params": "interlaced=1:tff=1"}
        ),
        # session 20: HDR, the picture as the PQ curve encodes it, flagged so
        "pq": encode(
            "curl_pq.mp4", [_pq_signal(f) for f in frames],
            options={"x264-params": "transfer=smpte2084"},
        ),
        # session 18: a workout in one take, 9 s of squats then the 2.2 s curl three times
        # (a part needs about 8 s)
        "workout": encode("squat_then_curl.mp4", _letterboxed(WORKOUT_CLIP, (h, w)) + frames * 3),
    }
    with av.open(str(root / "sound_only.mp4"), mode="w") as sound:
        stream = sound.add_stream("aac", rate=44100)
        for _ in range(100):
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            chunk.sample_rate = 44100
            for packet in stream.encode(chunk):
                sound.mux(packet)
        for packet in stream.encode():
            sound.mux(packet)
    out["sound_only"] = root / "sound_only.mp4"
    return out


def write_png(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.full((120, 120, 3), 200, np.uint8)).save(path, format="PNG")
    return path


def write_pose_file(
    path: Path,
    *,
    frames: int = 30,
    fps: float = 10.0,
    value: float = 0.5,
    roi_grid: object = None,
    poison: str = "",
) -> Path:
    """A MediaPipe-33 pose file (`save_pose_file`) of a still person; `poison` puts NaN or inf
    into the image landmarks (`nan`, `inf`) of every frame."""
    from musclemap.data.pose_sequence import PoseSequence, save_pose_file

    rng = np.random.default_rng(1)
    xy = np.clip(rng.uniform(0.3, 0.7, (frames, 33, 2)) * value * 2, 0, 1)
    vis = np.full((frames, 33, 1), 0.9)
    image = np.concatenate([xy, vis], axis=2).astype(np.float32)
    world = np.concatenate([xy - 0.5, np.zeros((frames, 33, 1)), vis], axis=2).astype(np.float32)
    if poison == "nan":
        image[:, :, 0] = np.nan
        world[:, :, 0] = np.nan
    elif poison == "inf":
        image[:, :, 0] = np.inf
        world[:, :, 0] = np.inf
    seq = PoseSequence(
        image=image,
        world=world,
        valid=np.ones(frames, bool),
        times=np.arange(frames) / fps,
        fps=fps,
        width=640,
        height=360,
        extra={"settings": {"roi_grid": roi_grid}},
    )
    save_pose_file(seq, path)
    return path


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh).writerows(rows)
    return path


def _letterboxed(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    """A clip's frames scaled into `size` (h, w), centred on black."""
    import av
    import cv2

    h, w = size
    out = []
    with av.open(str(path)) as src:
        for frame in src.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            scale = min(h / rgb.shape[0], w / rgb.shape[1])
            sh, sw = int(rgb.shape[0] * scale), int(rgb.shape[1] * scale)
            canvas = np.zeros((h, w, 3), np.uint8)
            y, x = (h - sh) // 2, (w - sw) // 2
            canvas[y : y + sh, x : x + sw] = cv2.resize(rgb, (sw, sh))
            out.append(canvas)
    return out


def one_row_per_config(run: Run) -> tuple[str, str] | None:
    """`benchmark` given the same config twice: one row in its table."""
    if run.rc != 0:
        return None
    rows = (run.root / "bench_twice" / "table2.csv").read_text().splitlines()[1:]
    return None if len(rows) == 1 else ("SILENT-WRONG", f"{len(rows)} rows for one config")


def segments_found(name: str, count: int) -> Check:
    """A predict run whose JSON `name` has `count` parts (`segments`) and a note saying so."""

    def check(run: Run) -> tuple[str, str] | None:
        if run.rc != 0:
            return None
        data = json.loads((run.root / name).read_text())
        if len(data.get("segments", [])) != count:
            return "SILENT-WRONG", f"{len(data.get('segments', []))} parts, not {count}"
        if not any("movement changes" in n for n in data.get("notes", [])):
            return "SILENT-WRONG", f"no note of the change: {data.get('notes')}"
        return None

    return check


def make_inputs(root: Path) -> dict[str, Path]:
    """Every input file of the cases, under `root`."""
    from musclemap.taxonomy import GROUP_IDS

    p: dict[str, Path] = {}
    v = root / "v"
    v.mkdir()
    p["noise"] = write_video(v / "noise.mp4")
    p["good"] = v / "good.mp4"
    p["slow_dir"] = root / "slow"
    p["slow_dir"].mkdir()
    p["slow"] = p["slow_dir"] / "curl5.mp4"
    if GOOD_CLIP.is_file():
        shutil.copy(GOOD_CLIP, p["good"])
        from low_frame_rate import reencode  # this folder's: a clip at a lower rate

        reencode(GOOD_CLIP, p["slow"], 5.0)
        shutil.copy(p["slow"], p["slow_dir"] / "curl5_again.mp4")  # two: a real batch
    if GOOD_CLIP.is_file():
        variants = root / "variants"
        variants.mkdir()
        p |= {f"variant_{k}": f for k, f in write_variants(variants).items()}
    p["image_mp4"] = write_png(v / "image.mp4")
    p["zero"] = v / "zero.mp4"
    p["zero"].write_bytes(b"")
    p["text_mp4"] = v / "text.mp4"
    p["text_mp4"].write_text("hello, not a video\n")
    data = p["noise"].read_bytes()
    p["trunc"] = v / "trunc.mp4"
    p["trunc"].write_bytes(data[: len(data) // 3])
    p["uni"] = write_video(v / "ünï 名前.mp4")
    p["link_loop"] = v / "loop.mp4"
    os.symlink(p["link_loop"].name, p["link_loop"])
    # A folder of mixed videos (one good, two bad) for batch predict.
    mixed = root / "mixed"
    mixed.mkdir()
    if GOOD_CLIP.is_file():
        shutil.copy(GOOD_CLIP, mixed / "curl.mp4")
    (mixed / "empty.mp4").write_bytes(b"")
    (mixed / "notes.mp4").write_text("not a video")
    p["mixed"] = mixed
    p["tiny"] = write_video(v / "tiny.mp4", size=(10, 10))
    # Three real clips (different: a batch poses identical files once) for a batch and
    # `data poses` interrupted by Ctrl-C.
    three = root / "three"
    three.mkdir()
    p["three"] = three
    names = sorted(GOOD_CLIP.parent.glob("*.mp4"))[:3] if GOOD_CLIP.is_file() else []
    for i, clip in enumerate(names):
        shutil.copy(clip, three / f"clip_{i}.mp4")
    p["m_three"] = write_csv(
        root / "m_three.csv",
        [["clip", "activity"]] + [[f"three/clip_{i}.mp4", "squat"] for i in range(len(names))],
    )
    # The packaged model copied out, for --ckpt cases.
    model = root / "model"
    model.mkdir()
    weights = REPO / "src" / "musclemap" / "weights"
    for name in ("default.safetensors", "default.json"):
        shutil.copy(weights / name, model / name)
    p["model"] = model
    run = root / "run"  # a run folder: model.safetensors and model.json
    run.mkdir()
    for suffix in (".safetensors", ".json"):
        shutil.copy(weights / f"default{suffix}", run / f"model{suffix}")
    p["run"] = run
    named_run = root / "named_run"
    named_run.mkdir()
    if GOOD_CLIP.is_file():
        shutil.copy(GOOD_CLIP, named_run / "model.mp4")
    p["named_run"] = named_run
    # A folder of clips for batch predict into the model's folder: a video named "default".
    named = root / "named"
    named.mkdir()
    if GOOD_CLIP.is_file():
        shutil.copy(GOOD_CLIP, named / "default.mp4")
    p["named"] = named
    # Manifests.
    clips = root / "clips"
    clips.mkdir()
    acts = ["squat", "push_up", "lunge", "plank", "deadlift", "bicep_curl"]
    rows = [["clip", "activity", "split", "labels", "skeleton"]]
    for i, act in enumerate(acts * 2):
        clip = clips / f"{act}_{i}.mp4"
        clip.write_bytes(b"")
        pose = write_pose_file(clips / f"{act}_{i}.npz", value=0.3 + 0.05 * i)
        split = ["train", "val_known", "test_known", "val_new", "test_new", "train"][i % 6]
        rows.append([f"clips/{clip.name}", act, split, "", f"clips/{pose.name}"])
    p["m"] = write_csv(root / "m.csv", rows)
    p["ro_csv"] = write_csv(root / "ro.csv", rows)
    p["ro_csv"].chmod(0o444)
    p["m_nosplit"] = write_csv(root / "m_nosplit.csv", [r[:2] for r in rows])
    plain = [["clip", "activity"]] + [[f"clips/{a}_{i}.mp4", a] for i, a in enumerate(acts * 2)]
    p["m_plain"] = write_csv(root / "m_plain.csv", plain)
    p["m_huge_field"] = write_csv(
        root / "m_huge.csv", plain[:2] + [["clips/x.mp4", "squat", "y" * 300_000]]
    )
    p["m_latin1"] = root / "m_latin1.csv"
    p["m_latin1"].write_bytes("clip,activity\nclips/caf\xe9.mp4,squat\n".encode("latin-1"))
    p["m_header"] = write_csv(root / "m_header.csv", [["clip", "activity"]])
    p["m_sup"] = write_csv(
        root / "m_sup.csv", [rows[0], rows[1][:3] + ["²"] + rows[1][4:]] + rows[2:]
    )
    p["m_dashdash"] = write_csv(
        root / "m_dd.csv", [rows[0], rows[1][:3] + ["--1"] + rows[1][4:]] + rows[2:]
    )
    p["m_ws_activity"] = write_csv(
        root / "m_ws.csv", [rows[0], [rows[1][0], "   "] + rows[1][2:]] + rows[2:]
    )
    # Pose files that hold NaN / inf coordinates in every frame.
    bad_rows = [r[:] for r in rows]
    write_pose_file(clips / "nan.npz", poison="nan")
    write_pose_file(clips / "inf.npz", poison="inf")
    bad_rows[2][4] = "clips/nan.npz"  # a val_known clip
    bad_rows[3][4] = "clips/inf.npz"  # a test_known clip
    p["m_nanpose"] = write_csv(root / "m_nanpose.csv", bad_rows)
    # The same clip stem in two folders, for `data poses`.
    for sub in ("a", "b"):
        (root / sub).mkdir()
        write_video(root / sub / "x.mp4")
    p["m_samestem"] = write_csv(
        root / "m_samestem.csv", [["clip", "activity"], ["a/x.mp4", "squat"], ["b/x.mp4", "lunge"]]
    )
    # Pose files made by another estimator (MediaPipe's own tracker) already in OUT.
    pre = root / "pre"
    pre.mkdir()
    write_video(root / "clips2.mp4")
    p["m_one"] = write_csv(root / "m_one.csv", [["clip", "activity"], ["clips2.mp4", "squat"]])
    write_pose_file(pre / "clips2.npz", roi_grid=None)
    p["pre"] = pre
    # Predictions.
    header = ["clip", *GROUP_IDS]
    preds = [header] + [[r[0], *(["0.5"] * len(GROUP_IDS))] for r in rows[1:]]
    p["preds"] = write_csv(root / "preds.csv", preds)
    p["preds_unknown_col"] = write_csv(
        root / "preds_col.csv", [header + ["quads"]] + [r + ["0.9"] for r in preds[1:]]
    )
    p["preds_missing_col"] = write_csv(root / "preds_missing.csv", [r[:-1] for r in preds])
    p["preds_underscore"] = write_csv(
        root / "preds_us.csv", [preds[0]] + [[r[0], "0_5", *r[2:]] for r in preds[1:]]
    )
    # Configs.
    cfg = root / "cfg.yaml"
    cfg.write_text(
        (REPO / "configs" / "stgcn_smoke.yaml")
        .read_text()
        .replace("runs/smoke", str(root / "runs"))
    )
    p["cfg"] = cfg
    p["cfg_empty"] = root / "empty.yaml"
    p["cfg_empty"].write_text("")
    # A release folder with a pickle of labels that are not lists of indices.
    import pickle

    rel = root / "release"
    rel.mkdir()
    for split in ("train", "val_seen", "val_unseen", "test_seen", "test_unseen"):
        (rel / f"{split}_videos.pkl").write_bytes(pickle.dumps([f"squat/{split}.mp4"]))
        (rel / f"{split}_labels.pkl").write_bytes(pickle.dumps([[True, 13]]))
    p["release"] = rel
    # A Free Exercise DB folder whose record lists muscles as one string, not a list.
    fedb = root / "fedb"
    (fedb / "images" / "Squat").mkdir(parents=True)
    for k in (0, 1):
        write_png(fedb / "images" / "Squat" / f"{k}.jpg")
    (fedb / "exercises.json").write_text(
        json.dumps(
            [
                {
                    "id": "Squat",
                    "name": "Squat",
                    "category": "strength",
                    "primaryMuscles": ["quadriceps"],
                    "secondaryMuscles": [],
                    "force": None,
                    "mechanic": None,
                    "equipment": None,
                    "level": "beginner",
                }
            ]
        )
    )
    p["fedb"] = fedb
    # Session 18: an empty list, only a stretch, a null category.
    squat = json.loads((fedb / "exercises.json").read_text())[0]
    for key, records in [
        ("fedb_empty", []),
        ("fedb_stretch", [{**squat, "category": "stretching"}]),
        ("fedb_null_category", [{**squat, "category": None}]),
    ]:
        shutil.copytree(fedb, root / key)
        (root / key / "exercises.json").write_text(json.dumps(records))
        p[key] = root / key
    # Read-only output file, and a dangling link.
    ro = root / "ro.json"
    ro.write_text("{}")
    ro.chmod(0o444)
    p["ro"] = ro
    ro_png = root / "ro.png"
    write_png(ro_png)
    ro_png.chmod(0o444)
    p["dangling"] = root / "dangling.json"
    os.symlink(root / "nowhere" / "deeper" / "x.json", p["dangling"])
    p["hardlink"] = root / "hard.json"
    os.link(p["good"] if p["good"].exists() else p["noise"], p["hardlink"])
    p["ro_dir"] = root / "ro_dir"
    p["ro_dir"].mkdir()
    p["ro_dir"].chmod(0o555)
    p["fifo"] = root / "fifo.mp4"
    os.mkfifo(p["fifo"])
    p["outfile"] = root / "a_file"
    p["outfile"].write_text("x")
    # Round 2. A batch output folder whose planned files cannot be written: x.json read-only,
    # y.json a folder, summary.csv a folder.
    if GOOD_CLIP.is_file():
        for sub in ("b_ro", "b_dir", "b_sum"):
            (root / sub).mkdir()
            shutil.copy(GOOD_CLIP, root / sub / "x.mp4")
    (root / "o_ro").mkdir()
    (root / "o_ro" / "x.json").write_text("{}")
    (root / "o_ro" / "x.json").chmod(0o444)
    (root / "o_dir" / "x.json").mkdir(parents=True)
    (root / "o_sum" / "summary.csv").mkdir(parents=True)
    # A manifest inside the --out folder of data poses (OUT/manifest.csv is the input).
    (root / "inplace").mkdir()
    write_video(root / "inplace" / "c.mp4")
    p["m_inplace"] = write_csv(
        root / "inplace" / "manifest.csv",
        [["clip", "activity", "skeleton"], ["c.mp4", "squat", str(root / "pre" / "clips2.npz")]],
    )
    # A folder to import that holds a symlink loop named like a video and a link to itself.
    imp = root / "imp"
    imp.mkdir()
    write_video(imp / "squat_1.mp4")
    os.symlink("loop_squat.mp4", imp / "loop_squat.mp4")
    os.symlink(".", imp / "again")
    p["imp"] = imp
    # A pretrained "checkpoint" that is text, and a config naming a manifest of NaN poses.
    p["junk_pt"] = root / "junk.pt"
    p["junk_pt"].write_text("not a checkpoint")
    p["cfg_nan"] = root / "cfg_nan.yaml"
    p["cfg_nan"].write_text(
        p["cfg"]
        .read_text()
        .replace("synthetic: true", f"manifest: {p['m_nanpose']}")
        .replace("layout: coco17", "layout: mediapipe33")
    )
    # Round 3: demo, fold and benchmark outputs that cannot be written.
    (root / "demo_ro").mkdir()
    (root / "demo_ro" / "demo.json").write_text("{}")
    (root / "demo_ro" / "demo.json").chmod(0o444)
    (root / "demo_dir" / "body_map.svg").mkdir(parents=True)
    (root / "folds").mkdir()
    write_csv(root / "folds" / "f_fold1.csv", [["clip", "activity"]])
    (root / "folds" / "f_fold1.csv").chmod(0o444)
    (root / "bench").mkdir()
    (root / "bench" / "table2.md").write_text("old table")
    (root / "bench" / "table2.md").chmod(0o444)
    write_csv(
        root / "m_split_ws.csv",
        [["clip", "activity", "split"]]
        + [[f"clips/{a}_{i}.mp4", a, " train "] for i, a in enumerate(["squat", "lunge"])],
    )
    return p


# The Python API cases: the code runs with `musclemap` imported; a MusclemapError (the API's
# documented refusals) is printed as `error: MESSAGE` with exit 1 when its message is one line,
# as is (and classified UNCLEAR) when not; anything else escapes as a traceback.
API_RUNNER = """
import sys
import musclemap
from musclemap.errors import MusclemapError
try:
    exec(sys.argv[1], {"musclemap": musclemap, "__name__": "__api__"})
except MusclemapError as err:
    message = str(err)
    print(("error: " + message) if "\\n" not in message else message, file=sys.stderr)
    sys.exit(1)
"""

# -- checks ------------------------------------------------------------------------------------


def json_has_muscles(name: str) -> Check:
    def check(run: Run) -> tuple[str, str] | None:
        path = run.root / name
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            return "SILENT-WRONG", f"no JSON at {name}: {err}"
        if len(data.get("muscles", {})) != 20:
            return "SILENT-WRONG", "JSON without 20 muscles"
        return None

    return check


def interrupted_cleanly(*outputs: str) -> Check:
    """Ctrl-C: exit 130 with `interrupted` last, no output half-written (each one there is
    whole JSON) and no process of the command's group left (its pose workers included)."""

    def check(run: Run) -> tuple[str, str] | None:
        lines = [line for line in run.err.splitlines() if line.strip()]
        if run.rc == 0 and run.seconds < run.case.interrupt:
            return "OK", f"finished before Ctrl-C ({run.seconds:.1f} s): nothing to interrupt"
        if run.rc == 0:
            why = f"Ctrl-C at {run.case.interrupt} s ignored: exit 0 at {run.seconds:.1f} s"
            return "SILENT-WRONG", why
        if run.rc != 130 or not lines or lines[-1] != "interrupted":
            return "UNCLEAR", f"exit {run.rc}, last line {lines[-1][:80] if lines else ''!r}"
        for name in outputs:
            for path in sorted(run.root.glob(name)):
                try:
                    json.loads(path.read_text())
                except ValueError:
                    return "DATA-LOSS", f"{path.name} half-written"
        if run.leftover:
            return "SILENT-WRONG", f"{run.leftover} process(es) of the command left running"
        return "CLEAR", "exit 130: interrupted, nothing half-written, no process left"

    return check


def api_top(group: str) -> Check:
    """A Python API run that printed its prediction's active groups: `group` among them."""

    def check(run: Run) -> tuple[str, str] | None:
        if run.rc == 0 and group not in run.out.split():
            return "SILENT-WRONG", f"{group} not among the active groups: {run.out.strip()[:100]}"
        return None

    return check


def _woven(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Frames as interlaced video weaves them: each one's odd lines from the next frame."""
    out = []
    for first, second in zip(frames[:-1], frames[1:], strict=True):
        both = first.copy()
        both[1::2] = second[1::2]
        out.append(both)
    return out


def _pq_signal(rgb: np.ndarray) -> np.ndarray:
    """An SDR picture as an HDR (PQ) camera encodes it: its white at 203 nits of 10,000."""
    from musclemap.data.video_io import PQ_CONSTANTS

    m1, m2, c1, c2, c3 = PQ_CONSTANTS
    y = ((rgb / 255.0) ** 2.4 * 203 / 10000) ** m1
    return np.round(255 * ((c1 + c2 * y) / (1 + c3 * y)) ** m2).astype(np.uint8)


def json_top(name: str, groups: set[str] | None, note: str = "") -> Check:
    """A predict run whose JSON `name` ranks one of `groups` first (any, when None) and has a
    note containing `note`, when given."""

    def check(run: Run) -> tuple[str, str] | None:
        if run.rc != 0:
            return None
        try:
            data = json.loads((run.root / name).read_text())
        except (OSError, ValueError) as err:
            return "SILENT-WRONG", f"no JSON at {name}: {err}"
        muscles = data.get("muscles", {})
        top = max(muscles, key=lambda g: muscles[g]) if muscles else None
        if groups is not None and top not in groups:
            return "SILENT-WRONG", f"{top} first, not one of {sorted(groups)}"
        if note and not any(note in n for n in data.get("notes", [])):
            return "SILENT-WRONG", f"no note with {note!r}: {data.get('notes')}"
        return None

    return check


def json_width(name: str, width: int, groups: set[str]) -> Check:
    """`json_top(name, groups)`, and the video's width in the quality block is `width` (within
    2 px): what it is shown at, not what it stores."""
    top = json_top(name, groups)

    def check(run: Run) -> tuple[str, str] | None:
        found = top(run)
        if found is not None or run.rc != 0:
            return found
        got = json.loads((run.root / name).read_text())["quality"]["resolution"]["width"]
        if abs(got - width) > 2:
            return "SILENT-WRONG", f"posed {got} px wide, shown {width}"
        return None

    return check


def one_answer(run: Run) -> tuple[str, str] | None:
    """A run that compared the answers of several paths to the same prediction: "same"."""
    if run.rc == 0 and run.out.split()[:1] != ["same"]:
        return "SILENT-WRONG", f"the paths answer differently: {run.out.strip()[:160]}"
    return None


def refused_before_work(run: Run) -> tuple[str, str] | None:
    """An output refused only after the run (atomic_path's messages: "cannot write (...)", not
    the up-front check's "cannot write there"; "...; nothing written" after a folder): the
    work is lost."""
    late = ("cannot write (", "expected a file name; nothing written", "not a folder; nothing")
    if run.rc != 0 and any(text in run.err for text in late):
        return "DATA-LOSS", "work lost: output refused only after the run"
    return None


def batch_mixed(run: Run) -> tuple[str, str] | None:
    out = run.root / "out_mixed"
    if run.rc != 1:
        return ("SILENT-WRONG" if run.rc == 0 else "UNCLEAR"), f"exit {run.rc}, documented 1"
    if not (out / "curl.json").is_file():
        return "DATA-LOSS", "the good video's JSON was not written"
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    if len(errors) != 2:
        return "UNCLEAR", f"{len(errors)} error lines for 2 bad videos"
    return "OK", "good one written, 2 errors, exit 1"


def no_nan_table(run: Run) -> tuple[str, str] | None:
    if run.rc == 0 and "nan" in run.out.lower():
        return "SILENT-WRONG", "NaN in the table"
    return None


def poses_kept_both(run: Run) -> tuple[str, str] | None:
    files = sorted(p.name for p in (run.root / "out_poses").glob("*.npz"))
    if run.rc == 0 and len(files) < 2:
        return "DATA-LOSS", f"two clips, pose files {files}"
    return None


def redone_other_estimator(run: Run) -> tuple[str, str] | None:
    if "already done" in run.err and "1 already done" in run.err:
        return "SILENT-WRONG", "a pose file of another tracker kept as done"
    return None


# -- cases -------------------------------------------------------------------------------------


def cases(p: dict[str, Path], root: Path) -> list[Case]:
    P = ["predict"]
    W1 = ["--workers", "1"]
    good, noise = str(p["good"]), str(p["noise"])
    m, model = str(p["m"]), str(p["model"])
    out: list[Case] = []

    def add(name: str, args: list[str], **kw: object) -> None:
        out.append(Case(name, [str(a) for a in args], **kw))  # type: ignore[arg-type]

    # predict: results and batch.
    add(
        "predict good clip",
        P + [good, "--json", "r.json"] + W1,
        expect="ok",
        check=json_has_muscles("r.json"),
        needs_clip=True,
    )
    add(
        "predict huge --top-k",
        P + [good, "--top-k", "99999999999999999999"] + W1,
        expect="ok",
        needs_clip=True,
    )
    add(
        "batch: folder of good and bad videos",
        P + [p["mixed"], "--out-dir", "out_mixed"] + W1,
        expect="either",
        check=batch_mixed,
        needs_clip=True,
    )
    # predict: outputs that are inputs or each other.
    add("--json is the video", P + [good, "--json", good] + W1, protect=[good])
    add(
        "--json is a hard link of the video",
        P + [good, "--json", p["hardlink"]] + W1,
        protect=[good],
    )
    add("--json and --body-map one file", P + [good, "--json", "x.svg", "--body-map", "x.svg"] + W1)
    add(
        "--json is the --ckpt weights",
        P
        + [good, "--ckpt", f"{model}/default.safetensors", "--json", f"{model}/default.safetensors"]
        + W1,
        protect=[f"{model}/default.safetensors"],
        needs_clip=True,
    )
    add(
        "--json is the --ckpt's JSON",
        P
        + [good, "--ckpt", f"{model}/default.safetensors", "--json", f"{model}/default.json"]
        + W1,
        protect=[f"{model}/default.json"],
        needs_clip=True,
    )
    add(
        "--json is the JSON of --ckpt FOLDER",
        P + [good, "--ckpt", model, "--json", f"{model}/default.json"] + W1,
        protect=[f"{model}/default.json"],
        needs_clip=True,
    )
    add(
        "batch --out-dir is the --ckpt folder (video default.mp4)",
        P + [p["named"], "--ckpt", f"{model}/default.safetensors", "--out-dir", model] + W1,
        protect=[f"{model}/default.json"],
        needs_clip=True,
    )
    run = str(p["run"])
    add(
        "--json is the JSON of a --ckpt run folder",
        P + [good, "--ckpt", run, "--json", f"{run}/model.json"] + W1,
        protect=[f"{run}/model.json"],
        needs_clip=True,
    )
    add(
        "--json is the weights of a --ckpt run folder",
        P + [good, "--ckpt", run, "--json", f"{run}/model.safetensors"] + W1,
        protect=[f"{run}/model.safetensors"],
        needs_clip=True,
    )
    add(
        "batch --out-dir is the --ckpt run folder (video model.mp4)",
        P + [p["named_run"], "--ckpt", run, "--out-dir", run] + W1,
        protect=[f"{run}/model.json"],
        needs_clip=True,
    )
    add("--json is an existing folder", P + [good, "--json", root / "v"] + W1)
    add("--json ''", P + [good, "--json", ""] + W1)
    add("--json read-only file", P + [good, "--json", p["ro"]] + W1, protect=[str(p["ro"])])
    add(
        "--json dangling link into a missing folder",
        P + [good, "--json", p["dangling"]] + W1,
        needs_clip=True,
        check=refused_before_work,
    )
    add("--json under a file", P + [good, "--json", f"{p['outfile']}/r.json"] + W1)
    add("--json under /proc", P + [good, "--json", "/proc/r.json"] + W1)
    add("--body-map .jpg", P + [good, "--body-map", "b.jpg"] + W1)
    add("--timeline .svg", P + [good, "--timeline", "t.svg"] + W1)
    add("--overlay .gif", P + [good, "--overlay", "o.gif"] + W1)
    add(
        "--out-dir is a file",
        P + [good, noise, "--out-dir", p["outfile"]] + W1,
        protect=[str(p["outfile"])],
    )
    add("--out-dir under /proc", P + [good, noise, "--out-dir", "/proc/x"] + W1)
    add("batch with --json", P + [good, noise, "--out-dir", "o2", "--json", "r.json"] + W1)
    add("two videos, no --out-dir", P + [good, noise] + W1)
    # predict: the curl in other codecs, containers, sizes and rates (session 17): biceps or
    # forearms first, and the note a rate or a still picture calls for.
    curl = {"biceps", "forearms"}
    for key, name, groups, note in [
        ("vp9", "the curl as VP9 in WebM", curl, ""),
        ("mpeg4", "the curl as MPEG-4 part 2 in AVI", curl, ""),
        ("mjpeg", "the curl as Motion JPEG in AVI", curl, ""),
        ("hevc", "the curl as HEVC in MP4", curl, ""),
        ("4k", "the curl as 3840x2160", curl, ""),
        ("60fps", "the curl as 60 fps", curl, ""),
        ("1fps", "the curl at 1 fps", curl, "1 frame per second"),
        ("still", "the curl's first frame shown for 2 s", None, "does not move at all"),
    ]:
        add(
            name,
            P + [p.get(f"variant_{key}", noise), "--json", f"{key}.json"] + W1,
            expect="ok",
            check=json_top(f"{key}.json", groups, note=note),
            needs_clip=True,
        )
    # session 19: the anamorphic curl is posed in square pixels (as wide as the original)
    add("the curl in 3:2 pixels (anamorphic)",
        P + [p.get("variant_anamorphic", noise), "--json", "anamorphic.json"] + W1, expect="ok",
        check=json_width("anamorphic.json", 639, curl), needs_clip=True)  # fmt: skip
    for key, name in [("slow4", "the curl in slow motion (x 1/4)"), ("fast2", "the curl at x 2"),
                      ("hevc10", "the curl as 10-bit HEVC"),
                      ("gif", "the curl as an animated GIF"),
                      ("interlaced", "the curl interlaced (fields woven)"),
                      ("pq", "the curl as HDR (PQ)")]:  # fmt: skip
        add(name, P + [p.get(f"variant_{key}", noise), "--json", f"{key}.json"] + W1,
            expect="ok", check=json_top(f"{key}.json", curl), needs_clip=True)  # fmt: skip
    # session 20: grey is noted (MediaPipe is less sure without colour)
    add(
        "the curl in grey",
        P + [p.get("variant_grey", noise), "--json", "grey.json"] + W1,
        expect="ok",
        check=json_top("grey.json", curl, note="no colour"),
        needs_clip=True,
    )
    add(
        "squats then the curl in one video",
        P + [p.get("variant_workout", noise), "--json", "workout.json"] + W1,
        expect="ok",
        check=segments_found("workout.json", 2),
        needs_clip=True,
    )
    add("the curl's first frame alone", P + [p.get("variant_one_frame", noise)] + W1,
        message="too short", needs_clip=True)  # fmt: skip
    add("the curl cut to 0.3 s", P + [p.get("variant_short", noise)] + W1, message="too short",
        needs_clip=True)  # fmt: skip
    add("an MP4 with sound only", P + [p.get("variant_sound_only", noise)] + W1,
        message="no video stream", needs_clip=True)  # fmt: skip
    # predict: odd inputs.
    add("image renamed .mp4", P + [p["image_mp4"]] + W1)
    add("zero-length .mp4", P + [p["zero"]] + W1)
    add("text renamed .mp4", P + [p["text_mp4"]] + W1)
    add("truncated .mp4", P + [p["trunc"]] + W1)
    add("noise video (no person)", P + [noise] + W1)
    add("unicode file name, no person", P + [p["uni"]] + W1)
    add("symlink loop", P + [p["link_loop"]] + W1)
    add("FIFO named .mp4", P + [p["fifo"]] + W1, timeout=20)
    add("/dev/null", P + ["/dev/null"] + W1)
    add("folder without videos", P + [root / "pre"] + W1)
    add("missing file", P + [root / "nope.mp4"] + W1)
    # predict: options.
    for opt, val in [
        ("--fps", ""),
        ("--fps", "inf"),
        ("--fps", "-0"),
        ("--fps", "1e309"),
        ("--threshold", "nan"),
        ("--threshold", ""),
        ("--threshold", "1.0000001"),
        ("--top-k", "0"),
        ("--top-k", "-1"),
        ("--workers", "-1"),
        ("--rotate", "90.0"),
        ("--rotate", "-90"),
        ("--rotate", ""),
        ("--pose-estimator", ""),
        ("--pose-estimator", "MediaPipe"),
        ("--exercise", ""),
        ("--exercise", "   "),
        ("--exercise", "squatt"),
        ("--ckpt", ""),
        ("--ckpt", str(root / "v")),
        ("--ckpt", noise),
    ]:
        add(
            f"predict {opt} {val!r}",
            P + [good, f"{opt}={val}"] + ([] if opt == "--workers" else W1),
        )
    add(
        "predict --exercise ' squat ' (spaces)",
        P + [good, "--exercise", " squat "] + W1,
        expect="either",
        needs_clip=True,
    )
    # explain.
    E = ["explain"]
    add(
        "explain --out is the video", E + [good, "--group", "biceps", "--out", good], protect=[good]
    )
    add("explain --group ''", E + [good, "--group", "", "--out", "e.png"])
    add("explain --out .jpg", E + [good, "--group", "biceps", "--out", "e.jpg"])
    add(
        "explain --span 1e-9",
        E
        + [
            good,
            "--group",
            "biceps",
            "--out",
            "e.png",
            "--span",
            "1e-9",
            "--pose-estimator",
            "mediapipe_g4",
        ],
        expect="either",
        timeout=90,
        needs_clip=True,
    )
    add("explain --span -1", E + [good, "--group", "biceps", "--out", "e.png", "--span", "-1"])
    add("explain --fps 0", E + [good, "--group", "biceps", "--out", "e.png", "--fps", "0"])
    add(
        "explain --json is --ckpt",
        E
        + [
            good,
            "--group",
            "biceps",
            "--out",
            "e.png",
            "--ckpt",
            f"{model}/default.safetensors",
            "--json",
            f"{model}/default.safetensors",
        ],
        protect=[f"{model}/default.safetensors"],
    )
    add(
        "explain --json is the --ckpt folder's JSON",
        E
        + [
            good,
            "--group",
            "biceps",
            "--out",
            "e.png",
            "--ckpt",
            model,
            "--json",
            f"{model}/default.json",
        ],
        protect=[f"{model}/default.json"],
        needs_clip=True,
    )
    add(
        "explain --json is the JSON of a --ckpt run folder",
        E
        + [
            good,
            "--group",
            "biceps",
            "--out",
            "e.png",
            "--ckpt",
            run,
            "--json",
            f"{run}/model.json",
        ],
        protect=[f"{run}/model.json"],
        needs_clip=True,
    )
    add(
        "explain --out read-only file",
        E + [good, "--group", "biceps", "--out", "ro.png"],
        protect=[str(root / "ro.png")],
    )
    add("explain missing video", E + [root / "nope.mp4", "--group", "biceps", "--out", "e.png"])
    # activities.
    A = ["activities"]
    add("activities ''", A + [""])
    add("activities '   '", A + ["   "])
    add("activities long name", A + ["x" * 5000])
    add("activities unicode", A + ["スクワット"])
    add("activities squat --list", A + ["squat", "--list"], expect="either")
    add("activities tab", A + ["squat\t"], expect="either")
    add("activities squat", A + ["squat"], expect="ok")
    # data import.
    DI = ["data", "import"]
    add("import folder of one unknown video", DI + [root / "v", "--out", "imp.csv"])
    add("import --out is the folder", DI + [root / "clips", "--out", root / "clips"])
    add("import --layout ''", DI + [root / "clips", "--out", "imp.csv", "--layout", ""])
    add(
        "import --layout FOLDER",
        DI + [root / "clips", "--out", "imp.csv", "--layout", "FOLDER"],
        expect="either",
    )
    add(
        "import release, labels [True, 13]",
        DI + [p["release"], "--out", "rel.csv", "--layout", "release"],
        expect="refuse",
    )
    add(
        "import release --activity-from nonsense",
        DI
        + [p["release"], "--out", "rel.csv", "--layout", "release", "--activity-from", "nonsense"],
    )
    add(
        "import release --video-root a file",
        DI
        + [p["release"], "--out", "rel.csv", "--layout", "release", "--video-root", p["outfile"]],
    )
    add(
        "import free-exercise-db",
        DI + [p["fedb"], "--out", "fedb.csv", "--layout", "free-exercise-db"],
        expect="ok",
    )
    for key, says in [
        ("fedb_empty", "no exercises"),
        ("fedb_stretch", "are stretches, left out"),
        ("fedb_null_category", "category None is not a word"),
    ]:
        add(f"import free-exercise-db: {key[5:].replace('_', ' ')}",
            DI + [p[key], "--out", f"{key}.csv", "--layout", "free-exercise-db"],
            message=says)  # fmt: skip
    add("import missing folder", DI + [root / "nope", "--out", "imp.csv"])
    add(
        "import --out a read-only manifest",
        DI + [root / "clips", "--out", p["ro_csv"]],
        protect=[str(p["ro_csv"])],
    )
    # data validate.
    DV = ["data", "validate", "--no-decode"]
    add("validate clean manifest", DV + [m], expect="ok")
    add("validate huge CSV field", DV + [p["m_huge_field"]])
    add("validate latin-1", DV + [p["m_latin1"]])
    add("validate header only", DV + [p["m_header"]])
    add("validate label '²'", DV + [p["m_sup"]])
    add("validate label '--1'", DV + [p["m_dashdash"]])
    add("validate activity of spaces", DV + [p["m_ws_activity"]])
    add("validate a folder", DV + [root / "clips"])
    add("validate /dev/null", DV + ["/dev/null"])
    add("validate NaN / inf pose files", DV + [p["m_nanpose"]])
    add("validate a FIFO", DV + [p["fifo"]], timeout=20)
    # data split.
    DS = ["data", "split"]
    add("split label '²'", DS + [p["m_sup"], "--out", "s.csv"])
    add("split --n-held-out -1", DS + [p["m_plain"], "--out", "s.csv", "--n-held-out", "-1"])
    add(
        "split --n-held-out 0",
        DS + [p["m_plain"], "--out", "s.csv", "--n-held-out", "0"],
        expect="either",
    )
    add("split --n-held-out 99", DS + [p["m_plain"], "--out", "s.csv", "--n-held-out", "99"])
    add("split --n-held-out all 6", DS + [p["m_plain"], "--out", "s.csv", "--n-held-out", "6"])
    add("split --folds 1", DS + [p["m_plain"], "--out", "s.csv", "--folds", "1"])
    add("split --folds -2", DS + [p["m_plain"], "--out", "s.csv", "--folds", "-2"])
    add("split --folds 99", DS + [p["m_plain"], "--out", "s.csv", "--folds", "99"])
    add(
        "split --seed 2**70",
        DS + [p["m_plain"], "--out", "s.csv", "--seed", str(2**70)],
        expect="either",
    )
    add("split --held-out unknown", DS + [p["m_plain"], "--out", "s.csv", "--held-out", "yoga"])
    add(
        "split --held-out every activity",
        DS
        + [
            p["m_plain"],
            "--out",
            "s.csv",
            "--held-out",
            "squat,push_up,lunge,plank,deadlift,bicep_curl",
        ],
    )
    add(
        "split --out a clip",
        DS + [p["m_plain"], "--out", root / "clips" / "squat_0.mp4"],
        protect=[str(root / "clips" / "squat_0.mp4")],
    )
    add("split --folds 2 --out ''", DS + [p["m_plain"], "--out", "", "--folds", "2"])
    add(
        "split --folds 2: fold file is a clip",
        DS + [p["m_plain"], "--folds", "2", "--out", root / "clips" / "squat.mp4"],
        expect="either",
    )
    add("split ok", DS + [p["m_plain"], "--out", "s_ok.csv", "--n-held-out", "2"], expect="ok")
    # data poses.
    DP = ["data", "poses"]
    add("poses --shard 2/2", DP + [p["m_one"], "--out", "po", "--shard", "2/2"])
    add("poses --shard 1", DP + [p["m_one"], "--out", "po", "--shard", "1"])
    add("poses --shard -1/2", DP + [p["m_one"], "--out", "po", "--shard", "-1/2"])
    add(
        "poses --shard ' 0/1'",
        DP + [p["m_one"], "--out", "po", "--shard", " 0/1", "--workers", "1"],
        expect="either",
    )
    add("poses --fps nan", DP + [p["m_one"], "--out", "po", "--fps", "nan"])
    add(
        "poses --out is the manifest",
        DP + [p["m_one"], "--out", p["m_one"]],
        protect=[str(p["m_one"])],
    )
    add(
        "poses two clips, one stem",
        DP + [p["m_samestem"], "--out", "out_poses", "--workers", "1"],
        expect="either",
        check=poses_kept_both,
    )
    add(
        "poses over pose files of another tracker",
        DP + [p["m_one"], "--out", p["pre"], "--workers", "1", "--pose-estimator", "mediapipe_g4"],
        expect="either",
        check=redone_other_estimator,
    )
    add("poses label '²'", DP + [p["m_sup"], "--out", "po3"])
    # evaluate.
    EV = ["evaluate", "--manifest", m]
    add("evaluate ok", EV + ["--predictions", p["preds"]], expect="ok")
    add("evaluate unknown group column", EV + ["--predictions", p["preds_unknown_col"]])
    add("evaluate a group column missing", EV + ["--predictions", p["preds_missing_col"]])
    add("evaluate score '0_5'", EV + ["--predictions", p["preds_underscore"]])
    add(
        "evaluate no split column",
        ["evaluate", "--manifest", p["m_nosplit"], "--predictions", p["preds"]],
    )
    add(
        "evaluate --json is a pose file",
        EV + ["--predictions", p["preds"], "--json", root / "clips" / "squat_0.npz"],
        protect=[str(root / "clips" / "squat_0.npz")],
    )
    add(
        "evaluate --checkpoint on NaN / inf pose files",
        ["evaluate", "--manifest", p["m_nanpose"], "--checkpoint", "default"],
        check=no_nan_table,
    )
    add(
        "evaluate --checkpoint default",
        ["evaluate", "--manifest", m, "--checkpoint", "default"],
        expect="ok",
    )
    add("evaluate --predictions is a folder", EV + ["--predictions", root / "clips"])
    add(
        "evaluate both --checkpoint and --predictions",
        EV + ["--predictions", p["preds"], "--checkpoint", "default"],
    )
    add(
        "baseline --out is a pose file",
        ["baseline", "random", "--manifest", m, "--out", root / "clips" / "squat_0.npz"],
        protect=[str(root / "clips" / "squat_0.npz")],
    )
    # train: argument and config checks only.
    T = ["train", str(p["cfg"])]
    for k, override in enumerate(
        [
            "model.kwargs.base_channels=abc",
            "model.kwargs.base_channels=-8",
            "model.kwargs.base_channels=0",
            "model.kwargs.nosuch=1",
            "model.kwargs=5",
            "model.name=nosuchmodel",
            "train.epochs=true",
            "train.epochs=1.5",
            "train.batch_size=2.5",
            "optim.lr=abc",
            "optim.lr=-1",
            "train.epochs",
            "=1",
            "train..epochs=1",
            "trian.epochs=1",
            "train.run_name=",
            "train.run_name=../../escape",
            "train.out_dir=/proc/x",
            "data.window=0",
            "data.window=-3",
            "train.threads=100000",
            "data.synthetic_clips=0",
        ]
    ):
        # Each in its own out_dir (a later override wins): a run folder left by one case
        # would make the next a refused resume.
        add(
            f"train {override}",
            T + [f"train.out_dir={root}/runs{k}", override],
            timeout=90,
            expect="ok" if override in ("train.run_name=", "train.threads=100000") else "refuse",
        )
    add("train empty config", ["train", p["cfg_empty"]], expect="either", timeout=90)
    add("train smoke", T, expect="ok", timeout=120)
    # serve: options.
    S = ["serve"]
    busy_port = BUSY.getsockname()[1]
    senv = {"MUSCLEMAP_DATA": str(root / "serve_data")}
    for extra in [
        ["--port", "70000"],
        ["--port", "-1"],
        ["--host", ""],
        ["--host", "0.0.0.0"],
        ["--token", "short"],
        ["--token", " " * 20],
        ["--host", "0.0.0.0", "--token", " " * 20],
        ["--data-dir", p["outfile"]],
        ["--data-dir", "/proc/x"],
        ["--keep-finished", "0"],
        ["--max-upload-mb", "nan"],
        ["--max-upload-mb", "inf"],
        ["--fps", "nan"],
        ["--allow-origin", ""],
        ["--allow-host", ""],
        ["--checkpoint", root / "v"],
        ["--workers", "0"],
        ["--queue-size", "-1"],
        ["--host", "999.1.1.1"],
        ["--host", "example.invalid"],
        ["--allow-origin", "not a url"],
        ["--token", "0123456789abcdef&x"],
        ["--token", "0123456789abcdef;x"],
        ["--host", "999.1.1.1", "--token", "0123456789abcdefgh"],
        ["--port", str(busy_port)],
    ]:
        add(
            f"serve {' '.join(map(str, extra))!r}",
            S + extra + ["--port", "0"] if "--port" not in extra else S + extra,
            env=senv,
            timeout=12,
        )
    add(
        "serve valid (port 0)",
        S + ["--port", "0"],
        expect="ok",
        env=senv,
        timeout=12,
        running_ok=True,
    )
    # Round 2.
    if GOOD_CLIP.is_file():
        add(
            "batch: OUT/x.json read-only",
            P + [root / "b_ro", "--out-dir", "o_ro"] + W1,
            protect=[str(root / "o_ro" / "x.json")],
            check=refused_before_work,
        )
        add(
            "batch: OUT/x.json a folder",
            P + [root / "b_dir", "--out-dir", "o_dir"] + W1,
            check=refused_before_work,
        )
        add(
            "batch: OUT/summary.csv a folder",
            P + [root / "b_sum", "--out-dir", "o_sum"] + W1,
            check=refused_before_work,
        )
    add(
        "--body-map x.png --timeline x.png",
        P + [good, "--body-map", "x.png", "--timeline", "x.png"] + W1,
    )
    add(
        "predict --exercise SQUAT (upper case)",
        P + [good, "--exercise", "SQUAT"] + W1,
        expect="either",
        needs_clip=True,
    )
    add(
        "poses: OUT/manifest.csv is the input manifest",
        DP + [p["m_inplace"], "--out", root / "inplace", "--workers", "1"],
        protect=[str(p["m_inplace"])],
    )
    add(
        "import folder with a symlink loop and a link to itself",
        DI + [p["imp"], "--out", "imp.csv"],
        timeout=30,  # the link to itself must not be followed for ever
    )
    add(
        "train model.pretrained= a text file",
        T + [f"train.out_dir={root}/runs_pre", f"model.pretrained={p['junk_pt']}"],
        timeout=90,
    )
    add(
        "train model.pretrained= missing",
        T + [f"train.out_dir={root}/runs_pre2", "model.pretrained=/nonexistent.pt"],
        timeout=90,
    )
    add(
        "train data.manifest= a folder",
        T
        + [
            f"train.out_dir={root}/runs_m",
            "data.synthetic=false",
            f"data.manifest={root / 'clips'}",
        ],
        timeout=90,
    )
    add(
        "train data.manifest of NaN pose files",
        ["train", p["cfg_nan"], f"train.out_dir={root}/runs_nan"],
        timeout=90,
    )
    add(
        "train train.out_dir= a file",
        T + [f"train.out_dir={p['outfile']}"],
        timeout=90,
        protect=[str(p["outfile"])],
    )
    add("train train.resume=maybe", T + [f"train.out_dir={root}/runs_r", "train.resume=maybe"])
    add(
        "evaluate CONFIG --checkpoint junk.pt",
        ["evaluate", p["cfg"], "--checkpoint", p["junk_pt"]],
        timeout=90,
    )
    add("activities --list --category ''", A + ["--list", "--category", ""], expect="either")
    add("activities --list --source nonsense", A + ["--list", "--source", "nonsense"])
    add(
        "validate skeleton is a folder",
        DV
        + [
            write_csv(
                root / "m_skdir.csv",
                [["clip", "activity", "skeleton"], ["clips/squat_0.mp4", "squat", "clips"]],
            )
        ],
    )
    add(
        "split --dedupe on a clean manifest --out the manifest",
        DS + [p["m_plain"], "--out", p["m_plain"], "--n-held-out", "1", "--dedupe"],
        expect="ok",
    )
    add(
        "serve --checkpoint junk.pt",
        S + ["--checkpoint", p["junk_pt"], "--port", "0"],
        env=senv,
        timeout=12,
    )
    add(
        "serve --data-dir read-only folder",
        S + ["--data-dir", p["ro_dir"], "--port", "0"],
        env=senv,
        timeout=12,
        # Root writes there: a server that starts is right then.
        expect="either" if os.geteuid() == 0 else "refuse",
        running_ok=os.geteuid() == 0,
    )
    # Round 4: evaluate's table beside its predictions file is a folder.
    (root / "tdir" / "default.predictions.table.json").mkdir(parents=True)
    add(
        "evaluate --checkpoint default: the table's path is a folder",
        ["evaluate", "--manifest", m, "--checkpoint", "default"],
        cwd="tdir",
        check=refused_before_work,
    )
    # Round 3.
    add(
        "demo --out-dir with a read-only demo.json",
        ["demo", "--out-dir", root / "demo_ro"],
        protect=[str(root / "demo_ro" / "demo.json")],
        check=refused_before_work,
    )
    add(
        "demo --out-dir with a folder body_map.svg",
        ["demo", "--out-dir", root / "demo_dir"],
        check=refused_before_work,
    )
    add(
        "split --folds 2, fold 1 file read-only",
        DS + [p["m_plain"], "--folds", "2", "--out", root / "folds" / "f.csv"],
        protect=[str(root / "folds" / "f_fold1.csv")],
        check=refused_before_work,
    )
    add("demo --seconds 0.5 (under the model's 1 s)", ["demo", "--seconds", "0.5"],
        message="must be in [1, 600] seconds")  # fmt: skip
    add(
        "benchmark the same config twice",
        ["benchmark", p["cfg"], p["cfg"], "--out", root / "bench_twice"],
        expect="ok",
        timeout=90,
        check=one_row_per_config,
    )
    add(
        "benchmark --out with a read-only table2.md",
        ["benchmark", p["cfg"], "--out", root / "bench"],
        protect=[str(root / "bench" / "table2.md")],
        timeout=90,
        check=refused_before_work,
    )
    for host in ["*.example.com", "http://app.example", "app .example"]:
        add(
            f"serve --allow-host {host!r}",
            S + ["--allow-host", host, "--port", "0"],
            env=senv,
            timeout=12,
        )
    add(
        "serve --allow-host app.example:8080 (valid)",
        S + ["--allow-host", "app.example:8080", "--port", "0"],
        env=senv,
        timeout=12,
        expect="ok",
        running_ok=True,
    )
    add(
        "split --held-out SQUAT (case)",
        DS + [p["m_plain"], "--out", "s_case.csv", "--held-out", "SQUAT"],
        expect="either",
    )
    add("validate split ' train ' (spaces)", DV + [root / "m_split_ws.csv"], expect="either")

    # Ctrl-C (SIGINT to the whole process group, as a terminal sends it), session 15.
    NC = ["--no-cache"]  # the good clip's poses are cached by the cases above
    for when in (0.3, 0.8):
        add(
            f"Ctrl-C predict after {when} s (pose workers)",
            P + [good, "--json", "int.json"] + NC,
            interrupt=when,
            check=interrupted_cleanly("int.json"),
            needs_clip=True,
        )
    add(
        "Ctrl-C predict --workers 1 after 1.2 s",
        P + [good, "--json", "int1.json", "--body-map", "int1.png"] + NC + W1,
        interrupt=1.2,
        check=interrupted_cleanly("int1.json"),
        needs_clip=True,
    )
    add(
        "Ctrl-C batch predict after 2.5 s",
        P + [p["three"], "--out-dir", "out_int"] + NC,
        interrupt=2.5,
        check=interrupted_cleanly("out_int/*.json"),
        needs_clip=True,
    )
    add(
        "Ctrl-C data poses after 2.5 s",
        DP + [p["m_three"], "--out", "poses_int"],
        interrupt=2.5,
        check=interrupted_cleanly(),
        needs_clip=True,
    )
    # A full disk (/dev/full fails every write with ENOSPC).
    if Path("/dev/full").exists():
        full = "/dev/full"
        msg = "No space left on device"
        add("--json on a full disk", P + [good, "--json", full] + W1, message=msg, needs_clip=True)
        # A picture needs its suffix: a link named .png to /dev/full (written through).
        os.symlink(full, root / "full.png")
        add(
            "--body-map on a full disk",
            P + [good, "--body-map", "full.png"] + W1,
            message=msg,
            needs_clip=True,
        )
        add(
            "split --out on a full disk",
            DS + [p["m_plain"], "--out", full, "--held-out", "squat"],
            message=msg,
        )
        add(
            "evaluate --json on a full disk",
            EV + ["--predictions", p["preds"], "--json", full],
            message=msg,
        )
        add(
            "explain --out on a full disk",
            E + [good, "--group", "biceps", "--out", "full.png"],
            message=msg,
            needs_clip=True,
        )
    # The Python API (API_RUNNER): refusals are MusclemapErrors of one line, results right.
    def api(name: str, code: str, **kw: object) -> None:
        out.append(Case(f"API {name}", [], api=code, **kw))  # type: ignore[arg-type]

    mp = "musclemap.predict"
    api("predict a missing file", f"{mp}('nope.mp4')")
    api("predict a text file", f"{mp}({str(p['text_mp4'])!r})")
    api("predict an empty file", f"{mp}({str(p['zero'])!r})")
    api("predict a folder", f"{mp}({str(p['mixed'])!r})")
    api("predict noise (no person)", f"{mp}({noise!r}, workers=1)")
    api("predict a 10x10 video", f"{mp}({str(p['tiny'])!r}, workers=1)")
    api("predict fps=-1", f"{mp}({good!r}, fps=-1)")
    api("predict threshold=2", f"{mp}({good!r}, threshold=2)")
    api("predict rotate=45", f"{mp}({good!r}, rotate=45)")
    api("predict workers='2'", f"{mp}({good!r}, workers='2')")
    api("predict checkpoint missing", f"{mp}({good!r}, checkpoint='nope.safetensors')")
    api("predict checkpoint junk .pt", f"{mp}({good!r}, checkpoint={str(p['junk_pt'])!r})")
    api("predict pose_estimator unknown", f"{mp}({good!r}, pose_estimator='openpose')")
    api(
        "predict the curl",
        f"print(*{mp}({good!r}, workers=1).active)",
        expect="ok",
        check=api_top("biceps"),
        needs_clip=True,
    )
    api(
        "predict the curl at 5 fps (noted)",
        f"r = {mp}({good!r}, fps=5, workers=1); assert any('fps' in n for n in r.notes), r.notes",
        expect="ok",
        needs_clip=True,
    )
    api(
        "Predictor twice, second a missing file",
        f"p = musclemap.Predictor.default(); p.predict({good!r}, workers=1); p.predict('gone.mp4')",
        needs_clip=True,
    )
    api(
        "predict_poses of a sequence without frames",
        "import numpy as np; from musclemap.data.pose_sequence import PoseSequence; "
        "seq = PoseSequence(image=np.zeros((0, 33, 3), np.float32), "
        "world=np.zeros((0, 33, 4), np.float32), valid=np.zeros(0, bool), "
        "times=np.zeros(0), fps=10.0, width=640, height=360); "
        "musclemap.Predictor.default().predict_poses(seq)",
    )
    api(
        "predict_poses of a sequence of NaN",
        "import numpy as np; from musclemap.data.pose_sequence import PoseSequence; "
        "seq = PoseSequence(image=np.full((30, 33, 3), np.nan, np.float32), "
        "world=np.full((30, 33, 4), np.nan, np.float32), valid=np.ones(30, bool), "
        "times=np.arange(30) / 10.0, fps=10.0, width=640, height=360); "
        "musclemap.Predictor.default().predict_poses(seq)",
    )
    api("predict_poses of a dict", "musclemap.Predictor.default().predict_poses({'image': 1})")
    # One answer whatever the path (session 16): one core, two, and a re-run from the pose
    # cache; a batch worker and a single run of a video slower than the sampling rate.
    api(
        "the curl: one core, two, from the cache",
        "import tempfile; P = musclemap.Predictor; plain = P.default(use_cache=False); "
        f"a = plain.predict({good!r}, workers=1).to_dict(); "
        f"b = plain.predict({good!r}, workers=2).to_dict(); "
        "c = P.default(cache_dir=tempfile.mkdtemp()); "
        f"c.predict({good!r}, workers=2); d = c.predict({good!r}, workers=2).to_dict(); "
        "print('same' if a == b == d else 'differ', a['quality'], b['quality'], d['quality'])",
        expect="ok",
        check=one_answer,
        needs_clip=True,
        timeout=120.0,
    )
    slow, slow_dir = str(p["slow"]), str(p["slow_dir"])
    api(
        "the curl at 5 fps: a batch and a single run",
        "import json, os, subprocess, sys, tempfile; out = tempfile.mkdtemp(); "
        "subprocess.run([sys.executable, '-m', 'musclemap', 'predict', "
        f"{slow_dir!r}, '--out-dir', out, '--no-cache'], check=True, capture_output=True); "
        "a = json.load(open(os.path.join(out, 'curl5.json'))); "
        f"b = json.loads(json.dumps(musclemap.Predictor.default(use_cache=False).predict({slow!r}, "
        "workers=1).to_dict())); "
        "print('same' if a['quality'] == b['quality'] and a['muscles'] == b['muscles'] "
        "else 'differ', a['quality']['orientation'], b['quality']['orientation'])",
        expect="ok",
        check=one_answer,
        needs_clip=True,
        timeout=120.0,
    )
    api(
        "predict_poses of COCO-17 poses",
        "import numpy as np; from musclemap.data.pose_sequence import PoseSequence; "
        "seq = PoseSequence(image=np.full((30, 17, 3), 0.5, np.float32), "
        "world=np.full((30, 17, 4), 0.1, np.float32), valid=np.ones(30, bool), "
        "times=np.arange(30) / 10.0, fps=10.0, width=640, height=360, layout='coco17'); "
        "musclemap.Predictor.default().predict_poses(seq)",
    )
    return out


# -- running -----------------------------------------------------------------------------------


def digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_case(case: Case, root: Path, python: str) -> Run:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "OMP_NUM_THREADS": "1",
        "MUSCLEMAP_CACHE": str(root / "cache"),
        "COLUMNS": "200",
        **case.env,
    }
    start = time.monotonic()
    argv = [python, "-c", API_RUNNER, case.api] if case.api else [python, "-m", "musclemap"]
    proc = subprocess.Popen(
        [*argv, *case.args],
        cwd=root / case.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        # A terminal's Ctrl-C reaches a program whose SIGINT is the default; a pass started in
        # the background (`cmd &` without job control) would hand its commands SIGINT ignored.
        preexec_fn=_default_sigint,
    )
    try:
        if case.interrupt:
            try:
                proc.wait(timeout=case.interrupt)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, err = proc.communicate(timeout=case.timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        rc = None
    seconds = time.monotonic() - start
    return Run(case, root, rc, out, err, seconds, leftover=_group_left(proc.pid))


def _group_left(pgid: int) -> int:
    """Processes still in the process group `pgid` (given 2 s to go), killed after counting."""
    deadline = time.monotonic() + 2.0
    while True:
        alive = [pid for pid in os.listdir("/proc") if pid.isdigit() and _pgid(int(pid)) == pgid]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if alive:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    return len(alive)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def classify(run: Run, before: dict[str, str | None]) -> tuple[str, str]:
    case = run.case
    lines = [line for line in run.err.splitlines() if line.strip()]
    first_error = next((line for line in lines if line.startswith("error:")), "")
    if run.rc is None:
        if case.running_ok:
            return "OK", "still serving at the time limit"
        if case.args[:1] == ["serve"] and case.expect == "refuse":
            return "SILENT-WRONG", f"server started (still running after {case.timeout:.0f} s)"
        return "HANG", f"running after {case.timeout:.0f} s"
    if "Traceback (most recent call last)" in run.err or run.rc < 0:
        tail = lines[-1] if lines else f"signal {-run.rc}"
        return "TRACEBACK", tail[:160]
    if run.leftover and not case.interrupt:
        return "SILENT-WRONG", f"{run.leftover} process(es) of the command left running"
    changed = [Path(f).name for f, h in before.items() if digest(f) != h]
    if changed:
        return "DATA-LOSS", f"replaced: {', '.join(changed)}"
    verdict = case.check(run) if case.check else None
    if verdict is not None:
        return verdict
    if run.rc == 0:
        if case.expect == "refuse":
            return "SILENT-WRONG", "exit 0: " + (lines[-1][:120] if lines else run.out[-120:])
        return "OK", verdict[1] if verdict else ""
    usage = run.rc == 2 and any("Usage:" in line for line in lines)
    if case.expect == "ok":
        return "REFUSED-OK", (first_error or (lines[-1] if lines else ""))[:160]
    if case.message and case.message not in run.err:
        return "UNCLEAR", f"refusal without {case.message!r}"
    if usage:
        detail = next(
            (
                line.strip("│ ")
                for line in lines
                if "Invalid value" in line
                or "Error" in line
                or "Missing" in line
                or "No such" in line
            ),
            lines[-1],
        )
        return "CLEAR", f"usage (exit 2): {detail[:140]}"
    errors = [line for line in lines if line.startswith("error:")]
    if run.rc == 1 and case.args[:2] == ["data", "validate"] and "problem(s)" in run.out:
        return "CLEAR", "exit 1: the problem table"
    if run.rc in (1, 2) and len(errors) >= 1:
        return "CLEAR", f"exit {run.rc}: {errors[0][:150]}"
    return "UNCLEAR", f"exit {run.rc}: {(lines[-1] if lines else '(nothing on stderr)')[:150]}"


# A listening socket on loopback: `serve --port` of a port in use.
BUSY = socket.socket()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--keep", type=Path, help="make the inputs here and keep them")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    BUSY.bind(("127.0.0.1", 0))
    BUSY.listen()
    root = args.keep or Path(tempfile.mkdtemp(prefix="mm-hostile-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        inputs = make_inputs(root)
        todo = [c for c in cases(inputs, root) if args.filter in c.name]
        results = []
        for i, case in enumerate(todo, 1):
            if case.needs_clip and not GOOD_CLIP.is_file():
                results.append((case, "SKIPPED", "no real clip (MUSCLEMAP_SHARED)", 0.0))
                continue
            before = {f: digest(f) for f in case.protect}
            saved = {
                f: (Path(f).read_bytes(), Path(f).stat().st_mode)
                for f, h in before.items()
                if h is not None
            }
            run = run_case(case, root, sys.executable)
            cls, why = classify(run, before)
            results.append((case, cls, why, run.seconds))
            print(f"{i:3d} {cls:12s} {case.name[:60]:60s} {why}", flush=True)
            for f, (data, mode) in saved.items():  # put back what a case replaced
                if digest(f) != before[f] or Path(f).stat().st_mode != mode:
                    Path(f).unlink(missing_ok=True)
                    Path(f).write_bytes(data)
                    Path(f).chmod(mode)
        totals = Counter(cls for _, cls, _, _ in results)
        print(
            "\ntotals: "
            + ", ".join(f"{c} {totals[c]}" for c in CLASSES if totals[c])
            + f" ({len(results)} cases)"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    [
                        {
                            "case": c.name,
                            "args": c.args,
                            "class": cls,
                            "why": why,
                            "seconds": round(s, 2),
                        }
                        for c, cls, why, s in results
                    ],
                    indent=1,
                )
            )
    finally:
        if args.keep is None:
            for path in root.rglob("*"):  # read-only files (ro.json) must go too
                if not path.is_symlink():
                    path.chmod(0o755 if path.is_dir() else 0o644)
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

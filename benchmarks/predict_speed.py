"""Speed of what users run: `musclemap predict` end to end in a fresh process vs the naive loop.

    .venv/bin/python benchmarks/predict_speed.py [--clips DIR] [--repeats 3] [--batch 20] \
        [--json OUT.json] [--base OTHER_CHECKOUT]

Clips are made once into DIR (default /tmp/musclemap-bench; not committed) from the real clips
in ../shared/data/wild: three 8 s 1280x720 30 fps clips (a wild clip letterboxed and upscaled,
looped) and one 60 s 720p clip (several wild clips concatenated). The batch uses the first N wild
clips as they are.

The sources are byte-compiled first, as an installed package is.

Measured, each in a fresh Python process, wall clock from start to exit:
- cli: `python -m musclemap predict CLIP --json OUT --no-cache` (cold pose cache);
- naive: the eight-line loop of issue 11 (PyAV decode of every frame, MediaPipe Pose complexity 1
  on every third frame, sequential, nothing else);
interleaved (cli, naive, cli, naive, ...) so load changes hit both alike, best of N per clip;
then one `predict DIR --out-dir` over the batch against the same clips run one by one.
Printed: per clip seconds, ratio cli/naive, x real time, batch throughput ratio, and the
machine's load average (os.getloadavg) sampled while measuring.

`--base DIR` (another checkout, e.g. `git worktree add DIR COMMIT`) times its CLI in the same
rounds as this tree's (right after it, against the same naive runs; the batch ABBA, the single
runs of both alternated), for an A/B of a change with both sides' ratios from one run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))
WILD = SHARED / "data" / "wild" / "clips"
SHORT_SOURCES = ("squat__kbtrainer__1.mp4", "bicep_curl__ffreaks__1.mp4", "push_up__tooba__2.mp4")
LONG_SOURCES = (
    "squat__myoxyn__1.mp4",
    "deadlift__tooba__1.mp4",
    "shoulder_press__ourhealth__1.mp4",
    "dip__myoxyn__1.mp4",
    "lunge__kbtrainer__1.mp4",
    "plank__malikex__1.mp4",
    "jumping_jack__touraya__1.mp4",
    "bench_press__mrm__1.mp4",
)

# The loop a user could write from the MediaPipe and PyAV docs (issue 11), timed as a script.
NAIVE = """
import sys, av, mediapipe as mp
pose = mp.solutions.pose.Pose(model_complexity=1)
with av.open(sys.argv[1]) as container:
    for i, frame in enumerate(container.decode(video=0)):
        if i % 3 == 0:
            pose.process(frame.to_ndarray(format="rgb24"))
"""


# -- clips -------------------------------------------------------------------------------------


def _letterbox(rgb: np.ndarray, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    from PIL import Image

    w_out, h_out = size
    h, w = rgb.shape[:2]
    scale = min(w_out / w, h_out / h)
    img = Image.fromarray(rgb).resize((int(w * scale) // 2 * 2, int(h * scale) // 2 * 2))
    canvas = Image.new("RGB", size)
    canvas.paste(img, ((w_out - img.width) // 2, (h_out - img.height) // 2))
    return np.asarray(canvas)


def _write(frames: object, path: Path, fps: int) -> None:
    import av

    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), mode="w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for rgb in frames:  # type: ignore[attr-defined]
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)


def _frames(source: Path, fps: int) -> list[np.ndarray]:
    from musclemap.data.video_io import iter_frames

    return [_letterbox(rgb) for _, rgb in iter_frames(source, fps=fps)]


def make_clips(folder: Path, fps: int = 30) -> tuple[list[Path], Path]:
    """The 8 s 720p clips and the 60 s clip (made once, reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    shorts = []
    for name in SHORT_SOURCES:
        path = folder / f"short_{Path(name).stem}.mp4"
        if not path.is_file():
            base = _frames(WILD / name, fps)
            _write((base[i % len(base)] for i in range(8 * fps)), path, fps)
        shorts.append(path)
    long = folder / "long_60s.mp4"
    if not long.is_file():

        def frames() -> object:
            n = 0
            while True:
                for name in LONG_SOURCES:
                    for rgb in _frames(WILD / name, fps):
                        if n == 60 * fps:
                            return
                        n += 1
                        yield rgb

        _write(iter(frames()), long, fps)  # type: ignore[call-overload]
    return shorts, long


# -- timing ------------------------------------------------------------------------------------


class LoadSampler:
    """os.getloadavg()[0] sampled every second in a thread while measuring."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(float(np.mean(s)), 2), "max": round(float(np.max(s)), 2)}


def _env(cache: str, src: Path = REPO / "src") -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    env["MUSCLEMAP_CACHE"] = cache  # a fresh, empty cache
    return env


CPU: list[float] = []  # CPU seconds (user + sys) of every timed command, in order


def _adopt_orphans() -> None:
    """Linux: become the reaper of this process's orphaned descendants, so that the pose
    workers of a CLI that leaves with os._exit (they die with it) are waited for here and
    their CPU is counted."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER


def _reap() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of a command (to its exit); its CPU seconds (children and their pool
    workers included, all of them waited for) are appended to CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall


def cli_cmd(video: Path, out: Path, extra: list[str] | None = None) -> list[str]:
    return [sys.executable, "-m", "musclemap", "predict", str(video), "--no-cache", *(extra or [])]


def duration(video: Path) -> float:
    from musclemap.data.video_io import probe

    return probe(video).duration_s


def compare(
    clips: list[Path], repeats: int, tmp: Path, base: Path | None = None
) -> list[dict[str, object]]:
    """cli vs naive on each clip, interleaved, best of `repeats` (and the `base` tree's cli
    right after this tree's, in the same rounds)."""
    naive_py = tmp / "naive.py"
    naive_py.write_text(NAIVE)
    rows = []
    for clip in clips:
        cli_s, naive_s, cli_cpu, naive_cpu, base_s = [], [], [], [], []
        for r in range(repeats):
            env = _env(tempfile.mkdtemp(dir=tmp))
            out = tmp / f"{clip.stem}.json"
            cli_s.append(timed([*cli_cmd(clip, out), "--json", str(out)], env))
            cli_cpu.append(CPU[-1])
            if base is not None:
                env_b = _env(tempfile.mkdtemp(dir=tmp), base / "src")
                base_s.append(timed([*cli_cmd(clip, out), "--json", str(out)], env_b))
            naive_s.append(timed([sys.executable, str(naive_py), str(clip)], env))
            naive_cpu.append(CPU[-1])
            also = f", base cli {base_s[-1]:.2f} s" if base_s else ""
            print(
                f"  {clip.name} #{r}: cli {cli_s[-1]:.2f} s{also}, naive {naive_s[-1]:.2f} s",
                flush=True,
            )
        secs = duration(clip)
        extra: dict[str, object] = {}
        if base_s:
            extra = {
                "base_cli_s": round(min(base_s), 3),
                "base_ratio_cli_over_naive": round(min(base_s) / min(naive_s), 3),
                "all_base_cli_s": [round(t, 2) for t in base_s],
            }
        rows.append(
            {
                "clip": clip.name,
                "seconds": round(secs, 2),
                "cli_s": round(min(cli_s), 3),
                "naive_s": round(min(naive_s), 3),
                "ratio_cli_over_naive": round(min(cli_s) / min(naive_s), 3),
                "cli_x_realtime": round(secs / min(cli_s), 2),
                "naive_x_realtime": round(secs / min(naive_s), 2),
                "cli_cpu_s": round(min(cli_cpu), 2),
                "naive_cpu_s": round(min(naive_cpu), 2),
                "all_cli_s": [round(t, 2) for t in cli_s],
                "all_naive_s": [round(t, 2) for t in naive_s],
                **extra,
            }
        )
    return rows


def batch(n: int, tmp: Path, base: Path | None = None) -> dict[str, object]:
    """`predict DIR --out-dir` over n wild clips vs n sequential single-clip runs. With a
    `base` tree: this tree's batch, the base's, the single runs of both alternated clip by
    clip, then the base's batch and this tree's again (each tree's batch: the mean of two)."""
    folder = tmp / "batch"
    folder.mkdir()
    clips = sorted(WILD.glob("*.mp4"))[:n]
    for clip in clips:
        os.symlink(clip, folder / clip.name)
    trees = {"this": REPO / "src"} if base is None else {"this": REPO / "src", "base": base / "src"}
    walls: dict[str, list[float]] = {k: [] for k in trees}
    cpus: dict[str, list[float]] = {k: [] for k in trees}

    def run_batch(tree: str) -> None:
        cmd = [*cli_cmd(folder, tmp / "x"), "--out-dir", str(tmp / f"batch_out_{tree}")]
        walls[tree].append(timed(cmd, _env(tempfile.mkdtemp(dir=tmp), trees[tree])))
        cpus[tree].append(CPU[-1])
        print(f"  batch of {len(clips)} ({tree}): {walls[tree][-1]:.1f} s", flush=True)

    for tree in trees:
        run_batch(tree)
    seq = {k: 0.0 for k in trees}
    seq_cpu = {k: 0.0 for k in trees}
    for clip in clips:
        out = tmp / "seq.json"
        for tree, src in trees.items():
            env = _env(tempfile.mkdtemp(dir=tmp), src)
            seq[tree] += timed([*cli_cmd(clip, out), "--json", str(out)], env)
            seq_cpu[tree] += CPU[-1]
    for tree in reversed(trees) if base is not None else ():
        run_batch(tree)
    video_s = sum(duration(c) for c in clips)
    result: dict[str, object] = {"clips": len(clips), "video_s": round(video_s, 1)}
    for tree in trees:
        mean = float(np.mean(walls[tree]))
        print(f"  {len(clips)} sequential runs ({tree}): {seq[tree]:.1f} s", flush=True)
        row = {
            "batch_s": round(mean, 2),
            "sequential_s": round(seq[tree], 2),
            "throughput_ratio": round(seq[tree] / mean, 2),
            "batch_cpu_s": round(float(np.mean(cpus[tree])), 1),
            "sequential_cpu_s": round(seq_cpu[tree], 1),
            "batch_x_realtime": round(video_s / mean, 2),
        }
        if base is not None:
            row["all_batch_s"] = [round(t, 2) for t in walls[tree]]
        result.update(row if tree == "this" else {f"base_{k}": v for k, v in row.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clips",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mm-bench",
        help="folder the benchmark clips are made in, outside the repository",
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of N per clip")
    parser.add_argument("--batch", type=int, default=20, help="clips in the batch (0: skip)")
    parser.add_argument("--skip-long", action="store_true", help="leave out the 60 s clip")
    parser.add_argument("--skip-short", action="store_true", help="leave out the 8 s clips")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--base",
        type=Path,
        help="another checkout (e.g. the commit before a change): its CLI is timed in the same "
        "rounds, right after this tree's, and its ratios reported beside",
    )
    args = parser.parse_args()
    _adopt_orphans()
    if not WILD.is_dir():
        raise SystemExit(f"needs the wild clips at {WILD}")
    if args.clips.resolve().is_relative_to(REPO):
        # The clips are made from ../shared's: they must never land in the project (a
        # `--clips 3` once did, meant as a count).
        raise SystemExit(f"--clips {args.clips}: give a folder outside the repository {REPO}")
    sys.path.insert(0, str(REPO / "src"))
    # An installed package is byte-compiled (pip does it); a checkout run with
    # PYTHONDONTWRITEBYTECODE (set on some machines) compiles ~40 modules in every run
    # (~0.1 s), which the naive loop's installed libraries never pay.
    compileall.compile_dir(str(REPO / "src"), quiet=1)
    if args.base is not None:
        if not (args.base / "src" / "musclemap").is_dir():
            raise SystemExit(f"--base {args.base}: not a checkout (no src/musclemap)")
        compileall.compile_dir(str(args.base / "src"), quiet=1)
    shorts, long = make_clips(args.clips)
    result: dict[str, object] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "repeats": args.repeats,
    }
    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    try:
        with LoadSampler() as load:
            if not args.skip_short:
                print("8 s 720p clips (cli vs naive, interleaved):", flush=True)
                result["short"] = compare(shorts, args.repeats, tmp, args.base)
            if not args.skip_long:
                print("60 s 720p clip:", flush=True)
                result["long"] = compare([long], args.repeats, tmp, args.base)[0]
            if args.batch:
                print(f"batch of {args.batch} wild clips:", flush=True)
                result["batch"] = batch(args.batch, tmp, args.base)
        result["load_average_1min"] = load.summary()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    short = result.get("short")
    if isinstance(short, list):
        result["short_ratio_worst"] = max(r["ratio_cli_over_naive"] for r in short)
        if args.base is not None:
            result["base_short_ratio_worst"] = max(r["base_ratio_cli_over_naive"] for r in short)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

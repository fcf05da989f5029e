"""Stand-ins for the web server tests: predict functions, a renderer, a live server process, and
the upload and polling helpers of a TestClient.

The predict functions are picklable (module level) because they run in spawned worker processes,
which import this module by name (the tests put `tests/` on sys.path, and spawn passes it on).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from musclemap.errors import VideoError
from musclemap.taxonomy import GROUP_IDS
from musclemap.web.jobs import PredictorJob

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def _decoded_frames(video: Path, gate: Path | None, progress: Any) -> int:
    """What both stand-ins do before scoring: report progress, wait for `gate` (the test opens
    it), decode the upload with PyAV (a bad file is the real VideoError); its frame count."""
    import av

    progress(0.1, "estimating poses")
    while gate is not None and not gate.exists():
        time.sleep(0.05)
    try:
        with av.open(str(video)) as container:
            return sum(1 for _ in container.decode(video=0))
    except (av.FFmpegError, IndexError) as err:
        raise VideoError(f"cannot decode the video: {err}") from None


class FakePredict:
    """Stand-in for the Predictor: real decoding, fixed scores, optional gate file; the fps and
    rotate it was given come back as `fps_used` and `rotate_used`."""

    def __init__(self, gate: Path | None = None) -> None:
        self.gate = gate

    def __call__(
        self, video: Path, *, fps: float | None, progress: Any, rotate: int | None
    ) -> dict[str, Any]:
        frames = _decoded_frames(video, self.gate, progress)
        progress(0.8, "predicting")
        duration = frames / 10.0
        scores = {gid: round(i / 19, 3) for i, gid in enumerate(GROUP_IDS)}
        half = duration / 2
        timeline = [
            {"start_s": 0.0, "end_s": half, "muscles": scores},
            {"start_s": half, "end_s": duration, "muscles": dict(scores, chest=0.9)},
        ]
        return {
            "video": str(video),
            "muscles": scores,
            "active": ["wrists", "feet_ankles"],
            "timeline": timeline,
            "pose_coverage": 1.0,
            "people": 1,
            "model": {"name": "fake", "version": "0"},
            "fps_used": fps,
            "rotate_used": rotate,
        }


class KneeScorer:
    """Stand-in for the Predictor's scoring, with a known answer: 2 s windows every 1 s; a
    window's quadriceps score is how much the knees move up and down (world y) in it, every other
    group 0.1; the clip score is the windows' mean. So only the knees drive "quadriceps"."""

    def predict_poses(self, seq: Any, *, video: str = "") -> Any:
        import numpy as np

        from musclemap.predictor import Prediction
        from musclemap.skeleton import MEDIAPIPE33

        knees = [MEDIAPIPE33.joints.index(n) for n in ("left_knee", "right_knee")]
        timeline = []
        for start in range(0, max(len(seq) - 19, 1), 10):
            quad = float(np.std(seq.world[start : start + 20, knees, 1], axis=0).sum())
            muscles = {g: quad if g == "quadriceps" else 0.1 for g in GROUP_IDS}
            timeline.append({"start_s": start / 10, "end_s": start / 10 + 2, "muscles": muscles})
        clip = {g: float(np.mean([w["muscles"][g] for w in timeline])) for g in GROUP_IDS}
        return Prediction(
            video=video or "poses",
            muscles=clip,
            threshold=0.5,
            timeline=timeline,
            pose_coverage=float(seq.coverage),
            people=1,
            model={"name": "knee", "version": "test"},
            pose=seq,
        )


class PosePredict:
    """Stand-in for `PredictorJob` that keeps poses: decodes the upload (PyAV), takes a generated
    squat of the clip's length (10 fps) as its poses, scores them with `KneeScorer` and returns
    the Prediction; `predictor()` gives the explain endpoint the same scorer. With `gate`, each
    job waits for that file to exist."""

    def __init__(self, gate: Path | None = None) -> None:
        self.gate = gate

    def __call__(self, video: Path, *, fps: float | None, progress: Any, rotate: int | None) -> Any:
        from musclemap.demo import synthetic_pose_sequence

        frames = _decoded_frames(video, self.gate, progress)
        seq = synthetic_pose_sequence("squat", seconds=frames / 10.0)
        return self.predictor().predict_poses(replace(seq, source=str(video)), video=str(video))

    def predictor(self) -> KneeScorer:
        return KneeScorer()


@dataclass(frozen=True)
class ScriptedPredictorJob(PredictorJob):
    """The server's own predict function (`PredictorJob`: the packaged model, the input-quality
    gates, `rotate`, the analysis) with the scripted pose estimator of tests/pose_standins.py (a
    generated squat played back, one pose per frame) instead of MediaPipe."""

    def predictor(self) -> Any:
        from musclemap.predictor import Predictor
        from pose_standins import ScriptedEstimator

        # A new estimator per video: each plays the squat from its start.
        return Predictor.default(use_cache=False, estimator=ScriptedEstimator())


class CrashPredict:
    """Kills its worker process the first time (as the OOM killer would), then works."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(
        self, video: Path, *, fps: float | None, progress: Any, rotate: int | None
    ) -> dict[str, Any]:
        if not self.marker.exists():
            self.marker.touch()
            os._exit(1)
        return FakePredict()(video, fps=fps, progress=progress, rotate=rotate)


@dataclass(frozen=True)
class CrashOn:
    """Crashes its worker for videos whose upload is exactly `size` bytes, in the given way.

    `how`: "exit" (os._exit(3)), "segv" (SIGSEGV, as a crashing decoder) or "kill" (SIGKILL, as
    the OOM killer). Other videos wait for `gate` (when set), then get FakePredict's answer.
    """

    size: int
    how: str = "exit"
    gate: Path | None = None

    def __call__(
        self, video: Path, *, fps: float | None, progress: Any, rotate: int | None
    ) -> dict[str, Any]:
        if video.stat().st_size == self.size:
            progress(0.2, "about to crash")
            time.sleep(0.2)
            if self.how == "exit":
                os._exit(3)
            os.kill(os.getpid(), signal.SIGSEGV if self.how == "segv" else signal.SIGKILL)
        return FakePredict(self.gate)(video, fps=fps, progress=progress, rotate=rotate)


def fake_render(result: dict[str, Any], out_dir: Path) -> None:
    """Stand-in for the viz renderers (the browser test uses the real ones)."""
    from PIL import Image

    (out_dir / "body-map.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    Image.new("RGB", (4, 4)).save(out_dir / "body-map.png")
    Image.new("RGB", (4, 4)).save(out_dir / "timeline.png")


_SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from web_standins import FakePredict, fake_render
from musclemap.web.app import ServerSettings, run_server
gate = Path({gate!r}) if {gate!r} else None
settings = ServerSettings(data_dir=Path({data_dir!r}), workers={workers}, queue_size=4)
run_server(settings, 0, predict_fn=FakePredict(gate), render_fn=fake_render, log_level="warning")
"""


class ServerProcess:
    """`run_server` in a child process on 127.0.0.1 with FakePredict; `url` once it listens."""

    def __init__(self, data_dir: Path, *, gate: Path | None = None, workers: int = 1) -> None:
        code = _SERVER.format(
            tests=str(TESTS), gate=str(gate or ""), data_dir=str(data_dir), workers=workers
        )
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        match = re.search(r"http://localhost:(\d+)", line)
        if match is None:
            self.proc.kill()
            rest = self.proc.communicate(timeout=30)[0]
            raise AssertionError(f"the server did not start: {line}{rest}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> str:
        """Send `sig`, wait for the exit, return what the server printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.communicate(timeout=timeout)[0]


def descendants(pid: int) -> list[int]:
    """Live processes whose parent chain reaches `pid` (from /proc; Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- talking to a TestClient of the app ---------------------------------------------------------


def wait_for(client: Any, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job until it is done or failed; its status body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/jobs/{job_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def post(client: Any, data: bytes, name: str = "clip.mp4", **fields: str) -> Any:
    """Upload `data` as the form's video file (plus text fields): the response."""
    return client.post("/api/predict", files={"file": (name, data, "video/mp4")}, data=fields)

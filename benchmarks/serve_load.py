"""Bounded concurrent upload load on a `musclemap serve` started here, on 127.0.0.1 only.

    .venv/bin/python benchmarks/serve_load.py [--uploads 60] [--concurrency 12] [--workers 2]
        [--queue-size 4] [--job-seconds 0.5] [--real] [--videos 'DIR/*.mp4'] [--json OUT.json]

Starts the server (`musclemap.web.app.run_server`, port 0, a fresh data directory) in a child
process, then `--concurrency` client threads share `--uploads` uploads of small generated videos
(or `--videos`): each client uploads, and after a 202 polls its job until it is done or failed;
after a 429 it waits 1 s and sends the same upload again. Everything stops by itself: the load at
`--deadline` seconds, the server by SIGINT at the end (SIGKILL if it hangs).

By default the jobs run a *stand-in* predict function (it decodes the video with PyAV and sleeps
`--job-seconds`; scores are fixed) and the real body-map/timeline renderers: the point is the
server (uploads, queue, workers, store), not the model. `--real` runs the packaged model.

Reported: uploads accepted (202), refused busy (429), other answers, jobs done / failed / lost
(accepted but never finished, or forgotten), upload latency (POST to 202) and job latency (POST to
done) p50/p95, peak memory (sum of RSS of the server and all its child processes, sampled every
0.1 s), and whether any process or upload was left after the server stopped.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only, whatever the options
RETRY_S = 1.0  # a client's wait after a 429 (the server says Retry-After: 10; kept short here)


class StandInPredict:
    """Decodes the upload with PyAV, sleeps `seconds`, returns fixed scores (not the model)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(
        self, video: Path, *, fps: float | None, progress: Any, rotate: int | None
    ) -> dict[str, Any]:
        import av

        from musclemap.errors import VideoError
        from musclemap.taxonomy import GROUP_IDS

        progress(0.1, "decoding (stand-in)")
        try:
            with av.open(str(video)) as container:
                frames = sum(1 for _ in container.decode(video=0))
        except (av.FFmpegError, IndexError) as err:
            raise VideoError(f"cannot decode the video: {err}") from None
        time.sleep(self.seconds)
        progress(0.9, "predicting (stand-in)")
        scores = {gid: round((i * 7 % 20) / 20, 3) for i, gid in enumerate(GROUP_IDS)}
        duration = max(frames / 10.0, 0.2)
        timeline = [
            {"start_s": 0.0, "end_s": duration / 2, "muscles": scores},
            {"start_s": duration / 2, "end_s": duration, "muscles": scores},
        ]
        return {
            "video": str(video),
            "muscles": scores,
            "active": sorted(scores, key=scores.get, reverse=True)[:3],  # type: ignore[arg-type]
            "timeline": timeline,
            "pose_coverage": 1.0,
            "people": 1,
            "model": {"name": "stand-in", "version": "0"},
        }


def _serve_child(args: argparse.Namespace) -> None:
    """The server process: run_server on 127.0.0.1, port 0, with the chosen predict function."""
    from musclemap.web.app import ServerSettings, run_server

    settings = ServerSettings(
        data_dir=Path(args.serve_child),
        workers=args.workers,
        queue_size=args.queue_size,
        host=HOST,
        max_upload_mb=50,
    )
    predict = None if args.real else StandInPredict(args.job_seconds)
    run_server(settings, 0, predict_fn=predict, log_level="warning")


def make_videos(folder: Path, count: int = 4) -> list[Path]:
    """Small generated clips (moving gradients), 64x48 to 160x120, 10 to 40 frames at 10 fps."""
    import av

    paths = []
    for i in range(count):
        w, h, t = 64 + 32 * i, 48 + 24 * i, 10 + 10 * i
        yy, xx = np.mgrid[0:h, 0:w]
        path = folder / f"load{i}.mp4"
        with av.open(str(path), mode="w") as out:
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for k in range(t):
                rgb = np.stack([(xx * 3 + 9 * k) % 256, (yy * 3 + 5 * k) % 256, 0 * xx + 80], -1)
                frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        paths.append(path)
    return paths


def _tree(pid: int) -> list[int]:
    """`pid` and its live descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [pid], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Monitor(threading.Thread):
    """Samples the summed RSS of the server's process tree every 0.1 s; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self.peak_processes = 0
        self.seen: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            pids = _tree(self.pid)
            self.seen.update(pids)
            self.peak_mb = max(self.peak_mb, sum(map(_rss_mb, pids)))
            self.peak_processes = max(self.peak_processes, len(pids))


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_load(args: argparse.Namespace, videos: list[Path], url: str) -> dict[str, Any]:
    """The clients; returns the counts and latencies."""
    import httpx

    lock = threading.Lock()
    next_upload = [0]
    out: dict[str, Any] = {"answers": {}, "upload_s": [], "job_s": [], "jobs": {}}
    deadline = time.monotonic() + args.deadline
    blobs = [(p.name, p.read_bytes()) for p in videos]

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < deadline:
                with lock:
                    index = next_upload[0]
                    next_upload[0] += 1
                if index >= args.uploads:
                    return
                name, data = blobs[index % len(blobs)]
                started = time.monotonic()
                response = None
                while response is None and time.monotonic() < deadline:
                    sent = time.monotonic()
                    try:
                        answer = http.post(
                            "/api/predict", files={"file": (name, data, "video/mp4")}
                        )
                        code = str(answer.status_code)
                    except httpx.HTTPError as err:
                        answer, code = None, type(err).__name__
                    with lock:
                        out["answers"][code] = out["answers"].get(code, 0) + 1
                    if code == "429":  # busy: try the same upload again shortly
                        time.sleep(RETRY_S)
                    elif code == "202":
                        response = answer
                        with lock:
                            out["upload_s"].append(time.monotonic() - sent)
                    else:
                        break
                if response is None:
                    continue
                job_id = response.json()["job_id"]
                status = "lost"
                while time.monotonic() < deadline:
                    answer = http.get(f"/api/jobs/{job_id}")
                    if answer.status_code == 404:
                        break  # forgotten: lost
                    status = answer.json()["status"]
                    if status in ("done", "failed"):
                        break
                    status = "lost"
                    time.sleep(0.1)
                with lock:
                    out["jobs"][job_id] = status
                    if status == "done":
                        out["job_s"].append(time.monotonic() - started)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.deadline + 70)
    out["wall_s"] = time.monotonic() - started
    out["attempted"] = min(next_upload[0], args.uploads)
    return out


def _sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _print(r: dict[str, Any], args: argparse.Namespace) -> None:
    lines = [
        ("predict function", r["predict"]),
        ("server", f"{r['server']} (child process, port 0)"),
        (
            "load",
            f"{args.uploads} uploads by {args.concurrency} clients of {', '.join(r['videos'])}",
        ),
        ("answers", f"{r['answers']} (a 429 is retried with the same upload {RETRY_S:g} s later)"),
        ("accepted", f"{r['accepted']}, never accepted by the deadline {r['never_accepted']}"),
        ("answered 429", str(r["refused_429"])),
        ("jobs", f"{r['done']} done, {r['failed']} failed, {r['lost']} lost"),
        ("upload latency", f"p50 {_sec(r['upload_p50_s'])}, p95 {_sec(r['upload_p95_s'])}"),
        ("job latency", f"p50 {_sec(r['job_p50_s'])}, p95 {_sec(r['job_p95_s'])}"),
        (
            "peak memory",
            f"{r['peak_rss_mb']:.0f} MB RSS, server + children ({r['peak_processes']})",
        ),
        ("wall time", f"{r['wall_s']:.1f} s"),
        (
            "after stop",
            f"exit {r['server_exit']}, {r['processes_left']} processes and "
            f"{r['uploads_left']} uploads left",
        ),
    ]
    for label, text in lines:
        print(f"{label:<17}: {text}")
    print("(upload latency: the accepted POST to its 202; job latency: the first POST to done)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=60, help="uploads in all (bound)")
    parser.add_argument("--concurrency", type=int, default=12, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--queue-size", type=int, default=4, help="server queue (then 429)")
    parser.add_argument("--job-seconds", type=float, default=0.5, help="stand-in job time")
    parser.add_argument("--real", action="store_true", help="the packaged model, not a stand-in")
    parser.add_argument("--videos", help="glob of videos to upload (default: generated clips)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds for the load")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--serve-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        _serve_child(args)
        return
    if min(args.uploads, args.concurrency, args.workers) < 1 or args.queue_size < 0:
        parser.error("--uploads, --concurrency and --workers must be >= 1, --queue-size >= 0")
    import httpx

    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        root = Path(tmp)
        videos = (
            sorted(Path(p) for p in glob.glob(args.videos)) if args.videos else make_videos(root)
        )
        if not videos:
            parser.error(f"no video matches {args.videos}")
        child = [sys.executable, __file__, "--serve-child", str(root / "data")]
        child += ["--workers", str(args.workers), "--queue-size", str(args.queue_size)]
        child += ["--job-seconds", str(args.job_seconds)] + (["--real"] if args.real else [])
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        )
        server = subprocess.Popen(
            child, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"http://localhost:(\d+)", line)
        if match is None:
            server.kill()
            sys.exit(f"the server did not start: {line}{server.communicate(timeout=30)[0]}")
        url = f"http://{HOST}:{match.group(1)}"
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(server.stdout), daemon=True).start()  # type: ignore[arg-type]
        monitor = Monitor(server.pid)
        monitor.start()
        for _ in range(300):
            try:
                httpx.get(f"{url}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        load = run_load(args, videos, url)
        monitor.stop.set()
        monitor.join()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        time.sleep(1.0)
        left = sorted(pid for pid in monitor.seen - {server.pid} if _alive(pid))
        uploads_left = list((root / "data" / "uploads").iterdir())

    jobs = list(load["jobs"].values())
    report = {
        "predict": "the packaged model (musclemap.predictor, OMP threads as set)"
        if args.real
        else f"stand-in (PyAV decode + {args.job_seconds} s sleep; NOT the model)",
        "server": f"127.0.0.1, {args.workers} workers, queue {args.queue_size}",
        "videos": [p.name for p in videos],
        "uploads": args.uploads,
        "concurrency": args.concurrency,
        "attempted": load["attempted"],
        "answers": load["answers"],
        "accepted": load["answers"].get("202", 0),
        "refused_429": load["answers"].get("429", 0),
        "done": jobs.count("done"),
        "failed": jobs.count("failed"),
        "lost": jobs.count("lost") + load["answers"].get("202", 0) - len(jobs),
        "never_accepted": load["attempted"] - load["answers"].get("202", 0),
        "upload_p50_s": _percentile(load["upload_s"], 50),
        "upload_p95_s": _percentile(load["upload_s"], 95),
        "job_p50_s": _percentile(load["job_s"], 50),
        "job_p95_s": _percentile(load["job_s"], 95),
        "wall_s": load["wall_s"],
        "peak_rss_mb": monitor.peak_mb,
        "peak_processes": monitor.peak_processes,
        "processes_left": len(left),
        "uploads_left": len(uploads_left),
        "server_exit": server.returncode,
        "server_errors": [line.rstrip() for line in log if "Traceback" in line or "ERROR" in line],
    }

    _print(report, args)
    if report["server_errors"]:
        print("server errors    :", *report["server_errors"][:5], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

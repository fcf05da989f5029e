"""Shared fixtures: ../shared material (skipped when absent) and generated videos."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MUSCLEMAP_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"needs ../shared beside the checkout ({SHARED} not found)")
    return SHARED


@pytest.fixture(scope="session")
def wild_dir(shared_dir: Path) -> Path:
    wild = shared_dir / "data" / "wild"
    if not (wild / "manifest.csv").is_file():
        pytest.skip(f"needs the real clips in {wild}")
    return wild


def write_video(
    path: Path,
    frames: np.ndarray,
    fps: int = 10,
    codec: str = "libx264",
) -> Path:
    """Encode uint8 frames (T, H, W, 3) RGB into a video file with PyAV."""
    import av

    t, h, w, _ = frames.shape
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            vf = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[: h - h % 2, : w - w % 2]), format="rgb24"
            )
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `make_video(name="v.mp4", num_frames=16, size=(64, 48), fps=10)` -> path.

    Frames are a moving gradient (deterministic), so every frame differs.
    """

    def _make(
        name: str = "clip.mp4",
        num_frames: int = 16,
        size: tuple[int, int] = (64, 48),
        fps: int = 10,
    ) -> Path:
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        frames = np.stack(
            [
                np.stack(
                    [
                        (xx * 4 + 9 * t) % 256,
                        (yy * 4 + 5 * t) % 256,
                        np.full_like(xx, (t * 16) % 256),
                    ],
                    axis=-1,
                )
                for t in range(num_frames)
            ]
        ).astype(np.uint8)
        return write_video(tmp_path / name, frames, fps=fps)

    return _make


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """36 clips of 12 activities, two of six groups each, no splits yet (m.csv in tmp_path)."""
    rng = np.random.default_rng(0)
    lines = ["clip,activity,split,labels"]
    groups = ["chest", "triceps", "quadriceps", "gluteus", "calves", "biceps"]
    for a in range(12):
        for c in range(3):
            labels = ";".join(rng.choice(groups, size=2, replace=False))
            lines.append(f"clips/act{a}_{c}.mp4,act{a},,{labels}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "m.csv"


def cli_command(*args: object) -> list[str]:
    """The argv that runs `musclemap ARGS` through the console entry point in a new interpreter
    (for `subprocess.Popen` where a test must talk to a running command, e.g. a server)."""
    code = "import sys; from musclemap.__main__ import entry; sys.argv[0] = 'musclemap'; entry()"
    return [sys.executable, "-c", code, *map(str, args)]


def _run_cli(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The real console entry point (its one-line errors and exit codes) in a subprocess."""
    return _run_cli


def run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """`musclemap ARGV` through the console entry point in this process; its exit code."""
    from musclemap.cli import main

    monkeypatch.setattr(sys, "argv", ["musclemap", *argv])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Any]]:
    """`--pose-estimator scripted` (a generated squat played back, no MediaPipe; see
    pose_standins.py) and a private pose cache. Yields the estimators built so far."""
    from pose_standins import registered

    monkeypatch.setenv("MUSCLEMAP_CACHE", str(tmp_path / "cache"))
    with registered() as made:
        yield made


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """torch on one thread for a module of many tiny ops: OpenMP threads only add spin-wait on a
    shared, loaded CPU. Use with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def param_count(name: str, **kwargs: object) -> int:
    """Parameters of `build_model(name, **kwargs)`, built on the meta device (no memory, no
    initialisation), so that full-size counts stay fast."""
    import torch

    from musclemap.models import build_model

    with torch.device("meta"):
        model = build_model(name, **kwargs)
    return sum(p.numel() for p in model.parameters())


def assert_trains(model: Any, x: Any, num_classes: int = 20) -> None:
    """Finite `(B, num_classes)` logits, a gradient for every parameter, and a working
    `reset_classifier` (the registry's contract on one model and input)."""
    import torch

    logits = model(x)
    assert logits.shape == (x.shape[0], num_classes) and torch.isfinite(logits).all()
    logits.sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert not no_grad, no_grad
    model.reset_classifier(5)
    assert model(x).shape == (x.shape[0], 5)

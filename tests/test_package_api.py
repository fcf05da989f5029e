"""The Python API (`musclemap.predict`, `musclemap.Predictor`) and what importing costs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import musclemap

SRC = Path(__file__).resolve().parents[1] / "src"


def _imported_after(code: str) -> set[str]:
    """Top-level packages loaded by `code` in a fresh interpreter."""
    tops = "sorted({m.split('.')[0] for m in sys.modules})"
    probe = f"{code}\nimport sys, json\nprint(json.dumps({tops}))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_musclemap_is_cheap() -> None:
    loaded = _imported_after("import musclemap")
    assert not loaded & {"torch", "numpy", "mediapipe", "matplotlib", "av", "typer"}


def test_the_predict_path_imports_no_torch_mediapipe_or_matplotlib() -> None:
    # Everything `musclemap predict` imports in its own process before the model: the CLI,
    # decoding, pose orchestration, taxonomy, knowledge base, the picture modules and the packaged
    # model itself (numpy inference).
    loaded = _imported_after(
        "import musclemap.cli, musclemap.data.video_io, musclemap.pose.extract, "
        "musclemap.pose.parallel, musclemap.pose.mediapipe_estimator, musclemap.pose.features, "
        "musclemap.taxonomy, musclemap.activities, musclemap.viz.body_map, "
        "musclemap.viz.timeline, musclemap.viz.overlay, musclemap.predictor, "
        "musclemap.pose.quality, musclemap.pose.keypose, musclemap.cli.predict; "
        "musclemap.predictor.Predictor.default()"
    )
    assert not loaded & {"torch", "mediapipe", "matplotlib", "sklearn"}


def test_lazy_exports() -> None:
    from musclemap.predictor import Prediction, Predictor

    assert musclemap.Predictor is Predictor and musclemap.Prediction is Prediction
    assert callable(musclemap.predict)
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = musclemap.no_such_thing  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"fps": 0}, "fps must be in (0, 60], got 0"),
        ({"fps": float("nan")}, "fps must be in (0, 60], got nan"),
        ({"fps": 100}, "fps must be in (0, 60], got 100"),
        ({"fps": True}, "fps must be in (0, 60], got True"),  # ran at 1 fps
        ({"threshold": 1.5}, "threshold must be in [0, 1], got 1.5"),
        ({"threshold": False}, "threshold must be in [0, 1], got False"),
        ({"workers": -1}, "workers must be None or an integer >= 0, got -1"),  # ran
        ({"workers": 1.5}, "workers must be None or an integer >= 0, got 1.5"),  # ran
    ],
)
def test_predict_rejects_out_of_range_options(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ValueError) as err:
        musclemap.predict("clip.mp4", **kwargs)  # type: ignore[arg-type]
    assert str(err.value) == says


def test_predict_one_video_and_keep_the_model(
    make_video: Callable[..., Path], tmp_path: Path, scripted: list
) -> None:
    musclemap._predictor.cache_clear()
    video = make_video("squat.mp4", num_frames=40)
    kwargs: dict[str, Any] = {"cache_dir": tmp_path / "cache", "pose_estimator": "scripted"}
    a = musclemap.predict(video, **kwargs)
    b = musclemap.predict(video, threshold=0.9, **kwargs)
    assert musclemap._predictor.cache_info().misses == 1  # the model was loaded once
    assert len(scripted) == 1 and scripted[0].calls == 40  # b's poses came from the cache
    assert isinstance(a, musclemap.Prediction) and a.muscles == b.muscles
    assert b.threshold == 0.9 and a.threshold != 0.9
    assert b.active == [g for g, p in b.ranked() if p >= 0.9]
    with pytest.raises(KeyError, match="unknown pose estimator 'scriptd'; did you mean"):
        musclemap.predict(video, pose_estimator="scriptd")
    musclemap._predictor.cache_clear()


BLOCK_TORCH = '''
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoTorch())
'''


def _without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`musclemap ARGS` in a fresh interpreter in which torch cannot be imported (as after
    `pip install musclemap[pose,web]`, the README's first command)."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TORCH)
    return subprocess.run(
        [sys.executable, "-c", "from musclemap.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tmp_path}:{SRC}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=300,
    )


def test_demo_runs_without_torch(tmp_path: Path) -> None:
    done = _without_torch(tmp_path, "demo", "--out-dir", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "d" / "demo.json").read_text())["muscles"]
    assert scores["quadriceps"] > scores["biceps"]


def test_a_training_command_without_torch_names_the_extra(tmp_path: Path) -> None:
    config = Path(__file__).resolve().parents[1] / "configs" / "stgcn_smoke.yaml"
    done = _without_torch(tmp_path, "train", str(config))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: this command needs torch, which is not installed: pip install 'musclemap[train]'"
    ]


def test_predict_uses_at_most_the_cores_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # workers=500 started 500 MediaPipe processes. The clamped count reaches the predictor.
    from musclemap.pose import parallel

    seen: dict[str, object] = {}

    class Stub:
        def predict(self, video: object, **kwargs: object) -> object:
            seen.update(kwargs)
            return type("P", (), {"threshold": 0.5})()

    monkeypatch.setattr(parallel, "cpu_budget", lambda: 2)
    monkeypatch.setattr(musclemap, "_predictor", lambda *args: Stub())
    with pytest.warns(UserWarning, match="workers=500 is more than the 2 cores"):
        musclemap.predict("clip.mp4", workers=500)
    assert seen["workers"] == 2


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        ((None,), {}, "video must be a path (str or os.PathLike), got None"),
        ((123,), {}, "video must be a path (str or os.PathLike), got 123"),
        (("clip.mp4",), {"fps": "10"}, "fps must be in (0, 60], got '10'"),
        (("clip.mp4",), {"threshold": [0.5]}, "threshold must be in [0, 1], got [0.5]"),
        (("clip.mp4",), {"progress": 5}, "progress must be None or callable"),
        (("clip.mp4",), {"pose_estimator": 3}, "pose_estimator must be None or a name (str)"),
        (("clip.mp4",), {"checkpoint": 123}, "checkpoint must be None or a path"),
        (("clip.mp4",), {"cache_dir": 123}, "cache_dir must be None or a path"),
        (("clip.mp4",), {"use_cache": "no"}, "use_cache must be True or False, got 'no'"),
        (("clip.mp4",), {"device": None}, "device must be a str such as 'cpu', got None"),
        (("clip.mp4",), {"rotate": "90"}, "rotate must be None or one of 0, 90, 180, 270"),
    ],
)
def test_predict_names_a_wrong_argument_before_any_work(
    args: tuple[Any, ...], kwargs: dict[str, Any], says: str
) -> None:
    # Each was a TypeError from pathlib, math, difflib or the pose loop naming no argument,
    # or ran (cache_dir=123 made ./123, use_cache="no" cached, device=None was accepted).
    from musclemap.errors import ArgumentError, MusclemapError

    musclemap._predictor.cache_clear()
    with pytest.raises(ArgumentError) as err:
        musclemap.predict(*args, **kwargs)
    assert str(err.value).startswith(says)
    assert isinstance(err.value, MusclemapError | ValueError) and isinstance(err.value, TypeError)
    assert musclemap._predictor.cache_info().misses == 0  # no model was loaded

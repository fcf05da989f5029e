"""Smoke test of benchmarks/video_models.py on a tiny model (the benchmark itself is not a test)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


def _load_benchmark():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(
        "video_models_bench", REPO / "benchmarks" / "video_models.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _keep_thread_count() -> Iterator[None]:
    threads = torch.get_num_threads()  # the benchmark sets it
    yield
    torch.set_num_threads(threads)


def test_benchmark_writes_json_records(tmp_path: Path) -> None:
    bench = _load_benchmark()
    out = tmp_path / "bench.json"
    args = [
        "--models",
        "mvitv2_test",
        "--frames",
        "4",
        "--size",
        "32",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--threads",
        "1",
        "--json",
        str(out),
    ]
    assert bench.main(args) == 0
    rec = json.loads(out.read_text())["results"][0]
    assert rec["model"] == "mvitv2_test" and rec["gflops"] > 0
    assert rec["forward_s"] > 0 and rec["train_step_s"] > 0 and rec["forward_cpu_s"] >= 0
    assert bench.main(["--models", "mvitv2_s", "--flops-only", "--json", str(out)]) == 0
    flops = json.loads(out.read_text())["results"][0]
    assert flops["params"] == 34_245_524 and 60 < flops["gmacs"] < 75


def test_benchmark_rejects_unknown_pattern() -> None:
    assert _load_benchmark().main(["--models", "nothing*"]) == 2

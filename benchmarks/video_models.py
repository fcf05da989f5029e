"""Speed of the video models: clips/s (forward, forward+backward), GFLOPs, achieved GFLOP/s.

    .venv/bin/python benchmarks/video_models.py --models mvitv2_s --threads 2 --json out.json
    .venv/bin/python benchmarks/video_models.py --device cuda --bf16 --batch 8   # on a GPU

FLOPs come from `torch.utils.flop_counter.FlopCounterMode` (2 FLOPs per multiply-add) on one
forward pass; `gmacs` halves them, the unit fvcore/PySlowFast and most papers report as "GFLOPs".
Times are medians over `--repeats` runs after `--warmup` runs.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from musclemap.models import build_model

DEFAULT_MODELS = (
    "c2d_r50",
    "i3d_r50",
    "slow_r50",
    "slowfast_r50",
    "mvitv2_s",
    "mvitv2_b",
    "swin3d_s",
    "swin3d_b",
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, device: torch.device, *, warmup: int, repeats: int):  # noqa: ANN001, ANN202
    """Wall-clock and process CPU seconds of each repeat."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        _sync(device)
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - cpu_start)
    return times, cpu


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward pass (2 per multiply-add)."""
    # The math SDPA backend decomposes attention into matmuls the counter sees (the fused CPU
    # kernel is not in its table and would be counted as zero).
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def bench_model(name: str, args: argparse.Namespace) -> dict[str, object]:
    """Measure one model; returns a JSON-ready record."""
    device = torch.device(args.device)
    if args.flops_only:
        with torch.device("meta"):  # shapes only: no memory, no compute
            model = build_model(name, num_classes=20)
            x = torch.empty(1, 3, args.frames, args.size, args.size)
        flops = count_flops(model.eval(), x)
        return {
            "model": name,
            "frames": args.frames,
            "size": args.size,
            "params": sum(p.numel() for p in model.parameters()),
            "gflops": flops / 1e9,
            "gmacs": flops / 2e9,
        }
    torch.manual_seed(0)
    model = build_model(name, num_classes=20).to(device)
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    record: dict[str, object] = {
        "model": name,
        "batch": args.batch,
        "frames": args.frames,
        "size": args.size,
        "params": sum(p.numel() for p in model.parameters()),
    }
    model.eval()
    flops = count_flops(model, x[:1])
    record["gflops"] = flops / 1e9
    record["gmacs"] = flops / 2e9

    def forward() -> None:
        with torch.no_grad(), autocast:
            model(x)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    fwd, fwd_cpu = _timed(forward, device, warmup=args.warmup, repeats=args.repeats)
    med = statistics.median(fwd)
    # Process CPU time: with one thread on a shared machine it is about the wall time an idle
    # core would need; with more threads it also counts spin-waiting.
    record["forward_cpu_s"] = statistics.median(fwd_cpu)
    record.update(
        forward_s=med,
        forward_times_s=fwd,
        forward_clips_per_s=args.batch / med,
        forward_gflops_per_s=flops * args.batch / med / 1e9,
        forward_gmacs_per_s=flops * args.batch / med / 2e9,
    )
    if device.type == "cuda":
        record["forward_peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if args.backward:
        model.train()

        def step() -> None:
            with autocast:
                loss = model(x).float().sum()
            loss.backward()
            model.zero_grad(set_to_none=True)

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        bwd, bwd_cpu = _timed(step, device, warmup=args.warmup, repeats=args.repeats)
        med = statistics.median(bwd)
        record["train_cpu_s"] = statistics.median(bwd_cpu)
        record.update(train_step_s=med, train_times_s=bwd, train_clips_per_s=args.batch / med)
        if device.type == "cuda":
            record["train_peak_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default="*", help="comma-separated names or glob patterns (default: all eight)"
    )
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--no-backward", dest="backward", action="store_false", help="time the forward pass only"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast")
    parser.add_argument(
        "--flops-only",
        action="store_true",
        help="count parameters and FLOPs on the meta device, time nothing",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the records here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    patterns = [p.strip() for p in args.models.split(",") if p.strip()]
    names = [n for n in DEFAULT_MODELS if any(fnmatch.fnmatch(n, p) for p in patterns)]
    names += [p for p in patterns if p not in names and not any(c in p for c in "*?[")]
    if not names:
        print(f"no model matches {args.models!r}", file=sys.stderr)
        return 2
    records = []
    for name in names:
        rec = bench_model(name, args)
        records.append(rec)
        if args.flops_only:
            print(f"{name:14s} {rec['params']:>11,d} params {rec['gmacs']:7.1f} GMACs", flush=True)
            continue
        line = (
            f"{name:14s} {rec['gmacs']:7.1f} GMACs  fwd {rec['forward_s']:.3f} s "
            f"({rec['forward_clips_per_s']:.2f} clips/s, "
            f"{rec['forward_gmacs_per_s']:.1f} GMAC/s, cpu {rec['forward_cpu_s']:.2f} s)"
        )
        if args.backward:
            line += (
                f"  fwd+bwd {rec['train_step_s']:.3f} s ({rec['train_clips_per_s']:.2f} clips/s,"
                f" cpu {rec['train_cpu_s']:.2f} s)"
            )
        print(line, flush=True)
    if args.json is not None:
        meta = {
            "torch": torch.__version__,
            "threads": args.threads,
            "device": args.device,
            "bf16": args.bf16,
            "machine": platform.machine(),
            "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": records}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

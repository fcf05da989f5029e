"""torchrun / DistributedDataParallel helpers: gloo on CPU, nccl on GPU.

`torchrun --nproc-per-node N "$(which musclemap)" train CONFIG` sets RANK / WORLD_SIZE / LOCAL_RANK;
without them everything runs in one process. Evaluation shards clips without padding and gathers
them once, so every clip is scored exactly once whatever the world size.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Sampler


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group when launched by torchrun (or already initialised)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
        )
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return DistInfo()
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def set_torch_threads(requested: int) -> int:
    """`torch.set_num_threads` with `train.threads`, at most the cores this process may use
    (said in a warning): `train.threads=100000` started that many OpenMP threads and the
    process died in a later import ("failed to map segment"). Returns the count set."""
    import logging

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = max(cores or 1, 1)
    if requested > cores:
        logging.getLogger(__name__).warning(
            "warning: train.threads=%d is more than the %d cores this process may use; using %d",
            requested,
            cores,
            cores,
        )
        requested = cores
    torch.set_num_threads(requested)
    return requested


def pick_device(name: str, info_local_rank: int = 0) -> torch.device:
    """ "auto" picks the local GPU under torchrun (LOCAL_RANK) or the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        local = int(os.environ.get("LOCAL_RANK", info_local_rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device(name)


class ShardSampler(Sampler[int]):
    """Rank r takes indices r, r + W, ...: no padding, no duplicates (shards may differ by one)."""

    def __init__(self, length: int, *, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, length, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def gather_predictions(
    clip_ids: list[str], scores: np.ndarray, info: DistInfo
) -> tuple[list[str], np.ndarray]:
    """All ranks' (clip id, score row) pairs, each clip once, in first-seen order."""
    parts = [(clip_ids, scores)]
    if info.enabled:
        gathered: list[tuple[list[str], np.ndarray] | None] = [None] * info.world_size
        dist.all_gather_object(gathered, (clip_ids, scores))
        parts = [p for p in gathered if p is not None]
    seen: dict[str, np.ndarray] = {}
    for ids, rows in parts:
        for cid, row in zip(ids, rows, strict=True):
            seen.setdefault(cid, row)  # a padded duplicate would repeat an identical clip
    ids = list(seen)
    width = scores.shape[1] if scores.ndim == 2 else 0
    return ids, np.stack([seen[i] for i in ids]) if ids else np.zeros((0, width))


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()

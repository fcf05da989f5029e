"""One optimisation step of 2-process DDP (gloo) equals the single-process step on the same batch,
and distributed evaluation scores every clip exactly once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from musclemap.data.samples import Batch
from musclemap.engine.distributed import DistInfo, ShardSampler, gather_predictions

pytestmark = pytest.mark.slow


def _model_and_batch() -> tuple[torch.nn.Module, Batch]:
    import standin_backbones
    from musclemap.models import build_model

    standin_backbones.register()
    torch.manual_seed(0)
    model = build_model("transm3e", fusion_drop_path=0.0, **standin_backbones.STANDIN_KW)
    g = torch.Generator().manual_seed(1)
    batch = Batch(
        labels=torch.randint(0, 2, (4, 20), generator=g).float(),
        clip_ids=[f"c{i}" for i in range(4)],
        video=torch.randn(4, *standin_backbones.VIDEO_SHAPE, generator=g),
        pose=torch.randn(4, *standin_backbones.POSE_SHAPE, generator=g),
    )
    return model, batch


def _one_step(model: torch.nn.Module, batches: list[Batch]) -> None:
    from musclemap.engine.loop import TrainState, train_one_epoch
    from musclemap.engine.losses import build_loss
    from musclemap.engine.tasks import transm3e_loss

    # SGD: Adam's first step is ~lr * sign(grad), which turns float rounding of near-zero
    # gradients into full-size differences; SGD compares the all-reduced gradients themselves.
    opt = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    train_one_epoch(
        model,
        batches,
        opt,
        sched,
        compute_loss=transm3e_loss(build_loss("bce")),
        state=TrainState(),
        scaler=torch.amp.GradScaler("cuda", enabled=False),
        device=torch.device("cpu"),
        grad_clip=1.0,
    )


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    model, batch = _model_and_batch()
    half = slice(2 * rank, 2 * rank + 2)
    local = Batch(batch.labels[half], batch.clip_ids[half], batch.video[half], batch.pose[half])
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    _one_step(ddp, [local])
    # Distributed evaluation: 5 clips over 2 ranks, gathered once each.
    ids = [f"clip{i}" for i in ShardSampler(5, rank=rank, world_size=world)]
    got_ids, got = gather_predictions(
        ids, np.full((len(ids), 2), float(rank)), DistInfo(rank, world)
    )
    if rank == 0:
        torch.save(
            {"state": model.state_dict(), "ids": got_ids, "scores": torch.from_numpy(got)}, out
        )
    # Leave together: a rank tearing gloo down while the other still saves can abort it
    # ("terminate called without an active exception", SIGABRT; seen in 3 of 6 runs).
    dist.barrier()
    Path(f"{out}.done{rank}").touch()  # every step of this rank is over: only teardown is left
    dist.destroy_process_group()


def test_ddp_step_equals_single_process(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    out = tmp_path / "ddp.pt"
    try:
        mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    except mp.ProcessExitedException as exc:
        # gloo's own teardown still aborts now and then after the barrier (seen once in a
        # fresh-clone CI run, SIGABRT in destroy_process_group): that is torch's exit, not this
        # test's subject, so it is let through only when both ranks finished every step.
        if not all(Path(f"{out}.done{r}").exists() for r in range(2)):
            raise
        assert exc.signal_name == "SIGABRT", exc
    ddp = torch.load(out, weights_only=True)
    model, batch = _model_and_batch()
    _one_step(model, [batch])
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ddp["state"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert sorted(ddp["ids"]) == [f"clip{i}" for i in range(5)]  # each clip exactly once
    assert ddp["scores"].shape == (5, 2)


def test_gather_single_process_dedupes() -> None:
    ids, scores = gather_predictions(["a", "b", "a"], np.arange(6.0).reshape(3, 2), DistInfo())
    assert ids == ["a", "b"] and scores.tolist() == [[0, 1], [2, 3]]
    shards = [list(ShardSampler(7, rank=r, world_size=3)) for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(7))


def test_more_torch_threads_than_cores_become_the_cores(caplog: pytest.LogCaptureFixture) -> None:
    # `train.threads=100000` started that many OpenMP threads; the process died in a later
    # import (MemoryError / "failed to map segment"; session 13's hostile pass).
    import os

    from musclemap.engine.distributed import set_torch_threads

    before = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0))
    try:
        assert set_torch_threads(100_000) == cores == torch.get_num_threads()
        assert f"train.threads=100000 is more than the {cores} cores" in caplog.text
        assert set_torch_threads(1) == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)

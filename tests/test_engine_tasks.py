"""Tasks: dispatch, two-stage TransM3E initialisation, the baseline task, evaluate_checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from musclemap.config import load_config
from musclemap.data.datasets import load_rows
from musclemap.data.predictions import read_predictions
from musclemap.data.tables import split_table
from musclemap.engine.checkpoint import atomic_save
from musclemap.engine.evaluate import evaluate_checkpoint
from musclemap.engine.tasks import get_task, init_transm3e_branches, run_task
from musclemap.engine.train import build_experiment_model
from musclemap.errors import ConfigError, MusclemapError

SMALL = [
    "data.synthetic=true",
    "data.clip_len=4",
    "data.crop_size=32",
    "data.num_workers=0",
    "train.log_every=0",
]
TM_KW = (
    "model.kwargs={receiver: mvitv2_test, receiver_input_shape: [3, 4, 32, 32], "
    "sender: mvitv2_test, sender_input_shape: [3, 4, 32, 32], sender_input: aux}"
)


def test_unknown_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown task 'sup'"):
        get_task("sup")


def test_stage2_starts_branches_from_stage1(tmp_path: Path) -> None:
    torch.manual_seed(0)
    stage1 = build_experiment_model(
        load_config(None, [*SMALL, "model.name=mvitv2_test", "model.kwargs={num_cls_tokens: 20}"])
    )
    atomic_save({"model": stage1.state_dict()}, tmp_path / "s1.pt")
    cfg = load_config(
        None,
        [
            *SMALL,
            "task=transm3e",
            "model.name=transm3e",
            TM_KW,
            "data.aux_modality=rgbdiff",
            f"transm3e.receiver_init={tmp_path}/s1.pt",
        ],
    )
    model = build_experiment_model(cfg)
    init_transm3e_branches(model, cfg)
    got = model.receiver.state_dict()
    for key, value in stage1.state_dict().items():
        if key in got:
            assert torch.equal(got[key], value), key
    assert torch.equal(model.receiver.blocks[0].attn.qkv.weight, stage1.blocks[0].attn.qkv.weight)
    # A checkpoint of another architecture is refused, not half-loaded.
    atomic_save({"model": {"other.weight": torch.zeros(1)}}, tmp_path / "bad.pt")
    cfg.transm3e.receiver_init = str(tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match="lacks receiver weights"):
        init_transm3e_branches(model, cfg)


def test_baseline_task_writes_results(tmp_path: Path) -> None:
    # 32 clips, so that the known splits mix activities (with the default 8, every evaluation
    # split holds one clip and any scores give mAP 1).
    cfg = load_config(
        None,
        [
            "task=baseline",
            "data.synthetic=true",
            "data.synthetic_clips=32",
            "baseline.name=all_ones",
            f"train.out_dir={tmp_path}",
            "train.run_name=ones",
        ],
    )
    run_dir = run_task(cfg)
    res = json.loads((run_dir / "results.json").read_text())
    assert res["num_params"] == 0
    # Equal scores rank nothing: each group's AP is its share of positive clips.
    from musclemap.data.synthetic import synthetic_rows

    rows = synthetic_rows(32)
    for split in ("val_known", "test_known", "val_new", "test_new"):
        positives = np.stack([r.labels for r in rows if r.split == split]).mean(0)
        assert res[split] == pytest.approx(positives[positives > 0].mean(), abs=1e-6), split
    assert res["test_known"] < 0.5 and res["test_mean"] == pytest.approx(
        (res["test_known"] + res["test_new"]) / 2)
    with pytest.raises(ConfigError, match="baseline.name"):
        run_task(load_config(None, ["task=baseline", "data.synthetic=true"]))


@pytest.mark.slow
def test_evaluate_checkpoint_scores_every_eval_clip_once(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = load_config(
        None,
        [
            *SMALL,
            "task=transm3e",
            "model.name=transm3e",
            TM_KW,
            "data.aux_modality=rgbdiff",
            "data.num_views=2",
            "train.max_steps=1",
            "train.epochs=1",
            "train.batch_size=4",
            f"train.out_dir={tmp_path}",
            "train.run_name=tm",
        ],
    )
    run_dir = run_task(cfg)
    out = evaluate_checkpoint(cfg, run_dir / "best.pt", tmp_path / "eval")
    preds = read_predictions(out)
    assert len(preds) == 4  # 8 synthetic clips, 4 of them in val/test splits
    table = json.loads(out.with_suffix(".table.json").read_text())
    # the table is the one of the predictions written beside it, on the config's rows
    rows = [r for r in load_rows(cfg) if r.clip_id in preds]
    assert table == pytest.approx(split_table(rows, preds), abs=1e-4)
    assert any(v is not None for v in table.values())
    # Without the second modality the same checkpoint runs RGB-only (receiver branch).
    cfg.data.aux_modality = ""
    rgb_only = read_predictions(evaluate_checkpoint(cfg, run_dir / "best.pt", tmp_path / "rgb"))
    assert set(rgb_only) == set(preds)
    assert any(abs(rgb_only[k] - preds[k]).max() > 1e-6 for k in preds)


def test_a_field_the_task_ignores_stops_the_run(tmp_path: Path) -> None:
    from musclemap.engine.tasks import unhonoured_fields

    base = ["task=pose_default", "model.name=keypose_mlp", f"train.out_dir={tmp_path}"]
    assert unhonoured_fields(load_config(None, base)) == []
    cfg = load_config(
        None, [*base, "optim.scheduler=constant", "train.amp=bf16", "train.accum_steps=4"]
    )
    assert unhonoured_fields(cfg) == ["optim.scheduler", "train.accum_steps", "train.amp"]
    with pytest.raises(ConfigError) as err:
        run_task(cfg)
    assert str(err.value) == (
        "task pose_default does not use optim.scheduler, train.accum_steps, train.amp; "
        "remove them (or pick a task that does)"
    )
    assert not (tmp_path / "pose_default").exists()  # stopped before anything was written
    # The same field is fine for a task that reads it; a task's section is not for others.
    assert unhonoured_fields(load_config(None, ["optim.scheduler=constant"])) == []
    assert unhonoured_fields(load_config(None, ["pose_default.stride=3"])) == [
        "pose_default.stride"
    ]
    assert unhonoured_fields(load_config(None, ["task=baseline", "data.window=8"])) == [
        "data.window"
    ]


@pytest.mark.parametrize(
    "overrides, unread",
    [
        (["data.modality=rgb", "data.window=8", "data.clip_len=4"], ["data.window"]),
        (["data.modality=pose", "data.clip_len=4", "data.num_views=1", "data.window=8"],
         ["data.clip_len", "data.num_views"]),
        (["data.modality=rgb", "data.aux_modality=pose", "data.window=8", "data.coords=world"],
         []),
        (["data.synthetic=true", "data.manifest=m.csv", "data.sampling_rate=2"],
         ["data.manifest", "data.sampling_rate"]),
        (["data.manifest=m.csv", "data.synthetic_clips=4", "data.cache_dir=c"],
         ["data.synthetic_clips"]),
    ],
)
def test_the_training_loop_reads_the_data_fields_of_its_inputs(
    overrides: list[str], unread: list[str]
) -> None:
    from musclemap.engine.tasks import unhonoured_fields

    assert unhonoured_fields(load_config(None, overrides)) == unread


def test_train_cli_names_the_ignored_field_in_one_line(tmp_path: Path, run_cli) -> None:  # noqa: ANN001
    config = tmp_path / "c.yaml"
    config.write_text(
        "task: pose_default\nmodel: {name: keypose_mlp}\ndata: {synthetic: true}\n"
        "train: {device: cuda}\n"
    )
    done = run_cli("train", config, f"train.out_dir={tmp_path}")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: {config.resolve()}: task pose_default does not use train.device; remove it "
        "(or pick a task that does)"
    ]


def test_an_unwritable_out_dir_stops_the_run_in_one_line(tmp_path: Path) -> None:
    # /proc/runs and a path under a file were FileNotFoundError / NotADirectoryError tracebacks
    # when the run folder was made.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    base = ["task=baseline", "data.synthetic=true", "baseline.name=random"]
    cases = [
        (blocker, "is a file, expected a folder"),
        (blocker / "runs", "is a file, not a folder"),
    ]
    if Path("/proc/self").is_dir():
        cases.append((Path("/proc/runs"), "cannot write there"))
    for out_dir, says in cases:
        with pytest.raises(MusclemapError) as err:
            run_task(load_config(None, [*base, f"train.out_dir={out_dir}"]))
        assert str(err.value).startswith(f"train.out_dir {out_dir}: ") and says in str(err.value)
    assert blocker.read_text() == "x"

import csv
import json
import logging

from musclemap.engine.logging_utils import RunLogger, log, make_progress


def test_records_go_to_jsonl_per_kind_csv_and_train_log(tmp_path):
    logger = RunLogger(tmp_path / "run")
    logger.log("train", 1, {"loss": 0.5, "lr": 1e-3})
    logger.log("train", 2, {"loss": 0.25, "lr": 1e-3})
    logger.log("eval", 2, {"val_mean": float("nan")})
    log.info("hello from the loop")
    logger.close()
    run = tmp_path / "run"
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["step"]) for r in records] == [("train", 1), ("train", 2), ("eval", 2)]
    assert records[1]["loss"] == 0.25
    with (run / "metrics_train.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [float(r["loss"]) for r in rows] == [0.5, 0.25]
    assert "hello from the loop" in (run / "train.log").read_text()
    # closed: the file handler is detached, later messages do not reach the old run's log
    assert not any(isinstance(h, logging.FileHandler) for h in log.handlers)


def test_disabled_logger_and_progress_write_nothing(tmp_path):
    logger = RunLogger(tmp_path / "rank1", enabled=False)
    logger.log("train", 1, {"loss": 1.0})
    logger.close()
    assert not (tmp_path / "rank1").exists()
    assert make_progress(enabled=False) is None
    # Enabled: a bar that shows the task's counts and its live `info` field.
    import io

    from rich.console import Console

    progress = make_progress(enabled=True)
    task = progress.add_task("epoch 1", total=4, info="loss 0.50")
    progress.advance(task, 3)
    console = Console(file=io.StringIO(), width=120)
    console.print(progress.get_renderable())
    shown = console.file.getvalue()
    assert shown.startswith("epoch 1 ") and " 3/4 " in shown and shown.endswith("loss 0.50\n")

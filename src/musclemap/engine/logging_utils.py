"""Run logs: python logging to train.log, metrics to JSONL and CSV, TensorBoard when installed,
and a rich progress bar with ETA. Only the main process writes."""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("musclemap.train")


class RunLogger:
    """Append-only metric logs under `run_dir` (metrics.jsonl, metrics.csv, tb/)."""

    def __init__(self, run_dir: Path, *, enabled: bool = True) -> None:
        self.run_dir, self.enabled = run_dir, enabled
        self._tb: Any = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(run_dir / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self._handler = handler
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(run_dir / "tb"))
        except ImportError:  # tensorboard is the optional [train] extra
            log.info("tensorboard not installed: TensorBoard logging off")

    def log(self, kind: str, step: int, values: dict[str, Any]) -> None:
        """One record: `kind` (train / epoch / eval), the optimisation step and scalar values."""
        if not self.enabled:
            return
        record = {"kind": kind, "step": step, "time": round(time.time(), 3), **values}
        with (self.run_dir / "metrics.jsonl").open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        csv_path = self.run_dir / f"metrics_{kind}.csv"
        new = not csv_path.exists()
        with csv_path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(record), extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)
        if self._tb is not None:
            for key, value in values.items():
                if (
                    isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and (math.isfinite(value))
                ):
                    self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if not self.enabled:
            return
        if self._tb is not None:
            self._tb.close()
        log.removeHandler(self._handler)
        self._handler.close()


def make_progress(*, enabled: bool) -> Any:
    """A rich Progress (bar, counts, elapsed, ETA, live loss) or None when disabled."""
    if not enabled:
        return None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        transient=False,
    )

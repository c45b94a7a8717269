"""DownloadAction: fetch the dataset a run asks for and store it as CSV in the run's work dir.

The "download" generates the data (a noisy linear relation, seeded by the dataset id), so the
example needs no network; everything after it is ordinary file work.
"""

from __future__ import annotations

import csv
import hashlib
import random
import time
from typing import Any

from pipeline_service.runner import ActionContext

FEATURES = 3
CHUNK_ROWS = 250


def true_relation(dataset: int) -> tuple[list[float], float]:
    """The weights and bias hidden in dataset `dataset` (what training should recover)."""
    rng = random.Random(f"relation-{dataset}")
    weights = [round(rng.uniform(-3.0, 3.0), 3) for _ in range(FEATURES)]
    return weights, round(rng.uniform(-5.0, 5.0), 3)


class DownloadAction:
    """Writes `rows` samples of dataset `dataset` to raw/dataset-<id>.csv.

    Params: dataset (int, default 0), rows (default 2000), noise (default 0.5),
    pace (seconds to wait per chunk of rows, default 0: lets a demo show live progress).
    """

    def run(self, context: ActionContext) -> dict[str, Any] | None:
        dataset = int(context.params.get("dataset", 0))
        rows = int(context.params.get("rows", 2000))
        noise = float(context.params.get("noise", 0.5))
        pace = float(context.params.get("pace", 0.0))
        if rows < 10:
            raise ValueError(f"rows must be at least 10, got {rows}")
        weights, bias = true_relation(dataset)
        rng = random.Random(f"samples-{dataset}")
        path = context.work_dir / "raw" / f"dataset-{dataset}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        context.log(f"Downloading dataset {dataset} ({rows} rows) to {path}")
        written = 0
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*(f"x{i + 1}" for i in range(FEATURES)), "y"])
            while written < rows:
                if context.cancelled:
                    context.log("Download cancelled", level="warning")
                    return None
                for _ in range(min(CHUNK_ROWS, rows - written)):
                    x = [rng.uniform(-10.0, 10.0) for _ in range(FEATURES)]
                    y = sum(w * v for w, v in zip(weights, x, strict=True)) + bias
                    writer.writerow([f"{v:.6f}" for v in x] + [f"{y + rng.gauss(0, noise):.6f}"])
                    written += 1
                context.set_progress(written, rows, step="rows")
                if pace:
                    time.sleep(pace)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        size = path.stat().st_size
        context.set_metrics(rows=rows, bytes=size)
        context.log(f"Downloaded {rows} rows ({size} bytes, sha256 {digest[:12]}…)")
        return {"raw_path": str(path), "raw_rows": rows, "raw_sha256": digest}

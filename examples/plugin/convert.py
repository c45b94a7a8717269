"""ConvertAction: check the raw CSV, standardise its features and split it for training.

Writes converted/train.jsonl, converted/validation.jsonl and converted/scaling.json.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_service.runner import ActionContext


@dataclass(frozen=True)
class Sample:
    features: list[float]
    target: float


@dataclass(frozen=True)
class Scaling:
    means: list[float]
    stdevs: list[float]

    def apply(self, sample: Sample) -> Sample:
        scaled = [
            (value - mean) / stdev
            for value, mean, stdev in zip(sample.features, self.means, self.stdevs, strict=True)
        ]
        return Sample(scaled, sample.target)


def load_raw(path: str | Path, expected_sha256: str | None = None) -> list[Sample]:
    """Read the CSV DownloadAction wrote, checking its digest when one is given."""
    raw = Path(path)
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw.read_bytes()).hexdigest()
        if digest != expected_sha256:
            raise ValueError(f"{raw} is corrupt: sha256 {digest} != {expected_sha256}")
    samples = []
    with raw.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{raw}:{line}: expected {len(header)} columns, got {len(row)}")
            *features, target = (float(value) for value in row)
            samples.append(Sample(features, target))
    if not samples:
        raise ValueError(f"{raw} holds no samples")
    return samples


def fit_scaling(samples: list[Sample]) -> Scaling:
    """Per-feature mean and standard deviation (1.0 for a constant feature)."""
    columns = list(zip(*(sample.features for sample in samples), strict=True))
    means = [statistics.fmean(column) for column in columns]
    stdevs = [statistics.pstdev(column) or 1.0 for column in columns]
    return Scaling(means, stdevs)


def split(
    samples: list[Sample], seed: int, validation_fraction: float = 0.2
) -> tuple[list[Sample], list[Sample]]:
    """A seeded shuffle, then the first part for training and the rest for validation."""
    shuffled = list(samples)
    random.Random(seed).shuffle(shuffled)
    cut = max(1, round(len(shuffled) * (1 - validation_fraction)))
    return shuffled[:cut], shuffled[cut:]


def write_jsonl(path: Path, samples: list[Sample]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps({"x": sample.features, "y": sample.target}) + "\n")


def read_jsonl(path: str | Path) -> list[Sample]:
    with Path(path).open(encoding="utf-8") as handle:
        return [Sample(row["x"], row["y"]) for row in map(json.loads, handle)]


class ConvertAction:
    """Params: raw_path and raw_sha256 (from DownloadAction), dataset (the split's seed)."""

    def run(self, context: ActionContext) -> dict[str, Any] | None:
        if "raw_path" not in context.params:
            raise KeyError("raw_path: ConvertAction needs the output of DownloadAction")
        samples = load_raw(context.params["raw_path"], context.params.get("raw_sha256"))
        context.log(f"Read {len(samples)} samples from {context.params['raw_path']}")
        scaling = fit_scaling(samples)
        train, validation = split(samples, int(context.params.get("dataset", 0)))
        out = context.work_dir / "converted"
        out.mkdir(parents=True, exist_ok=True)
        total = len(samples)
        scaled_train: list[Sample] = []
        for done, sample in enumerate(train, start=1):
            scaled_train.append(scaling.apply(sample))
            if done % 200 == 0:
                context.set_progress(done, total, step="samples")
        scaled_validation = [scaling.apply(sample) for sample in validation]
        if context.cancelled:
            return None
        write_jsonl(out / "train.jsonl", scaled_train)
        write_jsonl(out / "validation.jsonl", scaled_validation)
        (out / "scaling.json").write_text(
            json.dumps({"means": scaling.means, "stdevs": scaling.stdevs}), encoding="utf-8"
        )
        context.set_progress(total, total, step="samples")
        context.set_metrics(train_rows=len(train), validation_rows=len(validation))
        context.log(f"Converted: {len(train)} training and {len(validation)} validation samples")
        return {
            "train_path": str(out / "train.jsonl"),
            "validation_path": str(out / "validation.jsonl"),
            "scaling_path": str(out / "scaling.json"),
            "train_rows": len(train),
            "validation_rows": len(validation),
        }

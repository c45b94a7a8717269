"""TrainAction: fit a linear model by mini-batch gradient descent and save it as JSON.

Uses ConvertAction's files when the pipeline has that step; otherwise it prepares the raw
CSV itself (the documented Complete Example runs download → train). With `checkpoint_every`
it saves an in-action checkpoint every that many epochs (the epoch in the state, the model in
a file) and, run again, continues after the latest one with the same batches an unbroken run
would have used.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from pipeline_service.runner import ActionContext
from plugin.convert import Sample, Scaling, fit_scaling, load_raw, read_jsonl, split

BATCH_SIZE = 32


def mean_squared_error(weights: list[float], bias: float, samples: list[Sample]) -> float:
    if not samples:
        return 0.0
    return sum(
        (sum(w * x for w, x in zip(weights, s.features, strict=True)) + bias - s.target) ** 2
        for s in samples
    ) / len(samples)


def _load(params: dict[str, Any]) -> tuple[list[Sample], list[Sample], Scaling]:
    if "train_path" in params:
        scaling = json.loads(Path(params["scaling_path"]).read_text(encoding="utf-8"))
        return (
            read_jsonl(params["train_path"]),
            read_jsonl(params["validation_path"]),
            Scaling(scaling["means"], scaling["stdevs"]),
        )
    if "raw_path" not in params:
        raise KeyError("raw_path: TrainAction needs the output of DownloadAction")
    samples = load_raw(params["raw_path"], params.get("raw_sha256"))
    scaling = fit_scaling(samples)
    train, validation = split(samples, int(params.get("dataset", 0)))
    return [scaling.apply(s) for s in train], [scaling.apply(s) for s in validation], scaling


def _checkpoint(
    context: ActionContext, epoch: int, weights: list[float], bias: float, losses: dict[str, float]
) -> None:
    """Save the model of this epoch (a file) and where training is (the state)."""
    path = context.work_dir / "checkpoint" / "model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"weights": weights, "bias": bias}), encoding="utf-8")
    context.save_checkpoint({"epoch": epoch, **losses}, step=epoch, files=path)


class TrainAction:
    """Params: epochs (default 20), learning_rate (default 0.05), pace (seconds per epoch),
    checkpoint_every (epochs between in-action checkpoints; 0, the default: none)."""

    def run(self, context: ActionContext) -> dict[str, Any] | None:
        epochs = int(context.params.get("epochs", 20))
        learning_rate = float(context.params.get("learning_rate", 0.05))
        pace = float(context.params.get("pace", 0.0))
        checkpoint_every = int(context.params.get("checkpoint_every", 0))
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}")
        train, validation, scaling = _load(context.params)
        context.log(f"Training on {len(train)} samples for {epochs} epochs")
        features = len(train[0].features)
        weights, bias = [0.0] * features, 0.0
        rng = random.Random(int(context.params.get("dataset", 0)))
        order = list(train)
        train_mse = val_mse = 0.0
        first_epoch = 1
        saved = context.last_checkpoint if checkpoint_every else None
        if saved is not None and saved.state is not None:
            model = json.loads((saved.path / "model.json").read_text(encoding="utf-8"))
            weights, bias = model["weights"], model["bias"]
            train_mse, val_mse = saved.state["loss"], saved.state["val_loss"]
            first_epoch = saved.state["epoch"] + 1
            for _ in range(first_epoch - 1):
                rng.shuffle(order)  # the batches of the epochs done, as an unbroken run had them
            context.log(f"Continuing after the checkpoint of epoch {first_epoch - 1}")
        for epoch in range(first_epoch, epochs + 1):
            if context.cancelled:
                context.log(f"Training cancelled at epoch {epoch}", level="warning")
                return None
            rng.shuffle(order)
            for start in range(0, len(order), BATCH_SIZE):
                batch = order[start : start + BATCH_SIZE]
                grad_w, grad_b = [0.0] * features, 0.0
                for sample in batch:
                    error = (
                        sum(w * x for w, x in zip(weights, sample.features, strict=True))
                        + bias
                        - sample.target
                    )
                    grad_b += error
                    for i, x in enumerate(sample.features):
                        grad_w[i] += error * x
                step = 2 * learning_rate / len(batch)
                weights = [w - step * g for w, g in zip(weights, grad_w, strict=True)]
                bias -= step * grad_b
            train_mse = mean_squared_error(weights, bias, train)
            val_mse = mean_squared_error(weights, bias, validation)
            context.set_progress(epoch, epochs, step="epoch")
            context.set_metrics(loss=round(train_mse, 6), val_loss=round(val_mse, 6))
            if epoch == 1 or epoch % 10 == 0 or epoch == epochs:
                context.log(f"epoch {epoch}/{epochs}: loss {train_mse:.4f}, val {val_mse:.4f}")
            if checkpoint_every and (epoch % checkpoint_every == 0 or epoch == epochs):
                losses = {"loss": train_mse, "val_loss": val_mse}
                _checkpoint(context, epoch, weights, bias, losses)
            if pace:
                time.sleep(pace)
        targets = [s.target for s in validation] or [s.target for s in train]
        mean_target = sum(targets) / len(targets)
        variance = sum((t - mean_target) ** 2 for t in targets) / len(targets)
        r2 = 1 - (val_mse if validation else train_mse) / variance if variance else 0.0
        # Back to the original feature scale: y = sum(w_i * x_i) + b.
        raw_weights = [w / s for w, s in zip(weights, scaling.stdevs, strict=True)]
        raw_bias = bias - sum(w * m for w, m in zip(raw_weights, scaling.means, strict=True))
        model = {"weights": [round(w, 6) for w in raw_weights], "bias": round(raw_bias, 6)}
        path = context.work_dir / "model" / "model.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(model, indent=2), encoding="utf-8")
        context.set_metrics(loss=round(train_mse, 6), val_loss=round(val_mse, 6), r2=round(r2, 6))
        context.log(f"Model saved to {path} (validation R² {r2:.4f})")
        return {
            "model_path": str(path),
            "train_mse": round(train_mse, 6),
            "val_mse": round(val_mse, 6),
            "r2": round(r2, 6),
            **model,
        }

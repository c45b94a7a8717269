"""Actions the runner tests execute (imported by workers' child processes from this directory).

`step` is the workhorse: it appends "start/done <run> <action>" lines to `params["marker"]`, so a
test can count exactly how often each action ran, and can sleep, fail until a file exists, or
wait for cancellation, as its params say.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _mark(context: Any, event: str) -> None:
    marker = context.params.get("marker")
    if marker:
        with open(marker, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {context.run_id} {context.action_name}\n")


def step(context: Any) -> dict[str, Any]:
    _mark(context, "start")
    params = context.params
    duration = float(params.get("sleep", {}).get(context.action_name, 0))
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < duration:
        if context.cancelled:
            _mark(context, "cancelled")
            return {}
        context.set_progress(elapsed / duration)
        time.sleep(0.02)
    if params.get("fail_at") == context.action_name and not Path(params["fix_path"]).exists():
        raise RuntimeError(f"input missing: {params['fix_path']}")
    context.log(f"{context.action_name} ran with order={params.get('order', [])}")
    context.set_metrics(index=context.action_index)
    _mark(context, "done")
    return {"order": [*params.get("order", []), context.action_name]}


class ClassStep:
    """A class entrypoint doing what `step` does."""

    def run(self, context: Any) -> dict[str, Any]:
        return step(context)


def describe_context(context: Any) -> dict[str, Any]:
    return {
        "run_id": context.run_id,
        "action_name": context.action_name,
        "action_index": context.action_index,
        "params": context.params,
        "work_dir": str(context.work_dir),
        "work_dir_exists": context.work_dir.is_dir(),
        "cancelled": context.cancelled,
    }


def overshoot(context: Any) -> None:
    context.set_progress(5)


def boom(context: Any) -> None:
    raise ValueError("boom")


def returns_list(context: Any) -> list[int]:
    return [1, 2, 3]


def returns_unserialisable(context: Any) -> dict[str, Any]:
    return {"when": object()}


def crash(context: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def progress_flood(context: Any) -> dict[str, int]:
    total = 1_000_000
    for done in range(1, total + 1):
        context.set_progress(done, total, step="items")
    return {"items": total}


def log_every_call(context: Any) -> None:
    for number in range(int(context.params.get("lines", 10))):
        context.log(f"line {number}", level="debug")


def ignore_cancel(context: Any) -> None:
    _mark(context, "start")
    time.sleep(float(context.params.get("sleep", 30)))
    _mark(context, "done")


class NoRun:
    """A class without a run method."""


class NeedsArguments:
    def __init__(self, value: int) -> None:
        self.value = value

    def run(self, context: Any) -> None:
        return None


NOT_CALLABLE = 42


def start_sleeper(context: Any) -> dict[str, Any]:
    """Starts `sleep 600` and leaves it running; returns once cancelled."""
    import subprocess

    sleeper = subprocess.Popen(["sleep", "600"])
    Path(context.params["pid_file"]).write_text(str(sleeper.pid))
    _mark(context, "start")
    while not context.cancelled:
        time.sleep(0.02)
    _mark(context, "cancelled")
    return {}


def chatty(context: Any) -> None:
    """Talks the ways code does: print, stderr, logging (with a traceback), a partial line."""
    import logging
    import sys

    for index in range(int(context.params.get("lines", 3))):
        print(f"printed {index}")
    print("to stderr", file=sys.stderr)
    logging.basicConfig(level=logging.DEBUG)  # a no-op while the output is captured
    logger = logging.getLogger("chatty")
    logger.debug("too detailed")
    logger.info("logged info")
    logger.warning("logged warning")
    try:
        raise KeyError("boom")
    except KeyError:
        logger.exception("logged error")
    sys.stdout.write("no newline at the end")


def epochs(context: Any) -> dict[str, Any]:
    """Trains for `params["epochs"]` epochs, saving an in-action checkpoint after each one: the
    epoch in the state, a weights file in the files. Run again, it continues after the latest
    checkpoint, checking that its state and file came back. Marks "epoch <run> <n>" per epoch
    run; on its first attempt it hangs after `params["hang_after"]` (for its worker to die) or
    fails there (`params["fail_after"]`)."""
    params = context.params
    saved = context.last_checkpoint
    first = 1
    resumed: dict[str, Any] = {}
    if saved is not None:
        weights = (saved.path / "weights.txt").read_text(encoding="utf-8")
        assert weights == f"weights after epoch {saved.step}", weights
        assert saved.state == {"epoch": saved.step, "loss": 1 / saved.step}
        first = saved.step + 1
        resumed = {"resumed_at": saved.step, "checkpoint_dir": str(saved.path)}
    ckpt = context.work_dir / "ckpt"
    ckpt.mkdir(parents=True, exist_ok=True)
    (ckpt / "config.json").write_text('{"layers": 3}', encoding="utf-8")  # never changes
    for epoch in range(first, int(params["epochs"]) + 1):
        _mark(context, f"epoch {epoch}")
        (ckpt / "weights.txt").write_text(f"weights after epoch {epoch}", encoding="utf-8")
        context.save_checkpoint({"epoch": epoch, "loss": 1 / epoch}, step=epoch, files=ckpt)
        context.set_progress(epoch, int(params["epochs"]), step="epoch")
        if saved is None and epoch == params.get("hang_after"):
            while not context.cancelled:
                time.sleep(0.02)
            return {}
        if saved is None and epoch == params.get("fail_after"):
            raise RuntimeError(f"failed after epoch {epoch}")
    return {"epochs": int(params["epochs"]), **resumed}


def save_despite_the_store(context: Any) -> dict[str, Any]:
    """Tries to save a checkpoint with a file and reports how that went, then completes."""
    from pipeline_service.runner import CheckpointError

    model = context.work_dir / "model.bin"
    model.write_bytes(b"weights")
    try:
        context.save_checkpoint({"epoch": 1}, step=1, files=model)
    except CheckpointError as exc:
        return {"saved": False, "error": str(exc), "last": context.last_checkpoint}
    return {"saved": True}


def bad_state(context: Any) -> dict[str, Any]:
    """A state that is not JSON, and a file that does not exist: refused before anything is sent."""
    problems = []
    for state, files in (({"loss": float("nan")}, None), ({"w": object()}, None), (None, "nope")):
        try:
            context.save_checkpoint(state, files=files)
        except (ValueError, FileNotFoundError) as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
    return {"problems": problems}


def ticker(context: Any) -> dict[str, Any]:
    """Ignores cancellation: appends "<pid> <wall clock time>" to `params["ticks"]` every 20 ms
    for `params["seconds"]` seconds, so a test can tell whether two executions overlapped."""
    ticks = Path(context.params["ticks"])
    started = time.monotonic()
    while time.monotonic() - started < float(context.params["seconds"]):
        with ticks.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {time.time()!r}\n")
        time.sleep(0.02)
    return {}


def log_slowly(context: Any) -> dict[str, Any]:
    """Logs `params["lines"]` numbered lines, `params["pause"]` seconds apart."""
    _mark(context, "start")
    for number in range(int(context.params["lines"])):
        context.log(f"line {number}")
        time.sleep(float(context.params.get("pause", 0.01)))
    _mark(context, "done")
    return {}


def log_losses(context: Any) -> dict[str, Any]:
    """Logs `params["points"]` losses as fast as it can, NaN at `params["nan_at"]`."""
    nan_at = context.params.get("nan_at")
    for step in range(int(context.params["points"])):
        loss = float("nan") if step == nan_at else 1.0 / (step + 1)
        context.log_metrics({"loss": loss}, step=step)
    return {}


def noop(context: Any) -> None:
    """Does nothing: a run of these is all the runner's own requests."""


def wait_for_release(context: Any) -> None:
    """Writes its pid to `params["pid_file"]`, then waits (reporting nothing) until the file
    `params["release"]` exists."""
    Path(context.params["pid_file"]).write_text(str(os.getpid()))
    while not Path(context.params["release"]).exists():
        time.sleep(0.02)

"""Profile the server under one benchmark's load with py-spy, and print its hottest frames.

    python -m benchmarks.profile_server {health,get_run,report_progress,fanout} [--seconds 10]
        [--subscribers 100] [--raw PATH]

Starts the server in its subprocess as the benchmarks do, attaches `py-spy record` to it
(pip install py-spy; attaching needs ptrace rights, e.g. root or CAP_SYS_PTRACE), drives the
load, and prints the share of the event loop's busy samples per function: self time, and
inclusive time for the frames that matter. `fanout` reports progress every 50 ms to
`--subscribers` socket-reader subscribers in a helper process. This is how the profile
evidence in benchmarks/README.md was produced.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks._harness import CpuMeter, Helper, ServerProcess
from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

# Where the event loop runs a callback: asyncio's Handle._run; under uvloop (the server's loop)
# callbacks are called from C, right below the frame that runs the loop (asyncio.Runner.run).
LOOP_FRAMES = ("Handle._run", "Runner.run")
CLIENTS = 4


def _frame(raw: str) -> str:
    raw = re.sub(r"\(\S*?/site-packages/", "(", raw)
    raw = re.sub(r"\(\S*?/src/", "(", raw)
    raw = re.sub(r"\(\S*?/lib/python3\.\d+/", "(", raw)
    return re.sub(r":\d+\)", ")", raw)


def summarize(path: Path, top: int = 25) -> str:
    """Self and inclusive shares of the event loop's busy samples in a py-spy raw profile."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";")]
        start = _callback_start(frames)
        if start is None:  # another thread, or the loop idle (waiting in C below the frame)
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames[start:]):
            inclusive[frame] += n
    if not total:
        return "no event-loop samples (did py-spy attach?)"
    lines = [f"event-loop busy samples: {total}", "--- self"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("--- inclusive")
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(2 * top)]
    return "\n".join(lines)


def _callback_start(frames: list[str]) -> int | None:
    """The index of a sample's first frame inside an event-loop callback, None when the
    sample is not of the event loop running one."""
    for loop_frame in LOOP_FRAMES:
        for i, frame in enumerate(frames):
            if frame.startswith(loop_frame + " "):
                return i + 1 if i + 1 < len(frames) else None
    return None


async def _load(url: str, run_id: str, kind: str, seconds: float) -> int:
    clients = [AsyncPipelineServiceClient(url) for _ in range(CLIENTS)]
    deadline = time.monotonic() + seconds
    done = 0

    async def loop(client: AsyncPipelineServiceClient) -> None:
        nonlocal done
        i = 0
        while time.monotonic() < deadline:
            if kind == "health":
                await client.health_check()
            elif kind == "get_run":
                await client.get_run(run_id)
            else:
                await client.report_progress(
                    run_id,
                    current_action_index=0,
                    action_progress={"name": "a0", "progress": (i % 100) / 100},
                )
            i += 1
            done += 1

    try:
        await asyncio.gather(*(loop(c) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    return done


def _fanout(
    client: PipelineServiceClient, server: ServerProcess, run_id: str, n: int, seconds: float
) -> tuple[int, float]:
    """Events sent and the server's CPU seconds for them (opening the streams not counted)."""
    helper = Helper("_subscribers", server.url, run_id, str(n), "latency", "socket")
    try:
        helper.wait_ready()
        deadline = time.monotonic() + seconds
        k = 0
        with CpuMeter(server.pid) as meter:
            while time.monotonic() < deadline:
                client.report_progress(
                    run_id,
                    current_action_index=0,
                    action_progress={"name": "a0", "message": f"m{k}"},
                )
                k += 1
                time.sleep(0.05)
        client.update_run(run_id, status="completed")
        helper.result()
    finally:
        helper.kill()
    return k * n, meter.cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["health", "get_run", "report_progress", "fanout"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw profile here")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp) / "profile.txt"
        with ServerProcess() as server, PipelineServiceClient(server.url) as client:
            actions = [{"name": f"a{i}", "entrypoint": "benchmarks.actions:noop"} for i in range(3)]
            pipeline_id = client.create_pipeline("profile", actions)["id"]
            run_id = client.create_run(pipeline_id)["id"]
            record = subprocess.Popen(
                [spy, "record", "-p", str(server.pid), "-d", str(int(args.seconds) + 1),
                 "-r", "250", "--nonblocking", "-f", "raw", "-o", str(raw)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
            time.sleep(0.5)
            if args.kind == "fanout":
                units, cpu = _fanout(client, server, run_id, args.subscribers, args.seconds)
                what = "events"
            else:
                with CpuMeter(server.pid) as meter:
                    units = asyncio.run(_load(server.url, run_id, args.kind, args.seconds))
                cpu, what = meter.cpu, "requests"
            _, err = record.communicate()
            if record.returncode != 0:
                print(f"py-spy failed: {err.decode(errors='replace')}", file=sys.stderr)
                return 1
        print(f"{args.kind}: {units} {what}, server CPU {1e6 * cpu / units:.0f} µs each")
        print(summarize(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())

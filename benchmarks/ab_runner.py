"""Side by side: a worker's no-op action with another checkout's code ("before") and this one's.

    python -m benchmarks.ab_runner BEFORE_SRC [--rounds 5] [--repeats 3] [--actions 10]

BEFORE_SRC is the `src` directory of the code to compare with (e.g. `git worktree add
/tmp/before main`, then `/tmp/before/src`). Each round runs section 5's no-op pipeline
(`runner.noop_pipeline`: a `Worker`, each action in a child process) once per code, in a fresh
interpreter whose `pipeline_service` (worker, children and server) is that code; rounds alternate
the order, so a change in the machine's load hits both. Prints each round's ms per action, CPU
per action (worker, server, fork server and action processes together: the steadier figure on a
shared machine) and requests per run, then each code's medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks._harness import ROOT, python_env

_CHILD = """
import json, sys
from benchmarks._harness import Results, ServerProcess
from benchmarks.runner import noop_pipeline

if __name__ == "__main__":
    results = Results()
    with ServerProcess().start() as server:
        noop_pipeline(
            results, server.url, actions_count={actions}, repeats={repeats}, server_pid=server.pid
        )
    figures = {{f.name: f.value for f in results.figures}}
    print("RESULT " + json.dumps(figures), flush=True)
"""


def _measure(src: Path, actions: int, repeats: int) -> dict[str, float]:
    env = python_env()
    env["PYTHONPATH"] = os.pathsep.join([str(src), env["PYTHONPATH"]])
    script = _CHILD.format(actions=actions, repeats=repeats)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            figures: dict[str, float] = json.loads(line[len("RESULT ") :])
            return figures
    raise RuntimeError(f"the benchmark with {src} failed:\n{done.stdout}\n{done.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the src directory of the code to compare")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per round")
    parser.add_argument("--actions", type=int, default=10)
    args = parser.parse_args()
    codes = {"before": args.before.resolve(), "after": ROOT / "src"}
    per_action = "no-op action in a worker, ms per action"
    cpu = "no-op action in a worker: CPU per action (all processes)"
    requests = f"requests per {args.actions}-action run, worker (incl. claim, release)"
    seen: dict[str, list[float]] = {code: [] for code in codes}
    seen_cpu: dict[str, list[float]] = {code: [] for code in codes}
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    for round_ in range(args.rounds):
        order = list(codes) if round_ % 2 == 0 else list(reversed(codes))
        for code in order:
            figures = _measure(codes[code], args.actions, args.repeats)
            seen[code].append(figures[per_action])
            seen_cpu[code].append(figures[cpu])
            print(
                f"round {round_ + 1}  {code:6}  {figures[per_action]:6.1f} ms per action"
                f"  CPU {figures[cpu]:5.1f} ms  {figures[requests]:4.0f} requests per run"
                f"  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    for code, values in seen.items():
        print(
            f"{code:6}  median {statistics.median(values):6.1f} ms per action "
            f"(min {min(values):.1f}, max {max(values):.1f}), "
            f"CPU {statistics.median(seen_cpu[code]):.1f} ms per action"
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Testing your own code against a real Pipeline Service: a pytest plugin and `run_worker`.

Installed with the package, the plugin (registered through the `pytest11` entry point) gives
every test suite these fixtures:

* `pipeline_service_server`: the reference server, in-process on a free 127.0.0.1 port with a
  temporary SQLite database, one per test (`pipeline_service_session_server`: one per session);
* `pipeline_service_client` / `async_pipeline_service_client`: clients bound to it (the async
  one needs pytest-asyncio);
* `pipeline_service_server_options`: keyword arguments of the server (override it to set a
  token, a heartbeat interval…);
* `run_worker`: `run_worker(client, run_id)` executes a run's actions in this process.

The server needs the `server` extra: `pip install "pipeline-service[server]"`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline_service.testing.run_worker import run_worker

__all__ = ["run_worker"]


def __getattr__(name: str) -> Any:
    # Lazy: the pytest plugin imports this package at start-up, before any test needs it.
    if name == "run_worker":
        from pipeline_service.testing.run_worker import run_worker

        return run_worker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

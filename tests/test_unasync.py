"""The blocking client is generated from the async one: the committed files must match."""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from pipeline_service import AsyncPipelineServiceClient, PipelineServiceClient

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "unasync.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sync_twins_match_their_async_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_hand_edited_twin_is_reported_stale(tmp_path: Path) -> None:
    unasync = load_script()
    for name in [*unasync.FILES, *unasync.FILES.values()]:
        shutil.copy(unasync.PACKAGE / name, tmp_path / name)
    assert unasync.stale_files(tmp_path) == []
    client = tmp_path / "client.py"
    client.write_text(client.read_text().replace("def get_run(", "def get_run_by_hand(", 1))
    assert unasync.stale_files(tmp_path) == ["client.py"]


def test_rules_turn_async_code_into_blocking_code() -> None:
    unasync = load_script()
    source = (
        "import anyio\n"
        "async def f(c: httpx.AsyncClient) -> AsyncIterator[int]:\n"
        "    async with c.stream() as r:\n"
        "        async for x in r.aiter_text():\n"
        "            await anyio.sleep(1)\n"
        "    await r.aclose()\n"
    )
    assert unasync.unasync(source) == (
        "import time\n"
        "def f(c: httpx.Client) -> Iterator[int]:\n"
        "    with c.stream() as r:\n"
        "        for x in r.iter_text():\n"
        "            time.sleep(1)\n"
        "    r.close()\n"
    )


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_both_clients_offer_the_same_methods_with_the_same_parameters() -> None:
    sync = public_methods(PipelineServiceClient)
    async_ = public_methods(AsyncPipelineServiceClient)
    assert set(async_) - set(sync) == {"aclose"}
    assert set(sync) <= set(async_)
    for name, signature in sync.items():
        assert list(signature.parameters) == list(async_[name].parameters), name

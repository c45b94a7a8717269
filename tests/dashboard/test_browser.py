"""The dashboard in headless Chromium against a live `serve` with workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import TOKEN_KEY, Service, missing, open_page

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:
    missing("playwright is not installed (pip install -e '.[dev]')", module=True)

from pipeline_service import PipelineServiceClient
from pipeline_service.cli.demo import DEMO_ACTIONS
from pipeline_service.server import EmbeddedServer

pytestmark = pytest.mark.slow

# Runs take seconds; a loaded machine can make that many more.
expect.set_options(timeout=90_000)

# Long enough to watch (and to cancel); short enough for a test.
WATCHED_PARAMS = {"dataset": 7, "rows": 3000, "epochs": 60, "pace": 0.1}
SLOW_PARAMS = {"dataset": 8, "rows": 1000, "epochs": 10_000, "pace": 0.5}


def new_run(service: Service, params: dict[str, Any], name: str = "Demo") -> dict[str, Any]:
    with service.client() as client:
        pipeline = client.create_pipeline(name, DEMO_ACTIONS, "The sample pipeline")
        return dict(client.create_run(pipeline["id"], params=params))


def run_url(service: Service, run: dict[str, Any]) -> str:
    return f"{service.url}/ui/runs/{run['id']}"


def test_runs_table_shows_a_new_run(page: Page, service: Service) -> None:
    page.goto(service.url + "/")
    expect(page.locator("#runs-table")).to_be_visible()
    run = new_run(service, {"dataset": 1, "rows": 200, "epochs": 2, "pace": 0}, "Appears live")
    row = page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator(".pipeline-name")).to_have_text("Appears live")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator(".bar")).to_have_attribute("aria-valuenow", "100")

    page.select_option("#status-filter", "failed")
    expect(page).to_have_url(f"{service.url}/?status=failed")
    expect(row).to_have_count(0)


def test_runs_table_is_push_only(page: Page, service: Service, artifacts: Path) -> None:
    """A run created from the command line (another process) appears, changes and goes
    without a reload, and the page reads the list once: no polling, only the runs stream."""
    quick = {"dataset": 1, "rows": 200, "epochs": 2, "pace": 0}
    with service.client() as client:
        pipeline = client.create_pipeline("Push only", DEMO_ACTIONS, "Never polled")
        earlier = [client.create_run(pipeline["id"], params=quick) for _ in range(2)]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{service.url}/?pipeline={pipeline['id']}")
    for run in earlier:
        expect(page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')).to_be_visible()
    created = subprocess.run(
        [sys.executable, "-m", "pipeline_service", "runs", "create", pipeline["id"],
         "-p", "dataset=1", "-p", "rows=400", "-p", "epochs=40", "-p", "pace=0.1", "--json"],
        env={**os.environ, "PIPELINE_SERVICE_URL": service.url,
             "PIPELINE_SERVICE_TOKEN": service.token},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    run = json.loads(created.stdout)
    row = page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')
    expect(row).to_be_visible()
    expect(page.locator("#runs-table tbody tr").first).to_have_attribute("data-run-id", run["id"])
    expect(row.locator(".pipeline-name")).to_have_text("Push only")
    expect(row).to_have_attribute("data-status", "running")
    page.screenshot(
        path=artifacts / "dashboard-runs.png",
        clip={"x": 0, "y": 0, "width": 1280, "height": 320},
        animations="disabled",  # bars at their width, not mid-transition
    )
    expect(row).to_have_attribute("data-status", "completed")  # the workers ran it
    expect(row.locator(".bar")).to_have_attribute("aria-valuenow", "100")
    with service.client() as client:
        client.delete_run(run["id"])
    expect(row).to_have_count(0)
    api = [url.split("/api/v1", 1)[1] for url in requests if "/api/v1/" in url]
    lists = [path for path in api if "/runs/?" in path or path.startswith("/pipelines/?")]
    streams = [path for path in api if path.startswith("/runs/stream")]
    assert len(streams) == 1, api
    assert sorted(lists) == sorted(
        [f"/pipelines/{pipeline['id']}/runs/?limit=100", "/pipelines/?limit=1000"]
    ), api
    assert len(api) == 3, api


def test_a_run_leaving_the_status_filter_leaves_the_table(page: Page, service: Service) -> None:
    with service.client() as client:
        pipeline = client.create_pipeline("Status filter", DEMO_ACTIONS, "Leaves the table")
        run = client.create_run(pipeline["id"], params=SLOW_PARAMS)
        page.goto(f"{service.url}/?status=running&pipeline={pipeline['id']}")
        row = page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')
        expect(row).to_be_visible()  # once a worker runs it
        expect(row).to_have_attribute("data-status", "running")
        client.cancel_run(run["id"])
        expect(row).to_have_count(0)


def test_a_run_whose_labels_leave_the_selector_leaves_the_table(
    page: Page, service: Service
) -> None:
    team = f"l{time.monotonic_ns()}"
    with service.client() as client:
        actions = [{"name": "train", "entrypoint": "nowhere.Train"}]
        pipeline = client.create_pipeline("Relabelled", actions, dedicated_workers=True)
        run = client.create_run(pipeline["id"], labels={"team": team})
        page.goto(f"{service.url}/?label=team%3D{team}")
        row = page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')
        expect(row).to_be_visible()
        client.update_run(run["id"], labels={"team": "elsewhere"})
        expect(row).to_have_count(0)
        client.update_run(run["id"], labels={"team": team})
        expect(row).to_be_visible()  # back in the selector: back in the table


def test_run_page_follows_a_run_to_completion(
    page: Page, service: Service, artifacts: Path
) -> None:
    run = new_run(service, WATCHED_PARAMS)
    page.goto(run_url(service, run))
    train = page.locator('.action[data-action="train"]')
    expect(train).to_be_visible()
    # The bars advance live: the train bar is seen part-way (and pictured), then full.
    page.wait_for_function(
        """() => {
            const bar = document.querySelector('.action[data-action="train"] .bar');
            const value = Number(bar && bar.getAttribute('aria-valuenow'));
            return value > 50 && value < 100;
        }"""
    )
    page.screenshot(path=artifacts / "dashboard-run-live.png")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "completed")
    for name in ("download", "convert", "train"):
        action = page.locator(f'.action[data-action="{name}"]')
        expect(action).to_have_attribute("data-status", "completed")
        expect(action.locator(".bar")).to_have_attribute("aria-valuenow", "100")
    expect(train.locator(".amount")).to_have_text("60 / 60 epoch")
    expect(train.locator(".ran-on")).to_have_attribute("data-executor", "process")
    expect(train.locator(".ran-on")).to_contain_text("ran on process · node ")
    expect(page.locator("#logs")).to_contain_text("Action 'train' completed")
    expect(page.locator("#logs")).to_contain_text("end of log · run completed")
    expect(page.locator("#checkpoints tbody tr")).to_have_count(3)
    expect(page.locator("#result")).to_contain_text('"r2"')

    loss = page.locator('figure.chart[data-action="train"][data-metric="loss"]')
    expect(loss).to_be_visible()
    assert int(loss.get_attribute("data-points") or 0) >= 2
    path = loss.locator("path.line").get_attribute("d") or ""
    assert path.count("L") >= 1, path

    shot = artifacts / "dashboard-run.png"
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 10_000


def test_run_page_shows_the_ray_node_and_task_an_action_ran_on(
    page: Page, service: Service
) -> None:
    ran_on = {"executor": "ray", "node": "5f1c0d3e9b", "task_id": "16310a0f0a45af5c" + "f" * 24}
    with service.client() as client:  # dedicated: the service's own workers leave it alone
        pipeline = client.create_pipeline("On Ray", DEMO_ACTIONS[:1], dedicated_workers=True)
        run: dict[str, Any] = dict(client.create_run(pipeline["id"]))
        name = pipeline["actions"][0]["name"]
        client.report_progress(
            run["id"],
            current_action_index=0,
            action_progress={"name": name, "status": "running", "ran_on": ran_on},
        )
    page.goto(run_url(service, run))
    where = page.locator(f'.action[data-action="{name}"] .ran-on')
    expect(where).to_have_text("ran on ray · node 5f1c0d3e9b · task 16310a0f0a45…")
    expect(where).to_have_attribute(
        "title", f"executor: ray\nnode: 5f1c0d3e9b\ntask: {ran_on['task_id']}"
    )


def test_log_level_filter_hides_and_shows_lines(page: Page, service: Service) -> None:
    run = new_run(service, {"dataset": 2, "rows": 200, "epochs": 2, "pace": 0})
    with service.client() as client:
        client.append_logs(
            run["id"],
            [{"message": "careful", "level": "warning"}, {"message": "noise", "level": "debug"}],
        )
    page.goto(run_url(service, run))
    warning = page.locator('.log-line[data-level="warning"]', has_text="careful")
    expect(warning).to_be_visible()
    page.click('.level-toggle[data-level="warning"]')
    expect(warning).to_be_hidden()
    expect(page.locator('.log-line[data-level="debug"]', has_text="noise")).to_be_visible()
    page.click('.level-toggle[data-level="warning"]')
    expect(warning).to_be_visible()


def test_cancel_cancels_a_slow_run_and_resume_continues_it(page: Page, service: Service) -> None:
    run = new_run(service, SLOW_PARAMS, "Slow")
    page.goto(run_url(service, run))
    expect(page.locator('.action[data-action="train"]')).to_have_attribute("data-status", "running")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmation
    page.click("#cancel-run")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "cancelled")
    train = page.locator('.action[data-action="train"]')
    expect(train).to_have_attribute("data-status", "cancelled")  # live, without a reload
    expect(train.locator(".status .pill")).to_have_text("cancelled")
    expect(page.locator("#cancel-run")).to_be_hidden()
    with service.client() as client:
        assert client.get_run(run["id"])["status"] == "cancelled"

    # Resume with edited params: a new run that starts after the cancelled run's checkpoints.
    page.click("#resume-run")
    editor = page.locator("#resume-dialog textarea")
    expect(editor).to_have_value(json.dumps(SLOW_PARAMS, indent=2))
    edited = {**SLOW_PARAMS, "epochs": 5000, "note": "resumed"}
    editor.fill(json.dumps(edited))
    page.click("#resume-dialog button[type=submit]")
    page.wait_for_url(lambda url: "/ui/runs/" in url and run["id"] not in url)
    resumed_id = page.url.rsplit("/", 1)[1]
    for name in ("download", "convert"):
        expect(page.locator(f'.action[data-action="{name}"]')).to_have_attribute(
            "data-status", "skipped"
        )
    expect(page.locator('.action[data-action="train"]')).to_have_attribute("data-status", "running")
    with service.client() as client:
        assert client.get_run(resumed_id)["params"] == edited
        copied = client.get_checkpoints(resumed_id)
    assert {"download", "convert"} <= {c["action_name"] for c in copied}
    page.click("#cancel-run")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "cancelled")


def test_artifacts_download_and_lineage_links(
    page: Page, service: Service, artifacts: Path
) -> None:
    run = new_run(service, {"dataset": 3, "rows": 200, "epochs": 3, "checkpoint_every": 1})
    with service.client() as client:
        assert client.wait_for_completion(run["id"], timeout=120)["status"] == "completed"
        stored = {a["path"]: a for a in client.list_artifacts(run["id"])}
    assert sorted(stored) == [f"train/step-{n}/model.json" for n in (1, 2, 3)]
    page.goto(run_url(service, run))
    rows = page.locator("#artifacts tbody tr")
    expect(rows).to_have_count(3)
    row = page.locator('#artifacts tr[data-path="train/step-3/model.json"]')
    expect(row.locator("td.size")).to_have_text(f"{stored['train/step-3/model.json']['size']} B")
    with page.expect_download() as info:
        row.locator("button").click()
    saved = Path(info.value.path())
    assert info.value.suggested_filename == "model.json"
    assert json.loads(saved.read_text())["bias"] is not None
    expect(page.locator("#checkpoints")).to_contain_text("train/step-3/model.json")

    # Resume from the train action: the new run links back, and this one forward.
    page.click("#resume-run")
    page.select_option("#resume-from", "train")
    page.click("#resume-dialog button[type=submit]")
    page.wait_for_url(lambda url: "/ui/runs/" in url and run["id"] not in url)
    resumed_id = page.url.rsplit("/", 1)[1]
    lineage = page.locator("#lineage")
    expect(lineage).to_contain_text(f"Resumed from {run['id'][:8]} (again from train)")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "completed")
    page.screenshot(path=artifacts / "dashboard-run-artifacts.png", full_page=True)
    lineage.locator("a").click()
    expect(page).to_have_url(run_url(service, run))
    expect(page.locator("#resumed-by a")).to_have_text(resumed_id[:8])


def test_start_a_run_with_params_from_the_pipelines_page(page: Page, service: Service) -> None:
    with service.client() as client:
        pipeline = client.create_pipeline("Started from the page", DEMO_ACTIONS)
    page.goto(f"{service.url}/ui/pipelines")
    card = page.locator(f'.pipeline-card[data-pipeline-id="{pipeline["id"]}"]')
    card.locator("button[data-start]").click()
    editor = card.locator("textarea")
    start = card.locator("button[type=submit]")
    editor.fill('{"epochs": 2,}')
    expect(card.locator(".validity")).to_contain_text("Not JSON")
    expect(start).to_be_disabled()
    editor.fill('["not", "an", "object"]')
    expect(card.locator(".validity")).to_contain_text("must be a JSON object")
    editor.fill('{"dataset": 3, "rows": 200, "epochs": 2, "pace": 0}')
    expect(card.locator(".validity")).to_contain_text("Valid JSON object (4 keys)")
    start.click()
    page.wait_for_url(f"{service.url}/ui/runs/**")
    run_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#run-status")).to_have_attribute("data-status", "completed")
    with service.client() as client:
        run = client.get_run(run_id)
    assert run["pipeline_id"] == pipeline["id"]
    assert run["params"] == {"dataset": 3, "rows": 200, "epochs": 2, "pace": 0}


def test_token_prompt(browser: Browser, service: Service) -> None:
    page, errors = open_page(browser, token=None)
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(service.url + "/")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    page.fill("#token-input", "not-the-token")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-error")).to_contain_text("refused")
    page.fill("#token-input", service.token)
    page.click("#token-form button[type=submit]")
    expect(dialog).to_be_hidden()
    expect(page.locator("#runs-table")).to_be_visible()
    expect(page.locator(".error-banner")).to_be_hidden()
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_KEY!r})") == service.token
    assert not [url for url in urls if service.token in url or "not-the-token" in url]
    page.context.close()
    assert errors == []


def test_narrow_screen_and_dark_scheme(browser: Browser, service: Service, artifacts: Path) -> None:
    run = new_run(service, {"dataset": 4, "rows": 300, "epochs": 3, "pace": 0})
    page, errors = open_page(
        browser, token=service.token, viewport={"width": 390, "height": 844}, color_scheme="dark"
    )
    page.goto(run_url(service, run))
    expect(page.locator("#run-status")).to_have_attribute("data-status", "completed")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"  # the dark palette
    page.screenshot(path=artifacts / "dashboard-run-phone-dark.png", full_page=True)
    page.context.close()
    assert errors == []


@pytest.mark.parametrize(
    ("scheme", "background", "panel", "shadow_none"),
    [
        ("light", "rgb(245, 246, 248)", "rgb(255, 255, 255)", False),
        ("dark", "rgb(13, 17, 23)", "rgb(21, 27, 35)", True),
    ],
)
def test_each_scheme_takes_its_side_of_the_palette(
    browser: Browser, service: Service, scheme: str, background: str, panel: str, shadow_none: bool
) -> None:
    """Every colour is `light-dark(light, dark)`: the system's scheme picks a side; --shadow,
    not a colour, switches in the media query."""
    page, errors = open_page(browser, token=service.token, color_scheme=scheme)
    page.goto(service.url + "/")
    expect(page.locator("#runs-table")).to_be_visible()
    style = "getComputedStyle(document.querySelector('.panel'))"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    assert page.evaluate(f"{style}.backgroundColor") == panel
    assert (page.evaluate(f"{style}.boxShadow") == "none") is shadow_none
    page.context.close()
    assert errors == []


def test_event_stream_parser_across_chunk_boundaries(page: Page, service: Service) -> None:
    """Fields split anywhere (even between the \\r and \\n of a line break) parse the same."""
    page.goto(service.url + "/ui/pipelines")
    events = page.evaluate(
        """async () => {
            const { readEvents } = await import("/ui/assets/api.js");
            const chunks = [": ping\\r\\n\\r\\nretry: 2000\\r\\n\\r\\nid: 1\\r",
                            "\\nevent: progress\\r\\ndata: {\\"a\\":", "1}\\r\\n\\r",
                            "\\nid: 2\\nevent: completed\\ndata: {\\"a\\":2}\\n\\n",
                            "data: never\\n\\n"];
            const encoder = new TextEncoder();
            const body = new ReadableStream({
                start(controller) {
                    for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
                    controller.close();
                },
            });
            const seen = [];
            const stopped = await readEvents(body, (field) => {
                seen.push(field);
                return field.event === "completed";
            });
            return { seen, stopped };
        }"""
    )
    assert events == {
        "seen": [
            {"retry": 2000},
            {"id": "1", "event": "progress", "data": {"a": 1}},
            {"id": "2", "event": "completed", "data": {"a": 2}},
        ],
        "stopped": True,
    }


def test_a_server_without_token_asks_for_none(browser: Browser, tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path / "open.db") as server:
        page, errors = open_page(browser, token=None)
        page.goto(server.url + "/")
        expect(page.locator("#runs-table")).to_be_visible()
        with PipelineServiceClient(server.url) as client:
            pipeline = client.create_pipeline("Open", DEMO_ACTIONS)
            run = client.create_run(pipeline["id"])
        expect(page.locator(f'#runs-table tr[data-run-id="{run["id"]}"]')).to_be_visible()
        expect(page.locator("#token-dialog")).to_be_hidden()
        expect(page.locator("#forget-token")).to_be_hidden()
        page.context.close()
    assert errors == []


def dedicated_run(service: Service) -> dict[str, Any]:
    """A run no worker of the service takes (its pipeline has dedicated workers)."""
    with service.client() as client:
        pipeline = client.create_pipeline("Held", DEMO_ACTIONS, dedicated_workers=True)
        return dict(client.create_run(pipeline["id"]))


def test_cancel_asks_first_and_shows_the_action_cancelled_and_the_rest_not_run(
    page: Page, service: Service
) -> None:
    run = dedicated_run(service)
    with service.client() as client:
        client.report_progress(
            run["id"],
            status="running",
            current_action="download",
            current_action_index=0,
            action_progress={"name": "download", "status": "running", "progress": 0.3},
        )
    page.goto(run_url(service, run))
    download = page.locator('.action[data-action="download"]')
    expect(download).to_have_attribute("data-status", "running")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")

    questions: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        questions.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.click("#cancel-run")
    [question] = questions
    assert question.startswith("Cancel this run of Held?")
    with service.client() as client:
        assert client.get_run(run["id"])["status"] == "running"  # said no: nothing happened

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.click("#cancel-run")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "cancelled")
    expect(download.locator(".status .pill")).to_have_text("cancelled")
    for name in ("convert", "train"):
        pill = page.locator(f'.action[data-action="{name}"] .status .pill')
        expect(pill).to_have_text("not run")
        expect(pill).to_have_attribute("data-status", "not-run")
    # Nothing is followed any more: no "idle" badge that reads as "disconnected".
    expect(page.locator("#live")).to_be_hidden()
    page.goto(f"{service.url}/ui/pipelines")
    expect(page.locator(".pipeline-card").first).to_be_visible()
    expect(page.locator("#live")).to_be_hidden()


def test_a_lost_connection_is_a_banner_and_disables_the_page(
    browser: Browser, tmp_path: Path
) -> None:
    page, errors = open_page(browser, token=None)
    with EmbeddedServer(tmp_path / "lost.db") as server:
        with PipelineServiceClient(server.url) as client:
            pipeline = client.create_pipeline("Lost", DEMO_ACTIONS)
            run = client.create_run(pipeline["id"])
        page.goto(f"{server.url}/ui/runs/{run['id']}")
        expect(page.locator("#live")).to_have_attribute("data-state", "live")
        expect(page.locator("#offline")).to_be_hidden()
    # The server is gone: its streams broke.
    banner = page.locator("#offline")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Connection to the Pipeline Service lost")
    assert page.locator("#main").evaluate("main => main.inert") is True
    expect(page.locator("#live")).to_have_attribute("data-state", "reconnecting")
    page.context.close()
    assert errors == []


def test_phone_layout_says_the_status_in_words_and_arrows_point_down(
    browser: Browser, service: Service
) -> None:
    new_run(service, {"dataset": 4, "rows": 300, "epochs": 3, "pace": 0}, "Phone")
    page, errors = open_page(browser, token=service.token, viewport={"width": 390, "height": 844})
    page.goto(f"{service.url}/")
    pill = page.locator("table.runs .pill").first
    expect(pill).to_be_visible()
    assert pill.inner_text().strip().lower() in (
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
    )
    assert pill.evaluate("p => parseFloat(getComputedStyle(p).fontSize)") >= 10
    page.goto(f"{service.url}/ui/pipelines")
    arrow = page.locator(".pipeline-card .arrow").first
    expect(arrow).to_be_visible()
    assert arrow.evaluate("a => getComputedStyle(a).transform") != "none"  # rotated: down
    chain = page.locator(".pipeline-card .chain").first
    assert chain.evaluate("c => getComputedStyle(c).flexDirection") == "column"
    page.context.close()
    assert errors == []


def loss_at(step: int, value: float) -> dict[str, Any]:
    return {"action_name": "train", "step": step, "values": {"loss": value}}


def test_run_page_charts_steps_by_attempt_and_shows_the_events(
    page: Page, service: Service
) -> None:
    with service.client() as client:
        # Dedicated: the service's own workers never take it; this test plays two workers.
        actions = [{"name": "train", "entrypoint": "nowhere.Train"}]
        pipeline = client.create_pipeline("Stepped", actions, dedicated_workers=True)
        run: dict[str, Any] = dict(client.create_run(pipeline["id"]))
        first = client.claim_run("worker-one", lease_seconds=1, pipeline_id=pipeline["id"])
        assert first is not None
        token = first["lease_token"]
        client.report_progress(
            run["id"], action_progress={"name": "train", "status": "running"}, lease_token=token
        )
        losses = [1.0, 0.8, float("nan"), 0.6, 0.5]
        client.append_metrics(
            run["id"],
            [
                {"action_name": "train", "step": s, "values": {"loss": v}}
                for s, v in enumerate(losses)
            ],
            lease_token=token,
        )
        deadline = time.monotonic() + 60
        second = None
        while second is None:  # the first lease runs out: the second worker takes over
            assert time.monotonic() < deadline
            time.sleep(0.2)
            second = client.claim_run("worker-two", pipeline_id=pipeline["id"])
        token = second["lease_token"]
        client.append_metrics(
            run["id"],
            [
                {"action_name": "train", "step": s, "values": {"loss": 0.5 - s / 100}}
                for s in range(4, 8)
            ],
            lease_token=token,
        )
        client.report_progress(
            run["id"],
            action_progress={"name": "train", "status": "completed"},
            status="completed",
            lease_token=token,
        )

    page.goto(run_url(service, run))
    loss = page.locator('figure.chart[data-action="train"][data-metric="loss"]')
    expect(loss).to_have_attribute("data-axis", "step")
    expect(loss).to_have_attribute("data-points", "8")  # the NaN is a gap, not a point
    # Three segments: before the NaN, after it, and the second worker's attempt.
    expect(loss).to_have_attribute("data-segments", "3")
    assert (loss.locator("path.line").get_attribute("d") or "").count("M") == 3
    events = page.locator("#events tbody tr")
    expect(page.locator('#events tr[data-type="completed"]')).to_have_count(1)
    kinds = [row.get_attribute("data-type") for row in events.all()]
    assert kinds == [
        "created",
        "claimed",
        "started",
        "action_started",
        "lease_expired",
        "taken_over",
        "action_completed",
        "completed",
    ]
    expect(page.locator('#events tr[data-type="claimed"]')).to_contain_text("worker-one")
    expect(page.locator('#events tr[data-type="taken_over"]')).to_contain_text(
        "Taken over by worker worker-two"
    )


def test_pipeline_filter_lists_the_pipelines_and_shows_the_chosen_one(
    page: Page, service: Service
) -> None:
    with service.client() as client:
        actions = [{"name": "train", "entrypoint": "nowhere.Train"}]
        chosen = client.create_pipeline("Chosen", actions, dedicated_workers=True)
        client.create_pipeline("Other", actions, dedicated_workers=True)
    page.goto(f"{service.url}/?pipeline={chosen['id']}")
    select = page.locator("#pipeline-filter")
    expect(select).to_have_value(chosen["id"])
    expect(select.locator(f'option[value="{chosen["id"]}"]')).to_have_text("Chosen")
    page.select_option("#pipeline-filter", "")
    expect(page).to_have_url(f"{service.url}/")


def test_runs_table_filters_by_label_selector(page: Page, service: Service) -> None:
    team = f"t{time.monotonic_ns()}"
    with service.client() as client:
        actions = [{"name": "train", "entrypoint": "nowhere.Train"}]
        pipeline = client.create_pipeline("Labelled", actions, dedicated_workers=True)
        dev = client.create_run(pipeline["id"], labels={"team": team, "stage": "dev"})
        prod = client.create_run(pipeline["id"], labels={"team": team, "stage": "prod"})
        client.create_run(pipeline["id"], labels={"team": "other"})
    page.goto(service.url + "/")
    page.fill("#label-filter", f"team={team},stage!=prod")
    page.press("#label-filter", "Enter")
    expect(page).to_have_url(f"{service.url}/?label=team%3D{team}%2Cstage%21%3Dprod")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", dev["id"])
    page.goto(f"{service.url}/?label=team%3D{team}&pipeline={pipeline['id']}")
    expect(rows).to_have_count(2)
    expect(page.locator(f'#runs-table tr[data-run-id="{prod["id"]}"]')).to_be_visible()
    page.fill("#label-filter", "team in nlp")
    page.press("#label-filter", "Enter")
    expect(page.locator(".error-banner")).to_contain_text(
        "label selector 'team in nlp': team: a set of values is written in parentheses"
    )


def test_selected_runs_are_compared_side_by_side(page: Page, service: Service) -> None:
    team = f"c{time.monotonic_ns()}"
    runs = []
    with service.client() as client:
        actions = [{"name": "train", "entrypoint": "nowhere.Train"}]
        pipeline = client.create_pipeline("Compared", actions, dedicated_workers=True)
        for lr in (0.1, 0.5):
            run = client.create_run(
                pipeline["id"], params={"lr": lr, "epochs": 3}, labels={"team": team}
            )
            client.append_metrics(run["id"], [loss_at(step, lr / (step + 1)) for step in range(5)])
            runs.append(run)
    page.goto(f"{service.url}/?label=team%3D{team}")
    expect(page.locator("#runs-table tbody tr")).to_have_count(2)
    expect(page.locator("#compare-runs")).to_be_disabled()
    for run in runs:
        page.check(f'#runs-table tr[data-run-id="{run["id"]}"] input.select-run')
    page.click("#compare-runs")
    expect(page).to_have_url(f"{service.url}/ui/compare?runs={runs[0]['id']},{runs[1]['id']}")
    params = page.locator("#compare-params tbody tr")
    expect(params).to_have_count(1)  # epochs is the same in both
    expect(params.first).to_have_attribute("data-param", "lr")
    expect(params.first).to_contain_text("0.5")
    chart = page.locator('#compare-charts figure.overlay[data-action="train"][data-metric="loss"]')
    expect(chart).to_have_attribute("data-runs", "2")
    expect(chart.locator("path.line")).to_have_count(2)

// The runs table: newest first, filtered by status, pipeline and a label selector. Rows of
// pending and running runs follow their progress streams; the list is re-read when a stream
// reports a change of state, and every few seconds while the page is visible, to pick up runs
// started elsewhere.

import { MAX_RUNS, MIN_RUNS } from "./compare.js";
import { follow, request, seg } from "./api.js";
import {
  RUN_STATUSES,
  TERMINAL,
  elapsed,
  formatDuration,
  formatTime,
  h,
  percent,
  progressBar,
  runFraction,
  setText,
  shortId,
  statusPill,
  throttle,
  updateBar,
} from "./dom.js";
import { navigate, runUrl } from "./nav.js";

// Browsers open at most 6 HTTP/1.1 connections per host: leave room for requests.
const MAX_STREAMS = 4;
const DISCOVERY_MS = 5000;
const PAGE = 100;

export function renderRuns(main, _arg, query) {
  const status = RUN_STATUSES.includes(query.get("status")) ? query.get("status") : "";
  const pipelineId = query.get("pipeline") ?? "";
  const label = query.get("label") ?? "";
  const controller = new AbortController();
  const streams = new Map();
  const rows = new Map();
  const pipelines = new Map();
  let stopped = false;

  const banner = h("div.error-banner", { hidden: true, role: "alert" });
  const statusSelect = h(
    "select#status-filter",
    { "aria-label": "Status", onchange: () => applyFilters() },
    h("option", { value: "", text: "All statuses" }),
    RUN_STATUSES.map((s) => h("option", { value: s, text: s, selected: s === status })),
  );
  const pipelineSelect = h(
    "select#pipeline-filter",
    { "aria-label": "Pipeline", onchange: () => applyFilters() },
    h("option", { value: "", text: "All pipelines" }),
  );
  const labelInput = h("input#label-filter", {
    type: "search",
    value: label,
    placeholder: "team=nlp,stage!=dev",
    "aria-label": "Labels",
    spellcheck: false,
    onchange: () => applyFilters(),
  });
  const selected = new Set();
  const compareButton = h("button#compare-runs", { type: "button", disabled: true, onclick: () => compare() }, "Compare");
  const tbody = h("tbody");
  const empty = h("div.empty", { hidden: true });
  const count = h("span.muted");

  main.append(
    h(
      "div.page-head",
      h("h1", "Runs"),
      count,
      h("span.spacer"),
      h(
        "div.filters",
        h("label", "Status", statusSelect),
        h("label", "Pipeline", pipelineSelect),
        h("label", "Labels", labelInput),
      ),
      compareButton,
      h("a.button", { href: "/ui/pipelines", "data-nav": true }, "Start a run"),
    ),
    banner,
    h(
      "div.panel",
      h(
        "div.table-wrap",
        h(
          "table.runs#runs-table",
          h(
            "thead",
            h(
              "tr",
              h("th.col-select", { "aria-label": "Select to compare" }),
              h("th.col-status", "Status"),
              h("th.col-pipeline", "Pipeline"),
              h("th.col-run", "Run"),
              h("th.col-action", "Current action"),
              h("th.col-progress", "Progress"),
              h("th.col-started", "Started"),
              h("th.col-duration", "Duration"),
            ),
          ),
          tbody,
        ),
      ),
      empty,
    ),
  );

  function applyFilters() {
    const params = new URLSearchParams();
    if (statusSelect.value) params.set("status", statusSelect.value);
    if (pipelineSelect.value) params.set("pipeline", pipelineSelect.value);
    if (labelInput.value.trim()) params.set("label", labelInput.value.trim());
    const search = params.toString();
    navigate(search ? `/?${search}` : "/", { replace: true });
  }

  function toggleSelected(id, on) {
    if (on) selected.add(id);
    else selected.delete(id);
    compareButton.disabled = selected.size < MIN_RUNS || selected.size > MAX_RUNS;
    compareButton.textContent = selected.size ? `Compare ${selected.size}` : "Compare";
    compareButton.title = `Select ${MIN_RUNS} to ${MAX_RUNS} runs`;
  }

  function compare() {
    navigate(`/ui/compare?runs=${[...selected].map(encodeURIComponent).join(",")}`);
  }

  function pipelineName(id) {
    return pipelines.get(id)?.name ?? shortId(id);
  }

  async function loadPipelines() {
    const list = await request(`/pipelines/?limit=1000`, { signal: controller.signal });
    pipelines.clear();
    for (const pipeline of list) pipelines.set(pipeline.id, pipeline);
    const options = list.map((p) => h("option", { value: p.id, text: p.name, selected: p.id === pipelineId }));
    pipelineSelect.replaceChildren(h("option", { value: "", text: "All pipelines" }), options);
    if (pipelineId && !pipelines.has(pipelineId)) {
      pipelineSelect.append(h("option", { value: pipelineId, text: shortId(pipelineId), selected: true }));
    }
  }

  function makeRow(run) {
    const cells = {
      status: h("td.col-status"),
      pipeline: h("td.col-pipeline", h("span.pipeline-name")),
      run: h("td.col-run", h("a.run-id", { href: runUrl(run.id), "data-nav": true, text: shortId(run.id), title: run.id })),
      action: h("td.col-action"),
      bar: progressBar(0, run.status),
      pct: h("span.pct"),
      started: h("td.col-started"),
      duration: h("td.col-duration"),
    };
    const pick = h("input.select-run", {
      type: "checkbox",
      "aria-label": `Select run ${shortId(run.id)} to compare`,
      checked: selected.has(run.id),
      onchange: (event) => toggleSelected(run.id, event.currentTarget.checked),
    });
    const tr = h(
      "tr",
      { dataset: { runId: run.id }, onclick: (event) => !event.target.closest("a, input, .col-select") && navigate(runUrl(run.id)) },
      h("td.col-select", pick),
      cells.status,
      cells.pipeline,
      cells.run,
      cells.action,
      h("td.col-progress", h("div.progress-cell", cells.bar, cells.pct)),
      cells.started,
      cells.duration,
    );
    return { tr, cells, run, pill: null };
  }

  function updateRow(row) {
    const { run, cells } = row;
    if (!row.pill || row.pill.dataset.status !== run.status) {
      row.pill = statusPill(run.status);
      cells.status.replaceChildren(row.pill);
    }
    row.tr.dataset.status = run.status;
    row.tr.title = run.error ? `${run.status}: ${run.error}` : "";
    setText(cells.pipeline.firstChild, pipelineName(run.pipeline_id));
    setText(cells.action, currentAction(run));
    updateBar(cells.bar, runFraction(run), run.status);
    setText(cells.pct, percent(runFraction(run)));
    setText(cells.started, formatTime(run.started_at));
    tick(row);
  }

  function tick(row) {
    const { run, cells } = row;
    setText(cells.duration, formatDuration(elapsed(run.started_at, run.completed_at)));
  }

  async function load() {
    // A label selector is a filter of /runs/ only: a pipeline's runs are then picked from it.
    const path =
      pipelineId && !label
        ? `/pipelines/${seg(pipelineId)}/runs/?limit=${PAGE}`
        : `/runs/?limit=${PAGE}${status ? `&status_filter=${status}` : ""}${label ? `&label=${encodeURIComponent(label)}` : ""}`;
    let runs = await request(path, { signal: controller.signal });
    if (stopped) return;
    if (pipelineId) runs = runs.filter((run) => run.pipeline_id === pipelineId && (!status || run.status === status));
    if (runs.some((run) => !pipelines.has(run.pipeline_id))) await loadPipelines();
    banner.hidden = true;
    const seen = new Set();
    const ordered = runs.map((run) => {
      seen.add(run.id);
      let row = rows.get(run.id);
      if (!row) {
        row = makeRow(run);
        rows.set(run.id, row);
      }
      row.run = run;
      updateRow(row);
      return row.tr;
    });
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        rows.delete(id);
      }
    }
    ordered.forEach((tr, index) => {
      if (tbody.children[index] !== tr) tbody.insertBefore(tr, tbody.children[index] ?? null);
    });
    setText(count, runs.length ? `${runs.length}${runs.length >= PAGE ? "+" : ""}` : "");
    empty.hidden = runs.length > 0;
    empty.replaceChildren(
      status || pipelineId || label
        ? "No runs match these filters."
        : h("span", "No runs yet. Start one from ", h("a", { href: "/ui/pipelines", "data-nav": true, text: "Pipelines" }), " or with ", h("code", "pipeline-service runs create"), "."),
    );
    followActive(runs);
  }

  function followActive(runs) {
    const active = new Set(runs.filter((run) => !TERMINAL.has(run.status)).slice(0, MAX_STREAMS).map((run) => run.id));
    for (const [id, stream] of streams) {
      if (!active.has(id)) {
        stream.close();
        streams.delete(id);
      }
    }
    for (const id of active) {
      if (streams.has(id)) continue;
      const stream = follow(`/runs/${seg(id)}/progress/stream`, {
        onEvent: (name, progress) => {
          const row = rows.get(id);
          if (name === "error" || !row) {
            refresh();
            return true;
          }
          const before = row.run.status;
          Object.assign(row.run, pick(progress));
          updateRow(row);
          if (row.run.status !== before) refresh();
          return TERMINAL.has(row.run.status);
        },
        onError: () => refresh(),
      });
      streams.set(id, stream);
    }
  }

  const showError = (error) => {
    if (stopped || error.name === "AbortError") return;
    banner.hidden = false;
    banner.textContent = `Could not load the runs: ${error.message}`;
  };
  const refresh = throttle(() => load().catch(showError), 1000);

  const ticker = setInterval(() => {
    for (const row of rows.values()) if (!TERMINAL.has(row.run.status) && row.run.started_at) tick(row);
  }, 1000);
  const discovery = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, DISCOVERY_MS);
  const onVisible = () => document.visibilityState === "visible" && refresh();
  document.addEventListener("visibilitychange", onVisible);

  loadPipelines()
    .then(load)
    .catch(showError);

  return () => {
    stopped = true;
    controller.abort();
    clearInterval(ticker);
    clearInterval(discovery);
    document.removeEventListener("visibilitychange", onVisible);
    for (const stream of streams.values()) stream.close();
  };
}

function currentAction(run) {
  if (run.current_action) return run.current_action;
  if (run.status === "pending") return "—";
  const action = run.progress?.[run.current_action_index];
  return action ? action.name : "—";
}

// The fields of a Progress event that a Run shares.
function pick(progress) {
  const { status, current_action, current_action_index, progress: actions, error, started_at, completed_at } = progress;
  return { status, current_action, current_action_index, progress: actions, error, started_at, completed_at };
}

// The runs table: newest first, filtered by status, pipeline and a label selector. Push-only:
// the list is read once, with the change number it stands at (its `Change-Seq` header); the
// runs stream, opened from there with the same filters, sends each run created, changed,
// deleted or `left` (no longer matching the filters) since (as a run summary), and a `reset`
// (changes the server forgot) makes the page read the list again.

import { MAX_RUNS, MIN_RUNS } from "./compare.js";
import { follow, request, seg } from "./api.js";
import {
  RUN_STATUSES,
  TERMINAL,
  actionFraction,
  elapsed,
  formatDuration,
  formatTime,
  h,
  percent,
  progressBar,
  setText,
  shortId,
  statusPill,
  updateBar,
} from "./dom.js";
import { navigate, runUrl } from "./nav.js";

const PAGE = 100;

export function renderRuns(main, _arg, query) {
  const status = RUN_STATUSES.includes(query.get("status")) ? query.get("status") : "";
  const pipelineId = query.get("pipeline") ?? "";
  const label = query.get("label") ?? "";
  const controller = new AbortController();
  let stream = null;
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
    const options = list.map((p) => h("option", { value: p.id, text: p.name }));
    pipelineSelect.replaceChildren(h("option", { value: "", text: "All pipelines" }), ...options);
    if (pipelineId && !pipelines.has(pipelineId)) {
      pipelineSelect.append(h("option", { value: pipelineId, text: shortId(pipelineId) }));
    }
    pipelineSelect.value = pipelineId;
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
    setText(cells.action, run.current_action ?? "—");
    updateBar(cells.bar, summaryFraction(run), run.status);
    setText(cells.pct, percent(summaryFraction(run)));
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
    let seq = null;
    let runs = await request(path, { signal: controller.signal, onHeaders: (headers) => (seq = headers.get("Change-Seq")) });
    if (stopped) return;
    if (pipelineId) runs = runs.filter((run) => run.pipeline_id === pipelineId && (!status || run.status === status));
    if (runs.some((run) => !pipelines.has(run.pipeline_id))) await loadPipelines();
    banner.hidden = true;
    for (const row of rows.values()) row.tr.remove();
    rows.clear();
    for (const run of runs) {
      const row = makeRow(run);
      row.run = summarize(run);
      rows.set(run.id, row);
      updateRow(row);
      tbody.append(row.tr);
    }
    showCount();
    followChanges(seq);
  }

  function showCount() {
    setText(count, rows.size ? `${rows.size}${rows.size >= PAGE ? "+" : ""}` : "");
    empty.hidden = rows.size > 0;
    empty.replaceChildren(
      status || pipelineId || label
        ? "No runs match these filters."
        : h("span", "No runs yet. Start one from ", h("a", { href: "/ui/pipelines", "data-nav": true, text: "Pipelines" }), " or with ", h("code", "pipeline-service runs create"), "."),
    );
  }

  // The runs stream from where the list stands: every change after it, then live changes.
  function followChanges(seq) {
    stream?.close();
    // Filtered like the list: a run that stops matching comes as `left` (its row goes).
    const params = new URLSearchParams();
    if (status) params.set("status_filter", status);
    if (pipelineId) params.set("pipeline_id", pipelineId);
    if (label) params.set("label", label);
    const query = params.toString();
    stream = follow(`/runs/stream${query ? `?${query}` : ""}`, {
      lastEventId: seq,
      onEvent: (name, data) => {
        if (stopped) return true;
        if (name === "created" || name === "changed") upsert(data);
        else if (name === "left" || name === "deleted") remove(data.id);
        else if (name === "reset") {
          load().catch(showError);
          return true;
        }
        return false;
      },
      onError: (error) => showError(error),
    });
  }

  function upsert(summary) {
    let row = rows.get(summary.id);
    if (!row) {
      row = makeRow(summary);
      rows.set(summary.id, row);
      // Newest first: before the first row created earlier.
      const later = [...rows.values()].find((other) => other !== row && other.run.created_at < summary.created_at);
      tbody.insertBefore(row.tr, later ? later.tr : null);
      if (!pipelines.has(summary.pipeline_id)) loadPipelines().then(() => updateRow(row)).catch(showError);
    }
    row.run = summary;
    updateRow(row);
    showCount();
  }

  function remove(id) {
    const row = rows.get(id);
    if (!row) return;
    row.tr.remove();
    rows.delete(id);
    selected.delete(id);
    showCount();
  }

  const showError = (error) => {
    if (stopped || error.name === "AbortError") return;
    banner.hidden = false;
    banner.textContent = `Could not load the runs: ${error.message}`;
  };

  const ticker = setInterval(() => {
    for (const row of rows.values()) if (!TERMINAL.has(row.run.status) && row.run.started_at) tick(row);
  }, 1000);

  loadPipelines()
    .then(load)
    .catch(showError);

  return () => {
    stopped = true;
    controller.abort();
    clearInterval(ticker);
    stream?.close();
  };
}

// A run of the list as the runs stream summarizes it (server: storage/run_changes.py).
function summarize(run) {
  const actions = run.progress ?? [];
  const current = run.current_action != null ? actions[run.current_action_index] : undefined;
  return {
    id: run.id,
    pipeline_id: run.pipeline_id,
    status: run.status,
    current_action: run.current_action,
    current_action_index: run.current_action_index,
    actions: actions.length,
    actions_done: actions.filter((a) => a.status === "completed" || a.status === "skipped").length,
    action_progress: current ? actionFraction(current) : null,
    error: run.error,
    labels: run.labels ?? {},
    created_at: run.created_at,
    started_at: run.started_at,
    completed_at: run.completed_at,
  };
}

// How far a summarized run is, in [0, 1]: the actions done, and the current one's part.
function summaryFraction(run) {
  if (run.status === "completed") return 1;
  if (!run.actions) return 0;
  const part = run.current_action != null ? Number(run.action_progress ?? 0) : 0;
  const current = part > 0 && part < 1 ? part : 0; // a finished current action is among actions_done
  return Math.min(1, (run.actions_done + current) / run.actions);
}

// A run's page: a bar per action, metric charts, params/result/error, checkpoints, artifacts,
// the run's events (a timeline: who claimed it, takeovers, actions) and the log, all following
// the run's progress and log streams; links to the run it resumed and the runs that resumed
// it. Cancel and Resume (edited params, optionally from an action).

import { follow, request, seg } from "./api.js";
import { artifactsPanel } from "./artifacts.js";
import { metricCharts } from "./charts.js";
import {
  LOG_LEVELS,
  TERMINAL,
  actionFraction,
  clockTime,
  elapsed,
  formatAmount,
  formatDuration,
  formatNumber,
  formatTime,
  h,
  percent,
  progressBar,
  runFraction,
  setText,
  shortId,
  shownActionStatus,
  statusPill,
  throttle,
  updateBar,
} from "./dom.js";
import { jsonEditor } from "./editor.js";
import { navigate, runUrl } from "./nav.js";

const MAX_LOG_LINES = 10000;

export function renderRun(main, runId) {
  const controller = new AbortController();
  const signal = controller.signal;
  const streams = [];
  let stopped = false;
  let run = null;
  let pipeline = null;
  let actionRows = [];
  let lastMetrics = "";

  const banner = h("div.error-banner", { hidden: true, role: "alert" });
  main.append(banner);
  const fail = (what) => (error) => {
    if (stopped || error.name === "AbortError") return;
    banner.hidden = false;
    banner.textContent = `${what}: ${error.message}`;
  };

  // --- layout -------------------------------------------------------------------------------
  const titleName = h("h1");
  const pillSlot = h("span");
  const crumbs = h("div.crumbs", h("a", { href: "/", "data-nav": true, text: "Runs" }), " / ", h("span.mono", { text: runId }));
  const cancelButton = h("button.danger#cancel-run", { type: "button", onclick: () => cancel() }, "Cancel run");
  const resumeButton = h("button#resume-run", { type: "button", onclick: () => openResume() }, "Resume…");
  const facts = {
    created: h("dd"),
    started: h("dd"),
    duration: h("dd"),
    action: h("dd"),
  };
  const lineage = h("div.lineage#lineage", { hidden: true });
  const artifacts = artifactsPanel(runId, { signal, onError: (error) => fail("Could not download the artifact")(error) });
  const overallBar = progressBar(0, "pending");
  const overallPct = h("span.pct");
  const errorBox = h("div.error-box#run-error", { hidden: true });
  const actionsList = h("div.actions-list#actions");
  const charts = h("div.charts#charts");
  const chartsEmpty = h("div.empty", "No numeric metrics reported yet.");
  const paramsPre = h("pre.json#params");
  const resultPre = h("pre.json#result");
  const eventsBody = h("tbody");
  const eventsTable = h(
    "table.plain#events",
    h("thead", h("tr", h("th", "Time"), h("th", "Event"), h("th", "Worker"), h("th", "Message"))),
    eventsBody,
  );
  const checkpointsBody = h("tbody");
  const checkpointsEmpty = h("div.empty", "No checkpoints yet.");
  const checkpointsTable = h(
    "table.plain#checkpoints",
    { hidden: true },
    h("thead", h("tr", h("th", "#"), h("th", "Action"), h("th", "Status"), h("th", "Step"), h("th.col-created", "Created"), h("th.col-artifacts", "Artifacts"))),
    checkpointsBody,
  );
  const logBox = h("div.logs#logs", { role: "log", "aria-live": "off" });
  const logCount = h("span.muted");
  const followCheck = h("input", { type: "checkbox", checked: true });
  const enabledLevels = new Set(LOG_LEVELS);
  const levelButtons = LOG_LEVELS.map((level) =>
    h(
      "button.level-toggle",
      {
        type: "button",
        "aria-pressed": "true",
        dataset: { level },
        onclick: (event) => toggleLevel(level, event.currentTarget),
      },
      h("i"),
      level,
    ),
  );

  main.append(
    h(
      "div.page-head",
      h("div", crumbs, h("div.run-title", titleName, pillSlot)),
      h("span.spacer"),
      resumeButton,
      cancelButton,
    ),
    h(
      "dl.facts",
      h("div", h("dt", "Created"), facts.created),
      h("div", h("dt", "Started"), facts.started),
      h("div", h("dt", "Duration"), facts.duration),
      h("div", h("dt", "Current action"), facts.action),
    ),
    lineage,
    h("div.overall", overallBar, overallPct),
    errorBox,
    h(
      "div.stack",
      h("section.panel", h("header", h("h2", "Actions")), actionsList),
      h("section.panel", h("header", h("h2", "Metrics")), charts, chartsEmpty),
      h(
        "div.grid-2",
        h("section.panel", h("header", h("h2", "Params")), h("div.panel-body", paramsPre)),
        h("section.panel", h("header", h("h2", "Result")), h("div.panel-body", resultPre)),
      ),
      h("section.panel", h("header", h("h2", "Events")), eventsTable),
      h("section.panel", h("header", h("h2", "Checkpoints")), checkpointsTable, checkpointsEmpty),
      artifacts.element,
      h(
        "section.panel",
        h(
          "header",
          h("h2", "Logs"),
          logCount,
          h("span.spacer"),
          h("div.log-toolbar", levelButtons),
          h("label.check", followCheck, "Follow"),
        ),
        logBox,
      ),
    ),
  );

  // --- run and actions ----------------------------------------------------------------------
  function showRun() {
    setText(titleName, pipeline?.name ?? "Run");
    document.title = `${pipeline?.name ?? "Run"} · ${run.status} · Pipeline Service`;
    if (pillSlot.firstChild?.dataset.status !== run.status) pillSlot.replaceChildren(statusPill(run.status));
    pillSlot.firstChild.id = "run-status";
    setText(facts.created, formatTime(run.created_at));
    setText(facts.started, formatTime(run.started_at));
    setText(facts.action, run.current_action ?? (run.status === "pending" ? "—" : run.progress[run.current_action_index]?.name ?? "—"));
    updateBar(overallBar, runFraction(run), run.status);
    setText(overallPct, percent(runFraction(run)));
    errorBox.hidden = !run.error;
    setText(errorBox, run.error ?? "");
    cancelButton.hidden = TERMINAL.has(run.status);
    resumeButton.hidden = !TERMINAL.has(run.status);
    if (actionRows.length !== run.progress.length) {
      actionRows = run.progress.map((action, index) => makeAction(action, index));
      actionsList.replaceChildren(...actionRows.map((row) => row.element));
    }
    run.progress.forEach((action, index) => updateAction(actionRows[index], action));
    tick();
  }

  function makeAction(action, index) {
    const description = pipeline?.actions?.[index]?.description;
    const row = {
      idx: h("span.idx", { text: index + 1 }),
      bar: progressBar(0, action.status),
      amount: h("span.amount"),
      elapsed: h("span.elapsed"),
      status: h("span.status"),
      detail: h("div.detail"),
      action,
    };
    row.element = h(
      "div.action",
      { dataset: { action: action.name } },
      row.idx,
      h("div.name", action.name, description ? h("small", { text: description }) : null),
      h("div.bar-area", row.bar, row.amount),
      row.elapsed,
      row.status,
      row.detail,
    );
    return row;
  }

  function updateAction(row, action) {
    const shown = shownActionStatus(action, run);
    row.action = action;
    row.element.dataset.status = action.status;
    row.idx.dataset.status = shown;
    if (row.status.firstChild?.dataset.status !== shown) row.status.replaceChildren(statusPill(shown));
    updateBar(row.bar, actionFraction(action), shown);
    setText(row.amount, formatAmount(action));
    const detail = [];
    if (action.progress_step && !action.total) detail.push(h("span", { text: `step: ${action.progress_step}` }));
    if (action.message) detail.push(h("span.message", { text: action.message }));
    for (const [name, value] of Object.entries(action.metrics ?? {})) {
      detail.push(h("span.metric", h("b", { text: name }), typeof value === "number" ? formatNumber(value) : JSON.stringify(value)));
    }
    if (action.error) detail.push(h("span.error-text", { text: action.error }));
    if (action.ran_on) detail.push(ranOn(action.ran_on));
    const signature = JSON.stringify([action.progress_step, action.total, action.message, action.metrics, action.error, action.ran_on]);
    if (row.signature !== signature) {
      row.signature = signature;
      row.detail.replaceChildren(...detail);
    }
  }

  // Where the action ran: its executor, node (host or Ray node id) and task (pid or Ray task id).
  function ranOn({ executor, node, task_id: task }) {
    const short = (id) => (id && id.length > 16 ? `${id.slice(0, 12)}…` : id);
    const parts = [`ran on ${executor}`];
    if (node) parts.push(`node ${short(node)}`);
    if (task) parts.push(`${executor === "process" ? "pid" : "task"} ${short(task)}`);
    const title = [`executor: ${executor}`, node && `node: ${node}`, task && `task: ${task}`].filter(Boolean).join("\n");
    return h("span.ran-on", { text: parts.join(" · "), title, dataset: { executor } });
  }

  function tick() {
    if (!run) return;
    setText(facts.duration, formatDuration(elapsed(run.started_at, run.completed_at)));
    for (const row of actionRows) {
      const { started_at, completed_at, status } = row.action;
      const ended = completed_at ?? (status === "running" && !TERMINAL.has(run.status) ? null : run.completed_at);
      setText(row.elapsed, started_at ? formatDuration(elapsed(started_at, ended)) : "");
    }
  }

  // --- metrics, checkpoints, params/result ----------------------------------------------------
  async function loadMetrics() {
    const history = await request(`/runs/${seg(runId)}/metrics`, { signal });
    const signature = JSON.stringify(
      history.actions.map((s) => [s.recorded, s.points.length, (s.logged ?? []).map((m) => m.recorded)]),
    );
    if (signature === lastMetrics) return;
    lastMetrics = signature;
    const nodes = metricCharts(history);
    charts.replaceChildren(...nodes);
    charts.hidden = nodes.length === 0;
    chartsEmpty.hidden = nodes.length > 0;
  }

  // Events are read on from the last one shown, one read at a time (none shown twice).
  let lastEvent = 0;
  let eventsRead = Promise.resolve();
  function loadEvents() {
    eventsRead = eventsRead.catch(() => {}).then(readEvents);
    return eventsRead;
  }
  async function readEvents() {
    const found = await request(`/runs/${seg(runId)}/events?after=${lastEvent}`, { signal, all: true });
    if (!found.length) return;
    lastEvent = found.at(-1).id;
    eventsBody.append(
      ...found.map((e) =>
        h(
          "tr",
          { dataset: { type: e.type } },
          h("td", { text: clockTime(e.time) }),
          h("td", { text: e.type }),
          h("td.mono", { text: e.worker_id ?? "—" }),
          h("td", { text: e.message }),
        ),
      ),
    );
  }

  async function loadCheckpoints() {
    const checkpoints = await request(`/runs/${seg(runId)}/checkpoints/`, { signal, all: true });
    checkpointsTable.hidden = checkpoints.length === 0;
    checkpointsEmpty.hidden = checkpoints.length > 0;
    checkpointsBody.replaceChildren(
      ...checkpoints.map((c) =>
        h(
          "tr",
          h("td", { text: c.action_index }),
          h("td", { text: c.action_name }),
          h("td", statusPill(c.status)),
          h("td", { text: c.step ?? "—" }),
          h("td.col-created", { text: formatTime(c.created_at) }),
          h("td.mono.col-artifacts", { text: c.artifacts?.length ? c.artifacts.join(", ") : (c.artifacts_path ?? "—") }),
        ),
      ),
    );
  }

  const runLink = (id) => h("a.mono", { href: runUrl(id), "data-nav": true, text: shortId(id), title: id });

  async function loadLineage() {
    const resumedBy = await request(`/runs/?resumed_from=${encodeURIComponent(runId)}&limit=100`, { signal });
    const parts = [];
    if (run.resumed_from) {
      parts.push(h("span", "Resumed from ", runLink(run.resumed_from), run.from_action ? ` (again from ${run.from_action})` : ""));
    }
    if (resumedBy.length) {
      parts.push(h("span#resumed-by", "Resumed by ", resumedBy.flatMap((r, i) => (i ? [", ", runLink(r.id)] : [runLink(r.id)]))));
    }
    lineage.hidden = parts.length === 0;
    lineage.replaceChildren(...parts.flatMap((part, i) => (i ? [" · ", part] : [part])));
  }

  function showDocuments() {
    setText(paramsPre, run.params ? JSON.stringify(run.params, null, 2) : "—");
    setText(resultPre, run.result ? JSON.stringify(run.result, null, 2) : TERMINAL.has(run.status) ? "—" : "(when the run completes)");
  }

  async function reloadRun() {
    run = await request(`/runs/${seg(runId)}`, { signal });
    showRun();
    showDocuments();
  }

  const refreshMetrics = throttle(() => loadMetrics().catch(fail("Could not load the metrics")), 500);
  const refreshEvents = throttle(() => loadEvents().catch(fail("Could not load the events")), 500);
  const refreshCheckpoints = throttle(() => {
    loadCheckpoints().catch(fail("Could not load the checkpoints"));
    artifacts.load().catch(fail("Could not load the artifacts"));
  }, 1000);

  // --- live progress ----------------------------------------------------------------------------
  function followProgress() {
    streams.push(
      follow(`/runs/${seg(runId)}/progress/stream`, {
        onEvent: (name, progress) => {
          if (name === "error") {
            banner.hidden = false;
            banner.textContent = "This run was deleted.";
            return true;
          }
          const statuses = run.progress.map((a) => a.status).join();
          Object.assign(run, {
            status: progress.status,
            current_action: progress.current_action,
            current_action_index: progress.current_action_index,
            progress: progress.progress,
            error: progress.error,
            started_at: progress.started_at,
            completed_at: progress.completed_at,
          });
          showRun();
          // Logged metrics arrive beside progress: any change may come with new points.
          refreshMetrics();
          if (run.progress.map((a) => a.status).join() !== statuses) {
            refreshCheckpoints();
            refreshEvents();
          }
          if (TERMINAL.has(run.status)) {
            reloadRun().catch(fail("Could not reload the run"));
            loadMetrics().catch(fail("Could not load the metrics"));
            loadEvents().catch(fail("Could not load the events"));
            loadCheckpoints().catch(fail("Could not load the checkpoints"));
            artifacts.load().catch(fail("Could not load the artifacts"));
            return true;
          }
          return false;
        },
      }),
    );
  }

  // --- logs -------------------------------------------------------------------------------------
  let lines = 0;
  function followLogs() {
    streams.push(
      follow(`/runs/${seg(runId)}/logs/stream`, {
        onEvent: (name, data) => {
          if (name === "log") {
            appendLog(data);
            return false;
          }
          if (name === "end") {
            appendNote(`end of log · run ${data.status}`);
          }
          return true;
        },
      }),
    );
  }

  function appendLog(record) {
    const stick = followCheck.checked && logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 24;
    const line = h(
      "div.log-line",
      { dataset: { level: record.level }, hidden: !enabledLevels.has(record.level) },
      h("span.ts", { text: clockTime(record.timestamp), title: record.timestamp }),
      h("span.lvl", { text: record.level }),
      h("span.act", { text: record.action_name ?? "", title: record.action_name ?? "" }),
      h("span.msg", { text: record.message }),
    );
    logBox.append(line);
    lines += 1;
    if (lines > MAX_LOG_LINES) {
      logBox.firstChild.remove();
      lines -= 1;
    }
    setText(logCount, `${lines.toLocaleString("en-US")} line${lines === 1 ? "" : "s"}`);
    if (stick) logBox.scrollTop = logBox.scrollHeight;
  }

  function appendNote(text) {
    logBox.append(h("div.log-line.faint", h("span"), h("span"), h("span"), h("span.msg.faint", { text: `— ${text} —` })));
    if (followCheck.checked) logBox.scrollTop = logBox.scrollHeight;
  }

  function toggleLevel(level, button) {
    if (enabledLevels.has(level)) enabledLevels.delete(level);
    else enabledLevels.add(level);
    button.setAttribute("aria-pressed", String(enabledLevels.has(level)));
    for (const line of logBox.querySelectorAll(`.log-line[data-level="${level}"]`)) {
      line.hidden = !enabledLevels.has(level);
    }
  }

  // --- cancel and resume --------------------------------------------------------------------------
  async function cancel() {
    const question = `Cancel this run of ${pipeline?.name ?? "its pipeline"}? Its running action is stopped, and the actions after it will not run.`;
    if (!window.confirm(question)) return;
    cancelButton.disabled = true;
    try {
      run = await request(`/runs/${seg(runId)}/cancel`, { method: "POST", signal });
      showRun();
    } catch (error) {
      fail("Could not cancel the run")(error);
    } finally {
      cancelButton.disabled = false;
    }
  }

  function openResume() {
    const editor = jsonEditor(run.params ?? {});
    const fromAction = h(
      "select#resume-from",
      h("option", { value: "" }, "after the last completed action"),
      run.progress.map((action) => h("option", { value: action.name }, `from ${action.name} (run it and those after it again)`)),
    );
    const problem = h("p.form-error", { hidden: true });
    const submit = h("button.primary", { type: "submit" }, "Start resumed run");
    editor.onValidity((ok) => {
      submit.disabled = !ok;
    });
    const dialog = h(
      "dialog.dialog#resume-dialog",
      h(
        "form",
        {
          method: "dialog",
          onsubmit: async (event) => {
            event.preventDefault();
            submit.disabled = true;
            try {
              const created = await request(`/pipelines/${seg(run.pipeline_id)}/runs/`, {
                method: "POST",
                body: { params: editor.value(), resume_from: run.id, ...(fromAction.value ? { from_action: fromAction.value } : {}) },
                idempotent: true,
              });
              dialog.close();
              navigate(runUrl(created.id));
            } catch (error) {
              problem.hidden = false;
              problem.textContent = error.message;
              submit.disabled = false;
            }
          },
        },
        h("h2", "Resume this run"),
        h("p.muted", "A new run of the same pipeline continues from this run's checkpoints (an action that saved checkpoints as it went continues from its latest). Edit its params if needed."),
        h("label.field", h("span", "Continue"), fromAction),
        editor.element,
        problem,
        h("div.actions", h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"), submit),
      ),
    );
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
  }

  // --- start -------------------------------------------------------------------------------------
  const ticker = setInterval(tick, 1000);
  (async () => {
    run = await request(`/runs/${seg(runId)}`, { signal });
    pipeline = await request(`/pipelines/${seg(run.pipeline_id)}`, { signal }).catch(() => null);
    if (stopped) return;
    if (pipeline) {
      crumbs.replaceChildren(
        h("a", { href: "/", "data-nav": true, text: "Runs" }),
        " / ",
        h("a", { href: `/?pipeline=${encodeURIComponent(pipeline.id)}`, "data-nav": true, text: pipeline.name }),
        " / ",
        h("span.mono", { text: runId }),
      );
    }
    showRun();
    showDocuments();
    followProgress();
    followLogs();
    await Promise.all([loadMetrics(), loadEvents(), loadCheckpoints(), artifacts.load(), loadLineage()]);
  })().catch((error) => {
    if (error.status === 404) {
      main.replaceChildren(h("div.panel", h("div.empty", "There is no run ", h("code", runId), ". ", h("a", { href: "/", "data-nav": true, text: "See the runs" }))));
      return;
    }
    fail("Could not load the run")(error);
  });

  return () => {
    stopped = true;
    controller.abort();
    clearInterval(ticker);
    for (const stream of streams) stream.close();
    document.getElementById("resume-dialog")?.remove();
  };
}

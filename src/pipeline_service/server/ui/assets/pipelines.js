// Pipelines with their actions; start a run with params from a validated JSON editor.

import { request, seg } from "./api.js";
import { formatTime, h } from "./dom.js";
import { jsonEditor } from "./editor.js";
import { navigate, runUrl } from "./nav.js";

export function renderPipelines(main, _arg, query) {
  const controller = new AbortController();
  const signal = controller.signal;
  const banner = h("div.error-banner", { hidden: true, role: "alert" });
  const list = h("div.pipelines#pipelines");
  main.append(h("div.page-head", h("h1", "Pipelines"), h("span.spacer")), banner, list);

  request("/pipelines/?limit=1000", { signal })
    .then((pipelines) => {
      if (!pipelines.length) {
        list.append(
          h(
            "div.panel",
            h("div.empty", "No pipelines yet. Create one with ", h("code", "pipeline-service pipelines create"), ", or try ", h("code", "pipeline-service demo"), "."),
          ),
        );
        return;
      }
      for (const pipeline of pipelines) list.append(card(pipeline, query.get("start") === pipeline.id, signal));
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      banner.hidden = false;
      banner.textContent = `Could not load the pipelines: ${error.message}`;
    });

  return () => controller.abort();
}

function card(pipeline, open, signal) {
  const chain = [];
  pipeline.actions.forEach((action, index) => {
    if (index) chain.push(h("span.arrow", { "aria-hidden": "true", text: "→" }));
    chain.push(h("div.step", { title: action.description ?? "" }, h("b", { text: action.name }), h("code", { text: action.entrypoint })));
  });
  const body = h(
    "div.panel-body",
    pipeline.description ? h("p.muted.description", { text: pipeline.description }) : null,
    h("div.chain", chain.length ? chain : h("span.muted", "No actions.")),
  );
  const startButton = h("button.primary", { type: "button", dataset: { start: pipeline.id } }, "Start a run");
  let form = null;
  startButton.addEventListener("click", () => {
    if (form) {
      form.remove();
      form = null;
      return;
    }
    form = startForm(pipeline, signal);
    body.append(form);
    form.querySelector("textarea").focus();
  });
  const element = h(
    "section.panel.pipeline-card",
    { dataset: { pipelineId: pipeline.id } },
    h(
      "header",
      h("h2", { text: pipeline.name }),
      h("span.muted", { text: `${pipeline.actions.length} action${pipeline.actions.length === 1 ? "" : "s"} · created ${formatTime(pipeline.created_at)}` }),
      h("span.spacer"),
      h("a.button", { href: `/?pipeline=${encodeURIComponent(pipeline.id)}`, "data-nav": true }, "Runs"),
      startButton,
    ),
    body,
  );
  if (open) queueMicrotask(() => startButton.click());
  return element;
}

function startForm(pipeline, signal) {
  const editor = jsonEditor({});
  const workDir = h("input.work-dir", { type: "text", name: "work_dir", placeholder: "optional" });
  const submit = h("button.primary", { type: "submit" }, "Start run");
  const problem = h("p.form-error", { hidden: true, role: "alert" });
  editor.onValidity((ok) => {
    submit.disabled = !ok;
  });
  // Start from the params of the pipeline's latest run, when it has one.
  request(`/pipelines/${seg(pipeline.id)}/runs/?limit=1`, { signal })
    .then(([latest]) => {
      if (latest?.params && editor.textarea.value.trim() === "{}") {
        editor.textarea.value = JSON.stringify(latest.params, null, 2);
        editor.valid();
      }
    })
    .catch(() => {});
  return h(
    "form.start-form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        if (!editor.valid()) return;
        submit.disabled = true;
        problem.hidden = true;
        const body = { params: editor.value() };
        if (workDir.value.trim()) body.work_dir = workDir.value.trim();
        try {
          const run = await request(`/pipelines/${seg(pipeline.id)}/runs/`, { method: "POST", body, idempotent: true });
          navigate(runUrl(run.id));
        } catch (error) {
          problem.hidden = false;
          problem.textContent = `Could not start the run: ${error.message}`;
          submit.disabled = false;
        }
      },
    },
    editor.element,
    h("div.row", h("label.field", h("span", "Work directory"), workDir)),
    problem,
    h("div.row", submit),
  );
}

// Runs compared (2 to 6, from `?runs=a,b`): the params that differ, and each logged metric of
// each action drawn for every run on one chart, over steps.

import { request, seg } from "./api.js";
import { overlayChart } from "./charts.js";
import { h, shortId } from "./dom.js";
import { runUrl } from "./nav.js";

export const MIN_RUNS = 2;
export const MAX_RUNS = 6;

export function renderCompare(main, _arg, query) {
  const controller = new AbortController();
  const ids = [...new Set((query.get("runs") ?? "").split(",").filter(Boolean))];
  const banner = h("div.error-banner", { role: "alert", hidden: true });
  main.append(h("div.page-head", h("h1", "Compare runs")), banner);
  if (ids.length < MIN_RUNS || ids.length > MAX_RUNS) {
    banner.hidden = false;
    banner.textContent = `Select ${MIN_RUNS} to ${MAX_RUNS} runs to compare (${ids.length} given).`;
    return () => controller.abort();
  }
  const signal = controller.signal;
  (async () => {
    const runs = await Promise.all(ids.map((id) => request(`/runs/${seg(id)}`, { signal })));
    const histories = await Promise.all(ids.map((id) => request(`/runs/${seg(id)}/metrics`, { signal })));
    const link = (run, index) => h(`a.mono.series-${index % 6}`, { href: runUrl(run.id), "data-nav": true, text: shortId(run.id), title: run.id });
    main.append(
      h("section.panel", h("header", h("h2", "Params that differ")), paramsTable(runs, link)),
      h("section.panel", h("header", h("h2", "Metrics")), h("div.charts#compare-charts", ...charts(runs, histories, link))),
    );
  })().catch((error) => {
    if (error.name === "AbortError") return;
    banner.hidden = false;
    banner.textContent = `Could not load the runs: ${error.message}`;
  });
  return () => controller.abort();
}

function paramsTable(runs, link) {
  const params = runs.map((run) => run.params ?? {});
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
  const text = (p, key) => (key in p ? JSON.stringify(p[key]) : "—");
  const differing = keys.filter((key) => new Set(params.map((p) => text(p, key))).size > 1);
  if (!differing.length) return h("div.empty#compare-params", "The runs have the same params.");
  return h(
    "table.plain#compare-params",
    h("thead", h("tr", h("th", "Param"), ...runs.map((run, i) => h("th", link(run, i))))),
    h(
      "tbody",
      ...differing.map((key) => h("tr", { dataset: { param: key } }, h("td.mono", { text: key }), ...params.map((p) => h("td.mono", { text: text(p, key) })))),
    ),
  );
}

function charts(runs, histories, link) {
  const names = new Map(); // "action/metric" -> [action, metric]
  for (const history of histories) {
    for (const series of history.actions) {
      for (const metric of series.logged ?? []) names.set(`${series.action_name}/${metric.name}`, [series.action_name, metric.name]);
    }
  }
  if (!names.size) return [h("div.empty", "None of these runs logged metrics.")];
  return [...names.values()].map(([action, name]) =>
    overlayChart(
      action,
      name,
      histories.map((history, index) => {
        const series = history.actions.find((s) => s.action_name === action);
        const metric = series?.logged?.find((m) => m.name === name);
        return { label: link(runs[index], index), points: metric?.points ?? [] };
      }),
    ),
  );
}

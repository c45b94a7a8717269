// Hand-written SVG line charts of the metric history (GET /runs/{id}/metrics): one small chart
// per numeric metric of each action. Logged metrics (log_metrics) are drawn over their steps,
// the line broken between attempts (a takeover) and where a value was null (NaN); the metrics
// progress reports carried, over the action's progress when it advances, else time.

import { formatNumber, h, parseTime, svg } from "./dom.js";

const W = 320;
const H = 128;
const M = { top: 10, right: 10, bottom: 20, left: 46 };

/** Elements for the metric history of a run: a titled group of charts per action. */
export function metricCharts(history) {
  const nodes = [];
  for (const series of history.actions) {
    const points = series.points;
    const logged = (series.logged ?? []).filter((m) => m.points.some((p) => p.value !== null));
    if (!points.length && !logged.length) continue;
    nodes.push(h("div.chart-group-title", { text: series.action_name }));
    logged.forEach((metric, index) => nodes.push(stepChart(series.action_name, metric, `series-${index % 4}`)));
    const stepped = new Set(logged.map((m) => m.name));
    const names = [...new Set(points.flatMap((p) => Object.keys(p.values)))].filter((n) => !stepped.has(n));
    if (!names.length) continue;
    const axis = xAxis(points);
    names.forEach((name, index) => {
      const own = points.filter((p) => typeof p.values[name] === "number");
      const color = `series-${index % 4}`;
      // One value, or the same value again and again, is a number, not a curve.
      const flat = new Set(own.map((p) => p.values[name])).size < 2;
      nodes.push(
        flat
          ? stat(series.action_name, name, own.at(-1)?.values[name])
          : chart(series.action_name, name, own, axis, color),
      );
    });
  }
  return nodes;
}

function stat(action, name, value) {
  return h(
    "div.stat",
    { dataset: { action, metric: name } },
    h("h3", { text: name }),
    h("div.value", { text: value === undefined ? "—" : formatNumber(value) }),
  );
}

// Over progress when the action's progress advances (epochs, rows), else over time.
function xAxis(points) {
  const progress = points.map((p) => Number(p.progress));
  const advancing = new Set(progress).size >= 2 && progress.every((v, i) => i === 0 || v >= progress[i - 1]);
  const last = points.at(-1);
  if (advancing && last.total) {
    return {
      value: (p) => Number(p.progress),
      domain: [Math.min(0, ...progress), last.total],
      label: last.progress_step || "progress",
    };
  }
  if (advancing) {
    return { value: (p) => Number(p.progress) * 100, domain: [0, 100], label: "% done" };
  }
  const t0 = parseTime(points[0].t);
  const seconds = (p) => (parseTime(p.t) - t0) / 1000;
  return { value: seconds, domain: [0, Math.max(1, seconds(last))], label: "seconds" };
}

// A logged metric over its steps: a new segment at each attempt and after each null value.
function stepChart(action, metric, color) {
  const { xs, ys, starts } = segments(metric.points);
  const figure = draw(action, metric.name, xs, ys, starts, { domain: stepDomain(xs), label: "step" }, color);
  figure.dataset.segments = starts.size;
  figure.dataset.recorded = metric.recorded;
  if (metric.thinned) figure.title = `${metric.recorded} points logged; thinned to ${metric.points.length}`;
  return figure;
}

function chart(action, name, points, axis, color) {
  const xs = points.map(axis.value);
  const ys = points.map((p) => p.values[name]);
  return draw(action, name, xs, ys, new Set([0]), axis, color);
}

/** The scales of a chart whose x axis spans `domain` and whose y axis holds `ys`: `px` and `py`
 * map values to the SVG's coordinates; `grid` and `labels` are the horizontal lines and the
 * ticks' labels of both axes. */
function axes([x0, x1], ys) {
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys), 4);
  const [y0, y1] = [yTicks[0], yTicks.at(-1)];
  const px = (x) => M.left + ((x - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const py = (y) => H - M.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
  const grid = svg("g", { class: "grid" });
  const labels = svg("g", { class: "axis" });
  for (const tick of yTicks) {
    grid.append(svg("line", { x1: M.left, x2: W - M.right, y1: py(tick), y2: py(tick) }));
    labels.append(svg("text", { x: M.left - 6, y: py(tick) + 3, "text-anchor": "end" }, shortNumber(tick)));
  }
  for (const tick of niceTicks(x0, x1, 4).filter((t) => t >= x0 && t <= x1)) {
    labels.append(svg("text", { x: px(tick), y: H - 5, "text-anchor": "middle" }, shortNumber(tick)));
  }
  return { px, py, grid, labels };
}

function draw(action, name, xs, ys, starts, axis, color) {
  const { px, py, grid, labels } = axes(axis.domain, ys);
  const coords = xs.map((x, i) => [px(x), py(ys[i])]);
  const line = coords.map(([x, y], i) => `${starts.has(i) ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
  const area =
    starts.size === 1
      ? `${line}L${coords.at(-1)[0].toFixed(1)},${H - M.bottom}L${coords[0][0].toFixed(1)},${H - M.bottom}Z`
      : "";
  const [lastX, lastY] = coords.at(-1);

  const hoverLine = svg("line", { class: "hover-line", y1: M.top, y2: H - M.bottom, visibility: "hidden" });
  const hoverDot = svg("circle", { class: "dot", r: 3.5, visibility: "hidden" });
  const hoverLabel = svg("text", { class: "hover-label", y: M.top + 10, visibility: "hidden" });
  const root = svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${name} of ${action}`, class: color },
    grid,
    labels,
    svg("path", { class: "area", d: area }),
    svg("path", { class: "line", d: line }),
    svg("circle", { class: "dot", cx: lastX, cy: lastY, r: 3 }),
    hoverLine,
    hoverDot,
    hoverLabel,
  );
  root.addEventListener("pointermove", (event) => {
    const box = root.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * W;
    let nearest = 0;
    coords.forEach(([cx], i) => {
      if (Math.abs(cx - x) < Math.abs(coords[nearest][0] - x)) nearest = i;
    });
    const [cx, cy] = coords[nearest];
    for (const [element, attrs] of [
      [hoverLine, { x1: cx, x2: cx }],
      [hoverDot, { cx, cy }],
      [hoverLabel, { x: cx < W / 2 ? cx + 6 : cx - 6, "text-anchor": cx < W / 2 ? "start" : "end" }],
    ]) {
      for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value);
      element.setAttribute("visibility", "visible");
    }
    hoverLabel.textContent = `${shortNumber(xs[nearest])} ${axis.label}: ${formatNumber(ys[nearest])}`;
  });
  root.addEventListener("pointerleave", () => {
    for (const element of [hoverLine, hoverDot, hoverLabel]) element.setAttribute("visibility", "hidden");
  });

  return h(
    "figure.chart",
    { dataset: { action, metric: name, points: xs.length, axis: axis.label } },
    h("header", h("h3", { text: name }), h("span.value", { text: formatNumber(ys.at(-1)) })),
    root,
    h("div.xlabel", { text: axis.label }),
  );
}

/** One chart of a logged metric for several runs: a line per run over steps (each broken between
 * attempts and at null values), with a legend of the runs. */
export function overlayChart(action, name, runs) {
  const lines = runs.map(({ points }) => segments(points));
  const xs = lines.flatMap((l) => l.xs);
  const ys = lines.flatMap((l) => l.ys);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${name} of ${action}, per run` });
  if (xs.length) {
    const { px, py, grid, labels } = axes(stepDomain(xs), ys);
    root.append(grid, labels);
    lines.forEach((line, index) => {
      if (!line.xs.length) return;
      const d = line.xs.map((x, i) => `${line.starts.has(i) ? "M" : "L"}${px(x).toFixed(1)},${py(line.ys[i]).toFixed(1)}`).join("");
      root.append(svg("g", { class: `series-${index % 6}` }, svg("path", { class: "line", d, "data-run": index })));
    });
  }
  return h(
    "figure.chart.overlay",
    { dataset: { action, metric: name, runs: lines.filter((l) => l.xs.length).length } },
    h("header", h("h3", { text: `${action} · ${name}` })),
    root,
    h("div.legend", ...runs.map(({ label }, index) => h(`span.series-${index % 6}`, h("i"), label))),
    h("div.xlabel", { text: "step" }),
  );
}

/** The x domain of a chart over steps: from the first step to the last, at least one wide. */
function stepDomain(xs) {
  return [Math.min(...xs), Math.max(Math.max(...xs), Math.min(...xs) + 1)];
}

function segments(points) {
  const xs = [];
  const ys = [];
  const starts = new Set();
  let previous = null;
  for (const point of points) {
    if (point.value === null) {
      previous = null;
      continue;
    }
    if (previous === null || previous.attempt !== point.attempt) starts.add(xs.length);
    xs.push(point.step);
    ys.push(point.value);
    previous = point;
  }
  return { xs, ys, starts };
}

/** About `count` round tick values covering [min, max]. */
function niceTicks(min, max, count) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(min / step) * step;
  const ticks = [];
  for (let value = first; value < max + step * 0.999; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

function shortNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 1e12) return value.toExponential(1);
  if (abs >= 1e9) return `${+(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${+(value / 1e3).toFixed(1)}k`;
  if (abs !== 0 && abs < 1e-3) return value.toExponential(0);
  return String(+value.toPrecision(4));
}

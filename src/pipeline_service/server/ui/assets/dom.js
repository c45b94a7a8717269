// Small DOM and formatting helpers. Text always goes in as text (never as HTML).

/** h("div.class#id", {attr: value, onclick: fn}, ...children) */
export function h(spec, attrs = {}, ...children) {
  const [, tag = "div", rest = ""] = /^([a-z0-9]*)(.*)$/i.exec(spec);
  const element = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) ?? []) {
    if (part[0] === ".") element.classList.add(part.slice(1));
    else element.id = part.slice(1);
  }
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "text") element.textContent = value;
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** An SVG element with attributes. */
export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

/** Sets textContent only when it changed (no needless reflow). */
export function setText(element, text) {
  const value = String(text ?? "");
  if (element.textContent !== value) element.textContent = value;
}

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);
export const RUN_STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
export const LOG_LEVELS = ["debug", "info", "success", "warning", "danger", "error", "critical"];

export function statusPill(status) {
  return h("span.pill", { dataset: { status }, text: status.replace("-", " ") });
}

/** An action's status as shown: a pending action of a run that ended is "not-run" (the API keeps it pending). */
export function shownActionStatus(action, run) {
  return action.status === "pending" && ["completed", "failed", "cancelled"].includes(run.status) ? "not-run" : action.status;
}

export function progressBar(fraction, status) {
  const fill = h("i");
  const bar = h("div.bar", { dataset: { status }, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  updateBar(bar, fraction, status);
  return bar;
}

export function updateBar(bar, fraction, status) {
  const pct = Math.round(clamp01(fraction) * 1000) / 10;
  bar.dataset.status = status;
  bar.firstChild.style.width = `${pct}%`;
  bar.setAttribute("aria-valuenow", String(pct));
}

function clamp01(value) {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}

/** How far an action is, in [0, 1]. */
export function actionFraction(action) {
  if (action.status === "completed" || action.status === "skipped") return 1;
  const progress = Number(action.progress ?? 0);
  return clamp01(action.total ? progress / action.total : progress);
}

/** How far a run is, in [0, 1]: the mean over its actions. */
export function runFraction(run) {
  if (run.status === "completed") return 1;
  const actions = run.progress ?? [];
  if (!actions.length) return 0;
  return actions.reduce((sum, action) => sum + actionFraction(action), 0) / actions.length;
}

export function percent(fraction) {
  return `${Math.floor(clamp01(fraction) * 100)}%`;
}

export function formatNumber(value) {
  if (typeof value !== "number") return JSON.stringify(value);
  const abs = Math.abs(value);
  // Integers with digit groups up to 15 digits; 1e308 is "1.000e+308", not 309 digits wide.
  if (Number.isInteger(value) && abs < 1e15) return value.toLocaleString("en-US");
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e7)) return value.toExponential(3);
  return value.toLocaleString("en-US", { maximumSignificantDigits: 5 });
}

/** "37 / 100 epoch" or "42%". */
export function formatAmount(action) {
  if (action.total) {
    const unit = action.progress_step ? ` ${action.progress_step}` : "";
    return `${formatNumber(action.progress ?? 0)} / ${formatNumber(action.total)}${unit}`;
  }
  return percent(actionFraction(action));
}

export function parseTime(text) {
  if (!text) return null;
  // Offset-less timestamps (v1-core servers) are UTC.
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`;
  const time = Date.parse(withZone);
  return Number.isNaN(time) ? null : time;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "—";
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Elapsed time between two timestamps, or until now while not ended. */
export function elapsed(startText, endText) {
  const start = parseTime(startText);
  if (start === null) return null;
  const end = parseTime(endText) ?? Date.now();
  return end - start;
}

export function formatTime(text) {
  const time = parseTime(text);
  if (time === null) return "—";
  const date = new Date(time);
  const today = new Date().toDateString() === date.toDateString();
  const clock = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (today) return clock;
  return `${date.toLocaleDateString("en-GB", { day: "2-digit", month: "short" })} ${clock.slice(0, 5)}`;
}

export function clockTime(text) {
  const time = parseTime(text);
  if (time === null) return "";
  return new Date(time).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function shortId(id) {
  return id.length > 10 ? id.slice(0, 8) : id;
}

/** Calls fn at most once per `ms` (trailing call included). */
export function throttle(fn, ms) {
  let timer = null;
  let again = false;
  const run = () => {
    timer = setTimeout(() => {
      timer = null;
      if (again) {
        again = false;
        fn();
        run();
      }
    }, ms);
  };
  return () => {
    if (timer) {
      again = true;
      return;
    }
    fn();
    run();
  };
}

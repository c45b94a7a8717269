// A JSON editor for run params: validates as you type (an object, finite numbers only) and
// says where the first problem is.

import { h } from "./dom.js";

export function jsonEditor(initial, { label = "Params (a JSON object)" } = {}) {
  const textarea = h("textarea.json-editor", { rows: 9, spellcheck: "false", autocapitalize: "off", "aria-label": label });
  textarea.value = JSON.stringify(initial ?? {}, null, 2);
  const status = h("div.validity", { "aria-live": "polite" });
  const format = h("button.small.ghost", { type: "button" }, "Format");
  const listeners = [];
  let parsed = initial ?? {};

  function check() {
    const result = validate(textarea.value);
    parsed = result.value;
    textarea.setAttribute("aria-invalid", String(!result.ok));
    status.className = `validity ${result.ok ? "ok" : "bad"}`;
    status.textContent = result.message;
    format.disabled = !result.ok;
    for (const listener of listeners) listener(result.ok);
    return result.ok;
  }

  textarea.addEventListener("input", check);
  textarea.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey) return;
    event.preventDefault();
    textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
    check();
  });
  format.addEventListener("click", () => {
    if (check()) textarea.value = JSON.stringify(parsed, null, 2);
  });

  const element = h(
    "div.field",
    h("span", label),
    textarea,
    h("div.editor-foot", status, format),
  );
  queueMicrotask(check);
  return {
    element,
    textarea,
    value: () => parsed,
    valid: check,
    onValidity: (listener) => listeners.push(listener),
  };
}

/** {ok, value, message} for the editor's text. */
function validate(text) {
  if (!text.trim()) return { ok: true, value: {}, message: "Empty: the run gets no params." };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, value: null, message: `Not JSON: ${describe(error, text)}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, value: null, message: "Params must be a JSON object, like {\"epochs\": 10}." };
  }
  const bad = nonFinite(value, "");
  if (bad !== null) return { ok: false, value: null, message: `${bad || "a number"} is too large for a JSON number.` };
  const keys = Object.keys(value).length;
  return { ok: true, value, message: `Valid JSON object (${keys} key${keys === 1 ? "" : "s"}).` };
}

function nonFinite(value, path) {
  if (typeof value === "number") return Number.isFinite(value) ? null : path;
  if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = nonFinite(item, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key);
      if (found !== null) return found;
    }
  }
  return null;
}

// "Unexpected token } in JSON at position 12" → "… (line 2, column 4)".
function describe(error, text) {
  const message = error.message.replace(/^JSON\.parse: /, "");
  const at = /position (\d+)/.exec(message);
  if (!at) return message;
  const before = text.slice(0, Number(at[1]));
  const line = before.split("\n").length;
  const column = before.length - before.lastIndexOf("\n");
  return `${message.replace(/ in JSON at position \d+.*$/, "").replace(/,? ?"[^"]*"\.\.\. is not valid JSON$/, "")} (line ${line}, column ${column})`;
}

// The dashboard's entry point: client-side routing, the token prompt, the live indicator.

import { forgetToken, onConnectionChange, onTokenNeeded, storedToken, storeToken } from "./api.js";
import { h } from "./dom.js";
import { navigate } from "./nav.js";
import { renderCompare } from "./compare.js";
import { renderPipelines } from "./pipelines.js";
import { renderRun } from "./run.js";
import { renderRuns } from "./runs.js";

const main = document.getElementById("main");
let cleanup = () => {};

/** The view of a location, and the top-bar section it belongs to. */
function route(pathname) {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/ui" || path === "/ui/runs") return { view: renderRuns, section: "runs" };
  const run = /^\/ui\/runs\/([^/]+)$/.exec(path);
  if (run) return { view: renderRun, section: "runs", arg: decodeURIComponent(run[1]) };
  if (path === "/ui/pipelines") return { view: renderPipelines, section: "pipelines" };
  if (path === "/ui/compare") return { view: renderCompare, section: "runs" };
  return { view: renderNotFound, section: null };
}

function renderNotFound(target) {
  target.append(
    h("div.panel", h("div.empty", "There is no page here. ", h("a", { href: "/", "data-nav": true, text: "See the runs" }))),
  );
  return () => {};
}

function render() {
  cleanup();
  main.replaceChildren();
  const { view, section, arg } = route(location.pathname);
  for (const link of document.querySelectorAll(".tabs a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  cleanup = view(main, arg, new URLSearchParams(location.search)) ?? (() => {});
}

window.addEventListener("popstate", render);
window.addEventListener("locationchange", render);

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});

// Live indicator: green while streams are connected, amber while one reconnects, absent when
// the page follows nothing (a finished run, the pipelines). While a stream reconnects, a banner
// says the connection is lost and the page's controls are disabled (the page is inert).
const live = document.getElementById("live");
const offline = document.getElementById("offline");
onConnectionChange((state) => {
  live.dataset.state = state;
  live.hidden = state === "idle";
  live.lastElementChild.textContent = state;
  live.title = { live: "Live updates connected", reconnecting: "Reconnecting…", idle: "" }[state];
  const lost = state === "reconnecting";
  offline.hidden = !lost;
  document.getElementById("main").inert = lost;
  document.body.dataset.connection = state;
});

// The token prompt: shown on the first 401; the token is kept in this browser's storage.
const dialog = document.getElementById("token-dialog");
const form = document.getElementById("token-form");
const input = document.getElementById("token-input");
const remember = document.getElementById("token-remember");
const tokenError = document.getElementById("token-error");
const forget = document.getElementById("forget-token");

function showForget() {
  forget.hidden = !storedToken();
}

onTokenNeeded(
  (refused) =>
    new Promise((resolve) => {
      tokenError.hidden = !refused;
      tokenError.textContent = refused ? "That token was refused; enter the service's token." : "";
      input.value = "";
      const submit = (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        storeToken(token, remember.checked);
        form.removeEventListener("submit", submit);
        dialog.close();
        showForget();
        resolve();
      };
      form.addEventListener("submit", submit);
      dialog.addEventListener("cancel", (event) => event.preventDefault());
      if (!dialog.open) dialog.showModal();
      input.focus();
    }),
);

forget.addEventListener("click", () => {
  forgetToken();
  showForget();
  render();
});

showForget();
render();

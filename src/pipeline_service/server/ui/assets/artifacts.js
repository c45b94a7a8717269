// A run's artifacts panel: each file the run keeps in the artifact store, with its size, the
// action and step it belongs to, and a download button (fetched with the token as a header,
// then saved from a local object URL: the token never goes into a URL).

import { fetchBlob, request, seg } from "./api.js";
import { formatTime, h, shortId } from "./dom.js";

export function formatSize(size) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let amount = size;
  let unit = 0;
  while (amount >= 1024 && unit < units.length - 1) {
    amount /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${amount.toFixed(1)} ${units[unit]}`;
}

async function download(runId, artifact, button, onError) {
  button.disabled = true;
  try {
    const blob = await fetchBlob(`/runs/${seg(runId)}/artifacts/${seg(artifact.path)}`);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: artifact.path.split("/").pop(), hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    onError(error);
  } finally {
    button.disabled = false;
  }
}

/** The panel and its `load()` (re-reads the list). */
export function artifactsPanel(runId, { signal, onError }) {
  const body = h("tbody");
  const empty = h("div.empty", "No artifacts yet.");
  const total = h("span.muted");
  const table = h(
    "table.plain#artifacts",
    { hidden: true },
    h("thead", h("tr", h("th", "Path"), h("th", "Size"), h("th", "Action"), h("th", "Step"), h("th.col-created", "Checkpoint"), h("th", ""))),
    body,
  );
  const element = h("section.panel", h("header", h("h2", "Artifacts"), total), table, empty);

  async function load() {
    const artifacts = await request(`/runs/${seg(runId)}/artifacts`, { signal });
    table.hidden = artifacts.length === 0;
    empty.hidden = artifacts.length > 0;
    const bytes = artifacts.reduce((sum, a) => sum + a.size, 0);
    total.textContent = artifacts.length ? `${artifacts.length} · ${formatSize(bytes)}` : "";
    body.replaceChildren(
      ...artifacts.map((artifact) => {
        const button = h("button.small", { type: "button", title: `SHA-256 ${artifact.sha256}` }, "Download");
        button.addEventListener("click", () => download(runId, artifact, button, onError));
        return h(
          "tr",
          { dataset: { path: artifact.path } },
          h("td.mono", { text: artifact.path }),
          h("td.size", { text: formatSize(artifact.size) }),
          h("td", { text: artifact.action_name ?? "—" }),
          h("td", { text: artifact.step ?? "—" }),
          h("td.mono.col-created", { text: artifact.checkpoint_id ? shortId(artifact.checkpoint_id) : "—", title: formatTime(artifact.created_at) }),
          h("td", button),
        );
      }),
    );
  }

  return { element, load };
}

// Client-side navigation: views call navigate(); app.js renders on "locationchange".

export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  window.dispatchEvent(new Event("locationchange"));
  window.scrollTo(0, 0);
}

/** The dashboard page of a run. */
export const runUrl = (runId) => `/ui/runs/${encodeURIComponent(runId)}`;

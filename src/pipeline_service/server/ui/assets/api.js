// The Pipeline Service API from the browser: JSON requests and Server-Sent Event streams,
// both with the bearer token as a header (EventSource cannot send headers, so streams are
// read with fetch). The token never goes into a URL.

const API = "/api/v1";
const TOKEN_KEY = "pipeline-service-token";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// How long "Remember" keeps a token on this device; without it, a token lasts for this tab's
// session only.
export const REMEMBER_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

export function storedToken() {
  const session = sessionStorage.getItem(TOKEN_KEY);
  if (session) return session;
  let remembered = null;
  try {
    remembered = JSON.parse(localStorage.getItem(TOKEN_KEY));
  } catch {
    // an older release kept the bare token: not kept any longer
  }
  if (remembered && typeof remembered.token === "string" && remembered.expires > Date.now()) {
    return remembered.token;
  }
  localStorage.removeItem(TOKEN_KEY); // expired (or unreadable): forgotten
  return null;
}

export function storeToken(token, remember) {
  forgetToken();
  if (remember) {
    const expires = Date.now() + REMEMBER_DAYS * DAY_MS;
    localStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expires }));
  } else {
    sessionStorage.setItem(TOKEN_KEY, token);
  }
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

// Called on a 401 with whether a token was sent; resolves once a new token is stored.
let askForToken = async () => {
  throw new ApiError(401, "a token is required");
};
let pendingAsk = null;

export function onTokenNeeded(ask) {
  askForToken = ask;
}

function newToken(refused) {
  pendingAsk ??= askForToken(refused).finally(() => {
    pendingAsk = null;
  });
  return pendingAsk;
}

function headers(extra = {}) {
  const all = { ...extra };
  const token = storedToken();
  if (token) all.Authorization = `Bearer ${token}`;
  return all;
}

function detailOf(data, fallback) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ");
  return fallback;
}

const NEXT_PAGE = /<([^>]*)>\s*;\s*rel="?next"?/;

/**
 * A JSON request to the API; resolves to the parsed body (null for 204). With `all`, a page the
 * server cut short (`Link: <…>; rel="next"`) is followed by the pages after it, concatenated.
 * `onHeaders(headers)` gets the headers of a successful answer.
 */
export async function request(
  path,
  { method = "GET", body, signal, idempotent = false, all = false, onHeaders = () => {} } = {},
) {
  for (;;) {
    const extra = { Accept: "application/json" };
    if (body !== undefined) extra["Content-Type"] = "application/json";
    if (idempotent) extra["Idempotency-Key"] = crypto.randomUUID();
    const sent = storedToken();
    const response = await fetch(API + path, {
      method,
      headers: headers(extra),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
    if (response.status === 401) {
      await newToken(Boolean(sent));
      continue;
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      throw new ApiError(response.status, detailOf(data, `${response.status} ${response.statusText}`));
    }
    onHeaders(response.headers);
    const next = all && NEXT_PAGE.exec(response.headers.get("Link") ?? "");
    if (next && next[1].startsWith(API + "/")) {
      return data.concat(await request(next[1].slice(API.length), { signal, all }));
    }
    return data;
  }
}

/** Downloads a file of the API as a Blob (the token goes as a header, as everywhere). */
export async function fetchBlob(path, { signal } = {}) {
  for (;;) {
    const sent = storedToken();
    const response = await fetch(API + path, { headers: headers(), signal, cache: "no-store" });
    if (response.status === 401) {
      await newToken(Boolean(sent));
      continue;
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new ApiError(response.status, detailOf(data, `${response.status} ${response.statusText}`));
    }
    return response.blob();
  }
}

// The state of every open stream, summed up for the page's "live" indicator.
const connections = new Map();
let connectionListener = () => {};

export function onConnectionChange(listener) {
  connectionListener = listener;
}

function setConnection(key, status) {
  if (status === "ended") connections.delete(key);
  else connections.set(key, status);
  const states = [...connections.values()];
  connectionListener(
    states.includes("reconnecting") ? "reconnecting" : states.includes("live") ? "live" : "idle",
  );
}

/** Percent-encodes one path segment (ids are opaque strings). */
export const seg = (value) => encodeURIComponent(value);

/**
 * Follows an event stream of the API. `onEvent(name, data, id)` gets each event (data parsed
 * as JSON) and returns true to end the stream. Dropped connections are resumed with
 * Last-Event-ID (at first `lastEventId`, if given) after the server's `retry:` delay.
 * `onStatus("live" | "reconnecting" | "ended")` reports the connection; `onError(ApiError)` a
 * refusal (e.g. 404), which ends the stream.
 */
export function follow(
  path,
  { onEvent, onStatus: report = () => {}, onError = () => {}, lastEventId = null },
) {
  const controller = new AbortController();
  const key = Symbol(path);
  let lastId = lastEventId;
  let retry = 2000;
  let stopped = false;

  const onStatus = (status) => {
    setConnection(key, status);
    report(status);
  };
  const stop = () => {
    stopped = true;
    controller.abort();
    setConnection(key, "ended");
  };

  (async () => {
    while (!stopped) {
      let finished = false;
      try {
        const sent = storedToken();
        const extra = { Accept: "text/event-stream" };
        if (lastId !== null) extra["Last-Event-ID"] = lastId;
        const response = await fetch(API + path, {
          headers: headers(extra),
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          await newToken(Boolean(sent));
          continue;
        }
        if (!response.ok) {
          const data = await response.json().catch(() => null);
          onError(new ApiError(response.status, detailOf(data, response.statusText)));
          onStatus("ended");
          return;
        }
        onStatus("live");
        finished = await readEvents(response.body, (field) => {
          if (field.retry !== undefined) retry = field.retry;
          if (field.id !== undefined) lastId = field.id;
          return field.data !== undefined && onEvent(field.event, field.data, field.id);
        });
      } catch (error) {
        if (stopped || error.name === "AbortError") return;
      }
      if (finished || stopped) {
        onStatus("ended");
        return;
      }
      onStatus("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, retry));
    }
  })();

  return { close: stop };
}

// Parses the event-stream format; `dispatch` returns true to stop. Resolves to true when
// stopped by dispatch, false when the server closed the stream.
export async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = {};
  let data = [];
  const lineBreak = /\r\n|\r|\n/g;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += value;
      let start = 0;
      for (;;) {
        lineBreak.lastIndex = start;
        const found = lineBreak.exec(buffer);
        // A lone "\r" at the end may be the first half of "\r\n": wait for more.
        if (!found || (found[0] === "\r" && found.index === buffer.length - 1)) break;
        const line = buffer.slice(start, found.index);
        start = found.index + found[0].length;
        if (line === "") {
          if (data.length) {
            let parsed;
            try {
              parsed = JSON.parse(data.join("\n"));
            } catch {
              parsed = data.join("\n");
            }
            if (dispatch({ ...event, event: event.event ?? "message", data: parsed })) return true;
          } else if (event.id !== undefined || event.retry !== undefined) {
            dispatch(event);
          }
          event = {};
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment: the server's ping
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (name === "data") data.push(text);
        else if (name === "event") event.event = text;
        else if (name === "id") event.id = text;
        else if (name === "retry" && /^\d+$/.test(text)) event.retry = Number(text);
      }
      buffer = buffer.slice(start);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

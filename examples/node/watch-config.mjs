// Follow parako-config's runtime configuration from a Node.js process: no dependencies, only the
// built-in fetch and a streaming reader (Node 18+).
//
//   PARAKO_CONFIG_URL=http://127.0.0.1:9007 PARAKO_CONFIG_TOKEN=… node watch-config.mjs
//
// Loads GET /api/v1/runtime once, then follows GET /api/v1/runtime/watch (Server-Sent Events) and
// logs one line per applied version, e.g. `version 1.0.3: branding.companyName`. When the
// stream ends or the connection drops it reconnects after a growing, jittered delay (at most
// 30 s) and sends Last-Event-ID, so the server replays what was applied meanwhile: no version is
// missed or logged twice. PARAKO_CONFIG_TENANT=slug follows a tenant's effective config.
//
// The runtime config holds secrets in clear: use https:// or a loopback address.

const base = (process.env.PARAKO_CONFIG_URL ?? "http://127.0.0.1:9007").replace(/\/+$/, "");
const token = process.env.PARAKO_CONFIG_TOKEN;
const tenant = process.env.PARAKO_CONFIG_TENANT;
if (!token) {
  console.error("PARAKO_CONFIG_TOKEN is not set (parako-config token create app --scope parako:config:runtime)");
  process.exit(2);
}
const api = base.endsWith("/api/v1") ? base : `${base}/api/v1`;
const query = tenant ? `?tenant=${encodeURIComponent(tenant)}` : "";
const headers = { Authorization: `Bearer ${token}` };
const IDLE_MS = 45_000; // the server sends a keep-alive comment every 15 s
const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 30_000;

let config = null; // the current runtime config (secrets in clear: never log it whole)
let etag = null;
let lastEventId = null; // the `id` of the last event applied: where a reconnection resumes
const stopping = new AbortController();

class Refused extends Error {}

async function refusal(response) {
  let message = response.statusText;
  try {
    message = (await response.json()).error.message;
  } catch {
    // not our error shape (a proxy's page): keep the status text
  }
  const text = `${response.status} ${message}`;
  return response.status === 401 || response.status === 403 ? new Refused(text) : new Error(text);
}

async function load() {
  const response = await fetch(`${api}/runtime${query}`, { headers, signal: stopping.signal });
  if (!response.ok) throw await refusal(response);
  const body = await response.json();
  config = body.data;
  etag = response.headers.get("etag")?.replaceAll('"', "") ?? null;
  console.log(`loaded version ${body.meta.version ?? etag} (etag ${etag})`);
}

function apply(type, id, body) {
  lastEventId = id;
  if (type === "snapshot") {
    const tag = String(body.etag ?? body._version);
    if (tag !== etag) console.log(`version ${body.version ?? tag}: (new snapshot, resynced)`);
    else console.log(`watching from version ${body.version ?? tag}`);
    etag = tag;
    config = body.config;
    return;
  }
  if (body.config) config = body.config;
  if (body.etag || body.stream === "platform") etag = String(body.etag ?? body._version);
  console.log(`version ${body.version ?? body._version}: ${body.paths.join(", ")}`);
}

// One connection of the stream; returns when it ends. Lines end with CR, LF or CRLF; a blank
// line dispatches the event; `:` lines are comments (keep-alives).
async function follow(onBytes) {
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(), IDLE_MS);
  const signal = AbortSignal.any([stopping.signal, idle.signal]);
  const watchHeaders = { ...headers, Accept: "text/event-stream" };
  if (lastEventId !== null) watchHeaders["Last-Event-ID"] = lastEventId;
  try {
    const response = await fetch(`${api}/runtime/watch${query}`, { headers: watchHeaders, signal });
    if (!response.ok) throw await refusal(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let afterCR = false; // the last chunk ended with CR: a LF first in this one belongs to it
    let event = { type: "", data: [], id: lastEventId };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), IDLE_MS);
      onBytes();
      buffer += afterCR && value.startsWith("\n") ? value.slice(1) : value;
      afterCR = value.endsWith("\r");
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop(); // the unfinished line
      for (const line of lines) {
        if (line === "") {
          if (event.data.length) apply(event.type || "message", event.id, JSON.parse(event.data.join("\n")));
          event = { type: "", data: [], id: event.id };
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let text = colon < 0 ? "" : line.slice(colon + 1);
          if (text.startsWith(" ")) text = text.slice(1);
          if (field === "data") event.data.push(text);
          else if (field === "event") event.type = text;
          else if (field === "id" && !text.includes("\0")) event.id = text;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  await load();
  let attempt = 0;
  while (!stopping.signal.aborted) {
    try {
      await follow(() => (attempt = 0));
    } catch (error) {
      if (error instanceof Refused) throw error;
      if (stopping.signal.aborted) break;
      console.error(`stream interrupted (${error.cause?.code ?? error.message}), reconnecting`);
    }
    if (stopping.signal.aborted) break;
    const step = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** attempt++);
    await new Promise((resolve) => setTimeout(resolve, step / 2 + Math.random() * (step / 2)));
  }
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopping.abort());
main().then(
  () => process.exit(0),
  (error) => {
    if (stopping.signal.aborted) process.exit(0);
    console.error(error instanceof Refused ? `token refused: ${error.message}` : `failed: ${error.message}`);
    process.exit(1);
  },
);

// The nimbus console: log in, then follow the event log and what it drives.
// Plain browser JavaScript, no build step. Every call sends the Keystone
// token as X-Auth-Token; the token lives in sessionStorage (this tab only).
"use strict";

const TOKEN_KEY = "nimbus.console.token";
const KEEP_EVENTS = 300;     // rows the stream panel keeps
const BACKLOG = 100;         // events shown from before the page opened
const LAG_EVERY_MS = 5000;   // /readyz is polled too: lag grows without events

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  session: null,
  events: [],                // newest last
  projectOf: new Map(),      // aggregate id -> project id, learned from events
  stream: null,              // the AbortController of the stream's fetch
  lastPosition: 0,
  refreshTimer: null,
  lagTimer: null,
  parts: null,               // the last /readyz parts (or null)
  steps: [], step: 0,        // the stepper: the states, the one shown
  kind: "", truncated: false, // the stepped aggregate's kind, whether it was cut
};

// ---- calls ----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers["X-Auth-Token"] = state.token;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && path !== "/identity/v3/auth/tokens") {
    logout("Your token is no longer accepted; log in again.");
    throw new ApiError(401, "unauthorized");
  }
  return response;
}

async function json(path) {
  const response = await api(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, messageOf(body, response.status));
  return body;
}

function messageOf(body, status) {
  // Nova, Keystone and Neutron bodies all hold one object with a message
  for (const value of Object.values(body || {})) {
    if (value && typeof value === "object" && value.message) return value.message;
  }
  return `HTTP ${status}`;
}

// ---- DOM ------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function fillBody(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
}

function time(iso) {
  return iso ? new Date(iso).toISOString().replace("T", " ").replace("Z", "") : "";
}

function clock(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 23) : "";
}

// ---- login ----------------------------------------------------------------

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const body = { auth: {
    identity: { methods: ["password"], password: { user: {
      name: $("login-user").value, domain: { name: "Default" },
      password: $("login-password").value } } },
    scope: { project: { name: $("login-project").value, domain: { name: "Default" } } },
  } };
  state.token = null;
  const response = await api("/identity/v3/auth/tokens", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) {
    const reply = await response.json().catch(() => ({}));
    $("login-error").textContent = `Login failed: ${messageOf(reply, response.status)}`;
    return;
  }
  state.token = response.headers.get("X-Subject-Token");
  $("login-password").value = "";
  await open();
}

async function open() {
  try {
    state.session = await json("/console/api/session");
  } catch (error) {
    if (error.status === 403) {
      const who = $("login-user").value;
      logout(`${who} is not an administrator of project ${$("login-project").value}: ` +
             "the console shows the whole cloud, so it needs the admin role.");
    } else if (error.status !== 401) {
      logout(`The console could not start: ${error.message}`);
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("login").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  $("who").textContent = `${state.session.user} on ${state.session.project}`;
  follow(Math.max(0, state.session.head - BACKLOG));
  refreshSoon(0);
  state.lagTimer = setInterval(refreshLag, LAG_EVERY_MS);
}

function logout(message = "") {
  state.stream?.abort();
  clearInterval(state.lagTimer);
  clearTimeout(state.refreshTimer);
  state.token = null;
  state.session = null;
  state.events = [];
  sessionStorage.removeItem(TOKEN_KEY);
  $("console").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("who").textContent = "";
  $("login-error").textContent = message;
}

// ---- the event stream -----------------------------------------------------

// EventSource sends no headers, so the stream is read with fetch: the
// Server-Sent Events frames ("id:", "event:", "data:", a blank line) parsed
// here. A dropped stream is picked up again after the last position seen.
async function follow(after) {
  const controller = new AbortController();
  state.stream = controller;
  state.lastPosition = after;
  while (!controller.signal.aborted) {
    try {
      const response = await api(`/events/stream?after=${state.lastPosition}`,
                                  { signal: controller.signal, headers: { Accept: "text/event-stream" } });
      if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
      $("stream-status").textContent = "live";
      await readFrames(response.body.getReader());
    } catch (error) {
      if (controller.signal.aborted) return;
      $("stream-status").textContent = `reconnecting (${error.message})…`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function readFrames(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6)).join("\n");
      if (data) received(JSON.parse(data));
    }
  }
}

function received(message) {
  state.lastPosition = message.position;
  const project = message.event.project_id;
  if (project) state.projectOf.set(message.aggregate_id, project);
  state.events.push(message);
  if (state.events.length > KEEP_EVENTS) state.events.shift();
  if (shown(message)) {
    const body = $("events").tBodies[0];
    body.prepend(eventRow(message));
    while (body.rows.length > KEEP_EVENTS) body.lastChild.remove();
  }
  refreshSoon();
}

function shown(message) {
  const aggregate = $("filter-aggregate").value.trim();
  const project = $("filter-project").value.trim();
  const type = $("filter-type").value.trim().toLowerCase();
  return (!aggregate || message.aggregate_id.includes(aggregate)) &&
    (!project || (message.event.project_id || state.projectOf.get(message.aggregate_id)) === project) &&
    (!type || message.type.toLowerCase().includes(type));
}

function eventRow(message) {
  const requestId = message.event.request_id;
  return el("tr", { dataset: { position: message.position, type: message.type,
                               aggregate: message.aggregate_id, request: requestId || "" } },
    el("td", {}, message.position),
    el("td", { class: "type" }, message.type),
    el("td", {}, el("button", { type: "button", class: "link aggregate",
                                title: "Step through this aggregate's states",
                                onclick: () => loadStates(message.aggregate_id) },
                   `${message.aggregate_id} v${message.version}`)),
    el("td", {}, requestId ? el("button", { type: "button", class: "link request",
                                            title: "Trace this request",
                                            onclick: () => traceRequest(requestId) },
                               requestId) : ""),
    el("td", { class: "when", title: time(message.event.at) }, clock(message.event.at)));
}

function refilter() {
  const rows = state.events.filter(shown).reverse().map(eventRow);
  fillBody($("events"), rows);
}

// ---- servers, volumes, hosts, lag -----------------------------------------

// Many events come in bursts; the tables are read once a burst has passed.
function refreshSoon(delay = 300) {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshTables, delay);
}

async function refreshTables() {
  await Promise.allSettled([refreshServers(), refreshVolumes(), refreshHosts(), refreshLag()]);
}

// Reads overlap (a burst, the timer): an answer that comes after the answer
// to a later read of the same table is old news, and is dropped.
const reads = {};

async function latest(table, read) {
  const mine = (reads[table] = (reads[table] || 0) + 1);
  const body = await read();
  return mine === reads[table] ? body : null;
}

async function refreshServers() {
  const body = await latest("servers", () => json("/compute/v2.1/servers/detail?all_tenants=1"));
  if (!body) return;
  fillBody($("servers"), body.servers.map((s) => el("tr", { dataset: { id: s.id, status: s.status } },
    el("td", {}, s.name), el("td", {}, el("button", { type: "button", class: "link",
                                                      onclick: () => loadStates(s.id) }, s.id)),
    el("td", { class: `status ${s.status.toLowerCase()}` }, s.status),
    el("td", {}, s["OS-EXT-SRV-ATTR:host"] || ""), el("td", {}, s.tenant_id))));
}

async function refreshVolumes() {
  const path = `/volume/v3/${state.session.project_id}/volumes/detail?all_tenants=1`;
  const body = await latest("volumes", () => json(path));
  if (!body) return;
  fillBody($("volumes"), body.volumes.map((v) => el("tr", { dataset: { id: v.id, status: v.status } },
    el("td", {}, v.name || ""), el("td", {}, el("button", { type: "button", class: "link",
                                                            onclick: () => loadStates(v.id) }, v.id)),
    el("td", { class: `status ${v.status}` }, v.status), el("td", {}, v.size),
    el("td", {}, (v.attachments || []).map((a) => a.server_id).join(", ")))));
}

async function refreshHosts() {
  const body = await latest("hosts", () => json("/compute/v2.1/os-hypervisors/detail"));
  if (!body) return;
  fillBody($("hosts"), body.hypervisors.map((h) => el("tr", { dataset: { host: h.hypervisor_hostname } },
    el("td", {}, h.hypervisor_hostname), el("td", { class: `status ${h.state}` }, h.state),
    el("td", {}, h.status), el("td", {}, h.running_vms),
    el("td", {}, `${h.vcpus_used} / ${h.vcpus}`), el("td", {}, `${h.memory_mb_used} / ${h.memory_mb}`))));
}

// /readyz names each view and host with its lag ("parts"); an older server
// gives only the views' position, the head, the lag and the stuck views. It
// answers 503 with the same body when not ready.
async function refreshLag() {
  const body = await latest("lag", async () => (await api("/readyz")).json());
  if (body) renderLag(body);
}

function renderLag(body) {
  $("ready").textContent = `Status: ${body.status}`;
  const parts = Array.isArray(body.parts) ? body.parts : null;
  state.parts = parts;
  const rows = parts ? parts.map(partRow) : [
    partRow({ name: "views", kind: "view", position: body.position,
              lag_events: body.lag, lag_seconds: null,
              stuck: (body.stuck || []).length > 0,
              why: (body.stuck || []).map((s) => `${s.view} at ${s.position}: ${s.error}`).join("; ") }),
  ];
  fillBody($("lag"), rows);
}

function partRow(part) {
  const stuck = part.stuck ? `yes${part.why ? `: ${part.why}` : ""}` : "no";
  return el("tr", { dataset: { part: part.name, stuck: part.stuck ? "yes" : "no" } },
    el("td", {}, part.name), el("td", {}, part.kind), el("td", {}, part.position ?? ""),
    el("td", {}, part.lag_events ?? ""),
    el("td", {}, part.lag_seconds === null || part.lag_seconds === undefined
      ? "" : Number(part.lag_seconds).toFixed(1)),
    el("td", { class: part.stuck ? "stuck" : "" }, stuck));
}

// ---- one request, cause to effect -----------------------------------------

// command -> the events it wrote -> the host's outcome -> the views
async function traceRequest(requestId) {
  $("request-id").value = requestId;
  const target = $("request");
  target.replaceChildren(el("p", {}, "loading…"));
  let trace;
  try {
    trace = await json(`/console/api/requests/${encodeURIComponent(requestId)}`);
  } catch (error) {
    target.replaceChildren(el("p", { role: "alert" }, error.message));
    return;
  }
  $("request-panel").scrollIntoView({ block: "nearest" });
  if (!trace.steps.length) {
    target.replaceChildren(el("p", {}, `No stored event carries ${requestId}.`));
    return;
  }
  const first = trace.steps[0];
  const last = trace.steps[trace.steps.length - 1];
  const start = Date.parse(first.at);
  const seconds = (at) => ((Date.parse(at) - start) / 1000).toFixed(3);
  const stepItem = (s) => el("li", { dataset: { type: s.type, position: s.position } },
    el("strong", {}, s.type), ` +${seconds(s.at)} s · position ${s.position} · `,
    el("button", { type: "button", class: "link", onclick: () => loadStates(s.aggregate_id) },
       `${s.aggregate} ${s.aggregate_id} v${s.version}`),
    s.to_host ? ` · sent to host ${s.host}` : "",
    s.carries_request ? "" : " · in the same commit", ` · recorded ${time(s.at)}`);
  const phase = (name, title, about, body) => el("li", { class: `phase ${name}`, dataset: { phase: name } },
    el("h3", {}, title, " ", el("small", {}, `(${about})`)), body);
  const listOf = (steps) => steps.length ? el("ol", {}, ...steps.map(stepItem)) : el("p", {}, "none");
  const written = trace.steps.filter((s) => s.phase === "command");
  const outcomes = trace.steps.filter((s) => s.phase === "outcome");
  const user = first.event.user_id ? ` by user ${first.event.user_id}` : "";
  target.replaceChildren(
    el("p", { class: "summary" }, `${trace.request_id}: ${trace.steps.length} events over ` +
      `${seconds(last.at)} s` + (trace.truncated ? " (only the first shown)" : "")),
    el("ol", { class: "causal" },
      phase("command", "Command", "the API's request",
            el("p", {}, `accepted${user} at ${time(first.at)}`)),
      phase("events", "Events", "what the command wrote, in one commit", listOf(written)),
      phase("outcome", "Host outcome", "the hosts' reports, or a deadline, recorded",
            listOf(outcomes)),
      phase("views", "Views", "where the read side stands", viewsOf(trace, last.position))));
}

function viewsOf(trace, position) {
  const views = (state.parts || []).filter((p) => p.kind === "view");
  if (!views.length) {
    const applied = trace.views_position >= position;
    return el("p", { dataset: { applied: applied ? "yes" : "no" } },
      applied ? `applied: the views are at position ${trace.views_position}, ` +
                `past this request's last event (${position})`
              : `not yet applied: the views are at ${trace.views_position}, ` +
                `this request's last event is at ${position}`);
  }
  return el("ul", {}, ...views.map((v) => el("li", {},
    `${v.name}: at position ${v.position}, ` +
    (v.position >= position ? "applied" : `${position - v.position} events to go`))));
}

// ---- one aggregate, state after state -------------------------------------

async function loadStates(aggregateId) {
  $("aggregate-id").value = aggregateId;
  $("states-error").textContent = "";
  let found;
  try {
    found = await json(`/console/api/aggregates/${encodeURIComponent(aggregateId)}/states`);
  } catch (error) {
    $("stepper").hidden = true;
    $("states-error").textContent = error.message;
    return;
  }
  state.steps = found.states;
  state.kind = found.kind;
  state.truncated = found.truncated;
  $("stepper").hidden = false;
  showStep(state.steps.length - 1);
  $("states-panel").scrollIntoView({ block: "nearest" });
}

function showStep(index) {
  const steps = state.steps;
  state.step = Math.max(0, Math.min(index, steps.length - 1));
  const step = steps[state.step];
  $("step-label").textContent = `${state.kind} ${$("aggregate-id").value}: event ` +
    `${state.step + 1} of ${steps.length}, ${step.type} (version ${step.version}, ` +
    `position ${step.position}, ${time(step.at)})` +
    (state.truncated ? `; only its first ${steps.length} events are shown` : "");
  $("step-label").dataset.version = step.version;
  $("step-label").dataset.type = step.type;
  $("step-state").textContent = JSON.stringify(step.state, null, 2);
  $("step-event").textContent = JSON.stringify(step.event, null, 2);
  $("step-first").disabled = $("step-prev").disabled = state.step === 0;
  $("step-last").disabled = $("step-next").disabled = state.step === steps.length - 1;
}

// ---- wiring ---------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  for (const id of ["filter-aggregate", "filter-project", "filter-type"]) {
    $(id).addEventListener("input", refilter);
    $(id).addEventListener("change", refilter);
  }
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("request-form").addEventListener("submit", (e) => {
    e.preventDefault(); traceRequest($("request-id").value.trim());
  });
  $("states-form").addEventListener("submit", (e) => {
    e.preventDefault(); loadStates($("aggregate-id").value.trim());
  });
  $("step-first").addEventListener("click", () => showStep(0));
  $("step-prev").addEventListener("click", () => showStep(state.step - 1));
  $("step-next").addEventListener("click", () => showStep(state.step + 1));
  $("step-last").addEventListener("click", () => showStep(state.steps.length - 1));
  if (state.token) open();
});

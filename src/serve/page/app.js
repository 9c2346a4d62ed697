// tact's review queue: reads /v1/info, /v1/queue and /v1/figures with the API key kept in
// this tab's session storage, records each verdict with POST /v1/feedback, and checks the
// reply being edited with POST /v1/lint as the moderator types. Every value
// from the server goes into the page as text, never as markup.
"use strict";

const KEY = "tact-api-key";
const state = { items: [], selected: 0, labels: null, store: null, author: null };
const $ = (id) => document.getElementById(id);

function headers(extra) {
  const h = Object.assign({ "Accept": "application/json" }, extra || {});
  const key = sessionStorage.getItem(KEY);
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

class HttpError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || {};
    throw new HttpError(response.status, error.code || "error", error.message || response.statusText);
  }
  return body;
}

function say(text) {
  $("status").textContent = text;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { $("status").textContent = ""; }, 4000);
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function option(select, value, text) {
  const o = el("option", text === undefined ? value : text);
  o.value = value;
  select.appendChild(o);
}

// ---- signing in -------------------------------------------------------------------------

function showLogin(message) {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("api-key").focus();
}

async function start() {
  let info;
  try {
    info = await api("/v1/info");
  } catch (e) {
    if (e.status === 401) {
      const had = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
      showLogin(had ? "That key was refused." : "");
      return;
    }
    say("The server did not answer: " + e.message);
    return;
  }
  state.labels = info.labels;
  state.store = info.store;
  $("login").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = !sessionStorage.getItem(KEY);
  fillLabels();
  await refresh(state.queueRead);
  state.queueRead = null;
  // For the page-load bench: when the first queue is on screen.
  performance.mark("tact-queue-shown");
  $("queue").focus();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("api-key").value.trim());
  $("api-key").value = "";
  // With a key in this tab, the queue is asked for at once, beside /v1/info.
if (sessionStorage.getItem(KEY)) {
  state.queueRead = readQueue();
  state.queueRead.catch(() => {});
}
start();
});

$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  showLogin("Signed out.");
});

function fillLabels() {
  const actions = state.labels.action;
  for (const select of [$("f-action"), $("o-action")]) {
    while (select.options.length > (select.id === "f-action" ? 1 : 0)) select.remove(select.options.length - 1);
    for (const a of actions) option(select, a);
  }
  const intents = $("o-intent");
  while (intents.options.length > 1) intents.remove(1);
  for (const i of state.labels.intent) option(intents, i);
}

// ---- the queue and the figures ----------------------------------------------------------

function filterQuery() {
  const params = new URLSearchParams();
  for (const [name, id] of [["lang", "f-lang"], ["action", "f-action"], ["rule", "f-rule"], ["author", "f-author"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  const query = params.toString();
  return query ? "?" + query : "";
}

async function refresh(early) {
  if (!state.store) {
    $("detail-empty").textContent = "The store is off (--store off): there is no queue. Decisions can still be tried below.";
    $("figures").hidden = true;
    return;
  }
  try {
    const [queue, figures] = await (early || readQueue());
    state.items = queue.items;
    state.selected = Math.min(state.selected, Math.max(0, state.items.length - 1));
    $("queue-count").textContent = "(" + queue.items.length + (queue.more ? "+" : "") + ")";
    renderQueue();
    renderFigures(figures);
    await select(state.selected);
  } catch (e) {
    if (e.status === 401) return showLogin("That key was refused.");
    say("Could not read the queue: " + e.message);
  }
}

function readQueue() {
  return Promise.all([api("/v1/queue" + filterQuery()), api("/v1/figures")]);
}

$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.selected = 0;
  refresh();
});

function percent(x) { return (100 * x).toFixed(1) + "%"; }

function renderFigures(f) {
  const main = $("figures-main");
  main.replaceChildren();
  for (const [label, value] of [
    ["comments decided", f.decided],
    ["automated", percent(f.share_automated)],
    ["reviewed", percent(f.share_reviewed)],
  ]) {
    const box = el("div");
    box.append(el("dt", label), el("dd", value));
    main.appendChild(box);
  }
  for (const [id, rates] of [["rates-action", f.by_action], ["rates-rule", f.by_rule]]) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    for (const r of rates.slice(0, 8)) {
      const row = el("tr");
      row.append(el("td", r.label), el("td", r.reviewed), el("td", r.overridden + " (" + percent(r.rate) + ")"));
      body.appendChild(row);
    }
    if (!rates.length) {
      const row = el("tr");
      const cell = el("td", "no verdicts yet");
      cell.colSpan = 3;
      row.appendChild(cell);
      body.appendChild(row);
    }
  }
}

// Time left until the answer is due: green, amber past half the window, red when late.
function due(item) {
  if (item.due_at_ms === null || item.due_at_ms === undefined) return { text: "no deadline", cls: "ok" };
  const left = item.due_at_ms - Date.now();
  const window = (item.decision.respond_within_minutes || 1) * 60000;
  const minutes = Math.round(Math.abs(left) / 60000);
  const span = minutes >= 120 ? Math.round(minutes / 60) + " h" : minutes + " min";
  if (left < 0) return { text: "late by " + span, cls: "late" };
  return { text: span + " left", cls: left < window / 2 ? "warn" : "ok" };
}

function renderQueue() {
  const list = $("queue");
  const rows = document.createDocumentFragment();
  state.items.forEach((item, index) => {
    const d = item.decision;
    const li = el("li");
    li.id = "item-" + index;
    li.setAttribute("role", "option");
    li.dataset.decision = item.decision_id;
    li.setAttribute("aria-selected", index === state.selected ? "true" : "false");
    const line = el("span", null, "line1");
    const left = el("span");
    left.append(el("span", d.priority, "pill " + d.priority), " ", el("strong", d.action), " · " + d.rule);
    const clock = due(item);
    line.append(left, el("span", clock.text, "due " + clock.cls));
    li.append(line, el("span", item.text || "(text not stored)", "text"));
    li.addEventListener("click", () => select(index));
    rows.appendChild(li);
  });
  list.replaceChildren(rows);
  $("detail-empty").hidden = state.items.length > 0;
  $("detail-body").hidden = state.items.length === 0;
}

async function select(index) {
  if (!state.items.length) return;
  state.selected = Math.max(0, Math.min(index, state.items.length - 1));
  for (const li of $("queue").children) {
    li.setAttribute("aria-selected", li.id === "item-" + state.selected ? "true" : "false");
  }
  const current = $("item-" + state.selected);
  if (current) current.scrollIntoView({ block: "nearest" });
  $("queue").setAttribute("aria-activedescendant", "item-" + state.selected);
  const item = state.items[state.selected];
  const d = item.decision;
  $("d-lang").textContent = d.lang;
  $("d-author").textContent = item.author_id ? "author " + item.author_id : "no author";
  const clock = due(item);
  $("d-due").textContent = clock.text;
  $("d-due").className = "due " + clock.cls;
  $("d-text").textContent = item.text || "(the text is not stored: run tact serve with --store-text)";
  const thread = $("d-thread");
  thread.replaceChildren();
  for (const m of item.thread || []) {
    thread.appendChild(el("li", (m.from_brand ? "brand: " : "") + m.text, m.from_brand ? "brand" : ""));
  }
  $("d-action").textContent = d.action + (d.needs_review ? " (review asked)" : "") + " · " + (d.responder || "no responder") + " · " + d.channel;
  $("d-intent").textContent = d.intent.label + " " + d.intent.confidence.toFixed(2) + " · sentiment " + d.sentiment.label;
  $("d-confidence").textContent = d.confidence.toFixed(2);
  $("d-rule").textContent = d.rule;
  $("d-guideline").textContent = d.guideline;
  const reasons = $("d-reasons");
  reasons.replaceChildren();
  for (const r of d.reasons) reasons.appendChild(el("li", r));
  $("d-reply").value = d.reply ? d.reply.text : "";
  $("o-action").value = d.action;
  $("o-intent").value = "";
  history(item);
  checkReply();
}

async function history(item) {
  const line = $("d-history");
  if (!item.author_id) { line.textContent = ""; return; }
  line.textContent = "Reading the author's history…";
  try {
    const h = await api("/v1/authors/" + encodeURIComponent(item.author_id));
    if (state.items[state.selected] !== item) return;
    const actions = h.actions.map((a) => a.label + " ×" + a.count).join(", ");
    line.textContent = "Author history: " + h.comments + " comment(s), answered " + h.brand_answers +
      " time(s), " + h.follow_ups + " follow-up(s) (" + h.hostile_follow_ups + " hostile); earlier actions: " + (actions || "none");
  } catch (e) {
    line.textContent = e.status === 404 ? "No history of this author." : "History unavailable: " + e.message;
  }
}

// ---- checking the reply -----------------------------------------------------------------

// The draft is checked against the reply guidelines a moment after the moderator stops
// typing; only the answer to the latest draft is shown.
const lint = { timer: null, seq: 0 };

function checkReplySoon() {
  clearTimeout(lint.timer);
  lint.timer = setTimeout(checkReply, 300);
}

async function checkReply() {
  clearTimeout(lint.timer);
  const seq = ++lint.seq;
  const item = state.items[state.selected];
  const reply = $("d-reply").value;
  if (!item || !reply.trim()) {
    $("d-lint").textContent = "";
    $("d-findings").replaceChildren();
    return;
  }
  const d = item.decision;
  const body = { reply, intent: $("o-intent").value || d.intent.label, lang: d.lang };
  if (item.text) body.comment = item.text;
  $("d-lint").textContent = "Checking the reply…";
  try {
    const report = await api("/v1/lint", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (seq === lint.seq) showFindings(reply, report);
  } catch (e) {
    if (seq !== lint.seq) return;
    $("d-findings").replaceChildren();
    $("d-lint").textContent = "Reply check unavailable: " + e.message;
  }
}

// One line per finding: what rule, the words it is about (spans count Unicode characters),
// the message and the suggestion. Personal data is pointed at, never quoted again.
function showFindings(reply, report) {
  const chars = Array.from(reply);
  const list = $("d-findings");
  list.replaceChildren();
  $("d-lint").textContent = report.ok
    ? "Reply check: nothing found, the reply follows the guidelines."
    : "Reply check: " + report.findings.length + " finding(s).";
  for (const f of report.findings) {
    const li = el("li", null, f.severity);
    li.dataset.kind = f.kind;
    li.appendChild(el("strong", f.severity + ": " + f.kind.replace(/_/g, " ")));
    const whole = f.span[0] === 0 && f.span[1] >= chars.length;
    if (f.kind !== "personal_data" && !whole) li.appendChild(el("q", chars.slice(f.span[0], f.span[1]).join("")));
    li.appendChild(el("span", f.message));
    li.appendChild(el("span", "→ " + f.suggestion, "suggestion"));
    list.appendChild(li);
  }
}

$("d-reply").addEventListener("input", checkReplySoon);
$("o-intent").addEventListener("change", checkReply);

// ---- verdicts ---------------------------------------------------------------------------

async function verdict(kind) {
  const item = state.items[state.selected];
  if (!item) return;
  const d = item.decision;
  const body = { decision_id: item.decision_id };
  const reply = $("d-reply").value.trim();
  if (kind === "accept") {
    body.verdict = "accepted";
    if (reply && d.reply) body.reply = reply;
  } else {
    const action = kind === "escalate" ? "escalate" : $("o-action").value;
    if (action === d.action && !(kind === "override" && $("o-intent").value)) {
      body.verdict = "accepted";
    } else {
      body.verdict = "overridden";
      body.action = action;
      if (kind === "override" && $("o-intent").value) body.intent = $("o-intent").value;
    }
  }
  try {
    await api("/v1/feedback", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  } catch (e) {
    if (e.status === 401) return showLogin("That key was refused.");
    say("Not recorded: " + e.message);
    return;
  }
  say((body.verdict === "accepted" ? "Accepted: " : "Overridden with " + body.action + ": ") + d.action + " · " + d.rule);
  state.items.splice(state.selected, 1);
  $("queue-count").textContent = "(" + state.items.length + ")";
  renderQueue();
  await select(state.selected);
  $("queue").focus();
  api("/v1/figures").then(renderFigures).catch(() => {});
}

$("accept").addEventListener("click", () => verdict("accept"));
$("override").addEventListener("click", () => verdict("override"));
$("escalate").addEventListener("click", () => verdict("escalate"));

document.addEventListener("keydown", (event) => {
  if ($("app").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName);
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const keys = {
    j: () => select(state.selected + 1),
    k: () => select(state.selected - 1),
    a: () => verdict("accept"),
    o: () => $("o-action").focus(),
    e: () => verdict("escalate"),
    "/": () => $("f-author").focus(),
  };
  const act = keys[event.key];
  if (act) {
    event.preventDefault();
    act();
  }
});

// In the override list, Enter records the override.
$("o-action").addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); verdict("override"); }
});

// ---- trying the policy ------------------------------------------------------------------

$("try-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const comment = { text: $("t-text").value };
  const lines = $("t-thread").value.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length) {
    comment.thread = lines.map((l) => /^brand:/i.test(l)
      ? { text: l.replace(/^brand:\s*/i, ""), from_brand: true }
      : { text: l, from_brand: false });
  }
  if ($("t-lang").value) comment.lang = $("t-lang").value;
  try {
    const d = await api("/v1/decide?record=false", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(comment) });
    const lines = [
      d.action + " (" + d.rule + ", confidence " + d.confidence.toFixed(2) + (d.needs_review ? ", review asked" : "") + ")",
      "intent " + d.intent.label + " " + d.intent.confidence.toFixed(2) + " · sentiment " + d.sentiment.label + " · " + d.lang,
      "guideline: " + d.guideline,
    ].concat(d.reasons.map((r) => "· " + r));
    if (d.reply) lines.push("reply: " + d.reply.text);
    $("t-result").textContent = lines.join("\n");
  } catch (e) {
    if (e.status === 401) return showLogin("That key was refused.");
    $("t-result").textContent = "Error: " + e.message;
  }
});

setInterval(() => {
  $("clock").textContent = new Date().toLocaleTimeString();
  if (!$("app").hidden && state.items.length) {
    for (const [index, item] of state.items.entries()) {
      const node = document.querySelector("#item-" + index + " .due");
      if (node) { const clock = due(item); node.textContent = clock.text; node.className = "due " + clock.cls; }
    }
  }
}, 30000);

// With a key in this tab, the queue is asked for at once, beside /v1/info.
if (sessionStorage.getItem(KEY)) {
  state.queueRead = readQueue();
  state.queueRead.catch(() => {});
}
start();

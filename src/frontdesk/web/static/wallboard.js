// Frontdesk supervisor wallboard: snapshot + deltas over /api/v1/supervisor/ws (spec/native.md §7).
// Figures that grow with time (longest wait, waited) are computed here every second.

import { $, LiveSocket, announce, api, clear, clock, duration, el, loginForm, session } from "./common.js";

const board = {
  queues: new Map(),
  agents: new Map(),
  chats: new Map(),
  surveys: [],
  skew: 0, // server time - local time, ms
  socket: null,
};

document.addEventListener("DOMContentLoaded", async () => {
  loginForm($("#login-form"), "supervisor", () => start());
  $("#logout-btn").addEventListener("click", logout);
  if (session.token) {
    try {
      await start();
      return;
    } catch {
      session.token = null;
    }
  }
  showLogin();
});

function showLogin(message) {
  $("#board").hidden = true;
  $("#sup-controls").hidden = true;
  $("#login-view").hidden = false;
  if (message) $("#login-form .form-error").textContent = message;
  $("#login-form input[name=login]").focus();
}

async function start() {
  const me = await api("/api/v1/me");
  if (!me.user.roles.includes("supervisor")) throw new Error("not a supervisor");
  $("#sup-name").textContent = me.user.profile.display_name;
  $("#login-view").hidden = true;
  $("#board").hidden = false;
  $("#sup-controls").hidden = false;
  loadSurveys();
  board.socket = new LiveSocket("/api/v1/supervisor/ws", {
    onOpen: () => {},
    onFrame,
    onClose: (code) => {
      if (code === 4003 || code === 4009) {
        session.token = null;
        stop();
        showLogin("Your session ended. Please sign in again.");
        return false;
      }
      return code === 1001 ? "now" : true;
    },
    onState: (s) => {
      const conn = $("#conn-state");
      conn.textContent = { open: "Live", connecting: "Connecting…", closed: "Reconnecting…" }[s];
      conn.dataset.state = s;
      if (s === "open") loadSurveys();
    },
  });
  board.socket.start();
}

function stop() {
  if (board.socket) board.socket.stop();
  board.socket = null;
}

async function logout() {
  try {
    await api("/api/v1/auth/logout", { method: "POST" });
  } catch {
    /* signed out locally anyway */
  }
  session.token = null;
  stop();
  showLogin();
}

async function loadSurveys() {
  try {
    const page = await api("/api/v1/supervisor/surveys?limit=10");
    board.surveys = page.items;
    renderSurveys();
  } catch (exc) {
    announce(`Surveys could not be loaded: ${exc.message}`, "error");
  }
}

let surveyTimer = null;
function surveysSoon() {
  clearTimeout(surveyTimer);
  surveyTimer = setTimeout(loadSurveys, 1000);
}
// The survey list is also re-read now and then: survey frames are deltas, and a missed one would
// otherwise stay missing until the next reconnect.
setInterval(() => {
  if (board.socket) loadSurveys();
}, 30000);

function onFrame(frame) {
  switch (frame.type) {
    case "hello":
      board.skew = Date.parse(frame.server_time) - Date.now();
      return;
    case "snapshot":
      board.queues = new Map(frame.queues.map((q) => [q.name, q]));
      board.agents = new Map(frame.agents.map((a) => [a.login, a]));
      board.chats = new Map(frame.chats.map((c) => [c.id, c]));
      renderAll();
      return;
    case "queue":
      board.queues.set(frame.queue.name, frame.queue);
      renderQueues();
      return;
    case "agent":
      board.agents.set(frame.agent.login, frame.agent);
      renderAgents();
      renderChats();
      return;
    case "chat":
      board.chats.set(frame.chat.id, frame.chat);
      renderChats();
      return;
    case "chat_gone":
      board.chats.delete(frame.chat_id);
      renderChats();
      surveysSoon(); // a finished chat may have brought a survey whose frame we did not get
      return;
    case "survey":
      board.surveys = [frame.survey, ...board.surveys.filter((s) => s.id !== frame.survey.id)].slice(0, 10);
      renderSurveys();
      return;
    default:
      return;
  }
}

function now() {
  return Date.now() + board.skew;
}

function since(iso) {
  return iso ? Math.max(0, (now() - Date.parse(iso)) / 1000) : 0;
}

function renderAll() {
  renderQueues();
  renderAgents();
  renderChats();
}

function cell(text, attrs = {}) {
  return el("td", { ...attrs, text });
}

function renderQueues() {
  const body = clear($("#queues-table tbody"));
  for (const q of board.queues.values()) {
    const sl = q.today.service_level_percent;
    const slCell = cell(sl === null ? "–" : `${Math.round(sl)} %`, { class: "num sl", title: `Answered within ${q.service_level_seconds} s` });
    if (sl !== null) slCell.dataset.level = sl >= 80 ? "good" : sl >= 60 ? "warn" : "bad";
    const longest = cell(duration(q.oldest_queued_at ? since(q.oldest_queued_at) : 0), { class: "num longest", dataset: { since: q.oldest_queued_at || "" } });
    const name = el("th", { scope: "row" }, el("span", { text: q.display_name }), q.open ? null : el("span", { class: "tag", text: "closed" }), q.paused ? el("span", { class: "tag", text: "paused" }) : null);
    const waiting = cell(String(q.waiting), { class: "num waiting" });
    if (q.waiting > 0) waiting.dataset.level = q.oldest_queued_at && since(q.oldest_queued_at) > q.service_level_seconds ? "bad" : "warn";
    body.append(
      el(
        "tr",
        { dataset: { queue: q.name } },
        name,
        waiting,
        longest,
        cell(q.ewt_seconds === null ? "–" : duration(q.ewt_seconds), { class: "num ewt" }),
        slCell,
        cell(`${q.agents_ready} / ${q.agents_logged_in}`, { class: "num ready" }),
        cell(String(q.active_chats), { class: "num active" }),
        cell(String(q.today.answered), { class: "num answered" }),
        cell(String(q.today.abandoned), { class: "num abandoned" }),
      ),
    );
  }
}

const STATE_TEXT = { ready: "Ready", not_ready: "Not ready", logged_out: "Logged out" };

function renderAgents() {
  const body = clear($("#agents-table tbody"));
  for (const a of board.agents.values()) {
    const stateText = STATE_TEXT[a.state] + (a.reason ? ` (${a.reason})` : "") + (a.state !== "logged_out" && !a.present ? " · away" : "");
    const chats = a.chats.map((c) => {
      const chat = board.chats.get(c.chat_id);
      const who = chat ? chat.customer_name || "Customer" : c.chat_id.slice(0, 8);
      return `${who} (${c.role})`;
    });
    body.append(
      el(
        "tr",
        { dataset: { login: a.login, state: a.state } },
        el("th", { scope: "row", text: a.display_name }),
        el("td", { class: "state" }, el("span", { class: "state-dot", dataset: { state: a.state }, "aria-hidden": "true" }), el("span", { text: stateText })),
        cell(duration(since(a.since)), { class: "num since", dataset: { since: a.since } }),
        cell(`${a.load} / ${a.max_chats}`, { class: "num load" }),
        cell(chats.join(", ") || "–", { class: "chats" }),
        cell(String(a.today.handled), { class: "num handled" }),
      ),
    );
  }
}

function renderChats() {
  const body = clear($("#chats-table tbody"));
  const chats = [...board.chats.values()].sort((a, b) => a.queued_at.localeCompare(b.queued_at));
  for (const c of chats) {
    const agents = c.agents.map((login) => (board.agents.get(login) || { display_name: login }).display_name);
    const waited = c.connected_at ? c.waited_seconds : since(c.queued_at);
    body.append(
      el(
        "tr",
        { dataset: { chatId: c.id, state: c.state } },
        cell(String(c.number), { class: "num" }),
        el("th", { scope: "row", class: "customer", text: c.customer_name || "Customer" }),
        cell(c.queue),
        cell(c.state, { class: "state" }),
        cell(agents.join(", ") || "–", { class: "agents" }),
        cell(duration(waited), { class: "num waited", dataset: c.connected_at ? {} : { since: c.queued_at } }),
        cell(`${c.entry_point.name} (${c.face})`),
      ),
    );
  }
  $("#chats-empty").hidden = chats.length > 0;
  $("#chat-count").textContent = `(${chats.length})`;
}

function renderSurveys() {
  const list = clear($("#surveys"));
  for (const s of board.surveys) {
    list.append(
      el(
        "li",
        { class: "survey", dataset: { surveyId: s.id } },
        el("div", { class: "survey-head" }, el("time", { datetime: s.submitted_at, text: clock(s.submitted_at) }), el("span", { text: ` ${s.survey || s.source}` })),
        el(
          "dl",
          { class: "kv" },
          s.answers.flatMap((a) => [el("dt", { text: a.question }), el("dd", { class: "answer", text: a.answer })]),
        ),
      ),
    );
  }
  $("#surveys-empty").hidden = board.surveys.length > 0;
}

// Growing figures: update in place every second, no re-render.
setInterval(() => {
  for (const node of document.querySelectorAll("[data-since]")) {
    if (node.dataset.since) node.textContent = duration(since(node.dataset.since));
  }
}, 1000);

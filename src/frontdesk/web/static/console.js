// Frontdesk agent console: the native API (spec/native.md §1, §5, §6) on the same origin.
// Every name and text from the server is rendered with textContent (see el() in common.js).

import { $, ApiError, LiveSocket, announce, api, clear, clock, duration, el, loginForm, session, uuid } from "./common.js";

const state = {
  me: null, // GET /api/v1/me
  agent: null, // AgentState
  offers: new Map(), // offer_id -> Offer
  chats: new Map(), // chat_id -> ChatView
  active: null, // chat id of the selected tab
  socket: null,
  queues: new Map(), // queue -> QueueUpdate frame
  canned: new Map(), // queue -> [CannedResponse]
  frames: Promise.resolve(), // frames are applied one after the other
};

// ---------------------------------------------------------------------------------------------
// Start, sign-in, sign-out

document.addEventListener("DOMContentLoaded", async () => {
  loginForm($("#login-form"), "agent", () => start());
  $("#logout-btn").addEventListener("click", logout);
  $("#state-select").addEventListener("change", onStateSelect);
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
  $("#console-view").hidden = true;
  $("#agent-controls").hidden = true;
  $("#login-view").hidden = false;
  if (message) $("#login-form .form-error").textContent = message;
  $("#login-form input[name=login]").focus();
}

async function start() {
  state.me = await api("/api/v1/me");
  state.agent = state.me.agent_state;
  $("#login-view").hidden = true;
  $("#console-view").hidden = false;
  $("#agent-controls").hidden = false;
  $("#agent-name").textContent = state.me.user.profile.display_name;
  buildStateSelect();
  renderAgentState();
  state.socket = new LiveSocket("/api/v1/ws", {
    onOpen: () => {},
    onFrame: (frame) => {
      state.frames = state.frames.then(() => onFrame(frame)).catch((exc) => console.error(exc));
    },
    onClose: onSocketClose,
    onState: (s) => {
      const label = { open: "Connected", connecting: "Connecting…", closed: "Reconnecting…" }[s];
      const conn = $("#conn-state");
      conn.textContent = label;
      conn.dataset.state = s;
    },
  });
  state.socket.start();
  window.__frontdesk = { state, socket: state.socket };
}

function onSocketClose(code) {
  if (code === 4001) {
    announce("This console was opened in another window; this one stopped.", "error");
    return false;
  }
  if (code === 4003) {
    session.token = null;
    stopAll();
    showLogin("Your session ended. Please sign in again.");
    return false;
  }
  if (code === 4009) {
    refreshToken().then(() => state.socket && state.socket.reconnectNow());
    return false;
  }
  return code === 1001 ? "now" : true;
}

async function refreshToken() {
  try {
    const answer = await api("/api/v1/auth/refresh", { method: "POST" });
    session.token = answer.token;
  } catch {
    /* the next connection fails with 4003 and shows the sign-in form */
  }
}

function stopAll() {
  if (state.socket) state.socket.stop();
  state.socket = null;
  state.offers.clear();
  for (const chat of state.chats.values()) removeChatView(chat.id, true);
  renderOffers();
  ringer.update();
}

async function logout() {
  try {
    await api("/api/v1/auth/logout", { method: "POST" });
  } catch {
    /* signed out locally anyway */
  }
  session.token = null;
  stopAll();
  showLogin();
}

// refresh the token at ~80 % of its lifetime
setInterval(() => {
  const token = session.token;
  if (!token || !state.socket) return;
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const life = claims.exp - claims.iat;
    if (Date.now() / 1000 > claims.iat + life * 0.8) {
      refreshToken().then(() => state.socket && state.socket.send({ type: "auth", token: session.token }));
    }
  } catch {
    /* not a JWT we can read: nothing to do */
  }
}, 60000);

// ---------------------------------------------------------------------------------------------
// Agent state

const STATE_LABELS = { ready: "Ready", not_ready: "Not ready", logged_out: "Logged out" };

function buildStateSelect() {
  const select = clear($("#state-select"));
  select.append(el("option", { value: "ready", text: "Ready" }));
  for (const r of state.me.tenant.not_ready_reasons) {
    select.append(el("option", { value: "not_ready:" + r.code, text: "Not ready – " + r.label }));
  }
  select.append(el("option", { value: "logged_out", text: "Logged out" }));
}

function renderAgentState() {
  const a = state.agent;
  if (!a) return;
  const select = $("#state-select");
  const value = a.state === "not_ready" ? "not_ready:" + (a.reason || "") : a.state;
  let option = [...select.options].find((o) => o.value === value);
  for (const o of [...select.options]) if (o.dataset.system) o.remove();
  if (!option) {
    const why = { rona: "missed offer", disconnected: "disconnected", supervisor: "set by supervisor" }[a.reason] || a.reason || "";
    option = el("option", { value, text: `Not ready – ${why}`, disabled: true, dataset: { system: "1" } });
    select.append(option);
  }
  select.value = value;
  $("#state-dot").dataset.state = a.state;
  document.body.dataset.agentState = a.state;
  $("#agent-load").textContent = `${a.load}/${a.max_chats}`;
  $("#agent-load").setAttribute("aria-label", `Load ${a.load} of ${a.max_chats}`);
}

async function onStateSelect(event) {
  const [s, reason] = event.target.value.split(":");
  try {
    state.agent = await api("/api/v1/agent/state", { method: "PUT", body: { state: s, reason: reason || null } });
    renderAgentState();
    announce(`You are ${STATE_LABELS[s].toLowerCase()}.`);
  } catch (exc) {
    announce(exc.message, "error");
    renderAgentState();
  }
}

// ---------------------------------------------------------------------------------------------
// Frames

async function onFrame(frame) {
  switch (frame.type) {
    case "hello":
      return onHello(frame);
    case "resumed":
      return;
    case "offer":
      state.offers.set(frame.offer.offer_id, frame.offer);
      renderOffers();
      announce(`New chat offer from ${customerName(frame.offer.chat)}.`);
      return;
    case "offer_revoked": {
      const had = state.offers.delete(frame.offer_id);
      renderOffers();
      if (had) {
        const why = { timeout: "it was not answered in time", customer_left: "the customer left", agent_not_ready: "you are not ready", withdrawn: "it was withdrawn" }[frame.reason] || frame.reason;
        announce(`An offer was withdrawn: ${why}.`);
      }
      return;
    }
    case "chat_assigned":
      ensureChat(frame.chat);
      return;
    case "chat_event":
      return onChatEvent(frame);
    case "chat_removed":
      removeChatView(frame.chat_id);
      return;
    case "agent_state":
      state.agent = frame.agent_state;
      renderAgentState();
      return;
    case "queue_update":
      state.queues.set(frame.queue, frame);
      renderQueues();
      return;
    case "error":
      announce(frame.detail, "error");
      return;
    default:
      return;
  }
}

function onHello(frame) {
  state.agent = frame.agent_state;
  renderAgentState();
  state.offers = new Map(frame.offers.map((o) => [o.offer_id, o]));
  renderOffers();
  const live = new Set(frame.chats.map((c) => c.id));
  for (const id of [...state.chats.keys()]) if (!live.has(id)) removeChatView(id, true);
  for (const summary of frame.chats) ensureChat(summary);
  const cursors = {};
  for (const chat of state.chats.values()) cursors[chat.id] = chat.cursor;
  state.socket.send({ type: "resume", cursors });
}

async function onChatEvent(frame) {
  const chat = state.chats.get(frame.chat_id) || ensureChat({ id: frame.chat_id });
  if (frame.seq <= chat.cursor) return; // already applied (resume overlap)
  if (frame.seq > chat.cursor + 1) {
    // A gap can only follow a server bug; fetch the missing range before applying (§6.5 step 6).
    try {
      let since = chat.cursor;
      while (since < frame.seq - 1) {
        const page = await api(`/api/v1/chats/${frame.chat_id}/events?since=${since}&limit=500`);
        if (!page.events.length) break;
        for (const ev of page.events) {
          if (ev.seq >= frame.seq) break;
          if (ev.seq === chat.cursor + 1) applyEvent(chat, ev);
        }
        since = chat.cursor;
        if (!page.more) break;
      }
    } catch (exc) {
      console.warn("gap fill failed", exc);
    }
  }
  applyEvent(chat, frame.event);
}

// ---------------------------------------------------------------------------------------------
// Offers and the ring

const ringer = {
  ctx: null,
  timer: null,
  update() {
    const ringing = state.offers.size > 0;
    document.body.classList.toggle("ringing", ringing);
    if (ringing && !this.timer) {
      this.ring();
      this.timer = setInterval(() => this.ring(), 2500);
    } else if (!ringing && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  },
  ring() {
    try {
      this.ctx = this.ctx || new AudioContext();
      const ctx = this.ctx;
      for (const [offset, freq] of [[0, 880], [0.18, 660]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, ctx.currentTime + offset);
        gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + offset + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + offset);
        osc.stop(ctx.currentTime + offset + 0.17);
      }
    } catch {
      /* no audio: the visual ring stays */
    }
  },
};

function customerName(chat) {
  const c = (chat && chat.customer) || {};
  return c.name || [c.first_name, c.last_name].filter(Boolean).join(" ") || "Customer";
}

function renderOffers() {
  const list = clear($("#offers"));
  const offers = [...state.offers.values()].sort((a, b) => a.offered_at.localeCompare(b.offered_at));
  for (const offer of offers) {
    const reason = offer.reason === "queue" ? `Queue ${offer.queue}` : `${offer.reason === "transfer" ? "Transfer" : "Conference"} from ${offer.from_agent ? offer.from_agent.display_name : "an agent"}`;
    const countdown = el("span", { class: "countdown", dataset: { expires: offer.expires_at } });
    const preview = el("ul", { class: "preview" }, offer.preview.map((p) => el("li", { text: p.text })));
    const item = el(
      "li",
      { class: "offer", dataset: { offerId: offer.offer_id, chatId: offer.chat_id } },
      el("div", { class: "offer-head" }, el("strong", { class: "offer-customer", text: customerName(offer.chat) }), countdown),
      el("div", { class: "offer-meta", text: `${reason} · waited ${duration(offer.waited_seconds)}` }),
      offer.note ? el("div", { class: "offer-note", text: "Note: " + offer.note }) : null,
      offer.preview.length ? preview : null,
      el(
        "div",
        { class: "offer-actions" },
        el("button", { type: "button", class: "btn btn-primary accept", text: "Accept", "aria-label": `Accept chat from ${customerName(offer.chat)}`, onclick: () => acceptOffer(offer) }),
        el("button", { type: "button", class: "btn reject", text: "Reject", "aria-label": `Reject chat from ${customerName(offer.chat)}`, onclick: () => rejectOffer(offer) }),
      ),
    );
    list.append(item);
  }
  $("#offers-empty").hidden = offers.length > 0;
  $("#offer-count").textContent = offers.length ? `(${offers.length})` : "";
  tickCountdowns();
  ringer.update();
}

function tickCountdowns() {
  for (const node of document.querySelectorAll(".countdown[data-expires]")) {
    const left = (Date.parse(node.dataset.expires) - Date.now()) / 1000;
    node.textContent = left > 0 ? `${Math.ceil(left)} s` : "expiring";
  }
}
setInterval(tickCountdowns, 1000);

async function acceptOffer(offer) {
  try {
    const detail = await api(`/api/v1/agent/offers/${offer.offer_id}/accept`, { method: "POST" });
    state.offers.delete(offer.offer_id);
    renderOffers();
    const chat = ensureChat(detail);
    setDetail(chat, detail);
    selectChat(chat.id, true);
  } catch (exc) {
    state.offers.delete(offer.offer_id);
    renderOffers();
    announce(exc instanceof ApiError && exc.code === "offer_gone" ? "That offer is no longer available." : exc.message, "error");
  }
}

async function rejectOffer(offer) {
  try {
    await api(`/api/v1/agent/offers/${offer.offer_id}/reject`, { method: "POST", body: { reason: null } });
  } catch (exc) {
    announce(exc.message, "error");
  }
  state.offers.delete(offer.offer_id);
  renderOffers();
}

// ---------------------------------------------------------------------------------------------
// Queues

function renderQueues() {
  const list = clear($("#queues"));
  for (const q of state.queues.values()) {
    list.append(
      el(
        "li",
        { dataset: { queue: q.queue } },
        el("span", { class: "q-name", text: q.queue }),
        el("span", { class: "q-fig", text: `${q.waiting} waiting · EWT ${q.ewt_seconds === null ? "–" : duration(q.ewt_seconds)} · ${q.ready_agents} ready` }),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Chats: one tab and one panel per chat

function ensureChat(summary) {
  let chat = state.chats.get(summary.id);
  if (chat) {
    if (summary.customer) chat.summary = summary;
    updateTab(chat);
    return chat;
  }
  chat = {
    id: summary.id,
    summary: summary.customer ? summary : null,
    detail: null,
    cursor: 0,
    unread: 0,
    ended: false,
    wrapupOwed: false,
    wrappedUp: false,
    myParty: null,
    pending: new Map(),
    typingTimer: null,
    transferPending: null,
  };
  state.chats.set(chat.id, chat);
  buildChatView(chat);
  if (!chat.summary || !chat.detail) loadDetail(chat);
  if (!state.active) selectChat(chat.id, false);
  renderChatList();
  return chat;
}

async function loadDetail(chat) {
  try {
    const detail = await api(`/api/v1/chats/${chat.id}`);
    setDetail(chat, detail);
  } catch (exc) {
    console.warn("chat detail failed", exc);
  }
}

function setDetail(chat, detail) {
  chat.detail = detail;
  chat.summary = detail;
  if (detail.me && detail.me.status === "wrapup") showWrapup(chat);
  updateTab(chat);
  renderInfo(chat);
  loadCanned(chat);
  const files = detail.capabilities ? detail.capabilities.files : true;
  chat.els.attachLabel.hidden = !files;
}

function buildChatView(chat) {
  const tabId = `tab-${chat.id}`;
  const panelId = `panel-${chat.id}`;
  const badge = el("span", { class: "badge", hidden: true });
  const tabName = el("span", { class: "tab-name", text: "Chat" });
  const tabMeta = el("span", { class: "tab-meta" });
  const tab = el(
    "button",
    { type: "button", role: "tab", id: tabId, class: "chat-tab", "aria-controls": panelId, "aria-selected": "false", tabindex: "-1", dataset: { chatId: chat.id }, onclick: () => selectChat(chat.id, true), onkeydown: onTabKey },
    tabName,
    tabMeta,
    badge,
  );

  const log = el("ol", { class: "log", "aria-label": "Conversation", tabindex: "0" });
  const typing = el("p", { class: "typing", "aria-live": "polite" });
  const title = el("h2", { class: "chat-title", text: "Chat" });
  const subtitle = el("p", { class: "chat-sub" });
  const transferBtn = el("button", { type: "button", class: "btn transfer-btn", text: "Transfer", "aria-expanded": "false", onclick: () => toggleTransfer(chat) });
  const endBtn = el("button", { type: "button", class: "btn btn-danger end-btn", text: "End chat", onclick: () => endChat(chat) });
  const infoBtn = el("button", { type: "button", class: "btn btn-quiet info-btn", text: "Customer", "aria-expanded": "false", onclick: () => toggleInfo(chat) });

  const textarea = el("textarea", { class: "composer-text", rows: "2", placeholder: "Type a message… (Enter sends, Shift+Enter new line, Tab expands /shortcuts)", "aria-label": "Message" });
  const canned = el("select", { class: "canned", "aria-label": "Insert a canned response" }, el("option", { value: "", text: "Canned responses…" }));
  const fileInput = el("input", { type: "file", class: "file-input visually-hidden", id: `file-${chat.id}` });
  const attachLabel = el("label", { class: "btn attach", for: `file-${chat.id}` }, "Attach file");
  const send = el("button", { type: "submit", class: "btn btn-primary send", text: "Send" });
  const composer = el(
    "form",
    { class: "composer", "aria-label": "Reply" },
    el("div", { class: "composer-tools" }, canned, fileInput, attachLabel),
    el("div", { class: "composer-row" }, textarea, send),
  );
  composer.addEventListener("submit", (e) => {
    e.preventDefault();
    sendMessage(chat);
  });
  textarea.addEventListener("keydown", (e) => onComposerKey(chat, e));
  textarea.addEventListener("input", () => onComposerInput(chat));
  textarea.addEventListener("blur", () => setTyping(chat, false));
  canned.addEventListener("change", () => {
    const text = canned.value;
    canned.value = "";
    if (text) insertText(textarea, text);
  });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) sendFile(chat, file);
  });

  const transferBox = el("div", { class: "transfer-box", hidden: true });
  const wrapupBox = el("div", { class: "wrapup-box", hidden: true });
  const banner = el("p", { class: "chat-banner", hidden: true, role: "status" });
  const info = el("aside", { class: "chat-info", "aria-label": "Customer details" });

  const panel = el(
    "section",
    { role: "tabpanel", id: panelId, class: "chat-panel", "aria-labelledby": tabId, hidden: true, dataset: { chatId: chat.id } },
    el(
      "div",
      { class: "chat-main" },
      el("header", { class: "chat-head" }, el("div", { class: "chat-heading" }, title, subtitle), el("div", { class: "chat-actions" }, infoBtn, transferBtn, endBtn)),
      transferBox,
      banner,
      log,
      typing,
      wrapupBox,
      composer,
    ),
    info,
  );
  $("#chat-panels").append(panel);
  $("#chat-tabs").append(tab);
  chat.els = { tab, tabName, tabMeta, badge, panel, log, typing, title, subtitle, transferBtn, endBtn, textarea, canned, composer, transferBox, wrapupBox, banner, info, attachLabel, infoBtn };
}

function onTabKey(event) {
  const tabs = [...document.querySelectorAll("#chat-tabs [role=tab]")];
  const i = tabs.indexOf(event.currentTarget);
  let next = null;
  if (event.key === "ArrowDown" || event.key === "ArrowRight") next = tabs[(i + 1) % tabs.length];
  else if (event.key === "ArrowUp" || event.key === "ArrowLeft") next = tabs[(i - 1 + tabs.length) % tabs.length];
  else if (event.key === "Home") next = tabs[0];
  else if (event.key === "End") next = tabs[tabs.length - 1];
  if (next) {
    event.preventDefault();
    selectChat(next.dataset.chatId, false);
    next.focus();
  }
}

function selectChat(chatId, focus) {
  state.active = chatId;
  for (const chat of state.chats.values()) {
    const on = chat.id === chatId;
    chat.els.tab.setAttribute("aria-selected", on ? "true" : "false");
    chat.els.tab.tabIndex = on ? 0 : -1;
    chat.els.panel.hidden = !on;
  }
  const chat = state.chats.get(chatId);
  $("#no-chat").hidden = !!chat;
  if (!chat) return;
  markRead(chat);
  scrollLog(chat);
  if (focus && !chat.els.composer.hidden) chat.els.textarea.focus();
}

function renderChatList() {
  $("#chats-empty").hidden = state.chats.size > 0;
  $("#no-chat").hidden = state.chats.size > 0;
}

function updateTab(chat) {
  const s = chat.summary;
  const name = s ? customerName(s) : "Chat";
  chat.els.tabName.textContent = name;
  chat.els.title.textContent = name;
  const status = chat.wrapupOwed && !chat.wrappedUp ? "wrap-up" : chat.ended ? "ended" : s ? s.state : "";
  chat.els.tabMeta.textContent = s ? `#${s.number} · ${status}` : "";
  chat.els.subtitle.textContent = s ? `Chat #${s.number} · ${s.entry_point.name} · queue ${s.queue} · ${status}` : "";
  chat.els.badge.hidden = chat.unread === 0;
  chat.els.badge.textContent = String(chat.unread);
  chat.els.badge.setAttribute("aria-label", `${chat.unread} unread`);
  chat.els.tab.classList.toggle("has-unread", chat.unread > 0);
  chat.els.tab.dataset.state = status;
  const live = !chat.ended && !chat.wrapupOwed;
  chat.els.composer.hidden = !live;
  chat.els.transferBtn.hidden = !live;
  chat.els.endBtn.hidden = !live;
}

function removeChatView(chatId, silent) {
  const chat = state.chats.get(chatId);
  if (!chat) return;
  clearTimeout(chat.typingTimer);
  chat.els.tab.remove();
  chat.els.panel.remove();
  state.chats.delete(chatId);
  if (!silent) announce(`Chat with ${chat.summary ? customerName(chat.summary) : "the customer"} closed.`);
  if (state.active === chatId) {
    state.active = null;
    const next = state.chats.keys().next();
    if (!next.done) selectChat(next.value, false);
  }
  renderChatList();
}

function isActive(chat) {
  return state.active === chat.id && document.visibilityState === "visible";
}

document.addEventListener("visibilitychange", () => {
  const chat = state.chats.get(state.active);
  if (chat && document.visibilityState === "visible") markRead(chat);
});

async function markRead(chat) {
  if (chat.unread === 0 && chat.readSent >= chat.cursor) return;
  chat.unread = 0;
  updateTab(chat);
  const upTo = chat.cursor;
  if (!upTo || chat.readSent >= upTo) return;
  chat.readSent = upTo;
  try {
    await api(`/api/v1/chats/${chat.id}/read`, { method: "POST", body: { up_to_seq: upTo } });
  } catch {
    /* a read marker is advisory */
  }
}

function scrollLog(chat) {
  const log = chat.els.log;
  log.scrollTop = log.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// Applying events

function who(ev) {
  return ev.by ? ev.by.display_name : "System";
}

function isMe(ev) {
  return ev.by && ev.by.kind === "agent" && ev.by.login === state.me.user.login;
}

function logLine(chat, ev, cls, ...content) {
  const item = el("li", { class: cls, dataset: { seq: ev.seq, kind: ev.kind } }, ...content);
  chat.els.log.append(item);
  return item;
}

function systemLine(chat, ev, text) {
  return logLine(chat, ev, "sys", el("span", { class: "sys-text", text }), el("time", { datetime: ev.at, text: clock(ev.at) }));
}

function messageParts(ev, textNode) {
  const side = ev.by && ev.by.kind === "customer" ? "customer" : isMe(ev) ? "me" : "agent";
  return [
    side,
    [
      el("div", { class: "meta" }, el("span", { class: "author", text: isMe(ev) ? "You" : who(ev) }), el("time", { datetime: ev.at, text: clock(ev.at) })),
      textNode,
    ],
  ];
}

function applyEvent(chat, ev) {
  chat.cursor = ev.seq;
  const mine = isMe(ev);
  const fromOther = ev.by && !mine && (ev.kind === "message" || ev.kind === "file");
  switch (ev.kind) {
    case "created":
      systemLine(chat, ev, `Chat started by ${ev.customer.name || [ev.customer.first_name, ev.customer.last_name].filter(Boolean).join(" ") || "the customer"} via ${ev.entry_point.name}.`);
      break;
    case "status":
      if (ev.state === "queued") systemLine(chat, ev, `Waiting in queue ${ev.queue}.`);
      break;
    case "party_joined":
      if (ev.party.kind === "agent" && ev.party.login === state.me.user.login) chat.myParty = ev.party.id;
      systemLine(chat, ev, `${ev.party.display_name} joined${ev.reason === "transfer" ? " (transfer)" : ev.reason === "conference" ? " (conference)" : ""}.`);
      break;
    case "party_left": {
      const myself = ev.party.login === state.me.user.login && ev.party.kind === "agent";
      const why = { left: "left", transferred: "transferred the chat", logged_out: "logged out", chat_ended: "left: the chat ended", removed: "was removed" }[ev.reason] || "left";
      systemLine(chat, ev, `${myself ? "You" : ev.party.display_name} ${why}.`);
      if (myself && ev.reason === "chat_ended") showWrapup(chat);
      break;
    }
    case "message": {
      const text = el("p", { class: "text", text: ev.text });
      const [side, parts] = messageParts(ev, text);
      const pending = ev.client_msg_id ? chat.pending.get(ev.client_msg_id) : null;
      const cls = `msg ${side}${ev.visibility === "agents" ? " note" : ""}`;
      if (pending && mine) {
        chat.pending.delete(ev.client_msg_id);
        pending.className = cls;
        pending.dataset.seq = ev.seq;
        clear(pending).append(...parts);
      } else {
        logLine(chat, ev, cls, ...parts);
      }
      if (ev.by && ev.by.kind === "customer") showTyping(chat, null);
      break;
    }
    case "file": {
      const link = el("button", { type: "button", class: "file-link", onclick: () => downloadFile(chat, ev) }, el("span", { class: "file-label", text: "File: " }), el("span", { class: "file-name", text: ev.name }), el("span", { class: "file-size", text: ` (${sizeText(ev.size)})` }));
      const [side, parts] = messageParts(ev, link);
      const pending = ev.client_msg_id ? chat.pending.get(ev.client_msg_id) : null;
      if (pending && mine) {
        chat.pending.delete(ev.client_msg_id);
        pending.className = `msg file ${side}`;
        pending.dataset.seq = ev.seq;
        clear(pending).append(...parts);
      } else logLine(chat, ev, `msg file ${side}`, ...parts);
      break;
    }
    case "typing":
      if (!mine && ev.by) showTyping(chat, ev.typing ? ev : null);
      break;
    case "transferred":
      systemLine(chat, ev, `${ev.from_party.display_name} transferred the chat to ${ev.to.display_name}${ev.note ? ` (note: ${ev.note})` : ""}.`);
      if (chat.transferPending) setTransferPending(chat, null);
      break;
    case "transfer_failed": {
      const why = { rejected: "rejected it", timeout: "did not answer", unavailable: "is unavailable" }[ev.reason] || ev.reason;
      systemLine(chat, ev, `Transfer to ${ev.to.display_name} failed: ${ev.to.display_name} ${why}.`);
      setTransferPending(chat, null);
      break;
    }
    case "form":
      systemLine(chat, ev, ev.purpose === "survey" ? "The customer is answering the post-chat survey." : "A form was sent to the customer.");
      break;
    case "form_response":
      systemLine(chat, ev, `Survey ${ev.status}.`);
      break;
    case "survey":
      systemLine(chat, ev, "Survey: " + ev.result.answers.map((a) => `${a.question} ${a.answer}`).join(" · "));
      break;
    case "timeout_warning":
      systemLine(chat, ev, `Inactivity warning sent: ${ev.text}`);
      break;
    case "ended": {
      chat.ended = true;
      const why = { customer: "The customer ended the chat", agent: `${who(ev)} ended the chat`, inactivity: "The chat ended after inactivity", presence_lost: "The customer's connection was lost", queue_timeout: "The chat timed out in the queue", failed: "The chat failed", system: "A supervisor ended the chat" }[ev.reason] || "The chat ended";
      systemLine(chat, ev, why + ".");
      showTyping(chat, null);
      if (chat.myParty && !chat.wrappedUp) showWrapup(chat);
      break;
    }
    case "wrapup":
      if (mine) {
        chat.wrappedUp = true;
        chat.els.wrapupBox.hidden = true;
      }
      systemLine(chat, ev, `${mine ? "You" : who(ev)} wrapped up: ${dispositionLabel(ev.disposition)}${ev.notes ? ` – ${ev.notes}` : ""}.`);
      break;
    case "activity":
      if (ev.type === "navigation") systemLine(chat, ev, `Customer is on ${ev.data.title || ev.data.page}.`);
      else if (ev.type === "location") systemLine(chat, ev, `Customer shared a location: ${ev.data.latitude}, ${ev.data.longitude}.`);
      break;
    default:
      break;
  }
  const readSeq = chat.summary && chat.summary.me ? chat.summary.me.read_seq : 0;
  if (fromOther && ev.seq > readSeq) {
    if (isActive(chat)) markRead(chat);
    else {
      chat.unread += 1;
      if (!state.active) selectChat(chat.id, false);
    }
  }
  if (ev.kind === "message" || ev.kind === "file" || ev.kind === "ended") updateTab(chat);
  scrollLog(chat);
}

function sizeText(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function dispositionLabel(code) {
  const d = state.me.tenant.dispositions.find((x) => x.code === code);
  return d ? d.label : code;
}

function showTyping(chat, ev) {
  clearTimeout(chat.typingTimer);
  const line = chat.els.typing;
  if (!ev) {
    line.textContent = "";
    line.classList.remove("on");
    return;
  }
  line.textContent = ev.preview ? `${who(ev)} is typing: ${ev.preview}` : `${who(ev)} is typing…`;
  line.classList.add("on");
  const ttl = (state.me.tenant.typing_ttl_seconds || 10) * 1000;
  chat.typingTimer = setTimeout(() => showTyping(chat, null), ttl);
}

// ---------------------------------------------------------------------------------------------
// Customer details beside the chat, with the CRM screen pop when the chat has an activity

function labelOf(key) {
  const s = String(key).replace(/[_-]+/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function valueText(v) {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function dlRows(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v] of pairs) {
    const text = valueText(v);
    if (text === null) continue;
    dl.append(el("dt", { text: k }), el("dd", { text }));
  }
  return dl;
}

function renderInfo(chat) {
  const d = chat.detail;
  const box = clear(chat.els.info);
  if (!d) return;
  const c = d.customer;
  box.append(
    el("h3", { text: "Customer" }),
    dlRows([
      ["Name", customerName(d)],
      ["E-mail", c.email],
      ["Phone", c.phone],
      ["Locale", c.locale],
      ...Object.entries(c.external_ids || {}).map(([k, v]) => [labelOf(k), v]),
    ]),
  );
  if (d.crm && d.crm.screen_pop) {
    const pop = d.crm.screen_pop;
    const links = d.crm.links || {};
    box.append(
      el("h3", { text: "CRM" }),
      dlRows([
        [pop.record_type, pop.name],
        ["Record id", pop.record_id],
        ["Activity", d.crm.activity_id],
        ...Object.entries(links)
          .filter(([, ref]) => ref)
          .map(([k, ref]) => [labelOf(k), `${ref.name} (${ref.id})`]),
      ]),
      el("a", { class: "screen-pop", href: String(pop.url).startsWith("/") ? pop.url : null, target: "_blank", rel: "noopener", text: `Open ${pop.record_type} in CRM` }),
    );
  }
  const pre = d.pre_chat || {};
  const params = pre.parameters && typeof pre.parameters === "object" ? pre.parameters : {};
  const other = Object.entries(pre).filter(([k]) => k !== "parameters");
  box.append(
    el("h3", { text: "Pre-chat form" }),
    Object.keys(params).length ? dlRows(Object.entries(params).map(([k, v]) => [labelOf(k), v])) : el("p", { class: "empty", text: "No pre-chat fields." }),
    el("h3", { text: "Chat" }),
    dlRows([
      ["Subject", d.subject],
      ["Entry point", `${d.entry_point.name} (${d.face})`],
      ["Queue", d.queue],
      ["Started", new Date(d.created_at).toLocaleString()],
      ...other.map(([k, v]) => [labelOf(k), v]),
    ]),
  );
}

function toggleInfo(chat) {
  const open = !chat.els.panel.classList.contains("info-open");
  chat.els.panel.classList.toggle("info-open", open);
  chat.els.infoBtn.setAttribute("aria-expanded", String(open));
}

// ---------------------------------------------------------------------------------------------
// Composer: messages, typing, canned responses, files

async function loadCanned(chat) {
  const queue = chat.summary ? chat.summary.queue : "";
  let items = state.canned.get(queue);
  if (!items) {
    try {
      items = (await api(`/api/v1/canned-responses?queue=${encodeURIComponent(queue)}`)).items;
      state.canned.set(queue, items);
    } catch {
      items = [];
    }
  }
  chat.cannedItems = items;
  const select = chat.els.canned;
  while (select.options.length > 1) select.remove(1);
  for (const r of items) select.append(el("option", { value: r.text, text: r.shortcut ? `${r.title} (${r.shortcut})` : r.title }));
}

function insertText(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? textarea.value.length;
  textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
  textarea.focus();
  textarea.selectionStart = textarea.selectionEnd = start + text.length;
  textarea.dispatchEvent(new Event("input"));
}

function onComposerKey(chat, event) {
  const ta = chat.els.textarea;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage(chat);
    return;
  }
  if (event.key === "Tab" && !event.shiftKey) {
    // expand a /shortcut just before the cursor
    const before = ta.value.slice(0, ta.selectionStart);
    const match = before.match(/(^|\s)(\/[\w-]+)$/);
    const item = match && (chat.cannedItems || []).find((r) => r.shortcut === match[2]);
    if (item) {
      event.preventDefault();
      ta.selectionStart = ta.selectionStart - match[2].length;
      insertText(ta, item.text);
    }
  }
}

function onComposerInput(chat) {
  const hasText = chat.els.textarea.value.trim().length > 0;
  if (!hasText) {
    setTyping(chat, false);
    return;
  }
  const now = Date.now();
  if (!chat.typingSent || now - chat.typingSent > 4000) setTyping(chat, true);
  clearTimeout(chat.typingIdle);
  chat.typingIdle = setTimeout(() => setTyping(chat, false), 5000);
}

function setTyping(chat, typing) {
  if (!typing && !chat.typingSent) return;
  chat.typingSent = typing ? Date.now() : 0;
  if (!typing) clearTimeout(chat.typingIdle);
  if (!state.socket || !state.socket.send({ type: "typing", chat_id: chat.id, typing })) {
    api(`/api/v1/chats/${chat.id}/typing`, { method: "POST", body: { typing } }).catch(() => {});
  }
}

function sendMessage(chat) {
  const ta = chat.els.textarea;
  const text = ta.value;
  if (!text.trim()) return;
  ta.value = "";
  setTyping(chat, false);
  const cmid = uuid();
  const item = el(
    "li",
    { class: "msg me pending", dataset: { cmid } },
    el("div", { class: "meta" }, el("span", { class: "author", text: "You" }), el("span", { class: "sending", text: "sending…" })),
    el("p", { class: "text", text }),
  );
  chat.els.log.append(item);
  chat.pending.set(cmid, item);
  scrollLog(chat);
  deliver(chat, cmid, item, () => api(`/api/v1/chats/${chat.id}/messages`, { method: "POST", body: { client_msg_id: cmid, text } }));
}

/** Send with retries: the same client_msg_id makes a retry idempotent (no doubled messages). */
async function deliver(chat, cmid, item, attempt) {
  let delay = 500;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (exc) {
      const retry = !(exc instanceof ApiError) || exc.status >= 500 || exc.status === 429;
      if (!retry || !state.chats.has(chat.id)) {
        chat.pending.delete(cmid);
        item.classList.remove("pending");
        item.classList.add("failed");
        const status = item.querySelector(".sending");
        if (status) status.textContent = "not sent: " + exc.message;
        return;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(10000, delay * 2);
    }
  }
}

function sendFile(chat, file) {
  const cmid = uuid();
  const item = el(
    "li",
    { class: "msg me file pending", dataset: { cmid } },
    el("div", { class: "meta" }, el("span", { class: "author", text: "You" }), el("span", { class: "sending", text: "uploading…" })),
    el("p", { class: "text", text: file.name }),
  );
  chat.els.log.append(item);
  chat.pending.set(cmid, item);
  scrollLog(chat);
  deliver(chat, cmid, item, () => {
    const form = new FormData();
    form.append("client_msg_id", cmid);
    form.append("file", file, file.name);
    return api(`/api/v1/chats/${chat.id}/files`, { method: "POST", body: form });
  });
}

async function downloadFile(chat, ev) {
  try {
    const response = await api(`/api/v1/chats/${chat.id}/files/${ev.file_id}`, { raw: true });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: ev.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (exc) {
    announce(`Download failed: ${exc.message}`, "error");
  }
}

// ---------------------------------------------------------------------------------------------
// Transfer, end, wrap-up

async function toggleTransfer(chat) {
  const box = chat.els.transferBox;
  if (!box.hidden) {
    box.hidden = true;
    chat.els.transferBtn.setAttribute("aria-expanded", "false");
    return;
  }
  chat.els.transferBtn.setAttribute("aria-expanded", "true");
  clear(box).append(el("p", { text: "Loading agents and queues…" }));
  box.hidden = false;
  let dir;
  try {
    dir = await api("/api/v1/agent/directory");
  } catch (exc) {
    clear(box).append(el("p", { class: "form-error", text: exc.message }));
    return;
  }
  const target = el("select", { name: "target", class: "transfer-target", required: true });
  const agents = el("optgroup", { label: "Agents" });
  for (const a of dir.agents) {
    const stateText = a.state === "ready" ? `ready, ${a.free_slots} free` : a.state.replace("_", " ");
    agents.append(el("option", { value: "agent:" + a.login, text: `${a.display_name} (${stateText})`, disabled: a.state !== "ready" || a.free_slots < 1 }));
  }
  const queues = el("optgroup", { label: "Queues" });
  for (const q of dir.queues) {
    queues.append(el("option", { value: "queue:" + q.name, text: `${q.display_name} (${q.waiting} waiting, ${q.ready_agents} ready)`, disabled: !q.open }));
  }
  target.append(el("option", { value: "", text: "Choose…" }), agents, queues);
  const note = el("textarea", { name: "note", rows: "2", maxlength: "1000", class: "transfer-note" });
  const error = el("p", { class: "form-error", role: "alert" });
  const form = el(
    "form",
    { class: "transfer-form", "aria-label": "Transfer the chat" },
    el("label", {}, "Transfer to ", target),
    el("label", {}, "Note for the next agent (optional) ", note),
    error,
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "btn btn-primary", text: "Transfer" }), el("button", { type: "button", class: "btn", text: "Cancel", onclick: () => toggleTransfer(chat) })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const [kind, name] = target.value.split(":");
    if (!name) {
      error.textContent = "Choose an agent or a queue.";
      return;
    }
    try {
      await api(`/api/v1/chats/${chat.id}/transfer`, { method: "POST", body: { to: { [kind]: name }, note: note.value.trim() || null } });
      box.hidden = true;
      chat.els.transferBtn.setAttribute("aria-expanded", "false");
      const label = target.selectedOptions[0].textContent.replace(/ \(.*\)$/, "");
      if (kind === "agent") setTransferPending(chat, label);
      else announce(`Chat transferred to the ${label} queue.`);
    } catch (exc) {
      error.textContent = exc.message;
    }
  });
  clear(box).append(form);
  target.focus();
}

function setTransferPending(chat, label) {
  chat.transferPending = label;
  const banner = chat.els.banner;
  clear(banner);
  if (!label) {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  banner.append(
    el("span", { text: `Transfer to ${label} pending… ` }),
    el("button", {
      type: "button",
      class: "btn btn-quiet",
      text: "Withdraw",
      onclick: async () => {
        try {
          await api(`/api/v1/chats/${chat.id}/transfer`, { method: "DELETE" });
        } catch (exc) {
          announce(exc.message, "error");
        }
        setTransferPending(chat, null);
      },
    }),
  );
}

async function endChat(chat) {
  chat.els.endBtn.disabled = true;
  try {
    await api(`/api/v1/chats/${chat.id}/end`, { method: "POST", body: { reason: null } });
  } catch (exc) {
    announce(exc.message, "error");
  } finally {
    chat.els.endBtn.disabled = false;
  }
}

function showWrapup(chat) {
  if (chat.wrappedUp) return;
  chat.wrapupOwed = true;
  updateTab(chat);
  const box = chat.els.wrapupBox;
  if (!box.hidden) return;
  const select = el("select", { name: "disposition", required: true, class: "disposition" }, el("option", { value: "", text: "Choose…" }), state.me.tenant.dispositions.map((d) => el("option", { value: d.code, text: d.label })));
  const notes = el("textarea", { name: "notes", rows: "3", maxlength: "16000", class: "wrapup-notes" });
  const error = el("p", { class: "form-error", role: "alert" });
  const form = el(
    "form",
    { class: "wrapup-form", "aria-label": "Wrap-up" },
    el("h3", { text: "Wrap-up" }),
    el("label", {}, "Disposition ", select),
    el("label", {}, "Notes ", notes),
    error,
    el("button", { type: "submit", class: "btn btn-primary", text: "Complete wrap-up" }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!select.value) {
      error.textContent = "Choose a disposition.";
      select.focus();
      return;
    }
    try {
      await api(`/api/v1/chats/${chat.id}/wrapup`, { method: "POST", body: { disposition: select.value, notes: notes.value } });
      chat.wrappedUp = true;
      box.hidden = true;
    } catch (exc) {
      if (exc.code === "wrapup_not_pending") {
        chat.wrappedUp = true;
        box.hidden = true;
      } else error.textContent = exc.message;
    }
  });
  clear(box).append(form);
  box.hidden = false;
  if (state.active === chat.id) select.focus();
}

// Frontdesk customer chat widget. Embed with one tag:
//   <script type="module" src="https://chat.example.com/web/static/widget.js"
//           data-tenant="example.com" data-app-id="widget"></script>
// It speaks the ServicePattern Mobile/Web API (spec/servicepattern.md) in WebChat cookie mode:
// clientId "WebChat", credentials included, the server's cookie identifies the customer.
// It renders into an open shadow root, so the host page's styles do not leak in, and it never puts
// text from the server (or the customer) through innerHTML.
//
// Queue position comes from Frontdesk's extension event `frontdesk_queue_position` (vendor clients
// skip unknown event types; docs/servicepattern-extensions.md); the estimated wait is also refreshed
// from GET /chats/active while queued.

const SCRIPT_URL = new URL(import.meta.url);
const ORIGIN = SCRIPT_URL.origin;
const script = [...document.querySelectorAll("script[src]")].find((s) => s.src === import.meta.url || s.src.split("?")[0] === SCRIPT_URL.href.split("?")[0]);
const CONFIG = {
  tenant: (script && script.dataset.tenant) || location.hostname,
  appId: (script && script.dataset.appId) || "widget",
  title: (script && script.dataset.title) || "Chat with us",
};
const API = `${ORIGIN}/clientweb/api/v1`;
const AUTH = `MOBILE-API-140-327-PLAIN appId="${CONFIG.appId.replace(/["\\]/g, "")}", clientId="WebChat"`;
const STORE_KEY = `frontdesk.widget.${CONFIG.tenant}.${CONFIG.appId}`;

const PARAM_LABELS = {
  FIRST_NAME: ["First name", "text", "given-name"],
  LAST_NAME: ["Last name", "text", "family-name"],
  EMAIL: ["E-mail", "email", "email"],
  PHONE: ["Phone", "tel", "tel"],
  ACCOUNT: ["Account number", "text", "off"],
  COMPANY: ["Company", "text", "organization"],
  TEXT: [null, "text", "off"],
};

// ---------------------------------------------------------------------------------------------
// tiny DOM helper: text only, never HTML

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function bubbleIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

function escapeHtml(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r\n|\r|\n/g, "<br>");
}

function htmlToText(msg) {
  // Only for servers that send no msg_text: <br> to newlines, the five basic references decoded.
  return String(msg)
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

function randomId() {
  return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
}

function waitText(ewt) {
  const s = Number(ewt) || 0;
  if (s < 60) return "Estimated wait: under a minute";
  const m = Math.ceil(s / 60);
  return `Estimated wait: about ${m} minute${m === 1 ? "" : "s"}`;
}

function timeText(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// ---------------------------------------------------------------------------------------------
// the API

class SpError extends Error {
  constructor(status, body) {
    super((body && body.error_message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error_code;
  }
}

async function call(path, { method = "GET", body, form, signal } = {}) {
  const headers = { Authorization: AUTH };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json; charset=utf-8";
    payload = JSON.stringify(body);
  }
  const sep = path.includes("?") ? "&" : "?";
  const response = await fetch(`${API}${path}${sep}tenantUrl=${encodeURIComponent(CONFIG.tenant)}`, {
    method,
    headers,
    body: payload,
    credentials: "include",
    cache: "no-store",
    signal,
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new SpError(response.status, data);
  return data;
}

// ---------------------------------------------------------------------------------------------
// the widget

class Widget {
  constructor() {
    this.chatId = null;
    this.ended = false;
    this.parties = new Map();
    this.transcript = [];
    this.survey = null; // post_chat_survey definition from GET /configuration
    this.params = [];
    this.pollAbort = null;
    this.typingSent = 0;
    this.built = false;
    this.host = el("div", { id: "frontdesk-chat-widget" });
    this.root = this.host.attachShadow({ mode: "open" });
    document.body.append(this.host);
    this.root.append(el("link", { rel: "stylesheet", href: `${ORIGIN}/web/static/widget.css` }));
    this.launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "fd-panel", onclick: () => this.toggle() }, bubbleIcon(), el("span", { class: "launcher-text", text: CONFIG.title }));
    this.panel = el("section", { class: "panel", id: "fd-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "fd-title", hidden: true });
    this.root.append(this.launcher, this.panel);
    this.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.toggle(false);
      }
    });
    this.resume();
  }

  // -- open/close ----------------------------------------------------------------------------
  async toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.host.classList.toggle("open", open);
    this.launcher.classList.toggle("hidden-on-phone", open);
    if (open) {
      if (!this.built) await this.build();
      this.unread = 0;
      this.updateLauncher();
      const target = this.panel.querySelector("textarea:not([hidden]), input:not([type=hidden]), button.primary");
      if (target) target.focus();
    } else this.launcher.focus();
  }

  updateLauncher() {
    const badge = this.unread ? ` (${this.unread} new)` : "";
    this.launcher.querySelector(".launcher-text").textContent = CONFIG.title + badge;
  }

  frame() {
    clear(this.panel);
    this.status = el("p", { class: "status", role: "status" });
    this.body = el("div", { class: "body" });
    this.panel.append(
      el("header", { class: "head" }, el("h2", { id: "fd-title", text: CONFIG.title }), el("button", { type: "button", class: "icon close", "aria-label": "Minimise chat", text: "–", onclick: () => this.toggle(false) })),
      this.status,
      this.body,
    );
  }

  async build() {
    this.built = true;
    this.frame();
    if (this.chatId) {
      this.showChat();
      return;
    }
    this.body.append(el("p", { class: "muted", text: "Loading…" }));
    await this.loadSetup();
    this.showPrechat();
  }

  async loadSetup() {
    const [params, availability, configuration] = await Promise.allSettled([call("/parameters"), call("/availability"), call("/configuration")]);
    this.params = params.status === "fulfilled" ? params.value.parameters.map((p) => Object.entries(p)[0]) : [];
    this.availability = availability.status === "fulfilled" ? availability.value : { chat: "available", ewt: "0" };
    if (configuration.status === "fulfilled") {
      const widgets = configuration.value.widgets || [];
      const def = widgets[0] && widgets[0].definition;
      this.survey = (def && def.post_chat_survey) || null;
    }
  }

  // -- pre-chat form -------------------------------------------------------------------------
  showPrechat() {
    clear(this.body);
    const open = this.availability.chat === "available";
    this.status.textContent = open ? waitText(this.availability.ewt) : "Chat is closed right now.";
    this.status.className = "status ewt";
    const fields = this.params.map(([name, type]) => {
      const [label, inputType, autocomplete] = PARAM_LABELS[type] || [null, "text", "off"];
      const nice = label || name.replace(/[_-]+/g, " ").replace(/^./, (c) => c.toUpperCase());
      return el("label", { class: "field" }, el("span", { text: nice }), el("input", { name, type: inputType, autocomplete, required: type === "FIRST_NAME" || type === "EMAIL" }));
    });
    const question = el("textarea", { name: "__question", rows: "3", maxlength: "10000" });
    const error = el("p", { class: "error", role: "alert" });
    const form = el(
      "form",
      { class: "prechat", "aria-label": "Before we start" },
      el("p", { class: "intro", text: "Tell us who you are and we will connect you with an agent." }),
      fields,
      el("label", { class: "field" }, el("span", { text: "How can we help? (optional)" }), question),
      error,
      el("button", { type: "submit", class: "primary", disabled: !open, text: "Start chat" }),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      const data = new FormData(form);
      const parameters = {};
      for (const [name] of this.params) {
        const v = String(data.get(name) || "").trim();
        if (v) parameters[name] = v;
      }
      const text = String(data.get("__question") || "").trim();
      form.querySelector("button[type=submit]").disabled = true;
      error.textContent = "";
      try {
        await this.startChat(parameters, text);
      } catch (exc) {
        error.textContent = `The chat could not start: ${exc.message}`;
        form.querySelector("button[type=submit]").disabled = false;
      }
    });
    this.body.append(form);
    const first = form.querySelector("input, textarea");
    if (first) first.focus();
  }

  async startChat(parameters, text) {
    const from = [parameters.first_name, parameters.last_name].filter(Boolean).join(" ");
    const body = { parameters };
    if (from) body.from = from;
    let msgId = null;
    if (text) {
      msgId = randomId();
      body.initial_message = { event: "chat_session_message", msg_id: msgId, msg: escapeHtml(text), msg_text: text };
    }
    const reply = await call("/chats", { method: "POST", body });
    this.chatId = reply.chat_id;
    sessionStorage.setItem(STORE_KEY, this.chatId);
    this.ended = false;
    this.showChat();
    if (!reply.is_new_chat) await this.loadHistory();
    else if (text) this.line("me", "You", text, new Date());
    this.setQueued(reply.state, reply.ewt);
    this.poll();
  }

  // -- the chat ------------------------------------------------------------------------------
  showChat() {
    clear(this.body);
    this.log = el("ol", { class: "log", "aria-label": "Conversation", "aria-live": "polite", tabindex: "0" });
    this.typing = el("p", { class: "typing", "aria-live": "polite" });
    this.textarea = el("textarea", { rows: "2", "aria-label": "Message", placeholder: "Type a message…", maxlength: "10000" });
    this.fileInput = el("input", { type: "file", class: "visually-hidden", id: "fd-file", "aria-label": "Attach a file" });
    this.composer = el(
      "form",
      { class: "composer", "aria-label": "Your message" },
      this.textarea,
      el("div", { class: "composer-row" }, this.fileInput, el("label", { class: "button attach", for: "fd-file", text: "Attach" }), el("button", { type: "submit", class: "primary send", text: "Send" })),
    );
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.sendText();
    });
    this.textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.sendText();
      }
    });
    this.textarea.addEventListener("input", () => this.onInput());
    this.fileInput.addEventListener("change", () => {
      const file = this.fileInput.files && this.fileInput.files[0];
      this.fileInput.value = "";
      if (file) this.sendFile(file);
    });
    this.endButton = el("button", { type: "button", class: "end", text: "End chat", onclick: () => this.endChat() });
    this.transcriptButton = el("button", { type: "button", class: "transcript", text: "Download transcript", onclick: () => this.downloadTranscript() });
    this.extra = el("div", { class: "extra" });
    this.body.append(this.log, this.typing, this.extra, this.composer, el("div", { class: "actions" }, this.transcriptButton, this.endButton));
  }

  setQueued(state, ewt) {
    if (state === "queued" || state === "connecting") {
      const place = this.position ? ` You are number ${this.position} in the queue.` : "";
      this.status.textContent = state === "connecting" ? "Connecting you to an agent…" : `Waiting for an agent. ${waitText(ewt)}.${place}`;
      this.status.className = "status ewt";
      this.queued = true;
      this.refreshEwtLater();
    } else if (state === "connected") {
      this.queued = false;
      const names = [...this.parties.values()];
      this.status.textContent = names.length ? `You are chatting with ${names.join(", ")}.` : "Connected.";
      this.status.className = "status connected";
    }
  }

  refreshEwtLater() {
    clearTimeout(this.ewtTimer);
    this.ewtTimer = setTimeout(async () => {
      if (!this.queued || this.ended || !this.chatId) return;
      try {
        const active = await call("/chats/active");
        if (active.chat_id === this.chatId && this.queued) this.setQueued(active.state, active.ewt);
      } catch {
        this.refreshEwtLater();
      }
    }, 10000);
  }

  line(side, who, text, at, extra) {
    const item = el("li", { class: `msg ${side}` }, el("div", { class: "meta" }, el("span", { class: "author", text: who }), el("time", { text: timeText(at) })), el("p", { class: "text", text }), extra || null);
    this.log.append(item);
    this.transcript.push(`[${at.toLocaleString()}] ${who}: ${text}`);
    this.scroll();
    return item;
  }

  sys(text, at) {
    const item = el("li", { class: "sys", text });
    this.log.append(item);
    this.transcript.push(`[${at.toLocaleString()}] ${text}`);
    this.scroll();
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  fileUrl(fileId) {
    return `${API}/chats/${this.chatId}/files/${encodeURIComponent(fileId)}`;
  }

  fileLine(side, who, ev, at) {
    const link = el("a", { class: "file-link", href: this.fileUrl(ev.file_id), target: "_blank", rel: "noopener noreferrer", download: ev.file_name }, el("span", { class: "file-label", text: ev.file_type === "image" ? "Image: " : "File: " }), el("span", { class: "file-name", text: ev.file_name }));
    const img = ev.file_type === "image" ? el("img", { class: "thumb", src: this.fileUrl(ev.file_id), alt: ev.file_name, loading: "lazy" }) : null;
    const item = el("li", { class: `msg file ${side}` }, el("div", { class: "meta" }, el("span", { class: "author", text: who }), el("time", { text: timeText(at) })), link, img);
    this.log.append(item);
    this.transcript.push(`[${at.toLocaleString()}] ${who}: [file] ${ev.file_name}`);
    this.scroll();
  }

  partyName(id) {
    return this.parties.get(id) || "Agent";
  }

  handle(ev, fromHistory) {
    const at = ev.timestamp ? new Date(Number(ev.timestamp) * 1000) : new Date();
    const mine = ev.party_id && ev.party_id === this.chatId;
    switch (ev.event) {
      case "chat_session_status":
        if (ev.state === "failed") this.finish("The chat could not continue.", at);
        else this.setQueued(ev.state, ev.ewt);
        break;
      case "frontdesk_queue_position":
        this.position = Number(ev.position) || 0;
        if (this.queued) this.setQueued("queued", ev.ewt);
        break;
      case "chat_session_party_joined": {
        const name = ev.display_name || [ev.first_name, ev.last_name].filter(Boolean).join(" ") || "An agent";
        this.parties.set(ev.party_id, ev.first_name || name);
        this.sys(`${name} joined the chat.`, at);
        break;
      }
      case "chat_session_party_left":
        this.sys(`${this.partyName(ev.party_id)} left the chat.`, at);
        this.parties.delete(ev.party_id);
        this.showTyping(null);
        break;
      case "chat_session_message": {
        const text = ev.msg_text !== undefined && ev.msg_text !== null ? String(ev.msg_text) : htmlToText(ev.msg || "");
        if (mine) this.line("me", "You", text, at);
        else {
          this.showTyping(null);
          this.line("agent", this.partyName(ev.party_id), text, at);
          this.notify();
        }
        break;
      }
      case "chat_session_file":
        if (mine) this.fileLine("me", "You", ev, at);
        else {
          this.fileLine("agent", this.partyName(ev.party_id), ev, at);
          this.notify();
        }
        break;
      case "chat_session_typing":
        this.showTyping(ev.party_id);
        break;
      case "chat_session_not_typing":
        this.showTyping(null);
        break;
      case "chat_session_timeout_warning":
        this.sys(ev.msg || "Are you still there?", at);
        break;
      case "chat_session_form_show":
        if (!fromHistory) this.showSurvey(ev);
        break;
      case "chat_session_form_data":
        if (this.surveyForm) this.surveyDone();
        break;
      case "chat_session_inactivity_timeout":
        this.finish(ev.msg || "The chat was closed because there was no reply.", at);
        break;
      case "chat_session_ended":
        this.finish("The chat has ended.", at);
        break;
      default:
        break;
    }
  }

  notify() {
    if (this.panel.hidden) {
      this.unread = (this.unread || 0) + 1;
      this.updateLauncher();
    }
  }

  showTyping(partyId) {
    clearTimeout(this.typingTimer);
    if (!partyId) {
      this.typing.textContent = "";
      return;
    }
    this.typing.textContent = `${this.partyName(partyId)} is typing…`;
    this.typingTimer = setTimeout(() => this.showTyping(null), 10000);
  }

  // -- polling -------------------------------------------------------------------------------
  async poll() {
    if (this.polling) return;
    this.polling = true;
    let backoff = 1000;
    const chatId = this.chatId;
    while (this.chatId === chatId && !this.ended) {
      const abort = new AbortController();
      this.pollAbort = abort;
      const timer = setTimeout(() => abort.abort(), 20000);
      try {
        const reply = await call(`/chats/${chatId}/events`, { signal: abort.signal });
        backoff = 1000;
        this.setOnline(true);
        for (const ev of reply.events || []) this.handle(ev, false);
      } catch (exc) {
        if (exc instanceof SpError && exc.code === "5005") {
          if (!this.ended) this.finish("The chat is no longer available.", new Date());
          break;
        }
        if (this.ended || this.chatId !== chatId) break;
        this.setOnline(false);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(10000, backoff * 2);
      } finally {
        clearTimeout(timer);
      }
    }
    this.polling = false;
  }

  setOnline(online) {
    this.panel.classList.toggle("offline", !online);
    if (!online) this.status.textContent = "Connection lost – reconnecting…";
  }

  async loadHistory() {
    const reply = await call(`/chats/${this.chatId}/history`);
    clear(this.log);
    this.transcript = [];
    this.parties.clear();
    for (const ev of reply.events || []) this.handle(ev, true);
    // a survey still open: the last form_show without a later answer and before the end
    const events = reply.events || [];
    const lastForm = events.map((e) => e.event).lastIndexOf("chat_session_form_show");
    const answered = events.slice(lastForm + 1).some((e) => e.event === "chat_session_form_data" || e.event === "chat_session_ended");
    if (lastForm >= 0 && !answered && !this.ended) this.showSurvey(events[lastForm]);
  }

  async resume() {
    let chatId = null;
    try {
      chatId = (await call("/chats/active")).chat_id;
    } catch {
      chatId = sessionStorage.getItem(STORE_KEY);
    }
    if (!chatId) return;
    this.chatId = chatId;
    try {
      this.built = true;
      this.frame();
      this.showChat();
      await this.loadHistory();
      if (this.ended) {
        this.chatId = null;
        this.built = false;
        sessionStorage.removeItem(STORE_KEY);
        return;
      }
      await this.loadSetup();
      this.toggle(true);
      this.poll();
    } catch {
      this.chatId = null;
      this.built = false;
      sessionStorage.removeItem(STORE_KEY);
    }
  }

  // -- sending -------------------------------------------------------------------------------
  async send(events) {
    let delay = 500;
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(`/chats/${this.chatId}/events`, { method: "POST", body: { events } });
      } catch (exc) {
        if (exc instanceof SpError || attempt >= 5) throw exc;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  async sendText() {
    const text = this.textarea.value;
    if (!text.trim() || this.ended) return;
    this.textarea.value = "";
    this.stopTyping();
    const item = this.line("me pending", "You", text, new Date());
    const msgId = randomId(); // the same msg_id on a retry: the server applies it once
    try {
      await this.send([{ event: "chat_session_message", msg_id: msgId, msg: escapeHtml(text), msg_text: text }]);
      item.classList.remove("pending");
    } catch (exc) {
      item.classList.add("failed");
      item.append(el("p", { class: "error", text: `Not sent: ${exc.message}` }));
    }
  }

  onInput() {
    if (!this.chatId || this.ended) return;
    if (!this.textarea.value.trim()) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSent > 4000) {
      this.typingSent = now;
      this.send([{ event: "chat_session_typing" }]).catch(() => {});
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), 5000);
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (!this.typingSent) return;
    this.typingSent = 0;
    this.send([{ event: "chat_session_not_typing" }]).catch(() => {});
  }

  async sendFile(file) {
    const item = this.line("me pending", "You", `Uploading ${file.name}…`, new Date());
    try {
      const form = new FormData();
      form.append("file-upload-input", file, file.name);
      const up = await call("/files", { method: "POST", form });
      const fileType = file.type.startsWith("image/") ? "image" : "attachment";
      await this.send([{ event: "chat_session_file", msg_id: randomId(), file_id: up.file_id, file_name: up.file_name, file_type: fileType }]);
      item.remove();
      this.transcript.pop();
      this.fileLine("me", "You", { file_id: up.file_id, file_name: up.file_name, file_type: fileType }, new Date());
    } catch (exc) {
      item.classList.add("failed");
      item.querySelector(".text").textContent = `${file.name} was not sent: ${exc.message}`;
    }
  }

  async endChat() {
    if (!this.chatId || this.ended) return;
    this.endButton.disabled = true;
    this.stopTyping();
    try {
      // disconnect (not end): the entry point's post-chat survey comes first, if it has one
      await this.send([{ event: "chat_session_disconnect" }]);
    } catch {
      this.endButton.disabled = false;
    }
  }

  // -- survey --------------------------------------------------------------------------------
  showSurvey(ev) {
    this.composer.hidden = true;
    this.endButton.hidden = true;
    const def = this.survey;
    if (!def || !Array.isArray(def.questions)) {
      this.send([{ event: "chat_form_data_cancel", form_request_id: ev.form_request_id, form_name: ev.form_name }]).catch(() => {});
      return;
    }
    const error = el("p", { class: "error", role: "alert" });
    const form = el("form", { class: "survey", "aria-labelledby": "fd-survey-title" }, el("h3", { id: "fd-survey-title", text: def.title || "How did we do?" }));
    def.questions.forEach((q, i) => form.append(this.question(q, i)));
    form.append(
      error,
      el("div", { class: "survey-actions" }, el("button", { type: "submit", class: "primary", text: "Send feedback" }), el("button", { type: "button", class: "skip", text: "Skip", onclick: () => skip() })),
    );
    const skip = async () => {
      try {
        await this.send([{ event: "chat_form_data_cancel", form_request_id: ev.form_request_id, form_name: ev.form_name }]);
      } catch {
        /* the form times out on the server */
      }
      this.surveyDone(false);
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = {};
      for (const q of def.questions) {
        const field = form.elements.namedItem(`q-${q.id}`);
        let value = "";
        if (field instanceof RadioNodeList) value = field.value;
        else if (field) value = field.value.trim();
        if (q.required && !value) {
          error.textContent = `Please answer: ${q.text}`;
          return;
        }
        if (value) data[q.id] = value;
      }
      try {
        await this.send([{ event: "chat_session_form_data", form_request_id: ev.form_request_id, form_name: ev.form_name, data }]);
        this.surveyDone(true);
      } catch (exc) {
        error.textContent = `Your feedback could not be sent: ${exc.message}`;
      }
    });
    this.surveyForm = form;
    clear(this.extra).append(form);
    this.status.textContent = "Please rate this chat.";
    const first = form.querySelector("input, textarea");
    if (first) first.focus();
  }

  question(q, i) {
    const name = `q-${q.id}`;
    if (q.type === "text") {
      return el("label", { class: "field" }, el("span", { text: q.text + (q.required ? " *" : "") }), el("textarea", { name, rows: "2", maxlength: "2000" }));
    }
    let options;
    if (q.type === "rating") {
      const min = q.min ?? 1;
      const max = q.max ?? 5;
      options = [];
      for (let v = min; v <= max; v++) options.push([String(v), String(v)]);
    } else if (q.type === "yes_no") options = [["yes", "Yes"], ["no", "No"]];
    else options = (q.choices || []).map((c) => [c, c]);
    return el(
      "fieldset",
      { class: `choice ${q.type}` },
      el("legend", { text: q.text + (q.required ? " *" : "") }),
      el(
        "div",
        { class: "options" },
        options.map(([value, label], j) => el("label", { class: "option" }, el("input", { type: "radio", name, value, id: `fd-q${i}-${j}` }), el("span", { text: label }))),
      ),
    );
  }

  surveyDone(sent = true) {
    this.surveyForm = null;
    clear(this.extra).append(el("p", { class: "thanks", role: "status", text: sent ? "Thank you for your feedback!" : "Thank you." }));
  }

  // -- the end -------------------------------------------------------------------------------
  finish(text, at) {
    if (this.ended) return;
    this.ended = true;
    this.queued = false;
    clearTimeout(this.ewtTimer);
    if (this.pollAbort) this.pollAbort.abort();
    this.sys(text, at);
    this.showTyping(null);
    this.status.textContent = "The chat has ended.";
    this.status.className = "status ended";
    this.composer.hidden = true;
    this.endButton.hidden = true;
    sessionStorage.removeItem(STORE_KEY);
    if (this.surveyForm) {
      this.surveyForm = null;
      clear(this.extra);
    }
    this.extra.append(el("button", { type: "button", class: "primary new-chat", text: "Start a new chat", onclick: () => this.newChat() }));
  }

  async newChat() {
    this.chatId = null;
    this.ended = false;
    this.parties.clear();
    this.transcript = [];
    this.surveyForm = null;
    this.frame();
    await this.loadSetup();
    this.showPrechat();
  }

  downloadTranscript() {
    const text = [`Chat transcript – ${CONFIG.title}`, `Chat ${this.chatId || ""}`, "", ...this.transcript, ""].join("\n");
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
    const a = el("a", { href: url, download: "chat-transcript.txt", hidden: true });
    this.root.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => (window.frontdeskWidget = new Widget()));
else window.frontdeskWidget = new Widget();

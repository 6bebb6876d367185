// Shared helpers of the agent console and the supervisor wallboard (native API, same origin).
// Rule: data never goes through innerHTML. Elements are built with el(), text with textContent.

const TOKEN_KEY = "frontdesk.token";

/** Build an element. attrs: plain attributes, plus `on*` functions, `class`, `text`, `dataset`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
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

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || "http_" + status;
    this.problem = problem;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** Call the native API. body: object (JSON) or FormData. Answers the parsed JSON, or null for 204. */
export async function api(path, { method = "GET", body, raw = false, signal } = {}) {
  const headers = {};
  const token = session.token;
  if (token) headers.Authorization = "Bearer " + token;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload, signal, cache: "no-store" });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export async function login(tenant, loginName, password) {
  const body = { login: loginName, password };
  if (tenant) body.tenant = tenant;
  const answer = await api("/api/v1/auth/login", { method: "POST", body });
  session.token = answer.token;
  return answer;
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** 75 → "1:15", 3725 → "1:02:05"; null → "–". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

export function clock(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Announce a short text to screen readers and show it in the page's status line. */
export function announce(text, kind = "info") {
  const live = document.getElementById("status-line");
  if (!live) return;
  live.textContent = text;
  live.dataset.kind = kind;
}

/**
 * A WebSocket that reconnects by itself: back-off 0.5 s → 30 s with jitter, ping every 20 s, and a
 * dead-connection check (no frame for `idleMs`). `onOpen(ws)` runs after every (re)connection,
 * `onFrame(frame)` for every frame, `onClose(code)` answers whether to reconnect.
 */
export class LiveSocket {
  constructor(path, { onOpen, onFrame, onClose, onState, idleMs = 60000, pingMs = 20000 }) {
    this.path = path;
    this.onOpen = onOpen;
    this.onFrame = onFrame;
    this.onClose = onClose;
    this.onState = onState || (() => {});
    this.idleMs = idleMs;
    this.pingMs = pingMs;
    this.delay = 500;
    this.stopped = false;
    this.ws = null;
    this.timer = null;
    this.lastFrame = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
    this.timer = setInterval(() => this.tick(), 1000);
    window.addEventListener("online", (this.onlineHandler = () => this.reconnectNow()));
    window.addEventListener("offline", (this.offlineHandler = () => this.drop()));
  }

  /** The network went away: give up this connection now (its close handshake may never finish). */
  drop() {
    const ws = this.ws;
    if (!ws || this.stopped) return;
    this.ws = null;
    ws.close();
    this.onState("closed");
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(30000, this.delay * 2);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    window.removeEventListener("online", this.onlineHandler);
    window.removeEventListener("offline", this.offlineHandler);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}?token=${encodeURIComponent(session.token || "")}`;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.onState("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    this.lastFrame = Date.now();
    this.lastPing = Date.now();
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastFrame = Date.now();
      this.onState("open");
      this.onOpen(ws);
    };
    ws.onmessage = (msg) => {
      if (ws !== this.ws) return;
      this.lastFrame = Date.now();
      this.delay = 500;
      let frame;
      try {
        frame = JSON.parse(msg.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.onState("closed");
      if (this.stopped) return;
      const again = this.onClose ? this.onClose(event.code) : true;
      if (again === false) return;
      const wait = again === "now" ? 0 : this.delay * (0.75 + Math.random() * 0.5);
      this.delay = Math.min(30000, this.delay * 2);
      this.retry = setTimeout(() => this.connect(), wait);
    };
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return;
    this.delay = 500;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.close();
    }
    this.connect();
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  tick() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (now - this.lastFrame > this.idleMs) {
      // Dead connection (no frame, not even a heartbeat): drop it and reconnect.
      this.ws = null;
      ws.close();
      this.onState("closed");
      this.connect();
      return;
    }
    if (now - this.lastPing >= this.pingMs) {
      this.lastPing = now;
      this.send({ type: "ping", nonce: String(now) });
    }
  }
}

/** Wire up a login form; calls `done(user)` after a successful sign-in with the wanted role. */
export function loginForm(form, role, done) {
  const error = form.querySelector(".form-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const answer = await login(String(data.get("tenant") || "").trim(), String(data.get("login")).trim(), String(data.get("password")));
      if (!answer.user.roles.includes(role)) {
        session.token = null;
        throw new Error(`This user does not have the ${role} role.`);
      }
      form.reset();
      done(answer.user);
    } catch (exc) {
      error.textContent = exc instanceof ApiError && exc.code === "invalid_credentials" ? "Wrong login or password." : exc.message;
    } finally {
      button.disabled = false;
    }
  });
}

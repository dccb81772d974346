// The causerie web client: state, the handling of every server frame, and the views.
// Protocol reference: docs/protocol.md; structure: docs/web.md.

import { Connection } from "./connection.js";
import { byId, h, replaceKeepingFocus } from "./dom.js";
import { REGIONS, regionCodeOf } from "./geo.js";
import {
  LANGUAGES,
  errorText,
  language,
  onLanguageChange,
  setLanguage,
  t,
  translatePage,
  translated,
} from "./i18n.js";

const ROOM_REFRESH_MS = 10_000;
const PING_MS = 25_000;
const TYPING_SEND_EVERY_MS = 3_000;
const TYPING_SHOWN_MS = 5_000;
const TOAST_MS = 7_000;
const RECONNECT_MAX_MS = 30_000;
const DEVICE_KEY = "causerie.device";
// Refusals that may pass if the same message is sent again a little later.
const RETRYABLE = new Set([
  "rate_limited_messages",
  "rate_limited_conversations",
  "rate_limited_frames",
  "internal_error",
  "shutting_down",
]);
// WebSocket close code the server uses when it ends a session on purpose (policy violation):
// connecting again at once would only repeat it.
const CLOSE_POLICY = 1008;

const state = {
  entered: false,
  entering: false,
  // The last `enter` frame, sent again after a lost connection.
  identity: null,
  me: null,
  band: null,
  verified: false,
  // An adults-only room refused for want of a verified age, joined once the age is verified.
  joinAfterVerify: null,
  maxChars: 1000,
  visibleHours: 6,
  myRegionCode: "",
  rooms: [],
  // Conversations by key: "r:<room id>" for rooms, "p:<nickname key>" for private ones.
  convs: new Map(),
  active: null,
  // Nickname keys as the server reports them, and the display names we know for them.
  ignored: new Set(),
  ignoredNames: new Map(),
  people: [],
  hosted: new Set(),
  requestedJoins: new Set(),
  pendingCreate: null,
  // Messages sent and not yet acknowledged, by ref.
  pendingRefs: new Map(),
  lastTypingSent: new Map(),
  lastTypingConv: null,
  reconnecting: false,
  reconnectDelay: 1_000,
  reconnectTries: 0,
  // The last refusal not tied to a message, and when: a close right after it is explained by it.
  lastServerError: null,
  lastServerErrorAt: 0,
  timers: [],
};

const connection = new Connection({ onFrame: handleFrame, onClose: handleClose });

// ---------------------------------------------------------------------------------------------
// Helpers

/** The form under which the server compares nicknames (src/causerie/protocol/identity.py). */
export function nicknameKey(nickname) {
  return nickname
    .normalize("NFKC")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/0/g, "o")
    .replace(/1/g, "l")
    .replace(/[._-]/g, "");
}

function isMinor() {
  return state.band !== null && state.band !== "18+";
}

function explain(frame) {
  return errorText(frame, { minor: isMinor(), maxChars: state.maxChars });
}

function recentServerError() {
  return Date.now() - state.lastServerErrorAt < 5_000 ? state.lastServerError : null;
}

function findPerson(nickname) {
  for (const conv of state.convs.values()) {
    const person = conv.members.get(nickname);
    if (person) return person;
  }
  return state.people.find((person) => person.nickname === nickname);
}

/**
 * A random token this browser keeps: the server remembers, for a while and only as a keyed
 * hash, that a device said it was under 18, so that coming back as "18" does not lift the
 * protections. getRandomValues works on plain http too, where randomUUID does not.
 */
function deviceToken() {
  try {
    let token = localStorage.getItem(DEVICE_KEY);
    if (!token || token.length < 16) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      token = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem(DEVICE_KEY, token);
    }
    return token;
  } catch {
    return undefined;
  }
}

function send(frame) {
  return connection.send(frame);
}

function roomKey(roomId) {
  return `r:${roomId}`;
}

function privateKey(nickname) {
  return `p:${nicknameKey(nickname)}`;
}

function isMe(nickname) {
  return state.me !== null && nicknameKey(nickname) === nicknameKey(state.me.nickname);
}

function clockTime(seconds) {
  return new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit" }).format(
    new Date(seconds * 1000),
  );
}

function personLine(person) {
  const parts = [t("person.age", { age: person.age }), t(`gender.${person.gender}`)];
  if (person.department) parts.push(person.department);
  return parts.join(" · ");
}

function mayEnter(room) {
  if (room.audience === "adults") return !isMinor();
  if (room.audience === "teens") return isMinor();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Toasts and the connection banner

function toast(text, { kind = "error" } = {}) {
  const box = byId("toasts");
  const close = h("button", { type: "button", class: "toast-close", text: "×" });
  close.setAttribute("aria-label", t("toast.close"));
  const item = h("div", { class: `toast ${kind}`, testid: "toast", role: "status" }, [
    h("p", { text }),
    close,
  ]);
  const remove = () => item.remove();
  close.addEventListener("click", remove);
  box.append(item);
  setTimeout(remove, TOAST_MS);
  while (box.children.length > 4) box.firstElementChild.remove();
}

function notice(text) {
  byId("notice").hidden = !text;
  byId("notice-text").textContent = text || "";
}

function banner(text) {
  const el = byId("banner");
  el.hidden = !text;
  el.textContent = text || "";
}

// ---------------------------------------------------------------------------------------------
// Screens and panels

function showScreen(name) {
  document.body.dataset.screen = name;
  byId("entry-screen").hidden = name !== "entry";
  byId("app-screen").hidden = name !== "app";
}

function showPanel(panel) {
  document.body.dataset.panel = panel;
  if (panel === "rooms" || panel === "people") showSide(panel);
  for (const button of document.querySelectorAll("[data-panel-tab]")) {
    button.setAttribute("aria-pressed", String(button.dataset.panelTab === panel));
  }
}

function showSide(side) {
  document.body.dataset.side = side;
  for (const button of document.querySelectorAll("[data-side-tab]")) {
    button.setAttribute("aria-pressed", String(button.dataset.sideTab === side));
  }
  if (side === "people" && state.entered) requestPeople();
}

// ---------------------------------------------------------------------------------------------
// Entry

function entryError(text, field) {
  const el = byId("entry-error");
  el.hidden = !text;
  el.textContent = text || "";
  for (const input of byId("entry-form").querySelectorAll("input, select")) {
    input.removeAttribute("aria-invalid");
  }
  const fieldInput = field && byId("entry-form").querySelector(`[name="${field}"]`);
  if (fieldInput) {
    fieldInput.setAttribute("aria-invalid", "true");
    fieldInput.focus();
  }
}

function entryBusy(busy) {
  const button = byId("entry-submit");
  button.disabled = busy;
  translated(button, busy ? "entry.connecting" : "entry.submit");
}

async function submitEntry(event) {
  event.preventDefault();
  const form = byId("entry-form");
  const age = Number.parseInt(form.age.value, 10);
  const identity = {
    type: "enter",
    nickname: form.nickname.value.trim(),
    age: Number.isFinite(age) ? age : -1,
    gender: form.gender.value,
    postal_code: form.postal_code.value.replace(/\s+/g, ""),
  };
  const device = deviceToken();
  if (device) identity.device = device;
  entryError("");
  entryBusy(true);
  state.entering = true;
  state.identity = identity;
  try {
    await connection.open();
  } catch {
    state.entering = false;
    entryBusy(false);
    entryError(t("conn.failed"));
    return;
  }
  send(identity);
}

function onWelcome(frame) {
  const again = state.reconnecting;
  state.entered = true;
  state.entering = false;
  state.reconnecting = false;
  state.reconnectDelay = 1_000;
  state.reconnectTries = 0;
  state.me = frame.me;
  state.band = frame.age_band;
  state.maxChars = frame.max_message_chars;
  state.visibleHours = frame.visible_hours;
  state.myRegionCode = regionCodeOf(frame.me.region);
  if (frame.age_notice) {
    // The server's reason is English; the one reason it gives today has a translation.
    notice(language() === "en" ? frame.age_notice : t("band.remembered"));
  } else if (!again) {
    notice("");
  }
  byId("verify-age").hidden = isMinor() || state.verified;
  entryBusy(false);
  entryError("");
  byId("composer-input").maxLength = frame.max_message_chars;
  const me = document.querySelector("[data-testid=me]");
  me.textContent = frame.me.nickname;
  me.title = t("header.me", { nickname: frame.me.nickname });
  renderMe();
  showScreen("app");
  startTimers();
  send({ type: "rooms" });
  if (again) {
    banner("");
    toast(t("conn.back"), { kind: "info" });
    const rooms = [...state.convs.values()].filter((c) => c.kind === "room").map((c) => c.id);
    if (rooms.length) send({ type: "join", rooms });
  } else {
    showPanel("rooms");
    renderAll();
  }
}

function leaveChat() {
  connection.close();
  stopTimers();
  resetChat();
  showScreen("entry");
  entryBusy(false);
}

function resetChat() {
  state.entered = false;
  state.reconnecting = false;
  state.me = null;
  state.band = null;
  state.verified = false;
  state.joinAfterVerify = null;
  state.convs.clear();
  state.active = null;
  state.ignored.clear();
  state.ignoredNames.clear();
  state.people = [];
  state.hosted.clear();
  state.pendingRefs.clear();
  state.requestedJoins.clear();
  banner("");
  notice("");
  renderAll();
}

// ---------------------------------------------------------------------------------------------
// Lost connections

function handleClose(event) {
  stopTimers();
  const lastError = recentServerError();
  if (!state.entered && !state.reconnecting) {
    // A socket opened ahead of the form may close unnoticed; only an entry under way cares.
    if (state.entering) {
      state.entering = false;
      entryBusy(false);
      entryError(lastError ? explain(lastError) : t("conn.failed"));
    }
    return;
  }
  if (event.code === CLOSE_POLICY) {
    const reason = lastError ? explain(lastError) : event.reason || t("conn.failed");
    resetChat();
    showScreen("entry");
    entryBusy(false);
    entryError(t("conn.closed", { reason }));
    return;
  }
  state.entered = false;
  state.reconnecting = true;
  banner(t("conn.lost"));
  scheduleReconnect();
}

function scheduleReconnect() {
  const delay = state.reconnectDelay;
  state.reconnectDelay = Math.min(delay * 2, RECONNECT_MAX_MS);
  state.reconnectTries += 1;
  setTimeout(async () => {
    if (!state.reconnecting) return;
    try {
      await connection.open();
      send(state.identity);
    } catch {
      scheduleReconnect();
    }
  }, delay);
}

// ---------------------------------------------------------------------------------------------
// Timers owned by an entered session

function startTimers() {
  stopTimers();
  state.timers.push(
    setInterval(() => {
      if (!document.hidden) send({ type: "rooms" });
    }, ROOM_REFRESH_MS),
    setInterval(() => send({ type: "ping" }), PING_MS),
  );
}

function stopTimers() {
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
}

// ---------------------------------------------------------------------------------------------
// Conversations

function ensureRoomConv(room) {
  const key = roomKey(room.id);
  let conv = state.convs.get(key);
  if (!conv) {
    conv = newConv(key, "room");
    conv.id = room.id;
    state.convs.set(key, conv);
  }
  conv.room = room;
  conv.title = room.name;
  return conv;
}

function ensurePrivateConv(nickname, person) {
  const key = privateKey(nickname);
  let conv = state.convs.get(key);
  if (!conv) {
    conv = newConv(key, "private");
    conv.nickname = nickname;
    conv.title = nickname;
    state.convs.set(key, conv);
  }
  if (person) conv.person = person;
  return conv;
}

function newConv(key, kind) {
  return {
    key,
    kind,
    id: null,
    nickname: null,
    title: "",
    room: null,
    person: null,
    members: new Map(),
    log: h("ol", { class: "log", testid: `log-${key}` }),
    ids: new Set(),
    pending: [],
    unread: 0,
    typing: new Map(),
    typingRefused: false,
    draft: "",
  };
}

function activate(key) {
  const previous = state.convs.get(state.active);
  if (previous) previous.draft = byId("composer-input").value;
  state.active = key;
  const conv = state.convs.get(key);
  if (conv) {
    conv.unread = 0;
    byId("composer-input").value = conv.draft;
  }
  renderTabs();
  renderConversation();
  renderMembers();
  renderNavBadge();
  scrollToEnd(true);
}

function removeConv(key) {
  const conv = state.convs.get(key);
  if (!conv) return;
  for (const timer of conv.typing.values()) clearTimeout(timer);
  state.convs.delete(key);
  if (state.active === key) {
    const next = [...state.convs.keys()].at(-1) ?? null;
    activate(next);
  } else {
    renderTabs();
  }
}

function openPrivate(nickname, person) {
  if (isMe(nickname)) return;
  const conv = ensurePrivateConv(nickname, person ?? findPerson(nickname));
  activate(conv.key);
  showPanel("chat");
  byId("composer-input").focus();
}

function joinRoom(room) {
  const key = roomKey(room.id);
  if (state.convs.has(key)) {
    activate(key);
    showPanel("chat");
    return;
  }
  if (!mayEnter(room)) {
    toast(explain({ code: "room_forbidden" }));
    return;
  }
  state.requestedJoins.add(room.id);
  send({ type: "join", rooms: [room.id] });
}

function leaveConv(conv) {
  if (conv.kind === "room") send({ type: "leave", rooms: [conv.id] });
  else removeConv(conv.key);
}

// ---------------------------------------------------------------------------------------------
// Messages

function nearEnd() {
  const box = byId("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToEnd(force) {
  const box = byId("messages");
  if (force || nearEnd()) box.scrollTop = box.scrollHeight;
}

function messageElement(frame, { pending = false } = {}) {
  const own = isMe(frame.sender);
  const item = h("li", {
    class: `msg${own ? " own" : ""}${pending ? " pending" : ""}`,
    testid: "message",
    dataset: { sender: frame.sender, senderKey: nicknameKey(frame.sender) },
  });
  if (frame.id !== undefined) item.dataset.id = String(frame.id);
  const sender = own
    ? h("span", { class: "sender", text: frame.sender })
    : h("button", {
        type: "button",
        class: "sender link",
        text: frame.sender,
        title: t("chat.open_private", { nickname: frame.sender }),
        onclick: () => openPrivate(frame.sender),
      });
  const meta = h("div", { class: "meta" }, [
    sender,
    h("time", { datetime: new Date(frame.at * 1000).toISOString(), text: clockTime(frame.at) }),
  ]);
  const body = h("p", { class: "text", testid: "message-text" });
  item.append(meta, body);
  if (frame.blurred === true) {
    // The text stays out of the page until the reader asks for it.
    item.classList.add("masked");
    translated(body, "chat.masked");
    const reveal = h("button", { type: "button", class: "reveal", testid: "reveal" });
    translated(reveal, "chat.reveal");
    reveal.setAttribute("aria-expanded", "false");
    let shown = false;
    reveal.addEventListener("click", () => {
      shown = !shown;
      if (shown) {
        delete body.dataset.i18n;
        body.textContent = frame.text;
      } else {
        translated(body, "chat.masked");
      }
      item.classList.toggle("revealed", shown);
      reveal.setAttribute("aria-expanded", String(shown));
      translated(reveal, shown ? "chat.hide" : "chat.reveal");
    });
    item.append(reveal);
  } else {
    body.textContent = frame.text;
  }
  if (pending) {
    item.append(translated(h("p", { class: "status" }), "chat.pending"));
  }
  if (state.ignored.has(nicknameKey(frame.sender)) && !own) item.hidden = true;
  return item;
}

function systemLine(conv, key, vars) {
  const item = translated(h("li", { class: "system", testid: "system-line" }), key, vars);
  appendToLog(conv, item);
}

function appendToLog(conv, item) {
  const follow = conv.key === state.active && nearEnd();
  conv.log.append(item);
  // Expired messages leave the server after a few hours; the page keeps the latest ones only.
  while (conv.log.children.length > 500) conv.log.firstElementChild.remove();
  if (follow) scrollToEnd(true);
}

function receiveMessage(conv, frame) {
  if (isMe(frame.sender)) {
    const known = frame.id !== undefined && conv.ids.has(frame.id);
    const mine = known
      ? conv.log.querySelector(`[data-id="${CSS.escape(String(frame.id))}"]`)
      : conv.pending.shift();
    if (mine) {
      // The server's copy wins: a screen may have changed its text or masked it.
      const fresh = messageElement(frame);
      mine.replaceWith(fresh);
      conv.ids.add(frame.id);
      for (const [ref, entry] of state.pendingRefs) {
        if (entry.el === mine) state.pendingRefs.set(ref, { ...entry, el: fresh });
      }
      return;
    }
  }
  if (frame.id !== undefined) {
    if (conv.ids.has(frame.id)) return;
    conv.ids.add(frame.id);
  }
  appendToLog(conv, messageElement(frame));
  stopTyping(conv, frame.sender);
  if (!isMe(frame.sender) && (conv.key !== state.active || document.hidden)) {
    conv.unread += 1;
    renderTabs();
    renderNavBadge();
  }
}

function sendMessage(event) {
  event.preventDefault();
  const input = byId("composer-input");
  const conv = state.convs.get(state.active);
  const text = input.value;
  if (!conv || !text.trim()) return;
  if (text.length > state.maxChars) {
    toast(explain({ code: "message_too_long" }));
    return;
  }
  input.value = "";
  conv.draft = "";
  state.lastTypingSent.delete(conv.key);
  post(conv, text);
}

function post(conv, text) {
  const ref = connection.nextRef();
  const frame =
    conv.kind === "room"
      ? { type: "say", room: conv.id, text, ref }
      : { type: "private", to: conv.nickname, text, ref };
  const el = messageElement(
    { sender: state.me.nickname, text, at: Date.now() / 1000 },
    { pending: true },
  );
  appendToLog(conv, el);
  scrollToEnd(true);
  if (!send(frame)) {
    failMessage(el, t("conn.lost"), conv, text);
    return;
  }
  conv.pending.push(el);
  state.pendingRefs.set(ref, { conv, el, text });
}

function failMessage(el, reason, conv, text) {
  el.classList.remove("pending");
  el.classList.add("failed");
  const status = el.querySelector(".status") ?? h("p", { class: "status" });
  status.dataset.testid = "message-failed";
  delete status.dataset.i18n;
  status.textContent = t("chat.failed", { reason });
  status.setAttribute("role", "alert");
  el.append(status);
  if (conv && text) {
    const retry = translated(
      h("button", { type: "button", class: "small ghost retry", testid: "message-retry" }),
      "conn.retry",
    );
    retry.addEventListener("click", () => {
      el.remove();
      if (state.convs.get(conv.key) === conv) post(conv, text);
    });
    el.append(retry);
  }
}

function onAck(frame) {
  const entry = state.pendingRefs.get(frame.ref);
  if (!entry) return;
  state.pendingRefs.delete(frame.ref);
  const { conv, el } = entry;
  const waiting = conv.pending.indexOf(el);
  if (waiting !== -1) conv.pending.splice(waiting, 1);
  if (!el.classList.contains("pending")) return;
  el.classList.remove("pending");
  el.dataset.id = String(frame.id);
  el.querySelector(".status")?.remove();
  conv.ids.add(frame.id);
}

function onMessageRefused(frame) {
  const entry = state.pendingRefs.get(frame.ref);
  state.pendingRefs.delete(frame.ref);
  const { conv, el, text } = entry;
  const waiting = conv.pending.indexOf(el);
  if (waiting !== -1) conv.pending.splice(waiting, 1);
  if (frame.code === "held_for_review") {
    // Not refused: waiting for a person to look at it, so nothing to retry.
    el.classList.replace("pending", "held");
    const status = el.querySelector(".status");
    delete status.dataset.i18n;
    status.textContent = explain(frame);
    return;
  }
  const retryable = RETRYABLE.has(frame.code);
  failMessage(el, explain(frame), retryable ? conv : null, retryable ? text : null);
}

// ---------------------------------------------------------------------------------------------
// Typing

function onComposerInput() {
  const conv = state.convs.get(state.active);
  if (!conv || conv.typingRefused || !byId("composer-input").value.trim()) return;
  const now = Date.now();
  if (now - (state.lastTypingSent.get(conv.key) ?? 0) < TYPING_SEND_EVERY_MS) return;
  state.lastTypingSent.set(conv.key, now);
  state.lastTypingConv = conv;
  send(conv.kind === "room" ? { type: "typing", room: conv.id } : { type: "typing", to: conv.nickname });
}

function onTyping(frame) {
  const conv = state.convs.get(frame.room ? roomKey(frame.room) : privateKey(frame.sender));
  if (!conv || isMe(frame.sender)) return;
  clearTimeout(conv.typing.get(frame.sender));
  conv.typing.set(
    frame.sender,
    setTimeout(() => stopTyping(conv, frame.sender), TYPING_SHOWN_MS),
  );
  if (conv.key === state.active) renderTyping();
}

/**
 * A typing notice the server refused says early what a message would meet: a private chat that
 * is not allowed is explained in the conversation before anything is sent, once.
 */
function onTypingRefused(frame) {
  const conv = state.lastTypingConv;
  if (!conv || conv.typingRefused) return;
  conv.typingRefused = true;
  if (frame.code === "conversation_forbidden" || frame.code === "conversation_frozen") {
    appendToLog(conv, h("li", { class: "system warning", testid: "system-line", text: explain(frame) }));
  }
}

function stopTyping(conv, nickname) {
  if (!conv.typing.has(nickname)) return;
  clearTimeout(conv.typing.get(nickname));
  conv.typing.delete(nickname);
  if (conv.key === state.active) renderTyping();
}

// ---------------------------------------------------------------------------------------------
// People, ignore, rooms

function requestPeople() {
  const frame = { type: "people" };
  const age = byId("filter-age").value;
  const gender = byId("filter-gender").value;
  const region = byId("filter-region").value;
  if (age) frame.age_band = age;
  if (gender) frame.gender = gender;
  if (region) frame.region = region;
  send(frame);
}

function ignore(nickname) {
  state.ignoredNames.set(nicknameKey(nickname), nickname);
  send({ type: "ignore", nickname });
}

function unignore(nickname) {
  send({ type: "unignore", nickname });
}

function onIgnored(frame) {
  state.ignored = new Set(frame.nicknames);
  for (const conv of state.convs.values()) {
    for (const item of conv.log.querySelectorAll("[data-sender-key]")) {
      item.hidden = state.ignored.has(item.dataset.senderKey) && !isMe(item.dataset.sender);
    }
  }
  renderPeople();
  renderMembers();
  renderIgnored();
  renderConversation();
}

function createRoom(event) {
  event.preventDefault();
  const name = byId("create-room-name").value.trim().split(/\s+/).join(" ");
  const topic = byId("create-room-topic").value.trim();
  if (!name) return;
  state.pendingCreate = name;
  send({ type: "create_room", name, topic });
}

function saveTopic(event) {
  event.preventDefault();
  const conv = state.convs.get(state.active);
  if (!conv || conv.kind !== "room") return;
  send({ type: "set_topic", room: conv.id, topic: byId("topic-input").value.trim() });
  byId("topic-form").hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Frames from the server

function handleFrame(frame) {
  switch (frame.type) {
    case "welcome":
      return onWelcome(frame);
    case "error":
      return onError(frame);
    case "ack":
      return onAck(frame);
    case "room_list":
      state.rooms = frame.rooms;
      for (const room of frame.rooms) {
        const conv = state.convs.get(roomKey(room.id));
        if (conv) conv.room = { ...room, count: Math.max(room.count, conv.members.size) };
      }
      renderRooms();
      if (state.active?.startsWith("r:")) renderConversation();
      return;
    case "joined":
      return onJoined(frame);
    case "left":
      removeConv(roomKey(frame.room));
      send({ type: "rooms" });
      return;
    case "member_list": {
      const conv = state.convs.get(roomKey(frame.room));
      if (!conv) return;
      conv.members = new Map(frame.members.map((p) => [p.nickname, p]));
      if (conv.key === state.active) renderMembers();
      return;
    }
    case "member_joined":
      return onMemberJoined(frame);
    case "member_left":
      return onMemberLeft(frame);
    case "message": {
      const conv = state.convs.get(roomKey(frame.room));
      if (conv) receiveMessage(conv, frame);
      return;
    }
    case "private_message":
      return onPrivateMessage(frame);
    case "typing":
      return onTyping(frame);
    case "topic":
      return onTopic(frame);
    case "people":
      state.people = frame.people;
      return renderPeople();
    case "ignored":
      return onIgnored(frame);
    case "band_changed":
      return onBandChanged(frame);
    case "age_verified":
      return onAgeVerified();
    case "pong":
      return;
    default:
      // A newer server may send frames this page does not know yet: ignoring them is safe.
      return;
  }
}

function onBandChanged(frame) {
  state.band = frame.age_band;
  if (state.me) state.me = { ...state.me, age: frame.age };
  for (const room of frame.left_rooms) removeConv(roomKey(room));
  byId("verify-age").hidden = true;
  notice(t("band.changed"));
  send({ type: "rooms" });
  renderAll();
}

function onAgeVerified() {
  state.verified = true;
  byId("verify-age").hidden = true;
  byId("verify-form").reset();
  toast(t("verify.done"), { kind: "info" });
  const room = state.joinAfterVerify;
  state.joinAfterVerify = null;
  if (room) joinRoom(room);
}

function verifyAge(event) {
  event.preventDefault();
  const token = byId("verify-token").value.trim();
  if (token) send({ type: "verify_age", token, ref: connection.nextRef() });
}

function onError(frame) {
  if (frame.frame === "enter" || (!state.entered && !state.reconnecting)) {
    if (state.reconnecting) {
      // The old session may still hold the nickname for a moment after the connection died.
      if (frame.code === "nickname_taken" && state.reconnectTries < 6) {
        connection.close();
        scheduleReconnect();
        return;
      }
      resetChat();
      showScreen("entry");
    }
    state.entering = false;
    entryBusy(false);
    entryError(explain(frame), frame.field);
    return;
  }
  // Remembered so that a close right after it (a moderation disconnect) can say why.
  state.lastServerError = frame;
  state.lastServerErrorAt = Date.now();
  if (frame.ref && state.pendingRefs.has(frame.ref)) {
    onMessageRefused(frame);
    return;
  }
  if (frame.frame === "typing") {
    onTypingRefused(frame);
    return;
  }
  if (frame.code === "age_verification_required" && !isMinor()) {
    const details = byId("verify-age");
    details.hidden = false;
    details.open = true;
    showPanel("rooms");
    byId("verify-token").focus();
  }
  if (frame.frame === "create_room") state.pendingCreate = null;
  if (frame.frame === "join") {
    if (frame.code === "age_verification_required" && state.requestedJoins.size === 1) {
      const [wanted] = state.requestedJoins;
      state.joinAfterVerify = state.rooms.find((room) => room.id === wanted) ?? null;
    }
    state.requestedJoins.clear();
  }
  toast(explain(frame));
}

function onJoined(frame) {
  const conv = ensureRoomConv(frame.room);
  conv.members = new Map(frame.members.map((p) => [p.nickname, p]));
  for (const message of frame.history) receiveMessage(conv, message);
  conv.unread = 0;
  const created = state.pendingCreate !== null && state.pendingCreate === frame.room.name;
  if (created) {
    state.hosted.add(frame.room.id);
    state.pendingCreate = null;
    byId("create-room-form").reset();
    byId("create-room-form").closest("details").open = false;
  }
  const asked = state.requestedJoins.delete(frame.room.id) || created;
  if (asked || state.active === null) {
    activate(conv.key);
    showPanel("chat");
  } else {
    renderTabs();
    if (conv.key === state.active) {
      renderConversation();
      renderMembers();
    }
  }
  send({ type: "rooms" });
}

function onMemberJoined(frame) {
  const conv = state.convs.get(roomKey(frame.room));
  if (!conv) return;
  const known = conv.members.has(frame.person.nickname);
  conv.members.set(frame.person.nickname, frame.person);
  if (!known && !isMe(frame.person.nickname)) {
    systemLine(conv, "chat.member_joined", { nickname: frame.person.nickname });
  }
  if (conv.key === state.active) renderMembers();
}

function onMemberLeft(frame) {
  const conv = state.convs.get(roomKey(frame.room));
  if (!conv || !conv.members.has(frame.nickname)) return;
  conv.members.delete(frame.nickname);
  stopTyping(conv, frame.nickname);
  systemLine(conv, "chat.member_left", { nickname: frame.nickname });
  if (conv.key === state.active) renderMembers();
}

function onPrivateMessage(frame) {
  const partner = isMe(frame.sender) ? frame.recipient : frame.sender;
  const isNew = !state.convs.has(privateKey(partner));
  const conv = ensurePrivateConv(partner, findPerson(partner));
  receiveMessage(conv, frame);
  if (isNew) renderTabs();
  if (conv.key !== state.active && !isMe(frame.sender)) {
    toast(t("chat.private_new", { nickname: frame.sender }), { kind: "info" });
  }
}

function onTopic(frame) {
  const conv = state.convs.get(roomKey(frame.room));
  if (!conv) return;
  conv.room = { ...conv.room, topic: frame.topic };
  systemLine(conv, "chat.topic_changed", { nickname: frame.by, topic: frame.topic });
  if (conv.key === state.active) renderConversation();
}

// ---------------------------------------------------------------------------------------------
// Views

function renderAll() {
  renderMe();
  renderRooms();
  renderPeople();
  renderIgnored();
  renderTabs();
  renderConversation();
  renderMembers();
  renderNavBadge();
}

function roomButton(room) {
  const joined = state.convs.has(roomKey(room.id));
  const allowed = mayEnter(room);
  const mine = room.kind === "regional" && room.region && room.region === state.myRegionCode;
  const badges = [];
  if (room.audience === "teens") badges.push(h("span", { class: "tag", text: t("rooms.teens") }));
  if (room.audience === "adults") badges.push(h("span", { class: "tag", text: t("rooms.adults") }));
  if (mine) badges.push(h("span", { class: "tag mine", text: t("rooms.your_region") }));
  if (joined) badges.push(h("span", { class: "tag joined", text: t("rooms.joined") }));
  const reason = allowed
    ? null
    : h("span", {
        class: "why",
        text: t(room.audience === "adults" ? "rooms.forbidden_adults" : "rooms.forbidden_teens"),
      });
  const button = h(
    "button",
    {
      type: "button",
      class: `room${joined ? " is-joined" : ""}${allowed ? "" : " is-closed"}${state.active === roomKey(room.id) ? " is-active" : ""}`,
      testid: "room-item",
      dataset: { room: room.id, focusKey: room.id },
      "aria-disabled": allowed ? null : "true",
      onclick: () => joinRoom(room),
    },
    [
      h("span", { class: "room-name", text: room.name }),
      h("span", { class: "count", text: t("rooms.count", { n: room.count }) }),
      h("span", { class: "badges" }, badges),
      reason,
    ],
  );
  return h("li", {}, [button]);
}

function renderRooms() {
  const list = byId("room-list");
  if (!state.rooms.length) {
    list.replaceChildren(translated(h("p", { class: "muted" }), "rooms.loading"));
    return;
  }
  const groups = [
    ["themed", "rooms.themed"],
    ["regional", "rooms.regional"],
    ["user", "rooms.user"],
  ];
  const sections = [];
  for (const [kind, label] of groups) {
    let rooms = state.rooms.filter((room) => room.kind === kind);
    if (!rooms.length) continue;
    if (kind === "regional") {
      // One's own region first, then the busiest.
      rooms = [...rooms].sort(
        (a, b) =>
          (b.region === state.myRegionCode) - (a.region === state.myRegionCode) ||
          b.count - a.count,
      );
    }
    sections.push(
      h("section", { class: "room-group" }, [
        h("h3", { text: t(label) }),
        h("ul", {}, rooms.map(roomButton)),
      ]),
    );
  }
  replaceKeepingFocus(list, sections);
}

function personRow(person, { actions = true } = {}) {
  const ignored = state.ignored.has(nicknameKey(person.nickname));
  const self = isMe(person.nickname);
  const buttons = [];
  if (actions && !self) {
    if (!ignored) {
      buttons.push(
        h("button", {
          type: "button",
          class: "small",
          testid: "person-write",
          text: t("people.write"),
          dataset: { focusKey: `w:${person.nickname}` },
          "aria-label": t("chat.open_private", { nickname: person.nickname }),
          onclick: () => openPrivate(person.nickname, person),
        }),
      );
    }
    buttons.push(
      h("button", {
        type: "button",
        class: "small ghost",
        testid: ignored ? "person-unignore" : "person-ignore",
        text: t(ignored ? "people.unignore" : "people.ignore"),
        dataset: { focusKey: `i:${person.nickname}` },
        onclick: () => (ignored ? unignore(person.nickname) : ignore(person.nickname)),
      }),
    );
  }
  return h(
    "li",
    {
      class: `person${self ? " self" : ""}${ignored ? " is-ignored" : ""}`,
      testid: "person",
      dataset: { nickname: person.nickname },
    },
    [
      h("span", { class: `avatar g-${person.gender}`, "aria-hidden": "true", text: person.nickname.slice(0, 1).toUpperCase() }),
      h("span", { class: "who" }, [
        h("span", { class: "nick", text: self ? `${person.nickname} (${t("person.you")})` : person.nickname }),
        h("span", { class: "info", text: personLine(person), title: person.region }),
      ]),
      h("span", { class: "actions" }, buttons),
    ],
  );
}

function renderAgeFilter() {
  // Minors are shown only minors and adults only adults: offer the bands that can match.
  const select = byId("filter-age");
  for (const option of select.options) {
    if (!option.value) continue;
    option.hidden = state.band !== null && (option.value === "18+") === isMinor();
  }
  if (select.selectedOptions[0]?.hidden) select.value = "";
}

function renderPeople() {
  renderAgeFilter();
  byId("people-note").textContent =
    state.band === null ? "" : t(isMinor() ? "people.note_minor" : "people.note_adult");
  const list = byId("people-list");
  if (!state.people.length) {
    list.replaceChildren(h("li", { class: "muted", text: t("people.empty") }));
    return;
  }
  replaceKeepingFocus(list, state.people.map((person) => personRow(person)));
}

function renderIgnored() {
  const list = byId("ignored-list");
  if (!state.ignored.size) {
    list.replaceChildren(h("li", { class: "muted", text: t("people.ignored_none") }));
    return;
  }
  replaceKeepingFocus(
    list,
    [...state.ignored].map((key) => {
      const name = state.ignoredNames.get(key) ?? key;
      return h("li", { class: "person is-ignored", testid: "ignored-person" }, [
        h("span", { class: "avatar", "aria-hidden": "true", text: name.slice(0, 1).toUpperCase() }),
        h("span", { class: "who" }, [h("span", { class: "nick", text: name })]),
        h("span", { class: "actions" }, [
          h("button", {
            type: "button",
            class: "small ghost",
            text: t("people.unignore"),
            dataset: { focusKey: `u:${key}` },
            onclick: () => unignore(name),
          }),
        ]),
      ]);
    }),
  );
}

function renderTabs() {
  const tabs = byId("conv-tabs");
  const items = [...state.convs.values()].map((conv) => {
    const active = conv.key === state.active;
    const label = [h("span", { class: "tab-title", text: conv.kind === "room" ? `# ${conv.title}` : `@ ${conv.title}` })];
    if (conv.unread) {
      label.push(
        h("span", {
          class: "badge",
          text: String(conv.unread),
          "aria-label": t("chat.unread", { n: conv.unread }),
        }),
      );
    }
    return h(
      "div",
      {
        class: `tab kind-${conv.kind}${active ? " is-active" : ""}${conv.unread ? " has-unread" : ""}`,
        role: "listitem",
      },
      [
        h(
          "button",
          {
            type: "button",
            class: "tab-open",
            testid: "conv-tab",
            dataset: { conv: conv.key, focusKey: conv.key },
            "aria-current": active ? "true" : null,
            onclick: () => activate(conv.key),
          },
          label,
        ),
        h("button", {
          type: "button",
          class: "tab-close",
          text: "×",
          testid: "conv-tab-close",
          "aria-label": t("chat.close_tab", { name: conv.title }),
          dataset: { focusKey: `x:${conv.key}` },
          onclick: () => leaveConv(conv),
        }),
      ],
    );
  });
  replaceKeepingFocus(tabs, items);
  tabs.hidden = items.length === 0;
  tabs.querySelector("[aria-current]")?.scrollIntoView({ block: "nearest", inline: "nearest" });
}

function renderConversation() {
  const conv = state.convs.get(state.active);
  byId("conv").hidden = !conv;
  byId("conv-empty").hidden = Boolean(conv);
  if (!conv) return;
  const box = byId("messages");
  if (box.firstElementChild !== conv.log) box.replaceChildren(conv.log);
  const title = byId("conv-title");
  title.textContent = conv.title;
  title.title = conv.kind === "room" ? conv.title : t("chat.private_with", { nickname: conv.nickname });
  const topic = byId("conv-topic");
  const input = byId("composer-input");
  const leave = byId("conv-leave");
  const ignoreButton = byId("conv-ignore");
  const editTopic = byId("conv-edit-topic");
  if (conv.kind === "room") {
    topic.textContent = conv.room?.topic || t("chat.topic_none");
    topic.classList.toggle("muted", !conv.room?.topic);
    input.placeholder = t("chat.placeholder_room", { room: conv.title });
    translated(leave, "chat.leave");
    ignoreButton.hidden = true;
    editTopic.hidden = !state.hosted.has(conv.id);
    byId("conv-note").textContent = state.hosted.has(conv.id)
      ? `${t("chat.host")} ${t("chat.ephemeral", { hours: state.visibleHours })}`
      : t("chat.ephemeral", { hours: state.visibleHours });
  } else {
    const person = conv.person;
    topic.textContent = [t("chat.private"), person && personLine(person), person?.region]
      .filter(Boolean)
      .join(" · ");
    topic.classList.remove("muted");
    input.placeholder = t("chat.placeholder_private", { nickname: conv.nickname });
    translated(leave, "chat.close");
    const ignored = state.ignored.has(nicknameKey(conv.nickname));
    ignoreButton.hidden = false;
    ignoreButton.textContent = t(ignored ? "people.unignore" : "people.ignore");
    editTopic.hidden = true;
    byId("topic-form").hidden = true;
    byId("conv-note").textContent = t("chat.private_note");
  }
  renderTyping();
}

function renderTyping() {
  const conv = state.convs.get(state.active);
  const names = conv ? [...conv.typing.keys()] : [];
  const line = byId("typing");
  if (names.length === 0) line.textContent = "";
  else if (names.length === 1) line.textContent = t("chat.typing_one", { a: names[0] });
  else if (names.length === 2) line.textContent = t("chat.typing_two", { a: names[0], b: names[1] });
  else line.textContent = t("chat.typing_many");
}

function renderMembers() {
  const conv = state.convs.get(state.active);
  const title = byId("members-title");
  const list = byId("member-list");
  if (!conv) {
    title.textContent = t("nav.members");
    list.replaceChildren(h("li", { class: "muted", text: t("members.none") }));
    return;
  }
  if (conv.kind === "private") {
    title.textContent = conv.nickname;
    const rows = [h("li", { class: "muted", text: t("members.private", { nickname: conv.nickname }) })];
    if (conv.person) rows.unshift(personRow(conv.person, { actions: false }));
    list.replaceChildren(...rows);
    return;
  }
  title.textContent = t("members.title", { n: conv.members.size });
  const members = [...conv.members.values()].sort((a, b) =>
    isMe(a.nickname) ? -1 : isMe(b.nickname) ? 1 : a.nickname.localeCompare(b.nickname),
  );
  replaceKeepingFocus(list, members.map((person) => personRow(person)));
}

function renderMe() {
  const info = document.querySelector("[data-testid=me-info]");
  info.textContent = state.me
    ? [t("person.age", { age: state.me.age }), state.me.region].filter(Boolean).join(" · ")
    : "";
}

function renderNavBadge() {
  const unread = [...state.convs.values()].reduce((sum, conv) => sum + conv.unread, 0);
  const badge = byId("nav-chat-badge");
  badge.hidden = unread === 0;
  badge.textContent = String(unread);
  badge.setAttribute("aria-label", t("chat.unread", { n: unread }));
}

// ---------------------------------------------------------------------------------------------
// Start

function fillLanguageSelects() {
  for (const select of document.querySelectorAll(".lang-select")) {
    select.replaceChildren(
      ...Object.entries(LANGUAGES).map(([code, name]) =>
        h("option", { value: code, text: name, lang: code }),
      ),
    );
    select.value = language();
    select.addEventListener("change", () => setLanguage(select.value));
  }
}

function fillRegions() {
  byId("filter-region").append(
    ...REGIONS.map((region) => h("option", { value: region.code, text: region.name })),
  );
}

function wire() {
  byId("entry-form").addEventListener("submit", submitEntry);
  byId("composer").addEventListener("submit", sendMessage);
  byId("composer-input").addEventListener("input", onComposerInput);
  byId("create-room-form").addEventListener("submit", createRoom);
  byId("people-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    requestPeople();
  });
  for (const id of ["filter-age", "filter-gender", "filter-region"]) {
    byId(id).addEventListener("change", requestPeople);
  }
  byId("quit").addEventListener("click", leaveChat);
  byId("rooms-refresh").addEventListener("click", () => send({ type: "rooms" }));
  byId("conv-leave").addEventListener("click", () => {
    const conv = state.convs.get(state.active);
    if (conv) leaveConv(conv);
  });
  byId("conv-ignore").addEventListener("click", () => {
    const conv = state.convs.get(state.active);
    if (!conv || conv.kind !== "private") return;
    if (state.ignored.has(nicknameKey(conv.nickname))) unignore(conv.nickname);
    else ignore(conv.nickname);
  });
  byId("conv-edit-topic").addEventListener("click", () => {
    const conv = state.convs.get(state.active);
    byId("topic-form").hidden = false;
    byId("topic-input").value = conv?.room?.topic ?? "";
    byId("topic-input").focus();
  });
  byId("topic-form").addEventListener("submit", saveTopic);
  byId("verify-form").addEventListener("submit", verifyAge);
  byId("notice-close").addEventListener("click", () => notice(""));
  byId("topic-cancel").addEventListener("click", () => {
    byId("topic-form").hidden = true;
  });
  byId("topic-form").addEventListener("keydown", (event) => {
    if (event.key === "Escape") byId("topic-form").hidden = true;
  });
  for (const button of document.querySelectorAll("[data-panel-tab]")) {
    button.addEventListener("click", () => showPanel(button.dataset.panelTab));
  }
  for (const button of document.querySelectorAll("[data-side-tab]")) {
    button.addEventListener("click", () => showPanel(button.dataset.sideTab));
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden || !state.entered) return;
    const conv = state.convs.get(state.active);
    if (conv?.unread) {
      conv.unread = 0;
      renderTabs();
      renderNavBadge();
    }
    send({ type: "rooms" });
  });
  onLanguageChange(() => {
    for (const select of document.querySelectorAll(".lang-select")) select.value = language();
    translatePage();
    if (!state.entered) entryBusy(byId("entry-submit").disabled);
    renderAll();
  });
}

function start() {
  fillLanguageSelects();
  fillRegions();
  translatePage();
  wire();
  showScreen("entry");
  showPanel("rooms");
  renderAll();
  // Opened before the form is sent so that entering feels instant.
  connection.open().catch(() => {});
}

start();

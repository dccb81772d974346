// @ts-check
// The causerie web client: wires the store (store.js, a pure reducer), the views (views/*.js)
// and the side effects: the socket, timers, storage, sound and notifications.
// Protocol reference: docs/protocol.md; structure: docs/web.md.

import { Connection } from "./connection.js";
import { html, render } from "./html.js";
import { language, onLanguageChange, setLanguage, t } from "./i18n.js";
import { DEFAULT_MAX_BYTES, bytesSent, fitBox, localRefusal, photoId, pickImage } from "./photos.js";
import { scheduler } from "./render.js";
import {
  activeUpload,
  comebackFrames,
  initialState,
  isMyName,
  keyOf,
  mayEnter,
  privateKey,
  reduce,
  roomKey,
  snapshot,
  totalUnread,
} from "./store.js";
import { convTitle } from "./views/tabs.js";
import { App } from "./views/shell.js";
import { explain } from "./words.js";

const ROOM_REFRESH_MS = 10_000;
const PING_MS = 25_000;
const TYPING_SEND_EVERY_MS = 3_000;
const TYPING_SHOWN_MS = 5_000;
const TOAST_MS = 7_000;
const RECONNECT_MAX_MS = 30_000;
const DEVICE_KEY = "causerie.device";
const SESSION_KEY = "causerie.session";
const ALERTS_KEY = "causerie.alerts";
// WebSocket close code the server uses when it ends a session on purpose (policy violation):
// connecting again at once would only repeat it.
const CLOSE_POLICY = 1008;

let state = initialState();
// View state that is not the chat's: where the reader is in the log, open forms.
const ui = {
  newBelow: 0,
  /** conversation key -> false when the reader scrolled up */
  stick: {},
  seen: {},
  verifyOpen: false,
  createOpen: false,
  topicOpen: false,
  reportOpen: false,
  cardOpener: null,
  notifyDenied: false,
  alerts: loadAlerts(),
  /** a file is dragged over the conversation */
  dropping: false,
  viewerOpener: null,
  photoReportOpen: false,
};
// Photos: the files themselves stay here, out of the state (which is plain data). `attached`:
// conversation key -> the file chosen for it; `files`: upload ref -> the file being sent (kept
// after a failure for "Try again").
const attached = new Map();
const files = new Map();
const upload = { ref: null, timer: null, maxBytes: DEFAULT_MAX_BYTES };
const timers = { intervals: [], typing: new Map(), reconnect: null };
const lastTypingSent = new Map();
let lastServerError = null;
let lastServerErrorAt = 0;
let lastTypingConv = null;

const connection = new Connection({
  // Stamped with the time it arrived, for the lines (arrivals, topics) that carry no time.
  onFrame: (frame) => dispatch({ ...frame, received: Date.now() / 1000 }),
  onClose: handleClose,
});
const schedule = scheduler(paint);

function dispatch(event) {
  const before = state;
  state = reduce(state, event);
  effects(before, state, event);
  save();
  schedule();
}

function send(frame) {
  return connection.send(frame);
}

// ---------------------------------------------------------------------------------------------
// Storage: the session survives a reload (sessionStorage: this tab only, gone when it closes)

function save() {
  try {
    const snap = snapshot(state);
    if (snap) sessionStorage.setItem(SESSION_KEY, JSON.stringify(snap));
    else if (state.phase === "entry") sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // Storage can be full or disabled: a reload then starts from the form.
  }
}

function loadSaved() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

function loadAlerts() {
  try {
    return { sound: false, notify: false, ...JSON.parse(localStorage.getItem(ALERTS_KEY) || "{}") };
  } catch {
    return { sound: false, notify: false };
  }
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

// ---------------------------------------------------------------------------------------------
// Effects of an event, after the state changed

function effects(before, after, event) {
  switch (event.type) {
    case "welcome": {
      startTimers();
      // After a reload or a lost connection: the same rooms and private conversations again.
      for (const frame of comebackFrames(after)) {
        if (frame.type === "private_history") dispatchLater({ type: "@probe", frame: "private_history" });
        send(frame);
      }
      if (before.phase === "entering") dispatchLater({ type: "@panel", panel: "rooms" });
      break;
    }
    case "joined":
    case "left":
    case "band_changed":
      requestRooms();
      break;
    case "age_verified":
      if (before.joinAfterVerify) joinRoom(before.joinAfterVerify);
      ui.verifyOpen = false;
      break;
    case "typing": {
      const ckey = event.room ? roomKey(event.room) : privateKey(event.sender);
      const id = `${ckey} ${event.sender}`;
      clearTimeout(timers.typing.get(id));
      timers.typing.set(id, setTimeout(() => dispatch({ type: "@typing_over", key: ckey, nickname: event.sender }), TYPING_SHOWN_MS));
      break;
    }
    case "message":
      attention(after, event);
      break;
    case "photo":
      attention(after, event);
      if (!event.room && !isMyName(after, event.sender) && !before.convs[privateKey(event.sender)] && !after.convs[privateKey(event.sender)]?.person) askPeople();
      break;
    case "upload_granted":
      if (event.ref && event.ref === upload.ref) sendPhotoBytes(event.ref, event.max_bytes);
      break;
    case "ack":
      files.delete(event.ref);
      break;
    case "private_message":
      attention(after, event);
      if (!before.convs[privateKey(event.sender)] && !after.convs[privateKey(event.sender)]?.person) askPeople();
      break;
    case "error":
      onErrorEffects(before, after, event);
      break;
    default:
      break;
  }
  for (const toast of after.toasts) {
    if (!before.toasts.includes(toast)) setTimeout(() => dispatch({ type: "@dismiss", id: toast.id }), TOAST_MS);
  }
  if (after.phase === "entry" && before.phase !== "entry") stopTimers();
  pumpUploads(after);
}

function dispatchLater(event) {
  queueMicrotask(() => dispatch(event));
}

function onErrorEffects(before, after, frame) {
  if (frame.frame !== "enter") {
    lastServerError = frame;
    lastServerErrorAt = Date.now();
  }
  if (before.probes[0] === "resume" && after.probes[0] !== "resume") {
    // The server does not know the token (or resume at all): enter again with the same details.
    send(before.identity);
    return;
  }
  if (before.phase === "reconnecting" && after.phase === "reconnecting" && frame.code === "nickname_taken") {
    // The old session may still hold the nickname for a moment after the connection died.
    connection.close();
    scheduleReconnect();
    return;
  }
  if (frame.code === "age_verification_required") {
    ui.verifyOpen = true;
    dispatchLater({ type: "@panel", panel: "rooms" });
  }
  if (frame.frame === "typing") lastTypingConv = null;
}

// ---------------------------------------------------------------------------------------------
// Attention: the title, sound and notifications (both opt-in)

let audio = null;

function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.2);
  } catch {
    // No sound here: nothing else depends on it.
  }
}

function attention(s, frame) {
  const privately = frame.type === "private_message" || (frame.type === "photo" && !frame.room);
  if (isMyName(s, frame.sender)) return;
  const ckey = privately ? privateKey(frame.sender) : roomKey(frame.room);
  const conv = s.convs[ckey];
  const key = keyOf(s, frame.sender, frame.sender_key, conv);
  if (s.ignored.includes(key)) return;
  const item = conv?.items.at(-1);
  const mention = !privately && item?.kind === "message" && item.mention;
  if (!privately && !mention) return;
  if (s.visible && s.active === ckey) return;
  if (ui.alerts.sound) beep();
  if (ui.alerts.notify && "Notification" in window && Notification.permission === "granted" && document.hidden) {
    // The notification says who, never what: a lock screen is not a private place.
    const title = privately
      ? t("notify.private", { nickname: frame.sender })
      : t("notify.mention", { nickname: frame.sender, room: convTitle(conv) });
    const note = new Notification(title, { tag: ckey, silent: true });
    note.onclick = () => {
      window.focus();
      dispatch({ type: "@open", key: ckey });
      note.close();
    };
  }
}

async function setAlert(kind, on) {
  ui.alerts = { ...ui.alerts, [kind]: on };
  if (kind === "sound" && on) beep();
  if (kind === "notify" && on && "Notification" in window && Notification.permission !== "granted") {
    const answer = await Notification.requestPermission();
    ui.notifyDenied = answer !== "granted";
    if (answer !== "granted") ui.alerts = { ...ui.alerts, notify: false };
  }
  try {
    localStorage.setItem(ALERTS_KEY, JSON.stringify(ui.alerts));
  } catch {
    // Kept for this page only.
  }
  schedule();
}

// ---------------------------------------------------------------------------------------------
// The connection

async function connect() {
  try {
    await connection.open();
  } catch {
    if (state.phase === "reconnecting") {
      dispatch({ type: "@lost" });
      scheduleReconnect();
    } else {
      dispatch({ type: "@entry_failed" });
    }
    return;
  }
  if (state.phase === "reconnecting" && state.resumeToken && !state.unsupported.resume) {
    dispatch({ type: "@probe", frame: "resume" });
    const device = deviceToken();
    send(device ? { type: "resume", token: state.resumeToken, device } : { type: "resume", token: state.resumeToken });
  } else if (state.identity) {
    send(state.identity);
  }
}

function scheduleReconnect() {
  clearTimeout(timers.reconnect);
  const tries = Math.max(0, state.reconnectTries - 1);
  const delay = Math.min(1_000 * 2 ** tries, RECONNECT_MAX_MS) * (0.8 + Math.random() * 0.4);
  timers.reconnect = setTimeout(() => {
    if (state.phase === "reconnecting") connect();
  }, delay);
}

function handleClose(event) {
  stopTimers();
  const recent = Date.now() - lastServerErrorAt < 5_000 ? lastServerError : null;
  if (event.code === CLOSE_POLICY && (state.phase === "chat" || state.phase === "reconnecting")) {
    dispatch({ type: "@closed", error: { code: "@closed", reason: recent ?? undefined } });
    try {
      sessionStorage.removeItem(SESSION_KEY);
    } catch {}
    return;
  }
  if (state.phase === "entering") {
    dispatch({ type: "@entry_failed", error: recent ?? undefined });
    return;
  }
  if (state.phase !== "chat" && state.phase !== "reconnecting") return;
  dispatch({ type: "@lost" });
  scheduleReconnect();
}

function startTimers() {
  stopTimers();
  timers.intervals.push(
    setInterval(() => {
      if (!document.hidden) send({ type: "rooms" });
    }, ROOM_REFRESH_MS),
    setInterval(() => send({ type: "ping" }), PING_MS),
  );
}

function stopTimers() {
  for (const timer of timers.intervals) clearInterval(timer);
  timers.intervals = [];
}

let peopleQueued = false;
/** The people list, to know the age and region of someone who shares no room with us. */
function askPeople() {
  if (peopleQueued) return;
  peopleQueued = true;
  setTimeout(() => {
    peopleQueued = false;
    if (state.phase === "chat") requestPeople();
  }, 300);
}

let roomsQueued = false;
function requestRooms() {
  if (roomsQueued) return;
  roomsQueued = true;
  setTimeout(() => {
    roomsQueued = false;
    send({ type: "rooms" });
  }, 50);
}

// ---------------------------------------------------------------------------------------------
// Photos (docs/protocol.md, docs/photos.md): `photo_upload`, then, once the server answers
// `upload_granted`, the file as one binary WebSocket message; `ack` or an `error` with the same
// ref ends it. One upload at a time: the server takes the next binary message as the photo of
// the last grant, so a second `photo_upload` before the first file would mix them up.

function pumpUploads(s) {
  const active = activeUpload(s);
  if (upload.ref && active?.ref !== upload.ref) {
    // Finished (ack, error) or lost with the connection.
    clearInterval(upload.timer);
    upload.ref = null;
    upload.timer = null;
  }
  if (!active || upload.ref || active.item.upload?.phase !== "queued" || !connection.isOpen) return;
  const conv = s.convs[active.key];
  const caption = active.item.text;
  const frame = conv.kind === "room" ? { type: "photo_upload", room: conv.id, caption, ref: active.ref } : { type: "photo_upload", to: conv.nickname, caption, ref: active.ref };
  upload.ref = active.ref;
  send(frame);
  dispatchLater({ type: "@upload", ref: active.ref, phase: "asking" });
}

async function sendPhotoBytes(ref, maxBytes) {
  if (Number.isFinite(maxBytes) && maxBytes > 0) upload.maxBytes = maxBytes;
  const file = files.get(ref);
  const refusal = file ? localRefusal(file, upload.maxBytes) : "photo_not_expected";
  if (refusal) {
    dispatch({ type: "@upload_failed", ref, error: { code: refusal } });
    return;
  }
  let data;
  try {
    data = await file.arrayBuffer();
  } catch {
    dispatch({ type: "@upload_failed", ref, error: { code: "photo_corrupt" } });
    return;
  }
  if (upload.ref !== ref || !connection.sendBinary(data)) return;
  const total = data.byteLength;
  const progress = () => {
    if (upload.ref !== ref) return;
    const sent = bytesSent(total, connection.bufferedAmount);
    if (sent >= total) {
      clearInterval(upload.timer);
      upload.timer = null;
    }
    dispatch({ type: "@upload", ref, phase: sent >= total ? "checking" : "sending", sent });
  };
  upload.timer = setInterval(progress, 120);
  progress();
}

/** A small preview of a chosen photo, for the sender's eyes only (a data: URL; never sent). */
async function makePreview(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const box = fitBox(bitmap.width, bitmap.height, 160);
    const canvas = document.createElement("canvas");
    canvas.width = box.width;
    canvas.height = box.height;
    canvas.getContext("2d")?.drawImage(bitmap, 0, 0, box.width, box.height);
    bitmap.close();
    return canvas.toDataURL("image/jpeg", 0.75);
  } catch {
    // Not an image the browser can read: the server will say what it is.
    return undefined;
  }
}

async function attachFiles(key, list) {
  const file = pickImage(list);
  if (!file || !state.convs[key]) return;
  const refusal = localRefusal(file, upload.maxBytes);
  if (refusal) {
    dispatch({ type: "@toast", toast: { kind: "error", error: { code: refusal } } });
    return;
  }
  attached.set(key, file);
  const preview = await makePreview(file);
  if (attached.get(key) !== file) return;
  dispatch({ type: "@attach", key, attachment: { name: file.name || "photo", size: file.size, type: file.type, preview } });
  if (state.active === key) queueMicrotask(() => document.getElementById("composer-input")?.focus());
}

function sendPhoto(key, caption, file, preview) {
  const conv = state.convs[key];
  if (!conv) return;
  const ref = connection.nextRef();
  files.set(ref, file);
  attached.delete(key);
  ui.stick[key] = true;
  dispatch({ type: "@photo_send", key, ref, caption, at: Date.now() / 1000, size: file.size, preview, offline: !connection.isOpen });
}

// ---------------------------------------------------------------------------------------------
// What the views can do

function joinRoom(room) {
  const key = roomKey(room.id);
  if (state.convs[key]) {
    dispatch({ type: "@open", key });
    return;
  }
  if (!mayEnter(state, room)) {
    dispatch({ type: "@toast", toast: { kind: "error", error: { code: "room_forbidden" } } });
    return;
  }
  dispatch({ type: "@join_requested", room: room.id });
  send({ type: "join", rooms: [room.id] });
}

function requestPeople() {
  const frame = { type: "people" };
  const valueOf = (id) => /** @type {HTMLSelectElement | null} */ (document.getElementById(id))?.value;
  const age = valueOf("filter-age");
  const gender = valueOf("filter-gender");
  const region = valueOf("filter-region");
  if (age) frame.age_band = age;
  if (gender) frame.gender = gender;
  if (region) frame.region = region;
  send(frame);
}

function post(key, text) {
  const conv = state.convs[key];
  if (!conv) return;
  const ref = connection.nextRef();
  const frame = conv.kind === "room" ? { type: "say", room: conv.id, text, ref } : { type: "private", to: conv.nickname, text, ref };
  const offline = !connection.isOpen;
  ui.stick[key] = true;
  dispatch({ type: "@send", key, ref, text, at: Date.now() / 1000, offline });
  if (!offline) send(frame);
}

function rememberDraft() {
  const input = /** @type {HTMLTextAreaElement | null} */ (document.getElementById("composer-input"));
  if (input && state.active && state.convs[state.active]) {
    state = reduce(state, { type: "@draft", key: state.active, text: input.value });
  }
}

function openCard(nickname, opener) {
  ui.cardOpener = opener ?? document.activeElement;
  ui.reportOpen = false;
  dispatch({ type: "@card", nickname });
}

function closeCard() {
  dispatch({ type: "@card", nickname: null });
  const opener = ui.cardOpener;
  ui.cardOpener = null;
  queueMicrotask(() => opener?.isConnected && opener.focus());
}

const act = {
  setLanguage,
  moreMembers(room, after) {
    send({ type: "members", room, after });
  },
  submitEntry(event) {
    event.preventDefault();
    const form = event.currentTarget;
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
    dispatch({ type: "@enter", identity });
    connect();
  },
  logout() {
    clearTimeout(timers.reconnect);
    connection.close();
    stopTimers();
    try {
      sessionStorage.removeItem(SESSION_KEY);
    } catch {}
    dispatch({ type: "@logout" });
    connection.open().catch(() => {});
  },
  panel(panel) {
    rememberDraft();
    dispatch({ type: "@panel", panel });
    if (panel === "people") requestPeople();
  },
  open(key) {
    rememberDraft();
    ui.topicOpen = false;
    dispatch({ type: "@open", key });
  },
  joinRoom,
  refreshRooms: () => send({ type: "rooms" }),
  leave(conv) {
    if (conv.kind === "room") send({ type: "leave", rooms: [conv.id] });
    else dispatch({ type: "@close", key: conv.key });
  },
  openPrivate(nickname, person) {
    rememberDraft();
    if (isMyName(state, nickname)) return;
    const known = Boolean(state.convs[privateKey(nickname)]);
    dispatch({ type: "@open_private", nickname, person });
    if (!known) {
      // What was said with this person lately, and who they are when they share no room.
      if (!state.unsupported.private_history) {
        dispatch({ type: "@probe", frame: "private_history" });
        send({ type: "private_history", nickname });
      }
      if (!state.convs[privateKey(nickname)]?.person) askPeople();
    }
    ui.cardOpener = null;
    queueMicrotask(() => document.getElementById("composer-input")?.focus());
  },
  ignore(nickname, key) {
    dispatch({ type: "@ignore_name", key, nickname });
    send({ type: "ignore", nickname });
  },
  unignore: (nickname) => send({ type: "unignore", nickname }),
  requestPeople,
  reveal: (key, id) => dispatch({ type: "@reveal", key, id }),
  retry(key, item) {
    if (item.upload) {
      const file = files.get(item.ref);
      dispatch({ type: "@drop_item", key, ref: item.ref });
      files.delete(item.ref);
      if (file) sendPhoto(key, item.text, file, item.upload.preview);
      return;
    }
    dispatch({ type: "@drop_item", key, ref: item.ref });
    post(key, item.text);
  },
  attachFiles,
  detach(key) {
    attached.delete(key);
    dispatch({ type: "@detach", key });
  },
  dragging(on) {
    if (ui.dropping === on) return;
    ui.dropping = on;
    schedule();
  },
  viewPhoto(key, id, opener) {
    ui.viewerOpener = opener ?? document.activeElement;
    ui.photoReportOpen = false;
    dispatch({ type: "@view_photo", key, id });
  },
  closePhoto() {
    dispatch({ type: "@view_photo" });
    const opener = ui.viewerOpener;
    ui.viewerOpener = null;
    queueMicrotask(() => opener?.isConnected && opener.focus());
  },
  togglePhotoReport() {
    ui.photoReportOpen = !ui.photoReportOpen;
    schedule();
  },
  sendPhotoReport(event, item) {
    event.preventDefault();
    const id = item.photo ? photoId(item.photo.url) : null;
    if (!id) return;
    const form = event.currentTarget;
    dispatch({ type: "@probe", frame: "report" });
    send({ type: "report", target: `photo:${id}`, reason: form.reason.value, details: form.details.value.trim(), ref: connection.nextRef() });
    ui.photoReportOpen = false;
    act.closePhoto();
  },
  focusViewer(el) {
    el?.focus();
  },
  sendFrom(input) {
    const key = state.active;
    const text = input.value;
    const conv = key ? state.convs[key] : undefined;
    const file = key ? attached.get(key) : undefined;
    if (key && conv?.attachment && file) {
      if (text.length > state.maxChars) {
        dispatch({ type: "@toast", toast: { kind: "error", error: { code: "message_too_long" } } });
        return;
      }
      input.value = "";
      input.style.height = "";
      sendPhoto(key, text.trim(), file, conv.attachment.preview);
      return;
    }
    if (!key || !text.trim()) return;
    if (text.length > state.maxChars) {
      dispatch({ type: "@toast", toast: { kind: "error", error: { code: "message_too_long" } } });
      return;
    }
    input.value = "";
    input.style.height = "";
    lastTypingSent.delete(key);
    post(key, text);
  },
  onComposerInput(event) {
    const input = event.currentTarget;
    // Grow with the text, up to a few lines (the CSS caps the height).
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
    const conv = state.active ? state.convs[state.active] : undefined;
    if (!conv || conv.typingRefused || !input.value.trim()) return;
    const now = Date.now();
    if (now - (lastTypingSent.get(conv.key) ?? 0) < TYPING_SEND_EVERY_MS) return;
    lastTypingSent.set(conv.key, now);
    lastTypingConv = conv.key;
    send(conv.kind === "room" ? { type: "typing", room: conv.id } : { type: "typing", to: conv.nickname });
  },
  createRoom(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = form.name.value.trim().split(/\s+/).join(" ");
    const topic = form.topic.value.trim();
    if (!name) return;
    dispatch({ type: "@create_requested", name });
    send({ type: "create_room", name, topic });
    form.reset();
  },
  editTopic() {
    ui.topicOpen = true;
    schedule();
    queueMicrotask(() => document.getElementById("topic-input")?.focus());
  },
  cancelTopic() {
    ui.topicOpen = false;
    schedule();
  },
  saveTopic(event) {
    event.preventDefault();
    const conv = state.active ? state.convs[state.active] : undefined;
    if (conv?.kind === "room") send({ type: "set_topic", room: conv.id, topic: event.currentTarget.topic.value.trim() });
    ui.topicOpen = false;
    schedule();
  },
  verifyAge(event) {
    event.preventDefault();
    const token = event.currentTarget.token.value.trim();
    if (token) send({ type: "verify_age", token, ref: connection.nextRef() });
  },
  closeNotice: () => dispatch({ type: "@notice", key: null }),
  dismiss: (id) => dispatch({ type: "@dismiss", id }),
  setAlert,
  openCard,
  closeCard,
  toggleReport() {
    ui.reportOpen = !ui.reportOpen;
    schedule();
  },
  sendReport(event, nickname) {
    event.preventDefault();
    const form = event.currentTarget;
    dispatch({ type: "@probe", frame: "report" });
    send({ type: "report", target: `person:${nickname}`, reason: form.reason.value, details: form.details.value.trim(), ref: connection.nextRef() });
    ui.reportOpen = false;
    closeCard();
  },
  focusRef(el) {
    if (el && document.activeElement?.closest?.("[data-testid=person-card]") == null) el.focus();
  },
  onLogScroll(event) {
    const atEnd = atEndOf(event.currentTarget);
    // Seen here: the next paint reads the box again only if it moved after this event.
    paintedTop = event.currentTarget.scrollTop;
    if (state.active) ui.stick[state.active] = atEnd;
    if (atEnd && ui.newBelow) {
      ui.newBelow = 0;
      schedule();
    }
  },
  toEnd() {
    const box = document.getElementById("messages");
    if (box) box.scrollTop = box.scrollHeight;
    if (state.active) ui.stick[state.active] = true;
    ui.newBelow = 0;
    schedule();
  },
};

// ---------------------------------------------------------------------------------------------
// Painting: the views, then what the DOM needs outside them (title, body attributes, scroll)

const root = document.getElementById("root");
let paintedActive = null;
let paintedTop = 0;

function atEndOf(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 60;
}

function paint() {
  const active = state.active;
  const conv = active ? state.convs[active] : undefined;
  const count = conv ? conv.items.length : 0;
  const before = active === paintedActive ? ui.seen[active] ?? 0 : count;
  if (active !== paintedActive) ui.newBelow = 0;
  // A reader who moved the box since the last paint decides, read before the new items land:
  // the scroll event of a scroll made in this frame has not reached onLogScroll yet. A box that
  // only grew (a photo loaded) keeps following; a hidden one (another panel) keeps its answer.
  const shown = document.getElementById("messages");
  if (shown && active && active === paintedActive && shown.clientHeight > 0) {
    if (shown.scrollTop !== paintedTop) ui.stick[active] = atEndOf(shown);
  }
  render(html`<${App} state=${state} ui=${ui} act=${act} />`, root);
  const body = document.body;
  body.dataset.screen = state.phase === "chat" || state.phase === "reconnecting" ? "app" : "entry";
  body.dataset.panel = state.panel;
  body.dataset.side = state.side;
  document.documentElement.lang = language();
  const unread = totalUnread(state);
  document.title = unread ? `(${unread}) causerie` : "causerie";
  const box = document.getElementById("messages");
  if (box && active) {
    // Open at the newest message; follow new ones unless the reader scrolled up to read.
    if (ui.stick[active] !== false || active !== paintedActive) {
      box.scrollTop = box.scrollHeight;
      ui.stick[active] = true;
      ui.newBelow = 0;
    } else if (count > before) {
      ui.newBelow += count - before;
      render(html`<${App} state=${state} ui=${ui} act=${act} />`, root);
    }
  }
  if (active) ui.seen[active] = count;
  if (box) paintedTop = box.scrollTop;
  if (active !== paintedActive) {
    document.querySelector(".tab.is-active")?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
  paintedActive = active;
}

// ---------------------------------------------------------------------------------------------
// Start

function start() {
  document.addEventListener("visibilitychange", () => {
    dispatch({ type: "@visibility", visible: !document.hidden });
    if (!document.hidden && state.phase === "chat") send({ type: "rooms" });
  });
  onLanguageChange(() => schedule());
  // The panel switch on a phone makes the log visible: scroll it to the end again then.
  window.addEventListener("resize", () => schedule());
  const saved = loadSaved();
  state = reduce(state, { type: "@visibility", visible: !document.hidden });
  if (saved?.identity) {
    dispatch({ type: "@restore", saved });
    connect();
  } else {
    schedule();
    // Opened before the form is sent so that entering feels instant.
    connection.open().catch(() => {});
  }
}

start();

// For the browser tests and the curious: the state, read-only.
Object.defineProperty(window, "causerie", { value: Object.freeze({ state: () => state, explain: (f) => explain(state, f) }) });

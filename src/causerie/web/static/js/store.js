// @ts-check
// The client's state as plain data and the one pure function that changes it:
// `reduce(state, event)` takes a frame from the server (docs/protocol.md) or a local event
// (a type starting with "@") and returns a new state. No DOM, no socket, no clock, no storage:
// the views read the state, app.js runs the side effects. Tested by tests/web/*.test.mjs.

/** @typedef {import("./protocol.js").Person & {key?: string, minor?: boolean}} Person */
/** @typedef {import("./protocol.js").RoomInfo & {name_en?: string, topic_en?: string}} RoomInfo */

/**
 * @typedef {object} MessageItem
 * @property {"message"} kind
 * @property {number} [id]        the server's id, once known
 * @property {string} [ref]       our ref while it is ours and not yet acknowledged
 * @property {string} sender
 * @property {string} senderKey   the server's nickname key (sender_key) or, from an older server, ours
 * @property {string} text
 * @property {number} at
 * @property {boolean} [blurred]
 * @property {boolean} [revealed]
 * @property {boolean} [mention]
 * @property {"sent" | "pending" | "failed" | "held"} status
 * @property {object} [error]     the error frame that refused it
 * @property {boolean} [retry]    a later try may pass
 * @property {PhotoPart} [photo]  a photo message: `text` is its caption
 * @property {UploadPart} [upload] our own photo while it uploads (no `photo` yet)
 */
/**
 * @typedef {object} PhotoPart
 * @property {string} url     the full image (a capability URL only its recipients receive)
 * @property {string} thumb   its thumbnail
 * @property {number} width
 * @property {number} height
 */
/**
 * @typedef {object} UploadPart
 * @property {"queued" | "asking" | "sending" | "checking"} phase
 *   waiting for an earlier upload / `photo_upload` sent / bytes going out / the server checks it
 * @property {number} sent    bytes that left the page
 * @property {number} total
 * @property {string} [preview] a small data: URL made in the page, for our own eyes only
 */
/**
 * @typedef {object} Attachment  a photo chosen but not sent yet (the File stays in app.js)
 * @property {string} name
 * @property {number} size
 * @property {string} type
 * @property {string} [preview]
 */
/**
 * @typedef {object} SystemItem
 * @property {"system" | "warning"} kind
 * @property {string} [key]  an i18n key, with `vars`
 * @property {object} [vars]
 * @property {object} [error] a refusal to say in words
 * @property {number} at
 * @property {string} uid
 */
/** @typedef {MessageItem | SystemItem} Item */
/**
 * @typedef {object} Conv
 * @property {string} key        "r:<room id>" or "p:<nickname key>"
 * @property {"room" | "private"} kind
 * @property {string} [id]       room id
 * @property {string} [nickname] the other person, for a private conversation
 * @property {RoomInfo} [room]
 * @property {Person} [person]
 * @property {Person[]} members  the pages listed so far
 * @property {string | null} [membersNext] where the next page starts; null when all are listed
 * @property {Item[]} items
 * @property {number} unread
 * @property {string[]} typing   nicknames typing now
 * @property {boolean} typingRefused
 * @property {string} draft
 * @property {string} [partnerKey] the other person's nickname key, for a private conversation
 * @property {Attachment} [attachment] a photo waiting for "Send"
 */

export const MAX_ITEMS = 500;
export const GROUP_GAP_S = 5 * 60;
// Refusals that may pass if the same message is sent again a little later.
export const RETRYABLE = new Set([
  "rate_limited_messages",
  "rate_limited_conversations",
  "rate_limited_frames",
  "internal_error",
  "shutting_down",
]);
// A photo refused for these may pass if sent again (the same file is still in the page).
export const PHOTO_RETRYABLE = new Set([...RETRYABLE, "photo_not_expected", "@offline"]);

/**
 * Only for a server that does not send nickname keys yet (`key`, `sender_key`): the server's
 * own key also folds "ß" to "ss" and look-alike letters of other scripts; when the frames carry
 * the key, that one is used and this is never called.
 * @param {string} nickname
 */
export function foldKey(nickname) {
  return nickname
    .normalize("NFKC")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/ß/g, "ss")
    .replace(/0/g, "o")
    .replace(/1/g, "l")
    .replace(/[._-]/g, "");
}

/** @param {{nickname: string, key?: string}} person */
export const personKey = (person) => person.key || foldKey(person.nickname);
/** @param {string} id */
export const roomKey = (id) => `r:${id}`;
/**
 * A private conversation is keyed by the other person's nickname exactly as the server spells it
 * (nicknames are unique among the people online), so that no key is ever derived here.
 * @param {string} nickname
 */
export const privateKey = (nickname) => `p:${nickname}`;

export function initialState() {
  return {
    /** @type {"entry" | "entering" | "chat" | "reconnecting"} */
    phase: "entry",
    /** @type {object | null} the last `enter` frame, sent again to come back */
    identity: null,
    /** @type {Person | null} */
    me: null,
    meKey: "",
    /** @type {string | null} */
    band: null,
    maxChars: 1000,
    visibleHours: 6,
    /** @type {string | null} */
    resumeToken: null,
    /** @type {string | null} */
    ageNotice: null,
    /** @type {string | null} an i18n key for the notice under the header */
    notice: null,
    verified: false,
    /** @type {RoomInfo | null} */
    joinAfterVerify: null,
    /** @type {RoomInfo[]} */
    rooms: [],
    /** @type {Record<string, Conv>} */
    convs: {},
    /** @type {string[]} tab order */
    order: [],
    /** @type {string | null} */
    active: null,
    /** @type {string[]} nickname keys, as the server reports them */
    ignored: [],
    /** @type {Record<string, string>} */
    ignoredNames: {},
    /** @type {Person[]} */
    people: [],
    /** @type {string[]} */
    hosted: [],
    /** @type {Record<string, string>} ref -> conversation key */
    pending: {},
    /** @type {string | null} */
    pendingCreate: null,
    /** @type {string[]} */
    requestedJoins: [],
    /** @type {string[]} frames that an older server may not know, oldest first */
    probes: [],
    /** @type {Record<string, boolean>} what the server turned out not to know */
    unsupported: {},
    /** @type {Array<{id: number, kind: string, key?: string, vars?: object, error?: object, conv?: string}>} */
    toasts: [],
    /** @type {object | null} the error to show on the entry form */
    entryError: null,
    reconnectTries: 0,
    visible: true,
    /** @type {"rooms" | "people" | "chat" | "members"} */
    panel: "rooms",
    /** @type {"rooms" | "people"} */
    side: "rooms",
    /** @type {string | null} the nickname whose card is open */
    card: null,
    /** @type {string[]} refs of our photo uploads, oldest first: one at a time, the first */
    uploads: [],
    /** @type {{key: string, id: number} | null} the photo shown full size */
    viewer: null,
    seq: 1,
  };
}
/** @typedef {ReturnType<typeof initialState>} State */

export const isMinor = (/** @type {State} */ s) => s.band !== null && s.band !== "18+";
export const isMe = (/** @type {State} */ s, /** @type {string} */ key) => s.meKey !== "" && key === s.meKey;
/** By the nickname as the server spells it. */
export const isMyName = (/** @type {State} */ s, /** @type {string} */ nickname) => s.me !== null && nickname === s.me.nickname;

/**
 * The server's nickname key of `nickname`: from the frame (`sender_key`) when it has one, else
 * from a person the server described (a member, the people list, a conversation's person);
 * only for someone the page knows nothing about is it folded here.
 * @param {State} s @param {string} nickname @param {string} [given] @param {Conv} [conv]
 */
export function keyOf(s, nickname, given, conv) {
  if (given) return given;
  if (isMyName(s, nickname)) return s.meKey;
  const known = conv?.members.find((p) => p.nickname === nickname) ?? (conv?.person?.nickname === nickname ? conv.person : undefined) ?? findPerson(s, nickname);
  return known ? personKey(known) : foldKey(nickname);
}

/** @param {State} s @param {RoomInfo} room */
export function mayEnter(s, room) {
  if (room.audience === "adults") return !isMinor(s);
  if (room.audience === "teens") return isMinor(s);
  return true;
}

/** Total unread, for the tab title and the phone's Chats badge. @param {State} s */
export function totalUnread(s) {
  return Object.values(s.convs).reduce((sum, conv) => sum + conv.unread, 0);
}

/** Someone we know of, by nickname: a room member, the people list or a conversation. */
export function findPerson(/** @type {State} */ s, /** @type {string} */ nickname) {
  for (const conv of Object.values(s.convs)) {
    const found = conv.members.find((p) => p.nickname === nickname) ?? (conv.person?.nickname === nickname ? conv.person : undefined);
    if (found) return found;
  }
  return s.people.find((p) => p.nickname === nickname);
}

/**
 * What a conversation's log shows: day separators and messages, with `first` marking the first
 * of a run of messages by one sender (shown with the avatar and name). Ignored people's
 * messages are left out (except one's own).
 * @param {State} s @param {Conv} conv
 */
export function rows(s, conv) {
  /** @type {Array<{type: "day", day: string, at: number} | {type: "item", item: Item, first: boolean}>} */
  const out = [];
  const ignored = new Set(s.ignored);
  let lastDay = "";
  /** @type {Item | null} */
  let previous = null;
  for (const item of conv.items) {
    if (item.kind === "message" && ignored.has(item.senderKey) && !isMe(s, item.senderKey)) continue;
    const day = new Date(item.at * 1000).toDateString();
    if (day !== lastDay) {
      out.push({ type: "day", day, at: item.at });
      lastDay = day;
      previous = null;
    }
    const first =
      item.kind !== "message" ||
      previous === null ||
      previous.kind !== "message" ||
      previous.senderKey !== item.senderKey ||
      item.at - previous.at > GROUP_GAP_S;
    out.push({ type: "item", item, first });
    previous = item;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers that return new values

/** @param {State} s @param {Conv} conv @returns {State} */
function put(s, conv) {
  const order = s.order.includes(conv.key) ? s.order : [...s.order, conv.key];
  return { ...s, convs: { ...s.convs, [conv.key]: conv }, order };
}

/** @returns {Conv} */
function newConv(/** @type {string} */ key, /** @type {"room" | "private"} */ kind) {
  return { key, kind, members: [], items: [], unread: 0, typing: [], typingRefused: false, draft: "" };
}

/** @param {State} s @param {RoomInfo} room */
function roomConv(s, room) {
  const key = roomKey(room.id);
  const conv = s.convs[key] ?? { ...newConv(key, "room"), id: room.id };
  return { ...conv, room: { ...conv.room, ...room } };
}

/** @param {State} s @param {string} nickname @param {Person} [person] @returns {Conv} */
function privateConv(s, nickname, person) {
  const ckey = privateKey(nickname);
  const conv = s.convs[ckey] ?? { ...newConv(ckey, "private"), nickname };
  const known = person ?? conv.person ?? findPerson(s, nickname);
  return { ...conv, nickname, person: known, partnerKey: known ? personKey(known) : conv.partnerKey ?? keyOf(s, nickname) };
}

/** @param {Item[]} items */
function trim(items) {
  return items.length > MAX_ITEMS ? items.slice(items.length - MAX_ITEMS) : items;
}

/** @param {State} s @param {Conv} conv @param {Omit<SystemItem, "uid">} item */
function addSystem(s, conv, item) {
  const uid = `s${s.seq}`;
  return { s: { ...s, seq: s.seq + 1 }, conv: { ...conv, items: trim([...conv.items, { ...item, uid }]) } };
}

/** Does `text` name `nickname` as a word? */
export function mentions(/** @type {string} */ text, /** @type {string} */ nickname) {
  if (!nickname) return false;
  const escaped = nickname.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escaped}($|[^\\p{L}\\p{N}_])`, "iu").test(text);
}

/**
 * A message from the server into a conversation: shown once even when it comes from history and
 * live; our own copy replaces our pending one (the server may have changed or masked the text).
 * @param {State} s @param {Conv} conv @param {any} frame @param {{history?: boolean}} [opts]
 */
function receive(s, conv, frame, opts = {}) {
  const key = keyOf(s, frame.sender, frame.sender_key, conv);
  const own = isMyName(s, frame.sender);
  const isPhoto = frame.type === "photo";
  const text = isPhoto ? frame.caption ?? "" : frame.text;
  if (conv.items.some((it) => it.kind === "message" && it.id === frame.id)) {
    if (!own) return { s, conv };
  }
  /** @type {MessageItem} */
  const item = {
    kind: "message",
    id: frame.id,
    sender: frame.sender,
    senderKey: key,
    text,
    at: frame.at,
    blurred: frame.blurred === true,
    mention: !own && s.me !== null && mentions(text, s.me.nickname),
    status: "sent",
  };
  if (isPhoto) item.photo = { url: frame.url, thumb: frame.thumb_url, width: frame.width, height: frame.height };
  let items = conv.items;
  if (own) {
    // Ours: replace the copy with this id, or else the oldest one still pending.
    let index = items.findIndex((it) => it.kind === "message" && it.id === frame.id);
    // A photo replaces a photo of ours, a text a text.
    if (index === -1) index = items.findIndex((it) => it.kind === "message" && it.status === "pending" && Boolean(it.upload) === isPhoto);
    if (index !== -1) {
      const old = /** @type {MessageItem} */ (items[index]);
      items = [...items];
      items[index] = { ...item, at: old.at, ref: undefined };
      const pending = { ...s.pending };
      if (old.ref) delete pending[old.ref];
      const uploads = old.ref ? s.uploads.filter((r) => r !== old.ref) : s.uploads;
      return { s: { ...s, pending, uploads }, conv: { ...conv, items } };
    }
  }
  if (opts.history) {
    // History comes oldest first and may be older than what is shown: keep the log in time order.
    const at = items.findIndex((it) => it.at > item.at);
    items = at === -1 ? [...items, item] : [...items.slice(0, at), item, ...items.slice(at)];
  } else {
    items = [...items, item];
  }
  const unseen = !own && !opts.history && (conv.key !== s.active || !s.visible);
  return {
    s,
    conv: {
      ...conv,
      items: trim(items),
      unread: conv.unread + (unseen ? 1 : 0),
      typing: conv.typing.filter((n) => n !== frame.sender),
    },
  };
}

/** @param {State} s @param {string | null} key @returns {State} */
function activate(s, key) {
  const conv = key ? s.convs[key] : undefined;
  if (!conv) return { ...s, active: null };
  return {
    ...s,
    active: key,
    convs: s.visible ? { ...s.convs, [conv.key]: { ...conv, unread: 0 } } : s.convs,
    // A toast about a conversation closes when the conversation is read.
    toasts: s.visible ? s.toasts.filter((t) => t.conv !== key) : s.toasts,
    panel: "chat",
  };
}

/** @param {State} s @param {string} key @returns {State} */
function removeConv(s, key) {
  if (!s.convs[key]) return s;
  const convs = { ...s.convs };
  delete convs[key];
  const order = s.order.filter((k) => k !== key);
  const next = { ...s, convs, order, toasts: s.toasts.filter((t) => t.conv !== key) };
  if (s.active !== key) return next;
  const fallback = order.at(-1) ?? null;
  return { ...activate(next, fallback), panel: fallback ? s.panel : "rooms" };
}

/** @param {State} s @param {object} toast @returns {State} */
export function addToast(s, toast) {
  const toasts = [...s.toasts, { ...toast, id: s.seq }].slice(-4);
  return { ...s, toasts, seq: s.seq + 1 };
}

/** @param {State} s @param {string} ref @param {(item: MessageItem) => MessageItem} change @returns {State} */
function changePending(s, ref, change) {
  const ckey = s.pending[ref];
  const pending = { ...s.pending };
  delete pending[ref];
  const uploads = s.uploads.includes(ref) ? s.uploads.filter((r) => r !== ref) : s.uploads;
  const conv = ckey ? s.convs[ckey] : undefined;
  if (!conv) return { ...s, pending, uploads };
  const items = conv.items.map((it) => (it.kind === "message" && it.ref === ref ? change(it) : it));
  return { ...s, pending, uploads, convs: { ...s.convs, [ckey]: { ...conv, items } } };
}

/** Change our photo item `ref` while it uploads, leaving everything else as it is. @param {State} s @param {string} ref @param {Partial<UploadPart>} change @returns {State} */
function changeUpload(s, ref, change) {
  const ckey = s.pending[ref];
  const conv = ckey ? s.convs[ckey] : undefined;
  if (!conv) return s;
  const items = conv.items.map((it) => (it.kind === "message" && it.ref === ref && it.upload ? { ...it, upload: { ...it.upload, ...change } } : it));
  return { ...s, convs: { ...s.convs, [conv.key]: { ...conv, items } } };
}

/**
 * The upload to work on now: the oldest of ours, with its conversation and item. Only one at a
 * time, because the server takes the next binary message as the photo of the last
 * `photo_upload` it granted.
 * @param {State} s
 * @returns {{ref: string, key: string, item: MessageItem} | null}
 */
export function activeUpload(s) {
  const ref = s.uploads[0];
  if (!ref) return null;
  const key = s.pending[ref];
  const conv = key ? s.convs[key] : undefined;
  const item = conv?.items.find((it) => it.kind === "message" && it.ref === ref);
  return item && item.kind === "message" && key ? { ref, key, item } : null;
}

/** The photo item the viewer shows, if it is still there. @param {State} s @returns {MessageItem | null} */
export function viewed(s) {
  if (!s.viewer) return null;
  const item = s.convs[s.viewer.key]?.items.find((it) => it.kind === "message" && it.id === s.viewer?.id);
  if (!item || item.kind !== "message" || !item.photo) return null;
  return item.blurred && !item.revealed ? null : item;
}

// ---------------------------------------------------------------------------------------------
// The reducer

/**
 * @param {State} s
 * @param {any} e a server frame, or a local event whose type starts with "@"
 * @returns {State}
 */
export function reduce(s, e) {
  switch (e.type) {
    // ---- local events -----------------------------------------------------------------------
    case "@enter":
      return { ...s, phase: "entering", identity: e.identity, entryError: null };
    case "@entry_failed":
      return { ...s, phase: "entry", entryError: e.error ?? { code: "@conn_failed" } };
    case "@lost":
      if (s.phase !== "chat" && s.phase !== "reconnecting") {
        return s.phase === "entering" ? { ...s, phase: "entry", entryError: e.error ?? { code: "@conn_failed" } } : s;
      }
      return failUploads({ ...s, phase: "reconnecting", reconnectTries: s.reconnectTries + 1 }, { code: "@offline" });
    case "@closed":
      // The server ended the session on purpose (1008): back to the form, saying why.
      return { ...initialState(), identity: s.identity, entryError: e.error ?? { code: "@closed" } };
    case "@logout":
      return initialState();
    case "@restore":
      return restore(s, e.saved);
    case "@visibility": {
      const next = { ...s, visible: e.visible };
      return e.visible && s.active ? activate(next, s.active) : next;
    }
    case "@panel":
      return { ...s, panel: e.panel, side: e.panel === "rooms" || e.panel === "people" ? e.panel : s.side };
    case "@open":
      return activate(s, e.key);
    case "@open_private": {
      if (isMyName(s, e.nickname)) return s;
      const conv = privateConv(s, e.nickname, e.person);
      return { ...activate(put(s, conv), conv.key), card: null };
    }
    case "@close":
      return removeConv(s, e.key);
    case "@card":
      return { ...s, card: e.nickname ?? null };
    case "@draft": {
      const conv = s.convs[e.key];
      return conv ? put(s, { ...conv, draft: e.text }) : s;
    }
    case "@reveal": {
      const conv = s.convs[e.key];
      if (!conv) return s;
      const items = conv.items.map((it) => (it.kind === "message" && it.id === e.id ? { ...it, revealed: !it.revealed } : it));
      return put(s, { ...conv, items });
    }
    case "@send": {
      const conv = s.convs[e.key];
      if (!conv || !s.me) return s;
      /** @type {MessageItem} */
      const item = { kind: "message", ref: e.ref, sender: s.me.nickname, senderKey: s.meKey, text: e.text, at: e.at, status: e.offline ? "failed" : "pending" };
      if (e.offline) {
        item.error = { code: "@offline" };
        item.retry = true;
      }
      const next = put(s, { ...conv, items: trim([...conv.items, item]), draft: "" });
      return e.offline ? next : { ...next, pending: { ...next.pending, [e.ref]: conv.key } };
    }
    case "@drop_item": {
      const conv = s.convs[e.key];
      if (!conv) return s;
      return put(s, { ...conv, items: conv.items.filter((it) => !(it.kind === "message" && it.ref === e.ref)) });
    }
    case "@attach": {
      const conv = s.convs[e.key];
      return conv ? put(s, { ...conv, attachment: e.attachment }) : s;
    }
    case "@detach": {
      const conv = s.convs[e.key];
      if (!conv?.attachment) return s;
      const { attachment: _gone, ...rest } = conv;
      return put(s, rest);
    }
    case "@photo_send": {
      // {key, ref, caption, at, size, preview, offline}: our photo, shown at once while it uploads.
      const conv = s.convs[e.key];
      if (!conv || !s.me) return s;
      /** @type {MessageItem} */
      const item = {
        kind: "message",
        ref: e.ref,
        sender: s.me.nickname,
        senderKey: s.meKey,
        text: e.caption ?? "",
        at: e.at,
        status: e.offline ? "failed" : "pending",
        upload: { phase: "queued", sent: 0, total: e.size, preview: e.preview },
      };
      if (e.offline) {
        item.error = { code: "@offline" };
        item.retry = true;
      }
      const { attachment: _sent, ...rest } = conv;
      const next = put(s, { ...rest, items: trim([...conv.items, item]), draft: "" });
      return e.offline ? next : { ...next, pending: { ...next.pending, [e.ref]: conv.key }, uploads: [...next.uploads, e.ref] };
    }
    case "@upload":
      // {ref, phase, sent?}: how far our upload got.
      return changeUpload(s, e.ref, e.sent === undefined ? { phase: e.phase } : { phase: e.phase, sent: e.sent });
    case "@upload_failed":
      // Refused in the page before its bytes left (too large for the server's limit...).
      return changePending(s, e.ref, (it) => ({ ...it, status: "failed", error: e.error, retry: false }));
    case "@view_photo":
      return { ...s, viewer: e.id === undefined ? null : { key: e.key, id: e.id } };
    case "@join_requested":
      return { ...s, requestedJoins: [...s.requestedJoins, e.room] };
    case "@create_requested":
      return { ...s, pendingCreate: e.name };
    case "@ignore_name":
      return { ...s, ignoredNames: { ...s.ignoredNames, [e.key]: e.nickname } };
    case "@probe":
      return { ...s, probes: [...s.probes, e.frame] };
    case "@toast":
      return addToast(s, e.toast);
    case "@dismiss":
      return { ...s, toasts: s.toasts.filter((t) => t.id !== e.id) };
    case "@notice":
      return { ...s, notice: e.key ?? null, ageNotice: e.key ? s.ageNotice : null };
    case "@typing_over": {
      const conv = s.convs[e.key];
      return conv ? put(s, { ...conv, typing: conv.typing.filter((n) => n !== e.nickname) }) : s;
    }
    case "@typing_sent":
      return s;

    // ---- server frames ----------------------------------------------------------------------
    case "welcome": {
      const back = s.phase === "reconnecting";
      const me = e.me;
      /** @type {State} */
      let next = {
        ...s,
        phase: /** @type {const} */ ("chat"),
        me,
        meKey: me.key || foldKey(me.nickname),
        band: e.age_band,
        maxChars: e.max_message_chars,
        visibleHours: e.visible_hours,
        resumeToken: e.resume_token ?? null,
        ageNotice: e.age_notice ?? null,
        notice: e.age_notice ? "band.remembered" : back ? s.notice : null,
        entryError: null,
        reconnectTries: 0,
        probes: [],
      };
      if (back) next = addToast(next, { kind: "info", key: "conn.back" });
      return next;
    }
    case "room_list": {
      let next = { ...s, rooms: e.rooms };
      for (const room of e.rooms) {
        const conv = s.convs[roomKey(room.id)];
        if (conv) next = put(next, { ...conv, room: { ...conv.room, ...room, count: Math.max(room.count, conv.members.length) } });
      }
      return next;
    }
    case "joined": {
      /** @type {Conv} */
      let conv = { ...roomConv(s, e.room), members: e.members, membersNext: e.members_next ?? null };
      let next = s;
      for (const message of e.history) ({ s: next, conv } = receive(next, conv, message, { history: true }));
      const created = s.pendingCreate !== null && s.pendingCreate === e.room.name;
      const asked = s.requestedJoins.includes(e.room.id) || created;
      next = {
        ...put(next, conv),
        requestedJoins: next.requestedJoins.filter((id) => id !== e.room.id),
        hosted: created ? [...next.hosted, e.room.id] : next.hosted,
        pendingCreate: created ? null : next.pendingCreate,
      };
      return asked || next.active === null ? activate(next, conv.key) : next;
    }
    case "left":
      return removeConv(s, roomKey(e.room));
    case "member_list": {
      const conv = s.convs[roomKey(e.room)];
      if (!conv) return s;
      const next = e.next ?? null;
      if (!e.after) return put(s, { ...conv, members: e.members, membersNext: next });
      // A later page: added to the pages already listed (an arrival may be on both).
      const listed = new Set(conv.members.map(personKey));
      const members = [...conv.members, ...e.members.filter((p) => !listed.has(personKey(p)))];
      return put(s, { ...conv, members, membersNext: next });
    }
    case "member_joined": {
      const conv = s.convs[roomKey(e.room)];
      if (!conv) return s;
      const key = personKey(e.person);
      const known = conv.members.some((p) => personKey(p) === key);
      const members = [...conv.members.filter((p) => personKey(p) !== key), e.person];
      if (known || isMe(s, key)) return put(s, { ...conv, members });
      const done = addSystem(s, { ...conv, members }, { kind: "system", key: "chat.member_joined", vars: { nickname: e.person.nickname }, at: lastAt(conv, e) });
      return put(done.s, done.conv);
    }
    case "member_left": {
      const conv = s.convs[roomKey(e.room)];
      if (!conv) return s;
      const gone = (/** @type {Person} */ p) => (e.key ? personKey(p) === e.key : p.nickname === e.nickname);
      if (!conv.members.some(gone)) return s;
      const members = conv.members.filter((p) => !gone(p));
      const typing = conv.typing.filter((n) => n !== e.nickname);
      const done = addSystem(s, { ...conv, members, typing }, { kind: "system", key: "chat.member_left", vars: { nickname: e.nickname }, at: lastAt(conv, e) });
      return put(done.s, done.conv);
    }
    case "message": {
      const conv = s.convs[roomKey(e.room)];
      if (!conv) return s;
      const done = receive(s, conv, e);
      return put(done.s, done.conv);
    }
    case "private_message": {
      const fromMe = isMyName(s, e.sender);
      const partner = fromMe ? e.recipient : e.sender;
      const conv = privateConv(s, partner, undefined);
      const done = receive(s, conv, e);
      let next = put(done.s, done.conv);
      if (!fromMe && (conv.key !== s.active || !s.visible)) {
        next = addToast({ ...next, toasts: next.toasts.filter((t) => t.conv !== conv.key) }, { kind: "info", key: "chat.private_new", vars: { nickname: e.sender }, conv: conv.key });
      }
      return next;
    }
    case "photo": {
      // A photo in a room (`room`) or in private (`recipient`), our own included.
      if (e.room) {
        const conv = s.convs[roomKey(e.room)];
        if (!conv) return s;
        const done = receive(s, conv, e);
        return put(done.s, done.conv);
      }
      const fromMe = isMyName(s, e.sender);
      const conv = privateConv(s, fromMe ? e.recipient : e.sender, undefined);
      const done = receive(s, conv, e);
      let next = put(done.s, done.conv);
      if (!fromMe && (conv.key !== s.active || !s.visible)) {
        next = addToast({ ...next, toasts: next.toasts.filter((t) => t.conv !== conv.key) }, { kind: "info", key: "photo.private_new", vars: { nickname: e.sender }, conv: conv.key });
      }
      return next;
    }
    case "upload_granted": {
      // The server waits for the bytes (app.js sends them): {ref, max_bytes, expires_at}.
      if (!e.ref || !s.uploads.includes(e.ref)) return s;
      const upload = activeUpload(s);
      return changeUpload(s, e.ref, { phase: "sending", sent: 0, total: upload?.item.upload?.total ?? 0 });
    }
    case "private_history": {
      // {nickname, messages}: what was said with this person within the visible window.
      /** @type {Conv} */
      let conv = privateConv(s, e.nickname, e.person);
      let next = dropProbe(s, "private_history");
      for (const message of e.messages ?? []) ({ s: next, conv } = receive(next, conv, message, { history: true }));
      return put(next, conv);
    }
    case "removed": {
      // A moderator removed a message: it leaves every conversation that shows it.
      let next = s;
      for (const conv of Object.values(s.convs)) {
        if (e.room && conv.key !== roomKey(e.room)) continue;
        if (!conv.items.some((it) => it.kind === "message" && it.id === e.id)) continue;
        next = put(next, { ...conv, items: conv.items.filter((it) => !(it.kind === "message" && it.id === e.id)) });
      }
      return next;
    }
    case "typing": {
      const ckey = e.room ? roomKey(e.room) : privateKey(e.sender);
      const conv = s.convs[ckey];
      if (!conv || isMyName(s, e.sender) || conv.typing.includes(e.sender)) return s;
      return put(s, { ...conv, typing: [...conv.typing, e.sender] });
    }
    case "topic": {
      const conv = s.convs[roomKey(e.room)];
      if (!conv) return s;
      const room = { ...conv.room, topic: e.topic, topic_en: "" };
      const done = addSystem(s, { ...conv, room: /** @type {RoomInfo} */ (room) }, { kind: "system", key: "chat.topic_changed", vars: { nickname: e.by, topic: e.topic }, at: lastAt(conv, e) });
      return put(done.s, done.conv);
    }
    case "people":
      return { ...s, people: e.people };
    case "ignored":
      return { ...s, ignored: e.nicknames };
    case "ack":
      return changePending(s, e.ref, (it) => ({ ...it, id: e.id, status: "sent", ref: undefined }));
    case "band_changed": {
      /** @type {State} */
      let next = { ...s, band: e.age_band, me: s.me ? { ...s.me, age: e.age } : s.me, notice: "band.changed" };
      for (const room of e.left_rooms) next = removeConv(next, roomKey(room));
      return next;
    }
    case "age_verified":
      return addToast({ ...s, verified: true, joinAfterVerify: null }, { kind: "info", key: "verify.done" });
    case "reported":
      return addToast(dropProbe(s, "report"), { kind: "info", key: "report.done", vars: { report: e.report } });
    case "error":
      return onError(s, e);
    default:
      // A newer server may send frames this page does not know yet: ignoring them is safe.
      return s;
  }
}

/**
 * Every upload not finished fails with `error`: a lost connection loses the server's grant, so
 * the bytes would be refused on the next one. The file is still in the page: "Try again".
 * @param {State} s @param {object} error @returns {State}
 */
function failUploads(s, error) {
  let next = s;
  for (const ref of s.uploads) next = changePending(next, ref, (it) => ({ ...it, status: "failed", error, retry: true }));
  return { ...next, uploads: [] };
}

/** @param {State} s @param {string} frame @returns {State} */
function dropProbe(s, frame) {
  const at = s.probes.indexOf(frame);
  return at === -1 ? s : { ...s, probes: [...s.probes.slice(0, at), ...s.probes.slice(at + 1)] };
}

/**
 * When a line without its own time happened: app.js stamps each frame with `received` (the
 * reducer has no clock); failing that, the time of the last line.
 * @param {Conv} conv @param {any} [e]
 */
function lastAt(conv, e) {
  return e?.received ?? conv.items.at(-1)?.at ?? 0;
}

/** @param {State} s @param {any} e @returns {State} */
function onError(s, e) {
  // A frame an older server does not know: matched to the oldest probe still waiting.
  if (e.code === "unknown_frame" && !e.ref && s.probes.length) {
    const [probe, ...rest] = s.probes;
    const next = { ...s, probes: rest, unsupported: { ...s.unsupported, [probe]: true } };
    return probe === "report" ? addToast(next, { kind: "error", key: "report.unsupported" }) : next;
  }
  if (e.frame && s.probes.includes(e.frame) && e.frame !== "resume") s = dropProbe(s, e.frame);
  if (e.frame === "resume" || (s.phase === "reconnecting" && s.probes[0] === "resume")) {
    // The token is no longer valid: app.js enters again with the same details.
    return { ...s, probes: s.probes.slice(1), resumeToken: null };
  }
  if (e.frame === "enter" || s.phase === "entering" || s.phase === "entry") {
    if (s.phase === "reconnecting" && e.code === "nickname_taken" && s.reconnectTries < 6) {
      // The old session may still hold the nickname for a moment: app.js tries again.
      return { ...s, reconnectTries: s.reconnectTries + 1 };
    }
    const keep = s.phase === "reconnecting" ? { ...initialState(), identity: s.identity } : s;
    return { ...keep, phase: "entry", entryError: e };
  }
  if (e.ref && s.pending[e.ref]) {
    if (e.code === "held_for_review") {
      // Not refused: waiting for a person to look at it, so nothing to retry.
      return changePending(s, e.ref, (it) => ({ ...it, status: "held", error: e }));
    }
    return changePending(s, e.ref, (it) => ({ ...it, status: "failed", error: e, retry: (it.upload ? PHOTO_RETRYABLE : RETRYABLE).has(e.code) }));
  }
  if (e.frame === "typing") {
    // A refused typing notice says early what a message would meet; said once.
    const conv = s.active ? s.convs[s.active] : undefined;
    if (!conv || conv.typingRefused) return s;
    let next = { ...conv, typingRefused: true };
    if (e.code === "conversation_forbidden" || e.code === "conversation_frozen") {
      const done = addSystem(s, next, { kind: "warning", error: e, at: lastAt(conv, e) });
      return put(done.s, done.conv);
    }
    return put(s, next);
  }
  if (e.frame === "ping") return s;
  let next = s;
  if (e.frame === "create_room") next = { ...next, pendingCreate: null };
  if (e.frame === "join") {
    let joinAfterVerify = next.joinAfterVerify;
    if (e.code === "age_verification_required" && next.requestedJoins.length === 1) {
      joinAfterVerify = next.rooms.find((r) => r.id === next.requestedJoins[0]) ?? null;
    }
    next = { ...next, requestedJoins: [], joinAfterVerify };
  }
  // A history that cannot be had (the person left) leaves the conversation as it is.
  if (e.frame === "private_history") return next;
  return addToast(next, { kind: "error", error: e });
}

// ---------------------------------------------------------------------------------------------
// What survives a reload (sessionStorage): who we are and what was open

const KEEP_PRIVATE_ITEMS = 100;

/** @param {State} s */
export function snapshot(s) {
  if (!s.identity || (s.phase !== "chat" && s.phase !== "reconnecting")) return null;
  return {
    v: 1,
    identity: s.identity,
    resumeToken: s.resumeToken,
    active: s.active,
    hosted: s.hosted,
    convs: s.order.map((key) => {
      const c = s.convs[key];
      // Rooms get their history back on joining; private conversations keep their last
      // messages here for as long as the tab lives, when the server cannot send them again.
      const items = c.kind === "private" ? c.items.filter((it) => it.kind === "message" && it.status === "sent" && !it.upload).slice(-KEEP_PRIVATE_ITEMS) : [];
      return { key: c.key, kind: c.kind, id: c.id, nickname: c.nickname, room: c.room, person: c.person, items, draft: c.draft };
    }),
  };
}

/** @param {State} s @param {any} saved @returns {State} */
export function restore(s, saved) {
  if (!saved || saved.v !== 1 || !saved.identity) return s;
  /** @type {State} */
  let next = { ...s, phase: /** @type {const} */ ("reconnecting"), identity: saved.identity, resumeToken: saved.resumeToken ?? null, hosted: saved.hosted ?? [] };
  for (const c of saved.convs ?? []) {
    next = put(next, { ...newConv(c.key, c.kind), id: c.id, nickname: c.nickname, room: c.room, person: c.person, items: c.items ?? [], draft: c.draft ?? "" });
  }
  if (saved.active && next.convs[saved.active]) next = { ...activate(next, saved.active) };
  return next;
}

/** The frames that bring a restored or reconnected session back where it was. @param {State} s */
export function comebackFrames(s) {
  const rooms = s.order.filter((k) => s.convs[k].kind === "room").map((k) => /** @type {string} */ (s.convs[k].id));
  /** @type {object[]} */
  const frames = [{ type: "rooms" }];
  if (rooms.length) frames.push({ type: "join", rooms });
  if (!s.unsupported.private_history) {
    for (const k of s.order) {
      const c = s.convs[k];
      if (c.kind === "private") frames.push({ type: "private_history", nickname: c.nickname });
    }
  }
  return frames;
}

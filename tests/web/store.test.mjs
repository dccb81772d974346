// Frames in, state out: the web client's reducer without a browser (node --test tests/web).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  comebackFrames,
  findPerson,
  initialState,
  mentions,
  reduce,
  restore,
  rows,
  snapshot,
  totalUnread,
} from "../../src/causerie/web/static/js/store.js";

const T0 = 1_790_000_000; // seconds
const person = (nickname, extra = {}) => ({ nickname, age: 30, gender: "woman", region: "Bretagne", department: "35", ...extra });
const room = (id, extra = {}) => ({ id, name: id, kind: "themed", audience: "all", count: 2, topic: "", region: "", ...extra });
const msg = (id, sender, text, at = T0 + id, extra = {}) => ({ type: "message", id, room: "general", sender, text, at, ...extra });

function run(...events) {
  return events.reduce(reduce, initialState());
}

function entered(extra = {}, me = person("Alice")) {
  return run(
    { type: "@enter", identity: { type: "enter", nickname: me.nickname, age: me.age, gender: me.gender, postal_code: "35000" } },
    { type: "welcome", session: "s", me, age_band: "18+", visible_hours: 6, max_message_chars: 1000, ...extra },
  );
}

function inGeneral(state, history = []) {
  return reduce(state, { type: "joined", room: room("general"), members: [person("Alice"), person("Bob")], history });
}

test("entering: the welcome switches to the chat and keeps the server's values", () => {
  const s = entered({ resume_token: "tok", age_notice: "remembered" });
  assert.equal(s.phase, "chat");
  assert.equal(s.me.nickname, "Alice");
  assert.equal(s.band, "18+");
  assert.equal(s.resumeToken, "tok");
  assert.equal(s.notice, "band.remembered");
  assert.equal(entered().resumeToken, null, "no token from an older server");
});

test("a refused entry goes back to the form with the error and its field", () => {
  const s = reduce(run({ type: "@enter", identity: { nickname: "Lou" } }), {
    type: "error",
    code: "age_too_young",
    message: "x",
    frame: "enter",
    field: "age",
  });
  assert.equal(s.phase, "entry");
  assert.equal(s.entryError.field, "age");
});

test("joining: the room opens with its history, members and no unread", () => {
  const s = inGeneral(entered(), [msg(1, "Bob", "salut"), msg(2, "Bob", "ça va ?")]);
  assert.equal(s.active, "r:general");
  assert.equal(s.panel, "chat");
  const conv = s.convs["r:general"];
  assert.equal(conv.items.length, 2);
  assert.equal(conv.members.length, 2);
  assert.equal(conv.unread, 0);
  // The same history again (a re-join after a reconnect) adds nothing.
  const again = reduce(s, { type: "joined", room: room("general"), members: [], history: [msg(1, "Bob", "salut"), msg(3, "Bob", "re")] });
  assert.deepEqual(again.convs["r:general"].items.map((it) => it.id), [1, 2, 3]);
});

test("own messages: pending, replaced by the server's copy, confirmed by ack", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "@send", key: "r:general", ref: "w1", text: "hello", at: T0 });
  assert.equal(s.convs["r:general"].items[0].status, "pending");
  s = reduce(s, msg(7, "Alice", "hello"));
  s = reduce(s, { type: "ack", ref: "w1", id: 7, at: T0 });
  const items = s.convs["r:general"].items;
  assert.equal(items.length, 1);
  assert.equal(items[0].id, 7);
  assert.equal(items[0].status, "sent");
  assert.deepEqual(s.pending, {});
});

test("refusals: failed with the error (retry only when it may pass), held is not failed", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "@send", key: "r:general", ref: "w1", text: "a", at: T0 });
  s = reduce(s, { type: "@send", key: "r:general", ref: "w2", text: "b", at: T0 });
  s = reduce(s, { type: "@send", key: "r:general", ref: "w3", text: "c", at: T0 });
  s = reduce(s, { type: "error", code: "rate_limited_messages", message: "", ref: "w1", retry_after: 2 });
  s = reduce(s, { type: "error", code: "content_blocked", message: "", ref: "w2" });
  s = reduce(s, { type: "error", code: "held_for_review", message: "", ref: "w3" });
  const [a, b, c] = s.convs["r:general"].items;
  assert.deepEqual([a.status, a.retry, a.error.code], ["failed", true, "rate_limited_messages"]);
  assert.deepEqual([b.status, b.retry], ["failed", false]);
  assert.equal(c.status, "held");
  assert.equal(s.toasts.length, 0, "a refusal tied to a message is shown on it, not as a toast");
});

test("a refusal not tied to a message is one toast holding the error frame", () => {
  const s = reduce(entered(), { type: "error", code: "room_forbidden", message: "", frame: "join" });
  assert.equal(s.toasts.length, 1);
  assert.equal(s.toasts[0].error.code, "room_forbidden");
});

test("grouping: consecutive messages by one sender form a run, day separators split days", () => {
  const day2 = T0 + 86_400;
  const s = inGeneral(entered(), [
    msg(1, "Bob", "a", T0),
    msg(2, "Bob", "b", T0 + 30),
    msg(3, "Carla", "c", T0 + 60),
    msg(4, "Carla", "d", T0 + 60 + 600),
    msg(5, "Carla", "e", day2),
  ]);
  const out = rows(s, s.convs["r:general"]);
  const shape = out.map((r) => (r.type === "day" ? "day" : `${r.item.id}${r.first ? "+" : ""}`));
  assert.deepEqual(shape, ["day", "1+", "2", "3+", "4+", "day", "5+"]);
});

test("unread: counted for other conversations and for a hidden page, cleared on opening", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "joined", room: room("musique"), members: [], history: [] });
  s = reduce(s, { type: "@open", key: "r:general" });
  s = reduce(s, { ...msg(10, "Bob", "x"), room: "musique" });
  s = reduce(s, { ...msg(11, "Bob", "y"), room: "musique" });
  s = reduce(s, msg(12, "Bob", "seen at once"));
  assert.equal(s.convs["r:musique"].unread, 2);
  assert.equal(s.convs["r:general"].unread, 0);
  s = reduce(s, { type: "@visibility", visible: false });
  s = reduce(s, msg(13, "Bob", "while away"));
  assert.equal(totalUnread(s), 3);
  s = reduce(s, { type: "@visibility", visible: true });
  assert.equal(s.convs["r:general"].unread, 0);
  s = reduce(s, { type: "@open", key: "r:musique" });
  assert.equal(totalUnread(s), 0);
});

test("ignore: the key of a member as the server sent it hides their messages", () => {
  // Today's server puts the key on persons (members, people), not on messages.
  let s = reduce(entered({}, person("Alice", { key: "allce" })), {
    type: "joined",
    room: room("general"),
    members: [person("Alice", { key: "allce" }), person("Straße", { key: "strasse" })],
    history: [msg(1, "Straße", "one"), msg(2, "Alice", "mine")],
  });
  s = reduce(s, msg(3, "Straße", "two"));
  s = reduce(s, { type: "ignored", nicknames: ["strasse"] });
  const shown = rows(s, s.convs["r:general"]).filter((r) => r.type === "item").map((r) => r.item.id);
  assert.deepEqual(shown, [2]);
  // "Alice" is "allce" to the server: our own message is ours even so.
  assert.equal(s.convs["r:general"].items.find((it) => it.id === 2).senderKey, "allce");
});

test("ignore: a sender_key on the message itself wins", () => {
  // The server folds "Straße" to "strasse"; the frames carry that key.
  let s = inGeneral(entered(), [
    msg(1, "Straße", "one", T0, { sender_key: "strasse" }),
    msg(2, "STRASSE", "two", T0 + 1, { sender_key: "strasse" }),
    msg(3, "Bob", "three", T0 + 2),
  ]);
  s = reduce(s, { type: "ignored", nicknames: ["strasse"] });
  const shown = rows(s, s.convs["r:general"]).filter((r) => r.type === "item").map((r) => r.item.id);
  assert.deepEqual(shown, [3]);
  s = reduce(s, { type: "ignored", nicknames: [] });
  assert.equal(rows(s, s.convs["r:general"]).filter((r) => r.type === "item").length, 3);
});

test("private conversations: keyed by the server's key, flagged with a toast that closes when read", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "private_message", id: 20, sender: "Bob_35", recipient: "Alice", text: "coucou", at: T0 });
  const conv = s.convs["p:Bob_35"];
  assert.ok(conv);
  assert.equal(conv.unread, 1);
  assert.equal(conv.person, undefined, "a person sharing no room: nothing known yet");
  assert.equal(s.toasts.length, 1);
  assert.equal(s.toasts[0].conv, "p:Bob_35");
  s = reduce(s, { type: "@open", key: "p:Bob_35" });
  assert.equal(s.toasts.length, 0);
  assert.equal(s.convs["p:Bob_35"].unread, 0);
  // The server's private history merges by id, in time order.
  s = reduce(s, {
    type: "private_history",
    nickname: "Bob_35",
    messages: [
      { type: "private_message", id: 19, sender: "Alice", recipient: "Bob_35", text: "earlier", at: T0 - 10 },
      { type: "private_message", id: 20, sender: "Bob_35", recipient: "Alice", text: "coucou", at: T0 },
    ],
  });
  assert.deepEqual(s.convs["p:Bob_35"].items.map((it) => it.id), [19, 20]);
  // Someone who shares no room: the people list says who they are.
  s = reduce(s, { type: "people", people: [person("Bob_35", { key: "bob35", region: "Auvergne-Rhône-Alpes", department: "69" })] });
  assert.equal(findPerson(s, "Bob_35").region, "Auvergne-Rhône-Alpes");
});

test("opening a private conversation from a card attaches what we know of the person", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "@card", nickname: "Bob" });
  s = reduce(s, { type: "@open_private", nickname: "Bob" });
  assert.equal(s.active, "p:Bob");
  assert.equal(s.convs["p:Bob"].person.department, "35");
  assert.equal(s.card, null);
  // Never with oneself.
  assert.equal(reduce(s, { type: "@open_private", nickname: "Alice" }).active, "p:Bob");
});

test("typing: shown until the person's message arrives; a refused typing warns once", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "typing", sender: "Bob", room: "general" });
  assert.deepEqual(s.convs["r:general"].typing, ["Bob"]);
  s = reduce(s, msg(30, "Bob", "done"));
  assert.deepEqual(s.convs["r:general"].typing, []);
  s = reduce(s, { type: "@open_private", nickname: "Marc" });
  const refusal = { type: "error", code: "conversation_forbidden", message: "", frame: "typing" };
  s = reduce(reduce(s, refusal), refusal);
  const items = s.convs["p:Marc"].items;
  assert.equal(items.length, 1);
  assert.equal(items[0].kind, "warning");
  assert.equal(s.convs["p:Marc"].typingRefused, true);
});

test("band change: the age group changes and adults-only rooms close", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "joined", room: room("18-25-ans", { audience: "adults" }), members: [], history: [] });
  s = reduce(s, { type: "band_changed", age_band: "15-17", age: 16, message: "", left_rooms: ["18-25-ans"] });
  assert.equal(s.band, "15-17");
  assert.equal(s.me.age, 16);
  assert.equal(s.convs["r:18-25-ans"], undefined);
  assert.equal(s.notice, "band.changed");
  assert.ok(s.convs["r:general"]);
});

test("members: arrivals and departures update the list and add a line", () => {
  let s = inGeneral(entered());
  s = reduce(s, { type: "member_joined", room: "general", person: person("Carla") });
  s = reduce(s, { type: "member_left", room: "general", nickname: "Bob" });
  const conv = s.convs["r:general"];
  assert.deepEqual(conv.members.map((p) => p.nickname), ["Alice", "Carla"]);
  assert.deepEqual(conv.items.map((it) => it.key), ["chat.member_joined", "chat.member_left"]);
});

test("reports: an older server's unknown_frame is matched to the report and said plainly", () => {
  let s = entered();
  s = reduce(s, { type: "@probe", frame: "report" });
  s = reduce(s, { type: "error", code: "unknown_frame", message: "unknown frame type 'report'" });
  assert.equal(s.unsupported.report, true);
  assert.equal(s.toasts.at(-1).key, "report.unsupported");
  let t = reduce(entered(), { type: "@probe", frame: "report" });
  t = reduce(t, { type: "reported", report: "r1" });
  assert.equal(t.toasts.at(-1).key, "report.done");
  assert.deepEqual(t.probes, []);
});

test("resume: a snapshot restores the chatter, rooms and private messages; comeback frames", () => {
  let s = inGeneral(entered({ resume_token: "tok" }), [msg(1, "Bob", "hi")]);
  s = reduce(s, { type: "private_message", id: 5, sender: "Bob", recipient: "Alice", text: "psst", at: T0 });
  const saved = JSON.parse(JSON.stringify(snapshot(s)));
  const back = restore(initialState(), saved);
  assert.equal(back.phase, "reconnecting");
  assert.equal(back.resumeToken, "tok");
  assert.deepEqual(back.order, ["r:general", "p:Bob"]);
  assert.equal(back.convs["r:general"].items.length, 0, "rooms get their history from joined");
  assert.equal(back.convs["p:Bob"].items[0].text, "psst");
  assert.deepEqual(comebackFrames(back), [
    { type: "rooms" },
    { type: "join", rooms: ["general"] },
    { type: "private_history", nickname: "Bob" },
  ]);
  // After the welcome the toast says we are back.
  const welcomed = reduce(back, { type: "welcome", session: "s2", me: person("Alice"), age_band: "18+", visible_hours: 6, max_message_chars: 1000 });
  assert.equal(welcomed.phase, "chat");
  assert.equal(welcomed.toasts.at(-1).key, "conn.back");
  // An older server does not know private_history: no more tries.
  let old = reduce(welcomed, { type: "@probe", frame: "private_history" });
  old = reduce(old, { type: "error", code: "unknown_frame", message: "" });
  assert.equal(old.unsupported.private_history, true);
  assert.equal(comebackFrames(old).some((f) => f.type === "private_history"), false);
});

test("resume refused: the token is dropped so that the page enters again", () => {
  let s = restore(initialState(), snapshot(inGeneral(entered({ resume_token: "tok" }))));
  s = reduce(s, { type: "@probe", frame: "resume" });
  s = reduce(s, { type: "error", code: "resume_invalid", message: "", frame: "resume" });
  assert.equal(s.resumeToken, null);
  assert.equal(s.phase, "reconnecting");
});

test("re-entering after a drop: nickname still held is retried, other refusals end on the form", () => {
  let s = reduce(inGeneral(entered()), { type: "@lost" });
  assert.equal(s.phase, "reconnecting");
  s = reduce(s, { type: "error", code: "nickname_taken", message: "", frame: "enter" });
  assert.equal(s.phase, "reconnecting");
  s = reduce(s, { type: "error", code: "banned", message: "", frame: "enter" });
  assert.equal(s.phase, "entry");
  assert.equal(s.entryError.code, "banned");
  assert.equal(s.identity.nickname, "Alice", "the form is filled again");
});

test("mentions: a word, any case, not inside another word", () => {
  assert.equal(mentions("salut alice !", "Alice"), true);
  assert.equal(mentions("@Alice ça va", "Alice"), true);
  assert.equal(mentions("malicette", "Alice"), false);
  let s = inGeneral(entered());
  s = reduce(s, msg(40, "Bob", "Alice, tu es là ?"));
  assert.equal(s.convs["r:general"].items.at(-1).mention, true);
});

test("a message a moderator removed leaves the page", () => {
  let s = inGeneral(entered(), [msg(1, "Bob", "a"), msg(2, "Bob", "b")]);
  s = reduce(s, { type: "removed", id: 1, room: "general" });
  assert.deepEqual(s.convs["r:general"].items.map((it) => it.id), [2]);
});

test("frames the page does not know change nothing", () => {
  const s = entered();
  assert.equal(reduce(s, { type: "future_frame", x: 1 }), s);
});

test("members: a big room's list comes page by page; a first page replaces it", () => {
  let s = entered();
  s = reduce(s, { type: "joined", room: room("general"), members: [person("Alice"), person("Bob")], members_next: "bob", history: [] });
  assert.equal(s.convs["r:general"].membersNext, "bob");
  s = reduce(s, { type: "member_joined", room: "general", person: person("Carla") });
  s = reduce(s, { type: "member_list", room: "general", members: [person("Carla"), person("Dina")], after: "bob", next: null });
  let conv = s.convs["r:general"];
  assert.deepEqual(conv.members.map((p) => p.nickname), ["Alice", "Bob", "Carla", "Dina"]);
  assert.equal(conv.membersNext, null);
  s = reduce(s, { type: "member_list", room: "general", members: [person("Alice")], after: "", next: "alice" });
  conv = s.convs["r:general"];
  assert.deepEqual(conv.members.map((p) => p.nickname), ["Alice"]);
  assert.equal(conv.membersNext, "alice");
});

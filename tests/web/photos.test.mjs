// Photos in the web client without a browser (node --test tests/web): the pure helpers of
// photos.js and the reducer's photo events (uploads one at a time, progress, refusals, the
// server's copy replacing ours, masked photos, the viewer).
import assert from "node:assert/strict";
import { test } from "node:test";

import { bytesSent, fitBox, formatBytes, localRefusal, percent, photoId, pickImage } from "../../src/causerie/web/static/js/photos.js";
import { activeUpload, initialState, reduce, snapshot, viewed } from "../../src/causerie/web/static/js/store.js";

const T0 = 1_790_000_000;
const person = (nickname, extra = {}) => ({ nickname, age: 30, gender: "woman", region: "Bretagne", department: "35", ...extra });
const room = (id, extra = {}) => ({ id, name: id, kind: "user", audience: "adults", count: 2, topic: "", region: "", ...extra });

function entered(me = person("Alice")) {
  return [
    { type: "@enter", identity: { type: "enter", nickname: me.nickname, age: me.age, gender: me.gender, postal_code: "35000" } },
    { type: "welcome", session: "s", me: { ...me, key: me.nickname.toLowerCase() }, age_band: "18+", visible_hours: 6, max_message_chars: 1000 },
    { type: "joined", room: room("plage"), members: [person("Alice"), person("Bob")], history: [] },
  ].reduce(reduce, initialState());
}

const photoFrame = (id, sender, extra = {}) => ({
  type: "photo",
  id,
  sender,
  sender_key: sender.toLowerCase(),
  width: 1200,
  height: 900,
  url: `/photos/p${id}`,
  thumb_url: `/photos/p${id}/thumb`,
  at: T0 + id,
  room: "plage",
  caption: "",
  ...extra,
});
const sendPhoto = (s, ref, extra = {}) => reduce(s, { type: "@photo_send", key: "r:plage", ref, caption: "", at: T0, size: 3_000_000, ...extra });
const items = (s, key = "r:plage") => s.convs[key].items;

test("pickImage: the first image of a paste or drop, else a file the browser has no type for", () => {
  const pdf = { size: 10, type: "application/pdf", name: "a.pdf" };
  const png = { size: 10, type: "image/png", name: "b.png" };
  const unknown = { size: 10, type: "", name: "c" };
  assert.equal(pickImage([pdf, png]), png);
  assert.equal(pickImage([pdf, unknown]), unknown);
  assert.equal(pickImage([pdf]), pdf, "the server says why it is refused");
  assert.equal(pickImage([]), null);
  assert.equal(pickImage(null), null);
});

test("localRefusal: empty, over the server's limit, or not an image by the browser's type", () => {
  assert.equal(localRefusal({ size: 0, type: "image/png" }), "photo_empty");
  assert.equal(localRefusal({ size: 9 << 20, type: "image/jpeg" }), "photo_too_large", "over the default 8 MiB");
  assert.equal(localRefusal({ size: 2 << 20, type: "image/jpeg" }, 1 << 20), "photo_too_large");
  assert.equal(localRefusal({ size: 100, type: "text/html" }), "photo_format_unsupported");
  assert.equal(localRefusal({ size: 100, type: "" }), null, "the server decides by the bytes");
  assert.equal(localRefusal({ size: 8 << 20, type: "image/webp" }), null, "the limit itself passes");
});

test("formatBytes and percent: sizes in each language's units", () => {
  assert.equal(formatBytes(850, "fr"), "850 o");
  assert.equal(formatBytes(850, "en"), "850 B");
  assert.equal(formatBytes(12 * 1024, "fr"), "12 Ko");
  assert.equal(formatBytes(1.4 * 1024 * 1024, "fr"), "1,4 Mo");
  assert.equal(formatBytes(1.4 * 1024 * 1024, "en"), "1.4 MB");
  assert.equal(formatBytes(-5, "en"), "0 B");
  assert.equal(percent(1, 3), 33);
  assert.equal(percent(5, 0), 0);
  assert.equal(percent(9, 4), 100);
  assert.equal(bytesSent(1000, 250), 750);
  assert.equal(bytesSent(1000, 4000), 0, "text frames queued behind do not make it negative");
});

test("photoId: the id a report names, from the full or the thumbnail URL", () => {
  assert.equal(photoId("/photos/Ab-9_xY"), "Ab-9_xY");
  assert.equal(photoId("/photos/Ab-9_xY/thumb"), "Ab-9_xY");
  assert.equal(photoId("/elsewhere/Ab"), null);
  assert.equal(photoId("/photos/../x"), null);
});

test("fitBox: the thumbnail's box keeps the ratio and never enlarges", () => {
  assert.deepEqual(fitBox(1200, 900), { width: 320, height: 240 });
  assert.deepEqual(fitBox(900, 1600), { width: 180, height: 320 });
  assert.deepEqual(fitBox(100, 50), { width: 100, height: 50 });
  assert.deepEqual(fitBox(12000, 100), { width: 320, height: 3 });
  assert.deepEqual(fitBox(0, 0), { width: 320, height: 320 });
});

test("attaching waits for Send; sending clears it and queues the upload", () => {
  let s = entered();
  s = reduce(s, { type: "@attach", key: "r:plage", attachment: { name: "soleil.png", size: 3_000_000, type: "image/png" } });
  assert.equal(s.convs["r:plage"].attachment.name, "soleil.png");
  assert.equal(snapshot(s).convs[0].attachment, undefined, "a chosen file does not survive a reload");
  assert.equal(reduce(s, { type: "@detach", key: "r:plage" }).convs["r:plage"].attachment, undefined);
  s = sendPhoto(s, "w1", { caption: "la plage" });
  assert.equal(s.convs["r:plage"].attachment, undefined);
  const [item] = items(s);
  assert.equal(item.status, "pending");
  assert.equal(item.text, "la plage");
  assert.deepEqual(item.upload, { phase: "queued", sent: 0, total: 3_000_000, preview: undefined });
  assert.deepEqual(s.uploads, ["w1"]);
  assert.equal(activeUpload(s).ref, "w1");
});

test("uploads go one at a time, oldest first, through grant, progress, ack and the server's copy", () => {
  let s = sendPhoto(sendPhoto(entered(), "w1"), "w2");
  assert.equal(activeUpload(s).ref, "w1", "the server pairs the next binary message with the last grant");
  s = reduce(s, { type: "@upload", ref: "w1", phase: "asking" });
  s = reduce(s, { type: "upload_granted", ref: "w1", max_bytes: 8 << 20, expires_at: T0 + 30 });
  assert.equal(items(s)[0].upload.phase, "sending");
  s = reduce(s, { type: "upload_granted", ref: "w9", max_bytes: 1, expires_at: 0 });
  assert.equal(items(s)[0].upload.phase, "sending", "a grant for nothing of ours changes nothing");
  s = reduce(s, { type: "@upload", ref: "w1", phase: "sending", sent: 1_000_000 });
  assert.equal(items(s)[0].upload.sent, 1_000_000);
  s = reduce(s, { type: "@upload", ref: "w1", phase: "checking", sent: 3_000_000 });
  s = reduce(s, { type: "ack", ref: "w1", id: 40, at: T0 });
  assert.equal(activeUpload(s).ref, "w2", "the next one starts after the ack");
  s = reduce(s, photoFrame(40, "Alice", { caption: "" }));
  const [first, second] = items(s);
  assert.equal(first.id, 40);
  assert.equal(first.upload, undefined);
  assert.deepEqual(first.photo, { url: "/photos/p40", thumb: "/photos/p40/thumb", width: 1200, height: 900 });
  assert.equal(second.status, "pending");
  assert.equal(items(s).length, 2);
});

test("our photo arriving before its ack replaces our pending photo, never a pending text", () => {
  let s = entered();
  s = reduce(s, { type: "@send", key: "r:plage", ref: "w1", text: "regardez", at: T0 });
  s = sendPhoto(s, "w2");
  s = reduce(s, photoFrame(41, "Alice"));
  const [text, photo] = items(s);
  assert.equal(text.status, "pending", "the text still waits for its own copy");
  assert.equal(photo.id, 41);
  assert.ok(photo.photo);
  assert.deepEqual(s.uploads, []);
  s = reduce(s, { type: "ack", ref: "w2", id: 41, at: T0 });
  assert.equal(items(s).length, 2);
});

test("every refusal of a photo marks it failed with its code; retry only where a new try may pass", () => {
  for (const [code, retry] of [
    ["photo_corrupt", false],
    ["photo_polyglot", false],
    ["photo_not_here", false],
    ["photo_refused", false],
    ["photo_not_expected", true],
    ["rate_limited_frames", true],
    ["internal_error", true],
  ]) {
    let s = sendPhoto(sendPhoto(entered(), "w1"), "w2");
    s = reduce(s, { type: "error", code, message: "x", ref: "w1", frame: "photo_upload" });
    const [item] = items(s);
    assert.equal(item.status, "failed", code);
    assert.equal(item.error.code, code);
    assert.equal(item.retry, retry, code);
    assert.equal(activeUpload(s).ref, "w2", `${code}: the queue moves on`);
  }
  let s = sendPhoto(entered(), "w1");
  s = reduce(s, { type: "@upload_failed", ref: "w1", error: { code: "photo_too_large" } });
  assert.equal(items(s)[0].status, "failed");
  assert.equal(items(s)[0].retry, false);
  assert.deepEqual(s.uploads, []);
});

test("a lost connection fails the uploads in flight (the grant is gone); offline is failed at once", () => {
  let s = sendPhoto(sendPhoto(entered(), "w1"), "w2");
  s = reduce(s, { type: "@lost" });
  assert.deepEqual(items(s).map((it) => [it.status, it.error.code, it.retry]), [
    ["failed", "@offline", true],
    ["failed", "@offline", true],
  ]);
  assert.deepEqual(s.uploads, []);
  const offline = sendPhoto(entered(), "w3", { offline: true });
  assert.equal(items(offline)[0].status, "failed");
  assert.deepEqual(offline.uploads, []);
});

test("a photo from someone else: in the room, unread elsewhere; in private, a toast and a tab", () => {
  let s = entered();
  s = reduce(s, photoFrame(50, "Bob", { caption: "mon chat dessiné" }));
  const [item] = items(s);
  assert.equal(item.sender, "Bob");
  assert.equal(item.text, "mon chat dessiné");
  assert.equal(item.photo.thumb, "/photos/p50/thumb");
  assert.equal(s.convs["r:plage"].unread, 0, "the open room");
  s = reduce(s, photoFrame(51, "Bob", { room: null, recipient: "Alice" }));
  assert.equal(items(s, "p:Bob")[0].photo.url, "/photos/p51");
  assert.equal(s.convs["p:Bob"].unread, 1);
  assert.equal(s.toasts.at(-1).key, "photo.private_new");
  // Our own private photo goes into the conversation with its recipient.
  s = reduce(s, photoFrame(52, "Alice", { room: null, recipient: "Bob" }));
  assert.equal(items(s, "p:Bob").length, 2);
  // The same id twice (a replay) is shown once.
  s = reduce(s, photoFrame(50, "Bob"));
  assert.equal(items(s).length, 1);
  // Photos of a room we are not in are dropped.
  assert.equal(reduce(s, photoFrame(53, "Bob", { room: "ailleurs" })), s);
});

test("a masked photo cannot be viewed until revealed; the viewer closes when the photo goes", () => {
  let s = reduce(entered(), photoFrame(60, "Bob", { blurred: true }));
  assert.equal(items(s)[0].blurred, true);
  s = reduce(s, { type: "@view_photo", key: "r:plage", id: 60 });
  assert.equal(viewed(s), null, "masked and not revealed");
  s = reduce(s, { type: "@reveal", key: "r:plage", id: 60 });
  assert.equal(viewed(s).id, 60);
  s = reduce(s, { type: "@reveal", key: "r:plage", id: 60 });
  assert.equal(viewed(s), null, "hidden again");
  s = reduce(s, { type: "@reveal", key: "r:plage", id: 60 });
  s = reduce(s, { type: "removed", id: 60, room: "plage" });
  assert.equal(viewed(s), null, "a moderator removed it");
  s = reduce(reduce(s, photoFrame(61, "Bob")), { type: "@view_photo", key: "r:plage", id: 61 });
  assert.equal(viewed(s).id, 61);
  assert.equal(reduce(s, { type: "@view_photo" }).viewer, null);
});

test("a private conversation's snapshot keeps received photos, not uploads in progress", () => {
  let s = entered();
  s = reduce(s, photoFrame(70, "Bob", { room: null, recipient: "Alice" }));
  s = reduce(s, { type: "@photo_send", key: "p:Bob", ref: "w1", caption: "", at: T0, size: 10 });
  s = reduce(s, { type: "ack", ref: "w1", id: 71, at: T0 });
  const saved = snapshot(s).convs.find((c) => c.key === "p:Bob");
  assert.deepEqual(saved.items.map((it) => it.id), [70]);
  assert.equal(saved.items[0].photo.url, "/photos/p70");
});

// @ts-check
// Words computed from state: a refusal in one sentence, a person's line, a room's count.
// Views and notifications use these so that each sentence is written in one place.

import { errorText, t, language } from "./i18n.js";
import { isMinor } from "./store.js";

/** One sentence for an error frame (or a local reason: "@offline", "@conn_failed", "@closed"). */
export function explain(state, frame) {
  if (!frame) return "";
  if (frame.code === "@offline") return t("chat.offline");
  if (frame.code === "@conn_failed") return t("conn.failed");
  if (frame.code === "@closed") {
    return frame.reason ? t("conn.closed", { reason: explain(state, frame.reason) }) : t("conn.closed_plain");
  }
  // A photo's caption has its own limit (photos.caption_max_chars), not the message's.
  if (frame.code === "message_too_long" && frame.field === "caption") return t("photo.caption_too_long");
  return errorText(frame, { minor: isMinor(state), maxChars: state.maxChars });
}

export function personLine(person) {
  if (!person) return "";
  const parts = [t("person.age", { age: person.age }), t(`gender.${person.gender}`)];
  const place = [person.region, person.department && `(${person.department})`].filter(Boolean).join(" ");
  if (place) parts.push(place);
  return parts.join(" · ");
}

/** "12 en ligne", or for a minor, who only ever sees minors counted, "12 jeunes en ligne". */
export function countWords(state, n) {
  return t(isMinor(state) ? "rooms.count_minor" : "rooms.count", { n });
}

export function clockTime(seconds) {
  return new Intl.DateTimeFormat(language(), { hour: "2-digit", minute: "2-digit" }).format(new Date(seconds * 1000));
}

export function dayWords(seconds, now = Date.now()) {
  const day = new Date(seconds * 1000).toDateString();
  if (day === new Date(now).toDateString()) return t("chat.today");
  if (day === new Date(now - 86_400_000).toDateString()) return t("chat.yesterday");
  return new Intl.DateTimeFormat(language(), { weekday: "long", day: "numeric", month: "long" }).format(new Date(seconds * 1000));
}

/** A stable colour (one of 8 classes, AA contrast with white text) per nickname key. */
export function avatarClass(key) {
  let hash = 0;
  for (const ch of key) hash = (hash * 31 + ch.codePointAt(0)) | 0;
  return `av-${Math.abs(hash) % 8}`;
}

export function initial(nickname) {
  return [...nickname][0]?.toUpperCase() ?? "?";
}

// @ts-check
// The open conversation: its header, the log (grouped messages, day separators, avatars), the
// "new messages" button, the typing line and the composer.

import { html } from "../html.js";
import { roomWords, t } from "../i18n.js";
import { findPerson, isMe, rows } from "../store.js";
import { avatarClass, clockTime, dayWords, explain, initial, personLine } from "../words.js";
import { Composer } from "./composer.js";
import { PhotoBody } from "./photo.js";
import { convTitle } from "./tabs.js";

function Message({ state, conv, item, first, act }) {
  const own = isMe(state, item.senderKey);
  const photo = Boolean(item.photo || item.upload);
  const cls = ["msg", own && "own", !first && "cont", item.status !== "sent" && item.status, item.blurred && "masked", item.revealed && "revealed", item.mention && "mention"]
    .filter(Boolean)
    .join(" ");
  const shown = !item.blurred || item.revealed;
  return html`<li class=${photo ? `${cls} has-photo` : cls} data-testid="message" data-sender=${item.sender} data-sender-key=${item.senderKey} data-id=${item.id ?? undefined}>
    ${first
      ? html`<span class="avatar ${avatarClass(item.senderKey)}" aria-hidden="true">${initial(item.sender)}</span>`
      : html`<span class="avatar-gap" aria-hidden="true"></span>`}
    <div class="bubble">
      <div class="meta${first ? "" : " sr-only"}">
        ${own
          ? html`<span class="sender">${item.sender}</span>`
          : html`<button type="button" class="sender link" aria-haspopup="dialog" title=${t("chat.person_card", { nickname: item.sender })}
                   onClick=${(e) => act.openCard(item.sender, e.currentTarget)}>${item.sender}</button>`}
        <time datetime=${new Date(item.at * 1000).toISOString()}>${clockTime(item.at)}</time>
      </div>
      ${photo && html`<${PhotoBody} conv=${conv} item=${item} shown=${shown} act=${act} />`}
      ${photo
        ? shown && item.text && html`<p class="text caption" data-testid="message-text">${item.text}</p>`
        : html`<p class="text" data-testid="message-text">${shown ? item.text : t("chat.masked")}</p>`}
      ${item.blurred && html`<button type="button" class="reveal" data-testid="reveal" aria-expanded=${item.revealed ? "true" : "false"}
          onClick=${() => act.reveal(conv.key, item.id)}>${t(item.revealed ? "chat.hide" : "chat.reveal")}</button>`}
      ${item.status === "pending" && !item.upload && html`<p class="status">${t("chat.pending")}</p>`}
      ${item.status === "held" && html`<p class="status">${explain(state, item.error)}</p>`}
      ${item.status === "failed" && html`<p class="status" data-testid="message-failed" role="alert">${explain(state, item.error)}</p>`}
      ${item.status === "failed" && item.retry && html`<button type="button" class="small ghost retry" data-testid="message-retry"
          onClick=${() => act.retry(conv.key, item)}>${t("conn.retry")}</button>`}
    </div>
  </li>`;
}

function Log({ state, conv, act }) {
  return html`<ol class="log" data-testid=${`log-${conv.key}`} key=${conv.key}>
    ${rows(state, conv).map((row) => {
      if (row.type === "day") return html`<li class="day" key=${`d${row.day}`}><span>${dayWords(row.at)}</span></li>`;
      const item = row.item;
      if (item.kind === "message") {
        return html`<${Message} key=${item.id ?? item.ref} state=${state} conv=${conv} item=${item} first=${row.first} act=${act} />`;
      }
      const text = item.error ? explain(state, item.error) : t(item.key, item.vars);
      return html`<li key=${item.uid} class="system${item.kind === "warning" ? " warning" : ""}" data-testid="system-line">${text}</li>`;
    })}
  </ol>`;
}

function typingLine(conv) {
  const names = conv.typing;
  if (names.length === 0) return "";
  if (names.length === 1) return t("chat.typing_one", { a: names[0] });
  if (names.length === 2) return t("chat.typing_two", { a: names[0], b: names[1] });
  return t("chat.typing_many");
}

export function Conversation({ state, ui, act }) {
  const conv = state.active ? state.convs[state.active] : undefined;
  if (!conv) {
    return html`<div id="conv-empty" class="conv-empty" data-testid="conv-empty">
      <h2>${t("chat.empty_title")}</h2>
      <p>${t("chat.empty_text")}</p>
    </div>`;
  }
  const title = convTitle(conv);
  const room = conv.kind === "room";
  const hosted = room && state.hosted.includes(conv.id);
  const topic = room ? roomWords(conv.room).topic : "";
  const partnerKey = conv.partnerKey ?? "";
  const person = room ? undefined : conv.person ?? findPerson(state, conv.nickname);
  const ignored = !room && state.ignored.includes(partnerKey);
  // A photo dropped anywhere on the conversation is attached, as if chosen with the button.
  const onDragOver = (e) => {
    if (!e.dataTransfer || ![...e.dataTransfer.types].includes("Files")) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    act.dragging(true);
  };
  const onDragLeave = (e) => {
    if (!e.currentTarget.contains(e.relatedTarget)) act.dragging(false);
  };
  const onDrop = (e) => {
    if (!e.dataTransfer?.files?.length) return;
    e.preventDefault();
    act.dragging(false);
    act.attachFiles(conv.key, e.dataTransfer.files);
  };
  return html`<section id="conv" class=${ui.dropping ? "conv dropping" : "conv"} aria-labelledby="conv-title"
      onDragOver=${onDragOver} onDragLeave=${onDragLeave} onDrop=${onDrop}>
    ${ui.dropping && html`<p class="drop-hint" aria-hidden="true">${t("photo.drop")}</p>`}
    <header class="conv-head">
      ${!room && html`<span class="avatar ${avatarClass(partnerKey)}" aria-hidden="true">${initial(conv.nickname)}</span>`}
      <div class="conv-titles">
        <h2 id="conv-title" data-testid="conv-title">${title}</h2>
        <p id="conv-topic" class="topic${room && !topic ? " muted" : ""}" data-testid="conv-topic">
          ${room ? topic || t("chat.topic_none") : [t("chat.private"), personLine(person)].filter(Boolean).join(" · ")}
        </p>
      </div>
      <div class="conv-actions">
        ${hosted && html`<button type="button" class="ghost" data-testid="edit-topic" onClick=${act.editTopic}>${t("chat.edit_topic")}</button>`}
        ${!room && html`<button type="button" class="ghost" data-testid="conv-card" aria-haspopup="dialog"
            onClick=${(e) => act.openCard(conv.nickname, e.currentTarget)}>${t("chat.options")}</button>`}
        ${!room && html`<button type="button" class="ghost" data-testid="conv-ignore"
            onClick=${() => (ignored ? act.unignore(conv.nickname) : act.ignore(conv.nickname, partnerKey))}>
            ${t(ignored ? "people.unignore" : "people.ignore")}</button>`}
        <button type="button" class="ghost" data-testid="conv-leave" onClick=${() => act.leave(conv)}>${t(room ? "chat.leave" : "chat.close")}</button>
      </div>
    </header>
    ${ui.topicOpen && room && html`<form id="topic-form" class="topic-form" data-testid="topic-form" onSubmit=${act.saveTopic}
        onKeyDown=${(e) => e.key === "Escape" && act.cancelTopic()}>
      <label for="topic-input">${t("chat.topic_label")}</label>
      <input id="topic-input" name="topic" data-testid="topic-input" maxlength="200" defaultValue=${conv.room?.topic ?? ""} />
      <button type="submit" class="primary">${t("chat.save")}</button>
      <button type="button" class="ghost" onClick=${act.cancelTopic}>${t("chat.cancel")}</button>
    </form>`}
    <p id="conv-note" class="conv-note">
      ${room ? `${hosted ? `${t("chat.host")} ` : ""}${t("chat.ephemeral", { hours: state.visibleHours })}` : t("chat.private_note")}
    </p>
    <div class="log-wrap">
      <div id="messages" class="messages" data-testid="message-log" tabindex="0" role="log" aria-live="polite"
           aria-relevant="additions" aria-label=${title} onScroll=${act.onLogScroll}>
        <${Log} state=${state} conv=${conv} act=${act} />
      </div>
      ${ui.newBelow > 0 && html`<button type="button" class="new-below" data-testid="new-below" onClick=${act.toEnd}>${t("chat.new_below")}</button>`}
    </div>
    <p id="typing" class="typing" data-testid="typing" aria-live="polite">${typingLine(conv)}</p>
    <${Composer} state=${state} conv=${conv} title=${title} act=${act} />
  </section>`;
}

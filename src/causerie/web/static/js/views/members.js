// @ts-check
// The members of the open room, or the person of a private conversation.

import { html } from "../html.js";
import { t } from "../i18n.js";
import { findPerson, isMe, isMinor, personKey } from "../store.js";
import { PersonRow } from "./people.js";

export function Members({ state, act }) {
  const conv = state.active ? state.convs[state.active] : undefined;
  let title = t("nav.members");
  let body = html`<li class="muted">${t("members.none")}</li>`;
  if (conv?.kind === "private") {
    title = conv.nickname;
    const person = conv.person ?? findPerson(state, conv.nickname);
    body = [
      person && html`<${PersonRow} key="p" state=${state} person=${person} act=${act} actions=${false} />`,
      html`<li class="muted" key="m">${t("members.private", { nickname: conv.nickname })}</li>`,
    ];
  } else if (conv) {
    // A big room's first page may not reach your own name: you are listed first all the same.
    const listed = conv.members.some((p) => isMe(state, personKey(p)));
    const all = listed || !state.me ? conv.members : [state.me, ...conv.members];
    title = t("members.title", { n: conv.membersNext ? `${all.length}+` : all.length });
    const members = [...all].sort((a, b) =>
      isMe(state, personKey(a)) ? -1 : isMe(state, personKey(b)) ? 1 : a.nickname.localeCompare(b.nickname),
    );
    body = members.map((p) => html`<${PersonRow} key=${personKey(p)} state=${state} person=${p} act=${act} />`);
    if (conv.membersNext) {
      body.push(html`<li key="more"><button type="button" class="link" data-testid="members-more" onClick=${() => act.moreMembers(conv.id, conv.membersNext)}>${t("members.more")}</button></li>`);
    }
  }
  return html`<aside class="members" aria-labelledby="members-title">
    <h2 id="members-title" data-testid="members-title">${title}</h2>
    ${conv?.kind === "room" && isMinor(state) && html`<p class="note" data-testid="members-note">${t("members.minor_note")}</p>`}
    <ul id="member-list" class="person-list" data-testid="member-list">${body}</ul>
  </aside>`;
}

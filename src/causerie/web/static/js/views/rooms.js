// @ts-check
// The room list: themes, regions (one's own first), members' rooms; age verification; creating.

import { html } from "../html.js";
import { roomWords, t } from "../i18n.js";
import { regionCodeOf } from "../geo.js";
import { isMinor, mayEnter, roomKey } from "../store.js";
import { countWords } from "../words.js";

function RoomButton({ state, room, act, myRegion }) {
  const joined = Boolean(state.convs[roomKey(room.id)]);
  const allowed = mayEnter(state, room);
  const mine = room.kind === "regional" && room.region && room.region === myRegion;
  const words = roomWords(room);
  const cls = ["room", joined && "is-joined", !allowed && "is-closed", state.active === roomKey(room.id) && "is-active"].filter(Boolean).join(" ");
  return html`<li>
    <button type="button" class=${cls} data-testid="room-item" data-room=${room.id} aria-disabled=${allowed ? undefined : "true"}
            title=${words.topic || undefined} onClick=${() => act.joinRoom(room)}>
      <span class="room-name">${words.name}</span>
      <span class="count" title=${isMinor(state) ? t("rooms.count_minor_title") : undefined}>${countWords(state, room.count)}</span>
      <span class="badges">
        ${room.audience === "teens" && html`<span class="tag">${t("rooms.teens")}</span>`}
        ${room.audience === "adults" && html`<span class="tag">${t("rooms.adults")}</span>`}
        ${mine && html`<span class="tag mine">${t("rooms.your_region")}</span>`}
        ${joined && html`<span class="tag joined">${t("rooms.joined")}</span>`}
      </span>
      ${!allowed && html`<span class="why">${t(room.audience === "adults" ? "rooms.forbidden_adults" : "rooms.forbidden_teens")}</span>`}
    </button>
  </li>`;
}

export function Rooms({ state, ui, act }) {
  const myRegion = regionCodeOf(state.me?.region ?? "");
  const groups = [
    ["themed", "rooms.themed"],
    ["regional", "rooms.regional"],
    ["user", "rooms.user"],
  ];
  const sections = groups.map(([kind, label]) => {
    let rooms = state.rooms.filter((room) => room.kind === kind);
    if (!rooms.length) return null;
    if (kind === "regional") {
      rooms = [...rooms].sort((a, b) => Number(b.region === myRegion) - Number(a.region === myRegion) || b.count - a.count);
    }
    return html`<section class="room-group" key=${kind}>
      <h3>${t(label)}</h3>
      <ul>${rooms.map((room) => html`<${RoomButton} key=${room.id} state=${state} room=${room} act=${act} myRegion=${myRegion} />`)}</ul>
    </section>`;
  });
  const showVerify = !isMinor(state) && !state.verified && (state.joinAfterVerify || ui.verifyOpen);
  return html`<section id="rooms-panel" class="panel-body" data-testid="rooms-panel">
    <div class="panel-tools">
      <button type="button" class="small ghost" data-testid="rooms-refresh" onClick=${act.refreshRooms}>${t("rooms.refresh")}</button>
    </div>
    <div id="room-list" class="room-list" data-testid="room-list">
      ${state.rooms.length ? sections : html`<p class="muted">${t("rooms.loading")}</p>`}
    </div>
    <details id="verify-age" class="verify-age" data-testid="verify-age" hidden=${!showVerify} open=${showVerify}>
      <summary>${t("verify.title")}</summary>
      <form id="verify-form" data-testid="verify-form" onSubmit=${act.verifyAge}>
        <p class="note">${t("verify.text")}</p>
        <div class="field">
          <label for="verify-token">${t("verify.token")}</label>
          <input id="verify-token" name="token" data-testid="verify-token" required autocomplete="off" spellcheck="false" />
        </div>
        <button type="submit" class="primary" data-testid="verify-submit">${t("verify.submit")}</button>
      </form>
    </details>
    <details class="create-room" open=${ui.createOpen}>
      <summary>${t("rooms.create")}</summary>
      <form id="create-room-form" data-testid="create-room-form" onSubmit=${act.createRoom}>
        <div class="field">
          <label for="create-room-name">${t("rooms.create_name")}</label>
          <input id="create-room-name" name="name" data-testid="create-room-name" required minlength="3" maxlength="40" />
        </div>
        <div class="field">
          <label for="create-room-topic">${t("rooms.create_topic")}</label>
          <input id="create-room-topic" name="topic" data-testid="create-room-topic" maxlength="200" />
        </div>
        <button type="submit" class="primary" data-testid="create-room-submit">${t("rooms.create_submit")}</button>
      </form>
    </details>
  </section>`;
}

// @ts-check
// The frame of the chat screen: top bar, connection banner, notices, toasts (in the page's flow,
// so they never cover navigation), the columns and the phone's bottom navigation.

import { html } from "../html.js";
import { LANGUAGES, language, t } from "../i18n.js";
import { totalUnread } from "../store.js";
import { explain } from "../words.js";
import { Card } from "./card.js";
import { Conversation } from "./conversation.js";
import { Entry } from "./entry.js";
import { Members } from "./members.js";
import { People } from "./people.js";
import { Rooms } from "./rooms.js";
import { Tabs } from "./tabs.js";
import { Viewer } from "./photo.js";

export function LanguageSelect({ testid, act }) {
  return html`<label class="lang">
    <span class="sr-only">${t("lang.label")}</span>
    <select class="lang-select" data-testid=${testid} value=${language()} onChange=${(e) => act.setLanguage(e.currentTarget.value)}>
      ${Object.entries(LANGUAGES).map(([code, name]) => html`<option value=${code} lang=${code} selected=${code === language()}>${name}</option>`)}
    </select>
  </label>`;
}

function Toasts({ state, act }) {
  return html`<div id="toasts" class="toasts" data-testid="toasts" aria-live="polite">
    ${state.toasts.map((toast) => {
      const text = toast.error ? explain(state, toast.error) : t(toast.key, toast.vars);
      return html`<div key=${toast.id} class="toast ${toast.kind}" data-testid="toast" role=${toast.kind === "error" ? "alert" : "status"}>
        ${toast.conv
          ? html`<button type="button" class="link toast-open" onClick=${() => act.open(toast.conv)}>${text}</button>`
          : html`<p>${text}</p>`}
        <button type="button" class="toast-close" aria-label=${t("toast.close")} onClick=${() => act.dismiss(toast.id)}>×</button>
      </div>`;
    })}
  </div>`;
}

function Alerts({ ui, act }) {
  return html`<details class="alerts">
    <summary>${t("attention.title")}</summary>
    <div class="alerts-body">
      <label><input type="checkbox" data-testid="alert-sound" checked=${ui.alerts.sound} onChange=${(e) => act.setAlert("sound", e.currentTarget.checked)} /> ${t("attention.sound")}</label>
      <label><input type="checkbox" data-testid="alert-notify" checked=${ui.alerts.notify} onChange=${(e) => act.setAlert("notify", e.currentTarget.checked)} /> ${t("attention.notify")}</label>
      ${ui.notifyDenied && html`<p class="note">${t("attention.denied")}</p>`}
    </div>
  </details>`;
}

function NavButton({ state, panel, label, badge, act }) {
  return html`<button type="button" data-panel-tab=${panel} data-testid=${`nav-${panel}`} aria-pressed=${state.panel === panel ? "true" : "false"}
      onClick=${() => act.panel(panel)}>
    <span>${t(label)}</span>
    ${badge > 0 && html`<span id="nav-chat-badge" class="badge" aria-hidden="true">${badge}</span><span class="sr-only">${t("chat.unread", { n: badge })}</span>`}
  </button>`;
}

function Chat({ state, ui, act }) {
  const me = state.me;
  const unread = totalUnread(state);
  return html`<div id="app-screen" class="app">
    <a class="skip" href="#composer-input">${t("chat.message_label")}</a>
    <header class="topbar">
      <h1 class="brand">causerie</h1>
      <span class="me" data-testid="me" title=${me ? t("header.me", { nickname: me.nickname }) : undefined}>${me?.nickname ?? state.identity?.nickname ?? ""}</span>
      <span class="me-info" data-testid="me-info">${me ? [t("person.age", { age: me.age }), me.region].filter(Boolean).join(" · ") : ""}</span>
      <${Alerts} ui=${ui} act=${act} />
      <${LanguageSelect} testid="lang-select-app" act=${act} />
      <button id="quit" type="button" class="ghost" data-testid="quit" title=${t("header.quit_title")} onClick=${act.logout}>${t("header.quit")}</button>
    </header>
    ${state.phase === "reconnecting" && html`<p id="banner" class="banner" role="status" data-testid="banner">${t("conn.lost")}</p>`}
    ${state.notice && html`<div id="notice" class="notice" role="status" data-testid="notice">
      <p id="notice-text">${state.notice === "band.remembered" && language() === "en" && state.ageNotice ? state.ageNotice : t(state.notice)}</p>
      <button type="button" class="small ghost" onClick=${act.closeNotice}>${t("toast.close")}</button>
    </div>`}
    <${Toasts} state=${state} act=${act} />
    <main class="columns">
      <section class="side" aria-label=${t(state.side === "people" ? "nav.people" : "nav.rooms")}>
        <h2 class="sr-only">${t(state.side === "people" ? "nav.people" : "nav.rooms")}</h2>
        <div class="side-tabs">
          <button type="button" data-side-tab="rooms" data-testid="side-rooms" aria-pressed=${state.side === "rooms" ? "true" : "false"} onClick=${() => act.panel("rooms")}>${t("nav.rooms")}</button>
          <button type="button" data-side-tab="people" data-testid="side-people" aria-pressed=${state.side === "people" ? "true" : "false"} onClick=${() => act.panel("people")}>${t("nav.people")}</button>
        </div>
        ${state.side === "rooms" ? html`<${Rooms} state=${state} ui=${ui} act=${act} />` : html`<${People} state=${state} act=${act} />`}
      </section>
      <section class="chat" aria-label=${t("nav.chat")}>
        <${Tabs} state=${state} act=${act} />
        <${Conversation} state=${state} ui=${ui} act=${act} />
      </section>
      <${Members} state=${state} act=${act} />
    </main>
    <nav class="bottom-nav" aria-label=${t("nav.label")}>
      <${NavButton} state=${state} panel="rooms" label="nav.rooms" act=${act} />
      <${NavButton} state=${state} panel="people" label="nav.people" act=${act} />
      <${NavButton} state=${state} panel="chat" label="nav.chat" badge=${unread} act=${act} />
      <${NavButton} state=${state} panel="members" label="nav.members" act=${act} />
    </nav>
    <${Card} state=${state} ui=${ui} act=${act} />
    <${Viewer} state=${state} ui=${ui} act=${act} />
  </div>`;
}

export function App({ state, ui, act }) {
  const inChat = state.phase === "chat" || state.phase === "reconnecting";
  return inChat ? html`<${Chat} state=${state} ui=${ui} act=${act} />` : html`<${Entry} state=${state} act=${act} />`;
}

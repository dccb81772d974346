// @ts-check
// The people list with its filters, the ignored people, and the one person row used everywhere.

import { html } from "../html.js";
import { t } from "../i18n.js";
import { REGIONS } from "../geo.js";
import { isMe, isMinor, personKey } from "../store.js";
import { avatarClass, initial, personLine } from "../words.js";

export function Avatar({ nickname, nkey }) {
  return html`<span class="avatar ${avatarClass(nkey)}" aria-hidden="true">${initial(nickname)}</span>`;
}

export function PersonRow({ state, person, act, actions = true }) {
  const key = personKey(person);
  const ignored = state.ignored.includes(key);
  const self = isMe(state, key);
  return html`<li class="person${self ? " self" : ""}${ignored ? " is-ignored" : ""}" data-testid="person" data-nickname=${person.nickname}>
    <${Avatar} nickname=${person.nickname} nkey=${key} />
    <span class="who">
      ${self
        ? html`<span class="nick">${person.nickname} (${t("person.you")})</span>`
        : html`<button type="button" class="nick link" data-testid="person-name" aria-haspopup="dialog"
                 aria-label=${t("chat.person_card", { nickname: person.nickname })}
                 onClick=${(e) => act.openCard(person.nickname, e.currentTarget)}>${person.nickname}</button>`}
      <span class="info">${personLine(person)}</span>
    </span>
    <span class="actions">
      ${actions && !self && !ignored && html`<button type="button" class="small" data-testid="person-write"
          aria-label=${t("chat.open_private", { nickname: person.nickname })}
          onClick=${() => act.openPrivate(person.nickname, person)}>${t("people.write")}</button>`}
      ${actions && !self && html`<button type="button" class="small ghost" data-testid=${ignored ? "person-unignore" : "person-ignore"}
          aria-label=${`${t(ignored ? "people.unignore" : "people.ignore")} ${person.nickname}`}
          onClick=${() => (ignored ? act.unignore(person.nickname) : act.ignore(person.nickname, key))}>
          ${t(ignored ? "people.unignore" : "people.ignore")}</button>`}
    </span>
  </li>`;
}

export function People({ state, act }) {
  const minor = isMinor(state);
  const bands = state.band === null ? ["13-14", "15-17", "18+"] : minor ? ["13-14", "15-17"] : ["18+"];
  const names = state.ignoredNames;
  return html`<section id="people-panel" class="panel-body" data-testid="people-panel">
    <form id="people-filters" class="filters" data-testid="people-filters" onSubmit=${(e) => { e.preventDefault(); act.requestPeople(); }}>
      <div class="field">
        <label for="filter-age">${t("people.age")}</label>
        <select id="filter-age" data-testid="filter-age" onChange=${act.requestPeople}>
          <option value="">${t("people.any")}</option>
          ${bands.map((b) => html`<option value=${b}>${b}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="filter-gender">${t("people.gender")}</label>
        <select id="filter-gender" data-testid="filter-gender" onChange=${act.requestPeople}>
          <option value="">${t("people.any")}</option>
          ${["woman", "man", "nonbinary", "other"].map((g) => html`<option value=${g}>${t(`gender.${g}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="filter-region">${t("people.region")}</label>
        <select id="filter-region" data-testid="filter-region" onChange=${act.requestPeople}>
          <option value="">${t("people.any")}</option>
          ${REGIONS.map((r) => html`<option value=${r.code}>${r.name}</option>`)}
        </select>
      </div>
      <button type="submit" class="ghost" data-testid="people-refresh">${t("people.refresh")}</button>
    </form>
    <p id="people-note" class="note" data-testid="people-note">${state.band === null ? "" : t(minor ? "people.note_minor" : "people.note_adult")}</p>
    <ul id="people-list" class="person-list" data-testid="people-list">
      ${state.people.length
        ? state.people.map((p) => html`<${PersonRow} key=${personKey(p)} state=${state} person=${p} act=${act} />`)
        : html`<li class="muted">${t("people.empty")}</li>`}
    </ul>
    <details class="ignored">
      <summary>${t("people.ignored_title")}</summary>
      <ul id="ignored-list" class="person-list" data-testid="ignored-list">
        ${state.ignored.length
          ? state.ignored.map((key) => {
              const name = names[key] ?? key;
              return html`<li class="person is-ignored" data-testid="ignored-person" key=${key}>
                <${Avatar} nickname=${name} nkey=${key} />
                <span class="who"><span class="nick">${name}</span></span>
                <span class="actions"><button type="button" class="small ghost" onClick=${() => act.unignore(name)}>${t("people.unignore")}</button></span>
              </li>`;
            })
          : html`<li class="muted">${t("people.ignored_none")}</li>`}
      </ul>
    </details>
  </section>`;
}

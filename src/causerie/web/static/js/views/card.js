// @ts-check
// A person's card, opened from any nickname: who they are (as far as we know), write, ignore,
// report. The report form sends `report {target, reason, details}`.

import { html } from "../html.js";
import { CATEGORIES, categoryName, t } from "../i18n.js";
import { findPerson, isMyName, keyOf } from "../store.js";
import { avatarClass, initial, personLine } from "../words.js";

export function Card({ state, ui, act }) {
  const nickname = state.card;
  if (!nickname) return null;
  const person = findPerson(state, nickname);
  const key = keyOf(state, nickname);
  if (isMyName(state, nickname)) return null;
  const ignored = state.ignored.includes(key);
  const onKeyDown = (e) => {
    if (e.key === "Escape") act.closeCard();
  };
  return html`<div class="card-backdrop" onClick=${(e) => e.target === e.currentTarget && act.closeCard()}>
    <div class="card" role="dialog" aria-modal="true" aria-labelledby="card-title" data-testid="person-card" onKeyDown=${onKeyDown}>
      <div class="card-head">
        <span class="avatar big ${avatarClass(key)}" aria-hidden="true">${initial(nickname)}</span>
        <div>
          <h2 id="card-title">${nickname}</h2>
          <p class="info">${personLine(person)}</p>
        </div>
      </div>
      <div class="card-actions">
        ${!ignored && html`<button type="button" class="primary" data-testid="card-write" ref=${act.focusRef}
            onClick=${() => act.openPrivate(nickname, person)}>${t("people.write")}</button>`}
        <button type="button" class="ghost" data-testid=${ignored ? "card-unignore" : "card-ignore"} ref=${ignored ? act.focusRef : undefined}
            onClick=${() => (ignored ? act.unignore(nickname) : act.ignore(nickname, key))}>${t(ignored ? "people.unignore" : "people.ignore")}</button>
        <button type="button" class="ghost" data-testid="card-report" aria-expanded=${ui.reportOpen ? "true" : "false"}
            onClick=${act.toggleReport}>${t("card.report")}</button>
        <button type="button" class="ghost" data-testid="card-close" onClick=${act.closeCard}>${t("card.close")}</button>
      </div>
      ${ui.reportOpen && html`<form class="report-form" data-testid="report-form" onSubmit=${(e) => act.sendReport(e, nickname)}>
        <h3>${t("report.title", { nickname })}</h3>
        <div class="field">
          <label for="report-reason">${t("report.reason")}</label>
          <select id="report-reason" name="reason" data-testid="report-reason" required>
            ${CATEGORIES().map((c) => html`<option value=${c}>${categoryName(c)}</option>`)}
            <option value="other">${t("report.other")}</option>
          </select>
        </div>
        <div class="field">
          <label for="report-details">${t("report.details")}</label>
          <textarea id="report-details" name="details" data-testid="report-details" maxlength="1000" rows="3"></textarea>
        </div>
        <button type="submit" class="primary" data-testid="report-send">${t("report.send")}</button>
      </form>`}
    </div>
  </div>`;
}

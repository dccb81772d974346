// @ts-check
// The entry form: nickname, age, gender, postal code; nothing else is asked.

import { html } from "../html.js";
import { t } from "../i18n.js";
import { explain } from "../words.js";
import { LanguageSelect } from "./shell.js";

const FIELDS = ["nickname", "age", "gender", "postal_code"];

export function Entry({ state, act }) {
  const busy = state.phase === "entering";
  const error = state.entryError;
  const wrong = error?.field;
  const id = state.identity ?? {};
  const invalid = (name) => (wrong === name ? "true" : undefined);
  return html`<main id="entry-screen" class="entry" data-testid="entry-screen">
    <div class="entry-card">
      <div class="entry-top">
        <h1 class="brand">causerie</h1>
        <${LanguageSelect} testid="lang-select" act=${act} />
      </div>
      <p class="tagline">${t("app.tagline")}</p>
      <form id="entry-form" data-testid="entry-form" novalidate onSubmit=${act.submitEntry}>
        <h2>${t("entry.title")}</h2>
        <div class="field">
          <label for="entry-nickname">${t("entry.nickname")}</label>
          <input id="entry-nickname" name="nickname" data-testid="entry-nickname" required minlength="3" maxlength="20"
                 autocomplete="nickname" autocapitalize="off" spellcheck="false" aria-describedby="entry-nickname-hint"
                 defaultValue=${id.nickname ?? ""} aria-invalid=${invalid("nickname")} />
          <small id="entry-nickname-hint">${t("entry.nickname_hint")}</small>
        </div>
        <div class="field-row">
          <div class="field">
            <label for="entry-age">${t("entry.age")}</label>
            <input id="entry-age" name="age" data-testid="entry-age" type="number" inputmode="numeric" min="1" max="120" required
                   defaultValue=${id.age > 0 ? String(id.age) : ""} aria-invalid=${invalid("age")} />
          </div>
          <div class="field">
            <label for="entry-gender">${t("entry.gender")}</label>
            <select id="entry-gender" name="gender" data-testid="entry-gender" required aria-invalid=${invalid("gender")}>
              ${["", "woman", "man", "nonbinary", "other"].map(
                (g) => html`<option value=${g} selected=${(id.gender ?? "") === g}>${t(g ? `gender.${g}` : "gender.choose")}</option>`,
              )}
            </select>
          </div>
        </div>
        <div class="field">
          <label for="entry-postal">${t("entry.postal")}</label>
          <input id="entry-postal" name="postal_code" data-testid="entry-postal" inputmode="numeric" maxlength="6"
                 autocomplete="postal-code" required aria-describedby="entry-postal-hint"
                 defaultValue=${id.postal_code ?? ""} aria-invalid=${invalid("postal_code")} />
          <small id="entry-postal-hint">${t("entry.postal_hint")}</small>
        </div>
        <p id="entry-error" class="form-error" data-testid="entry-error" role="alert" hidden=${!error}>${explain(state, error)}</p>
        <button id="entry-submit" class="primary" type="submit" data-testid="entry-submit" disabled=${busy}>
          ${t(busy ? "entry.connecting" : "entry.submit")}
        </button>
      </form>
      <p class="rules">${t("entry.rules")}</p>
      <p class="rules">${t("entry.ephemeral")}</p>
    </div>
  </main>`;
}

export { FIELDS };

// @ts-check
// The message box: several lines; Enter sends, Shift+Enter starts a new line.

import { html } from "../html.js";
import { t } from "../i18n.js";

export function Composer({ state, conv, title, act }) {
  const onKeyDown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      act.sendFrom(e.currentTarget);
    }
  };
  const onSubmit = (e) => {
    e.preventDefault();
    act.sendFrom(e.currentTarget.elements.namedItem("text"));
  };
  return html`<form id="composer" class="composer" data-testid="composer" onSubmit=${onSubmit}>
    <label for="composer-input" class="sr-only">${t("chat.message_label")}</label>
    <textarea id="composer-input" name="text" key=${conv.key} data-testid="composer-input" rows="1" autocomplete="off"
              enterkeyhint="send" maxlength=${state.maxChars} aria-describedby="composer-hint"
              placeholder=${conv.kind === "room" ? t("chat.placeholder_room", { room: title }) : t("chat.placeholder_private", { nickname: conv.nickname })}
              defaultValue=${conv.draft} onKeyDown=${onKeyDown} onInput=${act.onComposerInput}></textarea>
    <span id="composer-hint" class="sr-only">${t("chat.composer_hint")}</span>
    <button type="submit" class="primary" data-testid="composer-send">${t("chat.send")}</button>
  </form>`;
}
